//! Browser sessions and authorization codes (migration 0009), by the SHA-256 of what the browser or
//! client holds. Not part of the directory. Redeeming a code is one conditional update, so two nodes
//! redeeming one code at once cannot both succeed.

use async_trait::async_trait;
use gatehouse_core::model::{Session, StoredCode};
use gatehouse_core::store::{SessionStore, StoreError};
use gatehouse_proto::AppId;
use sqlx::Row;
use time::OffsetDateTime;

use crate::codec::{from_hex32, from_json, from_micros, hex, json, micros, uuid};
use crate::db::{map_err, SqlStore};

const SESSION_COLUMNS: &str = "SELECT id_hash, sid, tenant_id, user_id, auth_time, expires_at FROM sessions";

fn session(r: &sqlx::any::AnyRow) -> Result<Session, StoreError> {
    let text = |i: usize| r.try_get::<String, _>(i).map_err(map_err);
    Ok(Session {
        id_hash: from_hex32(&text(0)?)?,
        sid: uuid(&text(1)?)?,
        tenant_id: uuid(&text(2)?)?,
        user_id: uuid(&text(3)?)?,
        auth_time: from_micros(r.try_get(4).map_err(map_err)?)?,
        expires_at: from_micros(r.try_get(5).map_err(map_err)?)?,
        clients: vec![],
    })
}

/// The session of `row`, with the applications signed in to through it.
async fn with_clients<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    row: Option<&sqlx::any::AnyRow>,
) -> Result<Option<Session>, StoreError> {
    let Some(mut s) = row.map(session).transpose()? else {
        return Ok(None);
    };
    let rows =
        sqlx::query("SELECT client_id FROM session_clients WHERE session_hash = $1 ORDER BY client_id")
            .bind(hex(&s.id_hash))
            .fetch_all(executor)
            .await
            .map_err(map_err)?;
    for r in rows {
        let id: String = r.try_get(0).map_err(map_err)?;
        s.clients.push(AppId(uuid(&id)?));
    }
    Ok(Some(s))
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, sid, tenant_id, user_id, auth_time, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(hex(&s.id_hash))
        .bind(s.sid.to_string())
        .bind(s.tenant_id.to_string())
        .bind(s.user_id.to_string())
        .bind(micros(s.auth_time))
        .bind(micros(s.expires_at))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_session(&self, id_hash: &[u8; 32]) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(&format!("{SESSION_COLUMNS} WHERE id_hash = $1"))
            .bind(hex(id_hash))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        with_clients(&self.pool, row.as_ref()).await
    }

    async fn end_session(&self, id_hash: &[u8; 32]) -> Result<Option<Session>, StoreError> {
        let mut tx = crate::db::Tx::begin(&self.pool).await.map_err(map_err)?;
        let row = sqlx::query(&format!("{SESSION_COLUMNS} WHERE id_hash = $1"))
            .bind(hex(id_hash))
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        let Some(s) = with_clients(&mut *tx, row.as_ref()).await? else {
            return Ok(None);
        };
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(hex(id_hash))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query("UPDATE refresh_families SET revoked = 1 WHERE session_id = $1")
            .bind(s.sid.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(Some(s))
    }

    async fn add_session_client(&self, id_hash: &[u8; 32], client: AppId) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO session_clients (session_hash, client_id) VALUES ($1, $2) \
             ON CONFLICT (session_hash, client_id) DO NOTHING",
        )
        .bind(hex(id_hash))
        .bind(client.to_string())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn insert_code(&self, c: &StoredCode) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO authorization_codes (hash, tenant_id, grant_doc, family_id, expires_at, redeemed_at) \
             VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(hex(&c.hash))
        .bind(c.tenant_id.to_string())
        .bind(json(&c.grant)?)
        .bind(c.grant.family_id.to_string())
        .bind(micros(c.expires_at))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_code(&self, hash: &[u8; 32]) -> Result<Option<StoredCode>, StoreError> {
        let row = sqlx::query(
            "SELECT tenant_id, grant_doc, expires_at, redeemed_at FROM authorization_codes WHERE hash = $1",
        )
        .bind(hex(hash))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(StoredCode {
            hash: *hash,
            tenant_id: uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?,
            grant: from_json(&r.try_get::<String, _>(1).map_err(map_err)?)?,
            expires_at: from_micros(r.try_get(2).map_err(map_err)?)?,
            redeemed: r.try_get::<Option<i64>, _>(3).map_err(map_err)?.is_some(),
        }))
    }

    async fn redeem_code(&self, hash: &[u8; 32], now: OffsetDateTime) -> Result<bool, StoreError> {
        let mut tx = crate::db::Tx::begin(&self.pool).await.map_err(map_err)?;
        let first = sqlx::query(
            "UPDATE authorization_codes SET redeemed_at = $1 WHERE hash = $2 AND redeemed_at IS NULL",
        )
        .bind(micros(now))
        .bind(hex(hash))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected()
            == 1;
        if !first {
            sqlx::query(
                "UPDATE refresh_families SET revoked = 1 WHERE id IN \
                 (SELECT family_id FROM authorization_codes WHERE hash = $1)",
            )
            .bind(hex(hash))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(first)
    }

    async fn prune_sessions_and_codes(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let mut n = 0;
        for table in ["sessions", "authorization_codes"] {
            n += sqlx::query(&format!("DELETE FROM {table} WHERE expires_at < $1"))
                .bind(micros(now))
                .execute(&self.pool)
                .await
                .map_err(map_err)?
                .rows_affected();
        }
        Ok(n)
    }
}
