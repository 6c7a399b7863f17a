-- Issue #8: delegated permission grants (Graph's oAuth2PermissionGrant) as data. A grant goes with
-- either service principal and with its tenant. principal_id is '' for AllPrincipals, so that the
-- unique key (one grant per client, resource, kind and principal) holds: NULLs would never collide.
CREATE TABLE oauth2_permission_grants (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES service_principals(id) ON DELETE CASCADE,
    resource_id TEXT NOT NULL REFERENCES service_principals(id) ON DELETE CASCADE,
    consent_type TEXT NOT NULL,
    principal_id TEXT NOT NULL DEFAULT '',
    scope TEXT NOT NULL,
    UNIQUE (tenant_id, client_id, resource_id, consent_type, principal_id)
);
CREATE INDEX oauth2_permission_grants_tenant ON oauth2_permission_grants (tenant_id);
