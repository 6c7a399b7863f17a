//! The audit and sign-in logs (migration 0016).
//!
//! A Graph write runs inside [`audited`], which holds the request's [`AuditDraft`] for the task. The
//! first directory transaction that commits inside it inserts the audit record in that same
//! transaction, naming the objects it touched ([`crate::db::Tx::touch`]), so the record and the change are
//! durable together or not at all. Refused writes and sign-ins are recorded on their own.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::future::Future;

use async_trait::async_trait;
use gatehouse_core::audit::{
    AuditDraft, AuditEntry, Comparison, LogField, LogKind, LogQuery, LogValue, Outcome, SignInEntry, Touched,
};
use gatehouse_core::store::{LogStore, StoreError};
use gatehouse_proto::logs::DirectoryAudit;
use sqlx::Row;
use time::OffsetDateTime;

use crate::codec::{from_json, json, micros, uuid};
use crate::db::{map_err, SqlStore};

struct Scope {
    draft: AuditDraft,
    written: bool,
}

tokio::task_local! {
    static SCOPE: RefCell<Scope>;
}

/// Runs `write` with `draft` as the audit record of the first directory transaction it commits;
/// answers whether one committed (and with it the record).
pub async fn audited<F: Future>(draft: AuditDraft, write: F) -> (F::Output, bool) {
    let scope = RefCell::new(Scope {
        draft,
        written: false,
    });
    SCOPE
        .scope(scope, async move {
            let out = write.await;
            let written = SCOPE.with(|s| s.borrow().written);
            (out, written)
        })
        .await
}

/// The record a committing transaction must add, if it runs inside [`audited`] and none was added yet.
pub(crate) fn pending(touched: &[Touched], now: OffsetDateTime) -> Option<AuditEntry> {
    SCOPE
        .try_with(|s| {
            let s = s.borrow();
            (!s.written).then(|| AuditEntry {
                tenant_id: s.draft.tenant_id,
                record: s.draft.finish(touched, &Outcome::Success, now),
            })
        })
        .ok()
        .flatten()
}

/// Called once the transaction that carried the record has committed.
pub(crate) fn committed() {
    let _ = SCOPE.try_with(|s| s.borrow_mut().written = true);
}

/// The filter columns an audit record is stored with (lower-cased where filters compare text).
fn audit_columns(r: &DirectoryAudit) -> [String; 6] {
    let app = r.initiated_by.app.as_ref().and_then(|a| a.app_id.clone());
    let user = r.initiated_by.user.as_ref();
    [
        r.category.to_lowercase(),
        r.activity_display_name.to_lowercase(),
        r.result.clone(),
        r.correlation_id.to_lowercase(),
        app.unwrap_or_default().to_lowercase(),
        user.and_then(|u| u.id.clone()).unwrap_or_default().to_lowercase(),
    ]
}

