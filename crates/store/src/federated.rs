//! Federated identity credentials of applications, each a Graph-shaped JSON document with its name
//! unique per application.

use async_trait::async_trait;
use gatehouse_core::model::FederatedCredentialRecord;
use gatehouse_core::store::{Conflict, FederatedCredentialStore, StoreError};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::codec::{from_json, json, uuid};
use crate::db::{conflict_as, map_err, select_rows, SqlStore};

/// The credentials of one application, or of all.
pub(crate) async fn federated_where(
    conn: &mut AnyConnection,
    application: Option<Uuid>,
) -> Result<Vec<FederatedCredentialRecord>, StoreError> {
    const COLUMNS: &str = "SELECT application_id, doc FROM federated_credentials";
    let filter = application.map(|a| ("application_id = $1", a.to_string()));
    let rows = select_rows(conn, COLUMNS, filter, "name").await?;
    rows.iter()
        .map(|r| {
            Ok(FederatedCredentialRecord {
                application_id: uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?,
                credential: from_json(&r.try_get::<String, _>(1).map_err(map_err)?)?,
            })
        })
        .collect()
}

#[async_trait]
impl FederatedCredentialStore for SqlStore {
    async fn insert_federated(&self, rec: &FederatedCredentialRecord) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO federated_credentials (id, application_id, name, doc) VALUES ($1, $2, $3, $4)",
        )
        .bind(rec.credential.id.to_string())
        .bind(rec.application_id.to_string())
        .bind(&rec.credential.name)
        .bind(json(&rec.credential)?)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict_as(e, || {
                Conflict::FederatedCredentialName(rec.credential.name.clone())
            })
        })?;
        crate::changes::record_application_object(&mut tx, rec.application_id).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn update_federated(&self, rec: &FederatedCredentialRecord) -> Result<bool, StoreError> {
        let n = self
            .write_for_application(
                rec.application_id,
                "UPDATE federated_credentials SET doc = $1 WHERE id = $2 AND application_id = $3",
                &[
                    json(&rec.credential)?,
                    rec.credential.id.to_string(),
                    rec.application_id.to_string(),
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn delete_federated(&self, application_id: Uuid, id: Uuid) -> Result<bool, StoreError> {
        let n = self
            .write_for_application(
                application_id,
                "DELETE FROM federated_credentials WHERE id = $1 AND application_id = $2",
                &[id.to_string(), application_id.to_string()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn list_federated(
        &self,
        application_id: Uuid,
    ) -> Result<Vec<FederatedCredentialRecord>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        federated_where(&mut conn, Some(application_id)).await
    }
}
