-- Issue #11: the audit and sign-in logs. Each record is its Graph JSON (`body`) beside the columns
-- that `$filter` and paging read; strings that filters compare are stored lower-cased. A successful
-- directory write inserts its audit row in its own transaction. Both logs are read newest first per
-- tenant and pruned by age.
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
CREATE INDEX directory_audits_at ON directory_audits (at);
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
    body TEXT NOT NULL
);
CREATE INDEX sign_ins_tenant_at ON sign_ins (tenant_id, at, id);
CREATE INDEX sign_ins_at ON sign_ins (at);
