//! Used client-assertion ids (OIDC Core §9). Not part of the directory: recording one bumps no
//! revision, so no node reloads.

use std::collections::HashSet;
use std::fmt::Write as _;

use async_trait::async_trait;
use gatehouse_core::store::{ReplayStore, StoreError};
use sqlx::Row;
use time::OffsetDateTime;

use crate::codec::micros;
use crate::db::{map_err, SqlStore};

#[async_trait]
impl ReplayStore for SqlStore {
    async fn record_assertions(
        &self,
        batch: &[(String, String, OffsetDateTime)],
    ) -> Result<Vec<bool>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for the whole batch (one round trip, one commit): the rows it inserted come
        // back, and an id is fresh if its row did (the first of two equal ids in a batch only).
        let mut sql = String::from("INSERT INTO used_assertions (client_id, jti, expires_at) VALUES ");
        for i in 0..batch.len() {
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(sql, "{sep}(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3);
        }
        sql.push_str(" ON CONFLICT (client_id, jti) DO NOTHING RETURNING client_id, jti");
        let mut q = sqlx::query(&sql);
        for (client_id, jti, expires) in batch {
            q = q.bind(client_id).bind(jti).bind(micros(*expires));
        }
        let mut inserted: HashSet<(String, String)> = q
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .iter()
            .map(|r| Ok((r.try_get(0).map_err(map_err)?, r.try_get(1).map_err(map_err)?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(batch
            .iter()
            .map(|(client_id, jti, _)| inserted.remove(&(client_id.clone(), jti.clone())))
            .collect())
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
