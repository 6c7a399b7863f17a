-- Issue #7: the change feed. Every write appends what it changed (kind, tenant, key) in its own
-- transaction; each node applies just those rows to its caches instead of re-reading the directory.
-- Writers are serialised by the revision row, so sequence order is commit order and a node that has
-- read up to seq N has seen every change up to N. Rows older than an hour are pruned; pruned_through
-- tells a node that fell further behind to drop its caches.
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    key TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX changes_at ON changes (at);
ALTER TABLE revision ADD COLUMN pruned_through INTEGER NOT NULL DEFAULT 0;
CREATE INDEX app_role_assignments_principal ON app_role_assignments (principal_id);
-- Reading one tenant's domains (every Graph write checks them) must not scan every tenant's.
CREATE INDEX domains_tenant ON domains (tenant_id);
