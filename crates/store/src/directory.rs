//! What every node's directory reads: the change feed, and the rows a token request needs, by key. The
//! whole directory in one consistent read is kept for tests and offline tools.

use async_trait::async_trait;
use gatehouse_core::model::{ChangeBatch, ClientRecord, DirectoryData};
use gatehouse_core::store::{DirectoryReader, StoreError};
use gatehouse_proto::{AppId, ObjectId, TenantId};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::codec::uuid;
use crate::db::{map_err, SqlStore};
use crate::secrets::Owner;
use crate::{
    applications, assignments, changes, directory_roles, federated, keys, names, secrets, service_principals,
    tenants, users,
};

async fn read_all(conn: &mut AnyConnection) -> Result<DirectoryData, StoreError> {
    Ok(DirectoryData {
        position: changes::position(conn).await?,
        tenants: tenants::tenants_in(conn).await?,
        applications: applications::applications_where(conn, None).await?,
        secrets: secrets::secrets_of(conn, Owner::Everyone).await?,
        service_principals: service_principals::service_principals_where(conn, None).await?,
        assignments: assignments::assignments_where(conn, None).await?,
        keys: keys::keys_in(conn).await?,
        federated: federated::federated_where(conn, None).await?,
        names: names::all(conn).await?,
        users: users::all(conn).await?,
        role_assignments: directory_roles::all(conn).await?,
    })
}

#[async_trait]
impl DirectoryReader for SqlStore {
    async fn change_position(&self) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        changes::position(&mut conn).await
    }

    async fn changes_since(&self, after: i64, limit: i64) -> Result<ChangeBatch, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        changes::since(&mut conn, after, limit).await
    }

    async fn prune_changes(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        // One short transaction per batch: a million old changes never hold the write lock for long.
        let mut total = 0;
        loop {
            let mut tx = self.begin_write().await?;
            let n = changes::prune(&mut tx, before).await?;
            tx.commit().await.map_err(map_err)?;
            total += n;
            if n < changes::PRUNE_BATCH as u64 {
                return Ok(total);
            }
        }
    }

    async fn client(&self, app_id: AppId) -> Result<Option<ClientRecord>, StoreError> {
        // One connection, and the application first: rows that change together are read close together,
        // and the change feed corrects any difference within a poll.
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let Some(app) = applications::by_app_id(&mut conn, app_id).await? else {
            return Ok(None);
        };
        let secrets = secrets::secrets_of(&mut conn, Owner::Application(app.app.id)).await?;
        let federated = federated::federated_where(&mut conn, Some(app.app.id))
            .await?
            .into_iter()
            .map(|f| f.credential)
            .collect();
        Ok(Some(ClientRecord {
            app,
            secrets,
            federated,
        }))
    }

    async fn resource_name(&self, tenant_id: TenantId, key: &str) -> Result<Option<AppId>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        names::holder(&mut conn, tenant_id, key).await
    }

    async fn roles_held(&self, principal_id: ObjectId) -> Result<Vec<(ObjectId, Uuid)>, StoreError> {
        let rows = sqlx::query(
            "SELECT resource_id, app_role_id FROM app_role_assignments WHERE principal_id = $1 \
             UNION ALL SELECT resource_id, app_role_id FROM user_app_role_assignments WHERE principal_id = $2",
        )
        .bind(principal_id.to_string())
        .bind(principal_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok((
                    uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?,
                    uuid(&r.try_get::<String, _>(1).map_err(map_err)?)?,
                ))
            })
            .collect()
    }

    async fn load_directory(&self) -> Result<DirectoryData, StoreError> {
        let mut tx = crate::db::Tx::read(&self.pool).await.map_err(map_err)?;
        sqlx::query(self.flavor.begin_read)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let data = read_all(&mut tx).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(data)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("UPDATE store_probe SET probes = probes + 1 WHERE id = 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn close(&self) {
        self.shutdown().await;
    }

    fn pool_state(&self) -> gatehouse_core::store::PoolState {
        gatehouse_core::store::PoolState {
            open: self.pool.size(),
            idle: self.pool.num_idle(),
            max: self.pool.options().get_max_connections(),
        }
    }

    async fn changed(&self) {
        if self.flavor.notify.is_some() {
            self.changed.notified().await;
        } else {
            std::future::pending::<()>().await
        }
    }
}
