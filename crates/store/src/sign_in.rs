//! Failed password sign-ins per key, for smart lockout. Not part of the directory: recording one bumps
//! no revision. Each failure is one atomic upsert, so concurrent failures on two nodes both count.

use async_trait::async_trait;
use gatehouse_core::store::{SignInStore, StoreError};
use sqlx::Row;
use time::OffsetDateTime;

use crate::codec::{from_micros, micros};
use crate::db::{map_err, SqlStore};

#[async_trait]
impl SignInStore for SqlStore {
    async fn sign_in_failures(
        &self,
        keys: &[String],
    ) -> Result<Vec<(u32, Option<OffsetDateTime>)>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let row = sqlx::query("SELECT failures, last_failure_at FROM sign_in_failures WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
            out.push(match row {
                Some(r) => (
                    u32::try_from(r.try_get::<i64, _>(0).map_err(map_err)?).unwrap_or(u32::MAX),
                    Some(from_micros(r.try_get(1).map_err(map_err)?)?),
                ),
                None => (0, None),
            });
        }
        Ok(out)
    }

    async fn record_sign_in_failure(
        &self,
        keys: &[String],
        now: OffsetDateTime,
    ) -> Result<Vec<u32>, StoreError> {
        let mut tx = crate::db::Tx::begin(&self.pool).await.map_err(map_err)?;
        let mut counts = Vec::with_capacity(keys.len());
        for key in keys {
            let n: i64 = sqlx::query(
                "INSERT INTO sign_in_failures (key, failures, last_failure_at) VALUES ($1, 1, $2) \
                 ON CONFLICT (key) DO UPDATE SET failures = sign_in_failures.failures + 1, \
                 last_failure_at = excluded.last_failure_at RETURNING failures",
            )
            .bind(key)
            .bind(micros(now))
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?
            .try_get(0)
            .map_err(map_err)?;
            counts.push(u32::try_from(n).unwrap_or(u32::MAX));
        }
        tx.commit().await.map_err(map_err)?;
        Ok(counts)
    }

    async fn clear_sign_in_failures(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sign_in_failures WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn prune_sign_in_failures(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM sign_in_failures WHERE last_failure_at < $1")
                .bind(micros(before))
                .execute(&self.pool)
                .await
                .map_err(map_err)?
                .rows_affected(),
        )
    }
}
