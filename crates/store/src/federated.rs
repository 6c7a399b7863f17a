//! Federated identity credentials of applications, each a Graph-shaped JSON document; per application,
//! names and (issuer, subject) pairs are unique and there are at most Graph's limit.

use async_trait::async_trait;
use gatehouse_core::audit::Touched;
use gatehouse_core::model::FederatedCredentialRecord;
use gatehouse_core::store::{Conflict, FederatedCredentialStore, StoreError};
use gatehouse_proto::graph::FederatedIdentityCredential;
use gatehouse_proto::ObjectId;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::changes;
use crate::codec::{from_json, json, uuid};
use crate::db::{conflict_as, map_err, select_rows, SqlStore, Tx};

/// The credentials of one application, or of all.
pub(crate) async fn federated_where(
    conn: &mut AnyConnection,
    application: Option<ObjectId>,
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

/// Checks, inside a write transaction (writers are serialised, so nothing can slip in between), that
/// no other credential of the application has `rec`'s issuer and subject, and that a new one stays
/// within `limit`.
async fn check_siblings(
    tx: &mut Tx<'_>,
    rec: &FederatedCredentialRecord,
    limit: Option<usize>,
) -> Result<(), StoreError> {
    let others: Vec<FederatedCredentialRecord> = federated_where(tx, Some(rec.application_id))
        .await?
        .into_iter()
        .filter(|o| o.credential.id != rec.credential.id)
        .collect();
    if limit.is_some_and(|l| others.len() >= l) {
        return Err(StoreError::Conflict(Conflict::TooManyFederatedCredentials(
            limit.unwrap_or_default(),
        )));
    }
    let c = &rec.credential;
    if others
        .iter()
        .any(|o| o.credential.issuer == c.issuer && o.credential.subject == c.subject)
    {
        return Err(StoreError::Conflict(Conflict::FederatedCredentialSubject));
    }
    Ok(())
}

#[async_trait]
impl FederatedCredentialStore for SqlStore {
    async fn insert_federated(
        &self,
        rec: &FederatedCredentialRecord,
        limit: usize,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new("Application", rec.application_id, None));
        check_siblings(&mut tx, rec, Some(limit)).await?;
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
        changes::record_application_object(&mut tx, rec.application_id).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn update_federated(
        &self,
        rec: &FederatedCredentialRecord,
        read: &FederatedIdentityCredential,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new("Application", rec.application_id, None));
        let current =
            sqlx::query("SELECT doc FROM federated_credentials WHERE id = $1 AND application_id = $2")
                .bind(rec.credential.id.to_string())
                .bind(rec.application_id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        let Some(current) = current else { return Ok(false) };
        let current: FederatedIdentityCredential =
            from_json(&current.try_get::<String, _>(0).map_err(map_err)?)?;
        if current != *read {
            return Err(StoreError::Stale);
        }
        check_siblings(&mut tx, rec, None).await?;
        sqlx::query("UPDATE federated_credentials SET doc = $1 WHERE id = $2 AND application_id = $3")
            .bind(json(&rec.credential)?)
            .bind(rec.credential.id.to_string())
            .bind(rec.application_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        changes::record_application_object(&mut tx, rec.application_id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn delete_federated(&self, application_id: ObjectId, id: Uuid) -> Result<bool, StoreError> {
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
        application_id: ObjectId,
    ) -> Result<Vec<FederatedCredentialRecord>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        federated_where(&mut conn, Some(application_id)).await
    }
}
