-- Issue #12: user-assigned managed identities. Each is a service principal (type ManagedIdentity, no
-- application) with a name unique in its tenant (compared lower-cased), and the SHA-256 hashes of the
-- header secrets (IDENTITY_HEADER) handed to processes that may use it. Deleting the service principal
-- deletes both.
CREATE TABLE managed_identities (
    id TEXT PRIMARY KEY REFERENCES service_principals(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name_key)
);

CREATE TABLE managed_identity_headers (
    hash TEXT PRIMARY KEY,
    identity_id TEXT NOT NULL REFERENCES managed_identities(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX managed_identity_headers_identity ON managed_identity_headers (identity_id, created_at);
