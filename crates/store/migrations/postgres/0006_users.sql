-- Issue #9: users. The Graph object is a JSON document; the principal name is unique per tenant in
-- any case (upn_key is lower-cased); the password is an Argon2id PHC string, never in the document.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    upn_key TEXT NOT NULL,
    doc TEXT NOT NULL,
    password_hash TEXT,
    force_change_password BIGINT NOT NULL DEFAULT 0,
    password_changed_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, upn_key)
);
