-- Issue #13: the portal's Users list, a page at a time, as App registrations already is (0019). Each
-- user keeps their display name, lower-cased, in a column indexed with the tenant and id; a search
-- matches it or the principal name's key (in the index too, so a search reads no row it skips).
-- Bytes compare (COLLATE "C") as in SQLite.
ALTER TABLE users ADD COLUMN name_key TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE users SET name_key = lower(coalesce(doc::json->>'displayName', ''));
CREATE INDEX users_by_name ON users (tenant_id, name_key, id, upn_key);
