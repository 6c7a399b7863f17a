-- The directory: tenants, applications (Graph shape as JSON), secrets (hashes only), service principals,
-- app role assignments, signing keys (sealed), and the revision every node watches.
CREATE TABLE revision (id INTEGER PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO revision (id, value) VALUES (1, 0);

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE domains (
    name TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    position INTEGER NOT NULL
);

CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    app_id TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);
CREATE INDEX applications_tenant ON applications (tenant_id);

CREATE TABLE password_secrets (
    key_id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    display_name TEXT,
    hint TEXT NOT NULL,
    hash TEXT NOT NULL,
    start_at INTEGER NOT NULL,
    end_at INTEGER NOT NULL
);
CREATE INDEX password_secrets_application ON password_secrets (application_id);

CREATE TABLE service_principals (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    app_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (tenant_id, app_id)
);

CREATE TABLE app_role_assignments (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    principal_id TEXT NOT NULL REFERENCES service_principals(id) ON DELETE CASCADE,
    principal_type TEXT NOT NULL,
    resource_id TEXT NOT NULL REFERENCES service_principals(id) ON DELETE CASCADE,
    app_role_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (principal_id, resource_id, app_role_id)
);
CREATE INDEX app_role_assignments_tenant ON app_role_assignments (tenant_id);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    sealed_private_key TEXT NOT NULL,
    certificate TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
