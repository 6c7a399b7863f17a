-- Issue #13: lists a page at a time (the portal's App registrations and Enterprise applications at
-- 10,000 applications a tenant). Each application and service principal keeps its display name,
-- lower-cased, in a column indexed with its tenant and id, so a page is an index range, not a read of
-- the tenant's every document. The column compares bytes (COLLATE "C"), as SQLite's does, so pages
-- are cut the same way on both databases.
ALTER TABLE applications ADD COLUMN name_key TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE applications SET name_key = lower(coalesce(doc::json->>'displayName', ''));
CREATE INDEX applications_by_name ON applications (tenant_id, name_key, id);
ALTER TABLE service_principals ADD COLUMN name_key TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE service_principals SET name_key = lower(coalesce(doc::json->>'displayName', ''));
CREATE INDEX service_principals_by_name ON service_principals (tenant_id, name_key, id);
