//! Token-signing keys, their private parts sealed under the key-encryption key, and the rotation that
//! adds at most one pending key however many nodes ask at once.

use async_trait::async_trait;
use gatehouse_core::model::{Change, StoredKey};
use gatehouse_core::store::{KeyStore, Rotation, StoreError};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::changes;
use crate::codec::{b64, from_b64, from_micros, micros};
use crate::db::{map_err, SqlStore, Tx};

pub(crate) async fn put_key(tx: &mut Tx<'_>, k: &StoredKey) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO signing_keys (kid, sealed_private_key, certificate, created_at, activates_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&k.kid)
    .bind(b64(&k.sealed_private_key))
    .bind(b64(&k.certificate_der))
    .bind(micros(k.created))
    .bind(micros(k.activates))
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    changes::record(tx, &Change::Keys).await
}

pub(crate) async fn keys_in(conn: &mut AnyConnection) -> Result<Vec<StoredKey>, StoreError> {
    sqlx::query(
        "SELECT kid, sealed_private_key, certificate, created_at, activates_at FROM signing_keys \
         ORDER BY activates_at, kid",
    )
    .fetch_all(conn)
    .await
    .map_err(map_err)?
    .iter()
    .map(|r| {
        Ok(StoredKey {
            kid: r.try_get(0).map_err(map_err)?,
            sealed_private_key: from_b64(&r.try_get::<String, _>(1).map_err(map_err)?)?,
            certificate_der: from_b64(&r.try_get::<String, _>(2).map_err(map_err)?)?,
            created: from_micros(r.try_get(3).map_err(map_err)?)?,
            activates: from_micros(r.try_get(4).map_err(map_err)?)?,
        })
    })
    .collect()
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn insert_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        put_key(&mut tx, key).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        keys_in(&mut conn).await
    }

    async fn rotate_keys(
        &self,
        key: &StoredKey,
        now: OffsetDateTime,
        emergency: bool,
    ) -> Result<Rotation, StoreError> {
        // The revision bump in begin_write serialises writers, so the check below sees any key another
        // node added a moment ago.
        let mut tx = self.begin_write().await?;
        if emergency {
            sqlx::query("DELETE FROM signing_keys")
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        } else if let Some(r) =
            sqlx::query("SELECT kid FROM signing_keys WHERE activates_at > $1 ORDER BY activates_at, kid")
                .bind(micros(now))
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?
        {
            let kid: String = r.try_get(0).map_err(map_err)?;
            tx.rollback().await.map_err(map_err)?;
            return Ok(Rotation::AlreadyPending(kid));
        }
        put_key(&mut tx, key).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(Rotation::Added)
    }

    async fn delete_keys(&self, kids: &[String]) -> Result<u64, StoreError> {
        if kids.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        let mut n = 0;
        for kid in kids {
            n += sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
                .bind(kid)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?
                .rows_affected();
        }
        changes::record(&mut tx, &Change::Keys).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(n)
    }
}
