-- Issue #9: refresh tokens. A family is what one sign-in gave one client; each token is stored as
-- the hex SHA-256 of its value, never the value. used_at marks a token exchanged for its successor:
-- presenting it again after the grace window revokes the family (reuse detection).
CREATE TABLE refresh_families (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    auth_time INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    spa INTEGER NOT NULL DEFAULT 0,
    session_id TEXT,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX refresh_families_user ON refresh_families (tenant_id, user_id);
CREATE INDEX refresh_families_expiry ON refresh_families (expires_at);
CREATE TABLE refresh_tokens (
    hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL REFERENCES refresh_families(id) ON DELETE CASCADE,
    issued_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_issued ON refresh_tokens (issued_at);
