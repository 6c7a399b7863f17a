//! Used client-assertion ids (OIDC Core §9). Not part of the directory: recording one bumps no
//! revision, so no node reloads.

use std::collections::HashSet;

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
        // One statement for the whole batch (one round trip, one commit), with the batch bound as
        // one JSON array, so that every batch size runs the same prepared statement (a statement per
        // size missed the statement cache, and binding three values a row cost more than the insert).
        // The rows it inserted come back; an id is fresh if its row did (the first of two equal ids
        // in a batch only).
        let e = self.flavor.json_element;
        let sql = format!(
            "INSERT INTO used_assertions (client_id, jti, expires_at) \
             SELECT {e}0, {e}1, CAST({e}2 AS BIGINT) FROM {} WHERE true \
             ON CONFLICT (client_id, jti) DO NOTHING RETURNING client_id, jti",
            self.flavor.json_rows
        );
        let rows: Vec<serde_json::Value> = batch
            .iter()
            .map(|(client_id, jti, expires)| serde_json::json!([client_id, jti, micros(*expires)]))
            .collect();
        let q = sqlx::query(&sql).bind(serde_json::Value::Array(rows).to_string());
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
