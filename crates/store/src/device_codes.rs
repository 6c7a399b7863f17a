//! Device codes (migration 0010), by the device code's hash and by the user code. Not part of the
//! directory. Every change of state is one conditional update, so two nodes (or two browser tabs)
//! settling or redeeming one code cannot both succeed.

use async_trait::async_trait;
use gatehouse_core::model::{DeviceCode, DeviceState};
use gatehouse_core::store::{DeviceCodeStore, StoreError};
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

use crate::codec::{from_hex32, from_micros, hex, micros, uuid};
use crate::db::{map_err, SqlStore};

const COLUMNS: &str =
    "SELECT device_hash, user_code, tenant_id, client_id, scope, expires_at, interval_secs, \
    family_id, state, user_id, auth_time, sid, last_poll_at FROM device_codes";

fn record(r: &AnyRow) -> Result<DeviceCode, StoreError> {
    let text = |i: usize| r.try_get::<String, _>(i).map_err(map_err);
    let opt = |i: usize| r.try_get::<Option<String>, _>(i).map_err(map_err);
    let state = match text(8)?.as_str() {
        "pending" => DeviceState::Pending,
        "declined" => DeviceState::Declined,
        "redeemed" => DeviceState::Redeemed,
        "approved" => {
            let corrupt = || StoreError::Corrupt("an approved device code without its user".into());
            DeviceState::Approved {
                user_id: uuid(&opt(9)?.ok_or_else(corrupt)?)?,
                auth_time: from_micros(
                    r.try_get::<Option<i64>, _>(10)
                        .map_err(map_err)?
                        .ok_or_else(corrupt)?,
                )?,
                sid: uuid(&opt(11)?.ok_or_else(corrupt)?)?,
            }
        }
        other => return Err(StoreError::Corrupt(format!("device code state '{other}'"))),
    };
    Ok(DeviceCode {
        device_hash: from_hex32(&text(0)?)?,
        user_code: text(1)?,
        tenant_id: uuid(&text(2)?)?,
        client_id: uuid(&text(3)?)?,
        scope: text(4)?,
        expires_at: from_micros(r.try_get(5).map_err(map_err)?)?,
        interval_secs: r.try_get(6).map_err(map_err)?,
        family_id: uuid(&text(7)?)?,
        state,
    })
}

#[async_trait]
impl DeviceCodeStore for SqlStore {
    async fn insert_device_code(&self, d: &DeviceCode) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO device_codes (device_hash, user_code, tenant_id, client_id, scope, expires_at, \
             interval_secs, family_id, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending')",
        )
        .bind(hex(&d.device_hash))
        .bind(d.user_code.clone())
        .bind(d.tenant_id.to_string())
        .bind(d.client_id.to_string())
        .bind(d.scope.clone())
        .bind(micros(d.expires_at))
        .bind(d.interval_secs)
        .bind(d.family_id.to_string())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn poll_device_code(
        &self,
        device_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<(DeviceCode, Option<OffsetDateTime>)>, StoreError> {
        let mut tx = crate::db::Tx::begin(&self.pool).await.map_err(map_err)?;
        let row = sqlx::query(&format!("{COLUMNS} WHERE device_hash = $1"))
            .bind(hex(device_hash))
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        let Some(r) = row else { return Ok(None) };
        let previous = r
            .try_get::<Option<i64>, _>(12)
            .map_err(map_err)?
            .map(from_micros)
            .transpose()?;
        let code = record(&r)?;
        sqlx::query("UPDATE device_codes SET last_poll_at = $1 WHERE device_hash = $2")
            .bind(micros(now))
            .bind(hex(device_hash))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(Some((code, previous)))
    }

    async fn find_device_code(&self, user_code: &str) -> Result<Option<DeviceCode>, StoreError> {
        let row = sqlx::query(&format!("{COLUMNS} WHERE user_code = $1"))
            .bind(user_code)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(record).transpose()
    }

    async fn settle_device_code(&self, user_code: &str, state: &DeviceState) -> Result<bool, StoreError> {
        let (name, user, auth_time, sid) = match state {
            DeviceState::Approved {
                user_id,
                auth_time,
                sid,
            } => (
                "approved",
                Some(user_id.to_string()),
                Some(micros(*auth_time)),
                Some(sid.to_string()),
            ),
            DeviceState::Declined => ("declined", None, None, None),
            _ => {
                return Err(StoreError::Corrupt(
                    "a device code is settled as approved or declined".into(),
                ))
            }
        };
        let n = sqlx::query(
            "UPDATE device_codes SET state = $1, user_id = $2, auth_time = $3, sid = $4 \
             WHERE user_code = $5 AND state = 'pending'",
        )
        .bind(name)
        .bind(user)
        .bind(auth_time)
        .bind(sid)
        .bind(user_code)
        .execute(&self.pool)
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn redeem_device_code(&self, device_hash: &[u8; 32]) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE device_codes SET state = 'redeemed' WHERE device_hash = $1 AND state = 'approved'",
        )
        .bind(hex(device_hash))
        .execute(&self.pool)
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn prune_device_codes(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM device_codes WHERE expires_at < $1")
            .bind(micros(before))
            .execute(&self.pool)
            .await
            .map_err(map_err)?
            .rows_affected())
    }
}
