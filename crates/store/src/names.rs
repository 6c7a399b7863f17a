//! Resource names held per tenant (migration 0003): an application's identifier URIs and the names of
//! service principals whose application lives elsewhere (Microsoft Graph's). The primary key on
//! (tenant, name) makes them unique under concurrent writers, in the write's own transaction.

use gatehouse_core::model::ResourceName;
use gatehouse_core::store::{Conflict, StoreError};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::codec::uuid;
use crate::db::{map_err, Tx};

/// Claims `names` (key, as given) for `app_id` in `tenant`. A name `app_id` holds already stays its;
/// a name another appId holds is `Conflict::IdentifierUri`.
pub(crate) async fn claim(
    tx: &mut Tx<'_>,
    tenant: Uuid,
    app_id: Uuid,
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
    }
    Ok(())
}

/// Frees every name `app_id` holds in `tenant`.
pub(crate) async fn release(tx: &mut Tx<'_>, tenant: Uuid, app_id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM resource_names WHERE tenant_id = $1 AND app_id = $2")
        .bind(tenant.to_string())
        .bind(app_id)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// Frees the names of a service principal whose application is not in its tenant (its application
/// keeps them otherwise).
pub(crate) async fn release_unowned(tx: &mut Tx<'_>, tenant: Uuid, app_id: &str) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM resource_names WHERE tenant_id = $1 AND app_id = $2 \
         AND NOT EXISTS (SELECT 1 FROM applications WHERE tenant_id = $1 AND app_id = $2)",
    )
    .bind(tenant.to_string())
    .bind(app_id)
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(())
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
