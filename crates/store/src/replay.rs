//! Used client-assertion ids (OIDC Core §9). Not part of the directory: recording one bumps no
//! revision, so no node reloads.

use async_trait::async_trait;
use gatehouse_core::store::{ReplayStore, StoreError};
use time::OffsetDateTime;

use crate::codec::micros;
use crate::db::{map_err, SqlStore};

#[async_trait]
impl ReplayStore for SqlStore {
    async fn record_assertions(
        &self,
        batch: &[(String, String, OffsetDateTime)],
    ) -> Result<Vec<bool>, StoreError> {
        let mut tx = crate::db::Tx::begin(&self.pool).await.map_err(map_err)?;
        let mut fresh = Vec::with_capacity(batch.len());
        for (client_id, jti, expires) in batch {
            let n = sqlx::query(
                "INSERT INTO used_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (client_id, jti) DO NOTHING",
            )
            .bind(client_id)
            .bind(jti)
            .bind(micros(*expires))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
            fresh.push(n == 1);
        }
        tx.commit().await.map_err(map_err)?;
        Ok(fresh)
    }

    async fn prune_assertions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM used_assertions WHERE expires_at < $1")
            .bind(micros(now))
            .execute(&self.pool)
            .await
            .map_err(map_err)?
            .rows_affected())
    }
}
