//! Client secrets: their metadata and the SHA-256 of their value (hex), never the value.

use async_trait::async_trait;
use gatehouse_core::audit::Touched;
use gatehouse_core::model::PasswordSecret;
use gatehouse_core::store::{SecretStore, StoreError};
use gatehouse_proto::{ObjectId, TenantId};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::changes;
use crate::codec::{from_hex32, from_micros, hex, micros, uuid};
use crate::db::{map_err, select_rows, SqlStore, Tx};

const COLUMNS: &str =
    "SELECT key_id, application_id, display_name, hint, hash, start_at, end_at FROM password_secrets";

/// Whose secrets to read.
pub(crate) enum Owner {
    Application(ObjectId),
    Tenant(TenantId),
    Everyone,
}

pub(crate) async fn put_secret(tx: &mut Tx<'_>, s: &PasswordSecret) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO password_secrets (key_id, application_id, display_name, hint, hash, start_at, end_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(s.key_id.to_string())
    .bind(s.application_id.to_string())
    .bind(s.display_name.clone())
    .bind(&s.hint)
    .bind(hex(&s.hash))
    .bind(micros(s.start))
    .bind(micros(s.end))
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    changes::record_application_object(tx, s.application_id).await
}

pub(crate) async fn secrets_of(
    conn: &mut AnyConnection,
    owner: Owner,
) -> Result<Vec<PasswordSecret>, StoreError> {
    let filter = match owner {
        Owner::Application(a) => Some(("application_id = $1", a.to_string())),
        Owner::Tenant(t) => Some((
            "application_id IN (SELECT id FROM applications WHERE tenant_id = $1)",
            t.to_string(),
        )),
        Owner::Everyone => None,
    };
    let rows = select_rows(conn, COLUMNS, filter, "start_at, key_id").await?;
    rows.iter()
        .map(|r| {
            Ok(PasswordSecret {
                key_id: uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?,
                application_id: uuid(&r.try_get::<String, _>(1).map_err(map_err)?)?,
                display_name: r.try_get(2).map_err(map_err)?,
                hint: r.try_get(3).map_err(map_err)?,
                hash: from_hex32(&r.try_get::<String, _>(4).map_err(map_err)?)?,
                start: from_micros(r.try_get(5).map_err(map_err)?)?,
                end: from_micros(r.try_get(6).map_err(map_err)?)?,
            })
        })
        .collect()
}

#[async_trait]
impl SecretStore for SqlStore {
    async fn insert_secret(&self, secret: &PasswordSecret) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new("Application", secret.application_id, None));
        put_secret(&mut tx, secret).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_secret(&self, application_id: ObjectId, key_id: Uuid) -> Result<bool, StoreError> {
        let n = self
            .write_for_application(
                application_id,
                "DELETE FROM password_secrets WHERE key_id = $1 AND application_id = $2",
                &[key_id.to_string(), application_id.to_string()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn list_secrets(&self, application_id: ObjectId) -> Result<Vec<PasswordSecret>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        secrets_of(&mut conn, Owner::Application(application_id)).await
    }

    async fn list_tenant_secrets(&self, tenant_id: TenantId) -> Result<Vec<PasswordSecret>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        secrets_of(&mut conn, Owner::Tenant(tenant_id)).await
    }
}
