-- Issue #13: who owns an application (users; the one who registers it with their own token becomes
-- one), and whether a tenant's users may register applications at all (Entra's
-- defaultUserRolePermissions.allowedToCreateApps, on by default). An owner may change the
-- applications they own without a directory role.
CREATE TABLE application_owners (
    application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (application_id, user_id)
);
CREATE INDEX application_owners_user ON application_owners (user_id);
ALTER TABLE tenants ADD COLUMN users_can_register_apps BIGINT NOT NULL DEFAULT 1;