pub(crate) async fn insert_audit(conn: &mut sqlx::AnyConnection, e: &AuditEntry) -> Result<(), StoreError> {
    let r = &e.record;
    let [category, activity, result, correlation, app, user] = audit_columns(r);
    let upn = r
        .initiated_by
        .user
        .as_ref()
        .and_then(|u| u.user_principal_name.clone())
        .unwrap_or_default()
        .to_lowercase();
    sqlx::query(
        "INSERT INTO directory_audits (id, tenant_id, at, category, activity, result, correlation_id, app_id, user_id, user_principal_name, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(r.id.clone())
    .bind(e.tenant_id.to_string())
    .bind(micros(r.activity_date_time))
    .bind(category)
    .bind(activity)
    .bind(result)
    .bind(correlation)
    .bind(app)
    .bind(user)
    .bind(upn)
    .bind(json(r)?)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

fn column(kind: LogKind, field: LogField) -> Option<&'static str> {
    use LogField::*;
    Some(match (kind, field) {
        (_, Id) => "id",
        (_, Time) => "at",
        (_, CorrelationId) => "correlation_id",
        (_, AppId) => "app_id",
        (_, UserId) => "user_id",
        (_, UserPrincipalName) => "user_principal_name",
        (LogKind::Audit, Category) => "category",
        (LogKind::Audit, Activity) => "activity",
        (LogKind::Audit, Result) => "result",
        (LogKind::SignIn, ErrorCode) => "error_code",
        (LogKind::SignIn, IpAddress) => "ip_address",
        _ => return None,
    })
}

/// The rows of a log query: its conditions and page position as SQL over the log's columns.
async fn select(store: &SqlStore, kind: LogKind, q: &LogQuery) -> Result<Vec<(String, String)>, StoreError> {
    let table = match kind {
        LogKind::Audit => "directory_audits",
        LogKind::SignIn => "sign_ins",
    };
    let mut sql = format!("SELECT tenant_id, body FROM {table} WHERE 1 = 1");
    let mut args: Vec<Arg> = Vec::new();
    // Binds an argument; answers its placeholder number.
    let mut next = |a: Arg| {
        args.push(a);
        args.len()
    };
    if let Some(t) = q.tenant_id {
        let n = next(Arg::Text(t.to_string()));
        let _ = write!(sql, " AND tenant_id = ${n}");
    }
    for c in &q.conditions {
        let col = column(kind, c.field).ok_or_else(|| {
            StoreError::Corrupt(format!("{:?} is not a column of the {table} log", c.field))
        })?;
        let op = match c.comparison {
            Comparison::Eq => "=",
            Comparison::Ge => ">=",
            Comparison::Gt => ">",
            Comparison::Le => "<=",
            Comparison::Lt => "<",
        };
        let arg = match &c.value {
            LogValue::Time(t) => Arg::Int(micros(*t)),
            LogValue::Number(n) => Arg::Int(*n),
            // Ids are stored as written; every other text column lower-cased.
            LogValue::Text(s) if c.field == LogField::Id => Arg::Text(s.clone()),
            LogValue::Text(s) => Arg::Text(s.to_lowercase()),
        };
        let n = next(arg);
        let _ = write!(sql, " AND {col} {op} ${n}");
    }
    if let Some(p) = &q.before {
        let a = next(Arg::Int(micros(p.at)));
        let b = next(Arg::Int(micros(p.at)));
        let c = next(Arg::Text(p.id.clone()));
        let _ = write!(sql, " AND (at < ${a} OR (at = ${b} AND id < ${c}))");
    }
    let args = args;
    let _ = write!(sql, " ORDER BY at DESC, id DESC LIMIT {}", q.limit.min(10_000));
    let mut query = sqlx::query(&sql);
    for a in args {
        query = match a {
            Arg::Text(s) => query.bind(s),
            Arg::Int(i) => query.bind(i),
        };
    }
    query
        .fetch_all(&store.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(|r| Ok((r.try_get(0).map_err(map_err)?, r.try_get(1).map_err(map_err)?)))
        .collect()
}

enum Arg {
    Text(String),
    Int(i64),
}

#[async_trait]
impl LogStore for SqlStore {
    async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        insert_audit(&mut conn, entry).await
    }

    async fn record_sign_ins(&self, entries: &[SignInEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        // One statement for the batch: one round trip, one commit.
        const COLUMNS: usize = 10;
        let mut sql = String::from(
            "INSERT INTO sign_ins (id, tenant_id, at, app_id, user_id, user_principal_name, error_code, correlation_id, ip_address, body) VALUES ",
        );
        for i in 0..entries.len() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for c in 1..=COLUMNS {
                let sep = if c == 1 { "" } else { ", " };
                let _ = write!(sql, "{sep}${}", COLUMNS * i + c);
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for e in entries {
            let r = &e.record;
            let lower = |v: &Option<String>| v.clone().unwrap_or_default().to_lowercase();
            q = q
                .bind(r.id.clone())
                .bind(e.tenant_id.to_string())
                .bind(micros(r.created_date_time))
                .bind(r.app_id.to_lowercase())
                .bind(lower(&r.user_id))
                .bind(lower(&r.user_principal_name))
                .bind(r.status.error_code)
                .bind(r.correlation_id.to_lowercase())
                .bind(lower(&r.ip_address))
                .bind(json(r)?);
        }
        q.execute(&self.pool).await.map_err(map_err)?;
        Ok(())
    }

    async fn audits(&self, query: &LogQuery) -> Result<Vec<AuditEntry>, StoreError> {
        select(self, LogKind::Audit, query)
            .await?
            .into_iter()
            .map(|(t, body)| {
                Ok(AuditEntry {
                    tenant_id: uuid(&t)?,
                    record: from_json(&body)?,
                })
            })
            .collect()
    }

    async fn sign_ins(&self, query: &LogQuery) -> Result<Vec<SignInEntry>, StoreError> {
        select(self, LogKind::SignIn, query)
            .await?
            .into_iter()
            .map(|(t, body)| {
                Ok(SignInEntry {
                    tenant_id: uuid(&t)?,
                    record: from_json(&body)?,
                })
            })
            .collect()
    }

    async fn prune_log(&self, kind: LogKind, before: OffsetDateTime, limit: i64) -> Result<u64, StoreError> {
        let table = match kind {
            LogKind::Audit => "directory_audits",
            LogKind::SignIn => "sign_ins",
        };
        let sql = format!(
            "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE at < $1 ORDER BY at LIMIT $2)"
        );
        Ok(sqlx::query(&sql)
            .bind(micros(before))
            .bind(limit)
            .execute(&self.pool)
            .await
            .map_err(map_err)?
            .rows_affected())
    }
}
