//! `/v1.0/auditLogs`: the tenant's audit and sign-in records, for callers holding `AuditLog.Read.All`.

use gatehouse_proto::logs::{DirectoryAudit, SignIn};

use super::{Access, AdminError, Caller};
use crate::audit::LogQuery;
use crate::store::Store;

/// A page of the caller's tenant's directory audits, newest first.
pub async fn directory_audits(
    store: &dyn Store,
    caller: &Caller,
    mut query: LogQuery,
) -> Result<Vec<DirectoryAudit>, AdminError> {
    caller.require(Access::ReadAuditLogs)?;
    query.tenant_id = Some(caller.tenant_id);
    Ok(store
        .audits(&query)
        .await?
        .into_iter()
        .map(|e| e.record)
        .collect())
}

/// A page of the caller's tenant's sign-ins, newest first.
pub async fn sign_ins(
    store: &dyn Store,
    caller: &Caller,
    mut query: LogQuery,
) -> Result<Vec<SignIn>, AdminError> {
    caller.require(Access::ReadAuditLogs)?;
    query.tenant_id = Some(caller.tenant_id);
    Ok(store
        .sign_ins(&query)
        .await?
        .into_iter()
        .map(|e| e.record)
        .collect())
}
