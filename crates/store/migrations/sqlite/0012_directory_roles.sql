-- Issue #10: the directory roles users hold (Graph's unifiedRoleAssignment at directory scope '/'),
-- which decide who may grant consent for the whole tenant. role_id is the built-in role's template id.
-- An assignment goes with its user and its tenant.
CREATE TABLE directory_role_assignments (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    principal_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id TEXT NOT NULL,
    UNIQUE (tenant_id, principal_id, role_id)
);
