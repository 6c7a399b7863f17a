-- Issue #13: the portal's Users list, a page at a time, as App registrations already is (0019). Each
-- user keeps their display name, lower-cased, in a column indexed with the tenant and id; a search
-- matches it or the principal name's key (in the index too, so a search reads no row it skips). Rows written before this migration are lower-cased here in
-- ASCII only (SQLite's lower()); the program writes the Unicode lower case from then on.
ALTER TABLE users ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE users SET name_key = lower(coalesce(json_extract(doc, '$.displayName'), ''));
CREATE INDEX users_by_name ON users (tenant_id, name_key, id, upn_key);
