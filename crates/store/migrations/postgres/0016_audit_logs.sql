-- Issue #11: the audit and sign-in logs, read newest first per tenant and pruned by age (ids are
-- version 7 UUIDs, which sort by time, so the primary key finds the oldest); strings
-- that filters compare are stored lower-cased. An audit record is its Graph JSON (`body`) beside the
-- columns `$filter` reads, inserted by a successful directory write in its own transaction. A
-- sign-in is columns only: thousands a second are written, and a JSON document a row cost twice the
-- insert.
CREATE TABLE directory_audits (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    category TEXT NOT NULL,
    activity TEXT NOT NULL,
    result TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_principal_name TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX directory_audits_tenant_at ON directory_audits (tenant_id, at, id);
CREATE TABLE sign_ins (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    app_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_principal_name TEXT NOT NULL,
    error_code BIGINT NOT NULL,
    correlation_id TEXT NOT NULL,
    ip_address TEXT NOT NULL,
    user_principal_name_as_given TEXT,
    user_display_name TEXT,
    app_display_name TEXT,
    service_principal_id TEXT,
    client_app_used TEXT NOT NULL,
    resource_id TEXT,
    resource_display_name TEXT,
    failure_reason TEXT,
    interactive BIGINT NOT NULL
);
CREATE INDEX sign_ins_tenant_at ON sign_ins (tenant_id, at, id);
