-- Issue #10: app roles assigned to users (allowedMemberTypes "User"), read into `roles` of the user's
-- tokens. The same columns as app_role_assignments, whose principal is a service principal; here it is
-- a user, and the assignment goes with the user, the resource or the tenant.
CREATE TABLE user_app_role_assignments (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    principal_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    principal_type TEXT NOT NULL,
    resource_id TEXT NOT NULL REFERENCES service_principals(id) ON DELETE CASCADE,
    app_role_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (principal_id, resource_id, app_role_id)
);
CREATE INDEX user_app_role_assignments_tenant ON user_app_role_assignments (tenant_id);
CREATE INDEX user_app_role_assignments_principal ON user_app_role_assignments (principal_id);
