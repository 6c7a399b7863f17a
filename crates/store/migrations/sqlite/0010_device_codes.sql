-- Issue #9: device codes (RFC 8628). device_hash is the hex SHA-256 of the device code; user_code is
-- what the user types, normalised. state: pending, approved, declined, redeemed.
CREATE TABLE device_codes (
    device_hash TEXT PRIMARY KEY,
    user_code TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    interval_secs INTEGER NOT NULL,
    family_id TEXT NOT NULL,
    state TEXT NOT NULL,
    user_id TEXT,
    auth_time INTEGER,
    sid TEXT,
    last_poll_at INTEGER
);
CREATE INDEX device_codes_expiry ON device_codes (expires_at);
