//! What every node's directory watcher reads: the revision, and the whole directory in one consistent
//! read.

use async_trait::async_trait;
use gatehouse_core::model::DirectoryData;
use gatehouse_core::store::{DirectoryReader, StoreError};
use sqlx::{AnyConnection, Row};

use crate::db::{map_err, SqlStore};
use crate::secrets::Owner;
use crate::{applications, assignments, federated, keys, names, secrets, service_principals, tenants};

async fn revision(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    sqlx::query("SELECT value FROM revision WHERE id = 1")
        .fetch_one(conn)
        .await
        .map_err(map_err)?
        .try_get(0)
        .map_err(map_err)
}

async fn read_all(conn: &mut AnyConnection) -> Result<DirectoryData, StoreError> {
    Ok(DirectoryData {
        revision: revision(conn).await?,
        tenants: tenants::tenants_in(conn).await?,
        applications: applications::applications_where(conn, None).await?,
        secrets: secrets::secrets_of(conn, Owner::Everyone).await?,
        service_principals: service_principals::service_principals_where(conn, None).await?,
        assignments: assignments::assignments_where(conn, None).await?,
        keys: keys::keys_in(conn).await?,
        federated: federated::federated_where(conn, None).await?,
        names: names::all(conn).await?,
    })
}

#[async_trait]
impl DirectoryReader for SqlStore {
    async fn revision(&self) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        revision(&mut conn).await
    }

    async fn load_directory(&self) -> Result<DirectoryData, StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query(self.flavor.begin_read)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let data = read_all(&mut tx).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(data)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn close(&self) {
        self.shutdown().await;
    }

    async fn changed(&self) {
        if self.flavor.notify.is_some() {
            self.changed.notified().await;
        } else {
            std::future::pending::<()>().await
        }
    }
}
