-- Issue #7: resource names held per tenant, unique, so no application can take another's identifier URI
-- or one of Microsoft Graph's names; and a version per application for optimistic concurrency, so two
-- concurrent PATCHes cannot overwrite each other.
ALTER TABLE applications ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE TABLE resource_names (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    -- lower(rtrim(name, '/')), as gatehouse_core::model::name_key forms it.
    name TEXT NOT NULL,
    app_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
CREATE INDEX resource_names_owner ON resource_names (tenant_id, app_id);

-- Service principals without an application in their tenant (Microsoft Graph) claim their names first,
-- with Graph's other names, so an application that took one before this migration loses it.
INSERT INTO resource_names (tenant_id, name, app_id)
SELECT sp.tenant_id, lower(rtrim(n.value, '/')), sp.app_id
FROM service_principals sp, json_array_elements_text(sp.doc::json -> 'servicePrincipalNames') AS n(value)
WHERE lower(n.value) <> sp.app_id
  AND NOT EXISTS (SELECT 1 FROM applications a WHERE a.tenant_id = sp.tenant_id AND a.app_id = sp.app_id)
ON CONFLICT DO NOTHING;

INSERT INTO resource_names (tenant_id, name, app_id)
SELECT sp.tenant_id, g.name, sp.app_id
FROM service_principals sp,
     (VALUES ('https://canary.graph.microsoft.com'), ('https://graph.microsoft.us'),
             ('https://dod-graph.microsoft.us'), ('https://ags.windows.net'),
             ('00000003-0000-0000-c000-000000000000/ags.windows.net')) AS g(name)
WHERE sp.app_id = '00000003-0000-0000-c000-000000000000'
ON CONFLICT DO NOTHING;

-- Then applications, oldest first: of two that share a URI, the older keeps it.
INSERT INTO resource_names (tenant_id, name, app_id)
SELECT tenant_id, name, app_id FROM (
    SELECT DISTINCT ON (a.tenant_id, lower(rtrim(u.value, '/')))
           a.tenant_id, lower(rtrim(u.value, '/')) AS name, a.app_id
    FROM applications a, json_array_elements_text(a.doc::json -> 'identifierUris') AS u(value)
    ORDER BY a.tenant_id, lower(rtrim(u.value, '/')), a.doc::json ->> 'createdDateTime', a.id
) first_claims
ON CONFLICT DO NOTHING;
