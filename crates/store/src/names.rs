//! Resource names held per tenant (migration 0003): an application's identifier URIs and the names of
//! service principals whose application lives elsewhere (Microsoft Graph's). The primary key on
//! (tenant, name) makes them unique under concurrent writers, in the write's own transaction.

use gatehouse_core::model::{Change, ResourceName};
use gatehouse_core::store::{Conflict, StoreError};
use gatehouse_proto::{AppId, TenantId};
use sqlx::{AnyConnection, Row};

use crate::changes;
use crate::codec::uuid;
use crate::db::{map_err, Tx};

/// Claims `names` (key, as given) for `app_id` in `tenant`. A name `app_id` holds already stays its;
/// a name another appId holds is `Conflict::IdentifierUri`.
pub(crate) async fn claim(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    app_id: AppId,
    names: &[(String, &str)],
) -> Result<(), StoreError> {
    for (key, original) in names {
        let holder: String = sqlx::query(
            "INSERT INTO resource_names (tenant_id, name, app_id) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET app_id = resource_names.app_id \
             RETURNING app_id",
        )
        .bind(tenant.to_string())
        .bind(key)
        .bind(app_id.to_string())
        .fetch_one(&mut **tx)
        .await
        .map_err(map_err)?
        .try_get(0)
        .map_err(map_err)?;
        if holder != app_id.to_string() {
            return Err(StoreError::Conflict(Conflict::IdentifierUri(
                original.to_string(),
            )));
        }
        let change = Change::Name {
            tenant,
            key: key.clone(),
        };
        changes::record(tx, &change).await?;
    }
    Ok(())
}

/// Frees every name `app_id` holds in `tenant`.
pub(crate) async fn release(tx: &mut Tx<'_>, tenant: TenantId, app_id: &str) -> Result<(), StoreError> {
    let sql = "DELETE FROM resource_names WHERE tenant_id = $1 AND app_id = $2 RETURNING name";
    free(tx, sql, tenant, app_id).await
}

/// Frees the names of a service principal whose application is not in its tenant (its application
/// keeps them otherwise).
pub(crate) async fn release_unowned(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    app_id: &str,
) -> Result<(), StoreError> {
    let sql = "DELETE FROM resource_names WHERE tenant_id = $1 AND app_id = $2 \
               AND NOT EXISTS (SELECT 1 FROM applications WHERE tenant_id = $1 AND app_id = $2) RETURNING name";
    free(tx, sql, tenant, app_id).await
}

/// Runs a `DELETE … RETURNING name` on (`$1` = tenant, `$2` = appId) and records a change for each
/// name it freed.
async fn free(tx: &mut Tx<'_>, sql: &str, tenant: TenantId, app_id: &str) -> Result<(), StoreError> {
    let freed = sqlx::query(sql)
        .bind(tenant.to_string())
        .bind(app_id)
        .fetch_all(&mut **tx)
        .await
        .map_err(map_err)?;
    for row in freed {
        let change = Change::Name {
            tenant,
            key: row.try_get(0).map_err(map_err)?,
        };
        changes::record(tx, &change).await?;
    }
    Ok(())
}

/// The appId holding a name in a tenant.
pub(crate) async fn holder(
    conn: &mut AnyConnection,
    tenant: TenantId,
    key: &str,
) -> Result<Option<AppId>, StoreError> {
    let row = sqlx::query("SELECT app_id FROM resource_names WHERE tenant_id = $1 AND name = $2")
        .bind(tenant.to_string())
        .bind(key)
        .fetch_optional(conn)
        .await
        .map_err(map_err)?;
    row.map(|r| uuid(&r.try_get::<String, _>(0).map_err(map_err)?))
        .transpose()
}

pub(crate) async fn all(conn: &mut AnyConnection) -> Result<Vec<ResourceName>, StoreError> {
    let rows = sqlx::query("SELECT tenant_id, name, app_id FROM resource_names")
        .fetch_all(conn)
        .await
        .map_err(map_err)?;
    rows.iter()
        .map(|r| {
            Ok(ResourceName {
                tenant_id: uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?,
                key: r.try_get(1).map_err(map_err)?,
                app_id: uuid(&r.try_get::<String, _>(2).map_err(map_err)?)?,
            })
        })
        .collect()
}
