//! Refresh tokens (migration 0008): families and the hashes of their tokens. Not part of the directory:
//! nothing here bumps the change feed. Rotation is one conditional update, so the rules in
//! [`RefreshTokenStore::rotate_refresh_token`] hold however many nodes race on one token.

use async_trait::async_trait;
use gatehouse_core::model::{RefreshFamily, StoredRefreshToken};
use gatehouse_core::store::{RefreshTokenStore, StoreError};
use gatehouse_proto::{ObjectId, TenantId};
use sqlx::Row;
use time::OffsetDateTime;

use crate::codec::{from_hex32, from_micros, hex, micros, uuid};
use crate::db::{map_err, SqlStore, Tx};

async fn put_token(tx: &mut Tx<'_>, t: &StoredRefreshToken) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO refresh_tokens (hash, family_id, issued_at, used_at) VALUES ($1, $2, $3, NULL)")
        .bind(hex(&t.hash))
        .bind(t.family_id.to_string())
        .bind(micros(t.issued_at))
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

#[async_trait]
impl RefreshTokenStore for SqlStore {
    async fn insert_refresh_family(
        &self,
        f: &RefreshFamily,
        first: &StoredRefreshToken,
    ) -> Result<(), StoreError> {
        let mut tx = crate::db::Tx::begin(&self.pool).await.map_err(map_err)?;
        sqlx::query(
            "INSERT INTO refresh_families (id, tenant_id, user_id, client_id, scopes, auth_time, expires_at, \
             spa, session_id, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(f.id.to_string())
        .bind(f.tenant_id.to_string())
        .bind(f.user_id.to_string())
        .bind(f.client_id.to_string())
        .bind(f.scopes.clone())
        .bind(micros(f.auth_time))
        .bind(micros(f.expires_at))
        .bind(i64::from(f.spa))
        .bind(f.session_id.clone())
        .bind(i64::from(f.revoked))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        put_token(&mut tx, first).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn find_refresh_token(
        &self,
        hash: &[u8; 32],
    ) -> Result<Option<(StoredRefreshToken, RefreshFamily)>, StoreError> {
        let row = sqlx::query(
            "SELECT t.hash, t.family_id, t.issued_at, t.used_at, f.tenant_id, f.user_id, f.client_id, \
             f.scopes, f.auth_time, f.expires_at, f.spa, f.session_id, f.revoked \
             FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = $1",
        )
        .bind(hex(hash))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(r) = row else { return Ok(None) };
        let text = |i: usize| r.try_get::<String, _>(i).map_err(map_err);
        let int = |i: usize| r.try_get::<i64, _>(i).map_err(map_err);
        let family_id = uuid(&text(1)?)?;
        let token = StoredRefreshToken {
            hash: from_hex32(&text(0)?)?,
            family_id,
            issued_at: from_micros(int(2)?)?,
            used_at: r
                .try_get::<Option<i64>, _>(3)
                .map_err(map_err)?
                .map(from_micros)
                .transpose()?,
        };
        let family = RefreshFamily {
            id: family_id,
            tenant_id: uuid(&text(4)?)?,
            user_id: uuid(&text(5)?)?,
            client_id: uuid(&text(6)?)?,
            scopes: text(7)?,
            auth_time: from_micros(int(8)?)?,
            expires_at: from_micros(int(9)?)?,
            spa: int(10)? != 0,
            session_id: r.try_get::<Option<String>, _>(11).map_err(map_err)?,
            revoked: int(12)? != 0,
        };
        Ok(Some((token, family)))
    }

    async fn rotate_refresh_token(
        &self,
        old: &[u8; 32],
        new: &StoredRefreshToken,
        grace_from: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = crate::db::Tx::begin(&self.pool).await.map_err(map_err)?;
        let redeemed = sqlx::query(
            "UPDATE refresh_tokens SET used_at = COALESCE(used_at, $1) WHERE hash = $2 AND family_id = $3 \
             AND (used_at IS NULL OR used_at >= $4) \
             AND family_id IN (SELECT id FROM refresh_families WHERE revoked = 0)",
        )
        .bind(micros(new.issued_at))
        .bind(hex(old))
        .bind(new.family_id.to_string())
        .bind(micros(grace_from))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected()
            == 1;
        if redeemed {
            put_token(&mut tx, new).await?;
        } else {
            sqlx::query("UPDATE refresh_families SET revoked = 1 WHERE id = $1")
                .bind(new.family_id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(redeemed)
    }

    async fn revoke_user_refresh_tokens(
        &self,
        tenant_id: TenantId,
        user_id: ObjectId,
    ) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE refresh_families SET revoked = 1 WHERE tenant_id = $1 AND user_id = $2 AND revoked = 0",
        )
        .bind(tenant_id.to_string())
        .bind(user_id.to_string())
        .execute(&self.pool)
        .await
        .map_err(map_err)?
        .rows_affected())
    }

    async fn prune_refresh_tokens(
        &self,
        now: OffsetDateTime,
        idle_before: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let mut tx = crate::db::Tx::begin(&self.pool).await.map_err(map_err)?;
        let tokens = sqlx::query("DELETE FROM refresh_tokens WHERE issued_at < $1")
            .bind(micros(idle_before))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        let families = sqlx::query(
            "DELETE FROM refresh_families WHERE expires_at < $1 \
             OR id NOT IN (SELECT family_id FROM refresh_tokens)",
        )
        .bind(micros(now))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        tx.commit().await.map_err(map_err)?;
        Ok(tokens + families)
    }
}
