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
use gatehouse_proto::logs::{DirectoryAudit, SignIn, SignInStatus};
use sqlx::Row;
use time::OffsetDateTime;

use crate::codec::{from_json, from_micros, json, micros, uuid};
use crate::db::{map_err, SqlStore, Tx};

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
fn audit_columns(r: &DirectoryAudit) -> [String; 7] {
    let app = r.initiated_by.app.as_ref().and_then(|a| a.app_id.clone());
    let user = r.initiated_by.user.as_ref();
    let upn = user.and_then(|u| u.user_principal_name.clone());
    [
        r.category.to_lowercase(),
        r.activity_display_name.to_lowercase(),
        r.result.clone(),
        r.correlation_id.to_lowercase(),
        app.unwrap_or_default().to_lowercase(),
        user.and_then(|u| u.id.clone()).unwrap_or_default().to_lowercase(),
        upn.unwrap_or_default().to_lowercase(),
    ]
}

pub(crate) async fn insert_audit(conn: &mut sqlx::AnyConnection, e: &AuditEntry) -> Result<(), StoreError> {
    let r = &e.record;
    let [category, activity, result, correlation, app, user, upn] = audit_columns(r);
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
async fn select(store: &SqlStore, kind: LogKind, q: &LogQuery) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
    let (table, columns) = match kind {
        LogKind::Audit => ("directory_audits", "tenant_id, body"),
        LogKind::SignIn => ("sign_ins", SIGN_IN_COLUMNS),
    };
    let mut sql = format!("SELECT {columns} FROM {table} WHERE 1 = 1");
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
    query.fetch_all(&store.pool).await.map_err(map_err)
}

enum Arg {
    Text(String),
    Int(i64),
}

/// Sign-ins stored per statement.
const CHUNK: usize = 500;

/// A sign-in's columns, in the order [`insert_sign_ins`] writes and [`sign_in_from`] reads them.
const SIGN_IN_COLUMNS: &str = "tenant_id, id, at, app_id, user_id, user_principal_name, error_code, \
    correlation_id, ip_address, user_principal_name_as_given, user_display_name, app_display_name, \
    service_principal_id, client_app_used, resource_id, resource_display_name, failure_reason, interactive";
/// Which of them are numbers (the rest are text).
const SIGN_IN_NUMBERS: [usize; 3] = [2, 6, 17];

/// Stores sign-ins with one statement and one bound value: a JSON array of their columns, which the
/// database takes apart ([`crate::db::Flavor::json_rows`]). Binding each value on its own cost more
/// than the insert.
async fn insert_sign_ins(
    conn: &mut sqlx::AnyConnection,
    flavor: &crate::db::Flavor,
    entries: &[SignInEntry],
) -> Result<(), StoreError> {
    let lower = |v: &Option<String>| v.as_deref().unwrap_or_default().to_lowercase();
    let rows = entries
        .iter()
        .map(|e| {
            let r = &e.record;
            serde_json::json!([
                e.tenant_id.to_string(),
                r.id,
                micros(r.created_date_time),
                r.app_id.to_lowercase(),
                lower(&r.user_id),
                lower(&r.user_principal_name),
                r.status.error_code,
                r.correlation_id.to_lowercase(),
                lower(&r.ip_address),
                r.user_principal_name,
                r.user_display_name,
                r.app_display_name,
                r.service_principal_id,
                r.client_app_used,
                r.resource_id,
                r.resource_display_name,
                r.status.failure_reason,
                i64::from(r.is_interactive),
            ])
        })
        .collect::<Vec<_>>();
    let count = SIGN_IN_COLUMNS.split(',').count();
    let elements: Vec<String> = (0..count)
        .map(|i| match SIGN_IN_NUMBERS.contains(&i) {
            true => format!("CAST({}{i} AS BIGINT)", flavor.json_element),
            false => format!("{}{i}", flavor.json_element),
        })
        .collect();
    let sql = format!(
        "INSERT INTO sign_ins ({SIGN_IN_COLUMNS}) SELECT {} FROM {}",
        elements.join(", "),
        flavor.json_rows
    );
    sqlx::query(&sql)
        .bind(json(&rows)?)
        .execute(conn)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// A sign-in as stored, read back in Graph's shape.
fn sign_in_from(r: &sqlx::any::AnyRow) -> Result<SignInEntry, StoreError> {
    let text = |i: usize| -> Result<Option<String>, StoreError> { r.try_get(i).map_err(map_err) };
    let number = |i: usize| -> Result<i64, StoreError> { r.try_get(i).map_err(map_err) };
    let some = |v: Option<String>| v.filter(|s| !s.is_empty());
    Ok(SignInEntry {
        tenant_id: uuid(&text(0)?.unwrap_or_default())?,
        record: SignIn {
            id: text(1)?.unwrap_or_default(),
            created_date_time: from_micros(number(2)?)?,
            app_id: text(3)?.unwrap_or_default(),
            user_id: some(text(4)?),
            status: SignInStatus {
                error_code: number(6)?,
                failure_reason: text(16)?,
                additional_details: None,
            },
            correlation_id: text(7)?.unwrap_or_default(),
            ip_address: some(text(8)?),
            user_principal_name: text(9)?,
            user_display_name: text(10)?,
            app_display_name: text(11)?,
            service_principal_id: text(12)?,
            client_app_used: text(13)?.unwrap_or_default(),
            resource_id: text(14)?,
            resource_display_name: text(15)?,
            is_interactive: number(17)? != 0,
            conditional_access_status: "notApplied".into(),
        },
    })
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
        // One transaction (one commit) for them all, in statements of `CHUNK` rows.
        let mut tx = Tx::begin(&self.pool).await.map_err(map_err)?;
        for chunk in entries.chunks(CHUNK) {
            insert_sign_ins(&mut tx, &self.flavor, chunk).await?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn audits(&self, query: &LogQuery) -> Result<Vec<AuditEntry>, StoreError> {
        select(self, LogKind::Audit, query)
            .await?
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    tenant_id: uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?,
                    record: from_json(&r.try_get::<String, _>(1).map_err(map_err)?)?,
                })
            })
            .collect()
    }

    async fn sign_ins(&self, query: &LogQuery) -> Result<Vec<SignInEntry>, StoreError> {
        select(self, LogKind::SignIn, query)
            .await?
            .iter()
            .map(sign_in_from)
            .collect()
    }

    async fn prune_log(&self, kind: LogKind, before: OffsetDateTime, limit: i64) -> Result<u64, StoreError> {
        let table = match kind {
            LogKind::Audit => "directory_audits",
            LogKind::SignIn => "sign_ins",
        };
        // Ids sort by time (`audit::first_id_at`): the primary key finds the oldest.
        let sql = format!(
            "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE id < $1 ORDER BY id LIMIT $2)"
        );
        Ok(sqlx::query(&sql)
            .bind(gatehouse_core::audit::first_id_at(kind, before))
            .bind(limit)
            .execute(&self.pool)
            .await
            .map_err(map_err)?
            .rows_affected())
    }
}
