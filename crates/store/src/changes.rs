//! The change feed (migration 0004): every write appends what it changed, in its own transaction;
//! nodes read the rows after their position and drop just those entries from their caches.

use gatehouse_core::model::{Change, ChangeBatch};
use gatehouse_core::store::StoreError;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::codec::{micros, uuid};
use crate::db::{map_err, Tx};

/// How a change is stored: (kind, tenant id or "", key or "").
fn columns(c: &Change) -> (&'static str, String, String) {
    match c {
        Change::Tenant(t) => ("tenant", t.to_string(), String::new()),
        Change::Application(a) => ("application", String::new(), a.to_string()),
        Change::ServicePrincipal { tenant, app_id } => {
            ("service_principal", tenant.to_string(), app_id.to_string())
        }
        Change::Assignments(p) => ("assignments", String::new(), p.to_string()),
        Change::Name { tenant, key } => ("name", tenant.to_string(), key.clone()),
        Change::Keys => ("keys", String::new(), String::new()),
    }
}

fn from_columns(kind: &str, tenant: &str, key: String) -> Result<Change, StoreError> {
    Ok(match kind {
        "tenant" => Change::Tenant(uuid(tenant)?),
        "application" => Change::Application(uuid(&key)?),
        "service_principal" => Change::ServicePrincipal {
            tenant: uuid(tenant)?,
            app_id: uuid(&key)?,
        },
        "assignments" => Change::Assignments(uuid(&key)?),
        "name" => Change::Name {
            tenant: uuid(tenant)?,
            key,
        },
        "keys" => Change::Keys,
        other => return Err(StoreError::Corrupt(format!("unknown change kind {other}"))),
    })
}

/// Appends a change to the feed, in the write's transaction.
pub(crate) async fn record(tx: &mut Tx<'_>, change: &Change) -> Result<(), StoreError> {
    let (kind, tenant, key) = columns(change);
    sqlx::query("INSERT INTO changes (kind, tenant_id, key, at) VALUES ($1, $2, $3, $4)")
        .bind(kind)
        .bind(tenant)
        .bind(key)
        .bind(micros(OffsetDateTime::now_utc()))
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// Records an application change for the application with object id `id`, if it exists.
pub(crate) async fn record_application_object(
    tx: &mut Tx<'_>,
    id: gatehouse_proto::ObjectId,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO changes (kind, tenant_id, key, at) SELECT 'application', '', app_id, $1 FROM applications WHERE id = $2",
    )
    .bind(micros(OffsetDateTime::now_utc()))
    .bind(id.to_string())
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn position(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM changes")
        .fetch_one(conn)
        .await
        .map_err(map_err)?
        .try_get(0)
        .map_err(map_err)
}

pub(crate) async fn since(
    conn: &mut AnyConnection,
    after: i64,
    limit: i64,
) -> Result<ChangeBatch, StoreError> {
    let pruned_through: i64 = sqlx::query("SELECT pruned_through FROM revision WHERE id = 1")
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?
        .try_get(0)
        .map_err(map_err)?;
    let rows =
        sqlx::query("SELECT seq, kind, tenant_id, key FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(conn)
            .await
            .map_err(map_err)?;
    let changes = rows
        .iter()
        .map(|r| {
            let kind: String = r.try_get(1).map_err(map_err)?;
            let tenant: String = r.try_get(2).map_err(map_err)?;
            Ok((
                r.try_get(0).map_err(map_err)?,
                from_columns(&kind, &tenant, r.try_get(3).map_err(map_err)?)?,
            ))
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(ChangeBatch {
        changes,
        complete: after >= pruned_through,
    })
}

/// Changes deleted per transaction when pruning, so that writers never wait long behind it.
pub(crate) const PRUNE_BATCH: i64 = 10_000;

/// Deletes up to [`PRUNE_BATCH`] of the oldest changes recorded before `before`, remembering the
/// newest position deleted; returns how many it deleted.
pub(crate) async fn prune(tx: &mut Tx<'_>, before: OffsetDateTime) -> Result<u64, StoreError> {
    let newest: Option<i64> = sqlx::query(
        "SELECT MAX(seq) FROM (SELECT seq FROM changes WHERE at < $1 ORDER BY seq LIMIT $2) AS oldest",
    )
    .bind(micros(before))
    .bind(PRUNE_BATCH)
    .fetch_one(&mut **tx)
    .await
    .map_err(map_err)?
    .try_get(0)
    .map_err(map_err)?;
    let Some(newest) = newest else { return Ok(0) };
    sqlx::query("UPDATE revision SET pruned_through = $1 WHERE id = 1 AND pruned_through < $1")
        .bind(newest)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(sqlx::query("DELETE FROM changes WHERE seq <= $1")
        .bind(newest)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?
        .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_round_trips_through_its_columns() {
        let t = gatehouse_proto::TenantId::new();
        let a = gatehouse_proto::AppId::new();
        for c in [
            Change::Tenant(t),
            Change::Application(a),
            Change::ServicePrincipal { tenant: t, app_id: a },
            Change::Assignments(gatehouse_proto::ObjectId::new()),
            Change::Name {
                tenant: t,
                key: "api://x".into(),
            },
            Change::Keys,
        ] {
            let (kind, tenant, key) = columns(&c);
            assert_eq!(from_columns(kind, &tenant, key).unwrap(), c);
        }
    }
}
