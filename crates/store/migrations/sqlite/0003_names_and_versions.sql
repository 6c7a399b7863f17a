-- Issue #7: resource names held per tenant, unique, so no application can take another's identifier URI
-- or one of Microsoft Graph's names; and a version per application for optimistic concurrency, so two
-- concurrent PATCHes cannot overwrite each other.
ALTER TABLE applications ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

CREATE TABLE resource_names (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    -- lower(rtrim(name, '/')), as gatehouse_core::model::name_key forms it.
    name TEXT NOT NULL,
    app_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
CREATE INDEX resource_names_owner ON resource_names (tenant_id, app_id);

-- Service principals without an application in their tenant (Microsoft Graph) claim their names first,
-- with Graph's other names, so an application that took one before this migration loses it.
INSERT OR IGNORE INTO resource_names (tenant_id, name, app_id)
SELECT sp.tenant_id, lower(rtrim(n.value, '/')), sp.app_id
FROM service_principals sp, json_each(sp.doc, '$.servicePrincipalNames') n
WHERE lower(n.value) <> sp.app_id
  AND NOT EXISTS (SELECT 1 FROM applications a WHERE a.tenant_id = sp.tenant_id AND a.app_id = sp.app_id);

INSERT OR IGNORE INTO resource_names (tenant_id, name, app_id)
SELECT sp.tenant_id, g.name, sp.app_id
FROM service_principals sp,
     (SELECT 'https://canary.graph.microsoft.com' AS name UNION ALL SELECT 'https://graph.microsoft.us'
      UNION ALL SELECT 'https://dod-graph.microsoft.us' UNION ALL SELECT 'https://ags.windows.net'
      UNION ALL SELECT '00000003-0000-0000-c000-000000000000/ags.windows.net') g
WHERE sp.app_id = '00000003-0000-0000-c000-000000000000';

-- Then applications, oldest first: of two that share a URI, the older keeps it.
INSERT OR IGNORE INTO resource_names (tenant_id, name, app_id)
SELECT a.tenant_id, lower(rtrim(u.value, '/')), a.app_id
FROM applications a, json_each(a.doc, '$.identifierUris') u
ORDER BY json_extract(a.doc, '$.createdDateTime'), a.id;
