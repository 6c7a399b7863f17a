//! Users: the Graph object as a JSON document, the principal name's lower-cased key (unique per tenant),
//! and the password hash beside it, never in the document.

use async_trait::async_trait;
use gatehouse_core::audit::Touched;
use gatehouse_core::model::UserRecord;
use gatehouse_core::passwords::PasswordHash;
use gatehouse_core::store::{name_key, Conflict, NamePage, StoreError, UserStore};
use gatehouse_proto::{ObjectId, TenantId};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::codec::{from_json, from_micros, json, micros, uuid};
use crate::db::{conflict_as, map_err, name_page, select_rows, SqlStore, Tx};

const COLUMNS: &str =
    "SELECT tenant_id, doc, password_hash, force_change_password, password_changed_at, version FROM users";

fn upn_key(u: &UserRecord) -> String {
    u.user.user_principal_name.to_lowercase()
}

fn taken(u: &UserRecord) -> impl FnOnce() -> Conflict + '_ {
    || Conflict::UserPrincipalName(u.user.user_principal_name.clone())
}

fn record(r: &AnyRow) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        tenant_id: uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?,
        user: from_json(&r.try_get::<String, _>(1).map_err(map_err)?)?,
        password: r
            .try_get::<Option<String>, _>(2)
            .map_err(map_err)?
            .map(PasswordHash),
        force_change_password: r.try_get::<i64, _>(3).map_err(map_err)? != 0,
        password_changed: from_micros(r.try_get(4).map_err(map_err)?)?,
        version: r.try_get(5).map_err(map_err)?,
    })
}

impl SqlStore {
    async fn users_where(
        &self,
        condition: &str,
        tenant: TenantId,
        value: String,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let rows = sqlx::query(&format!("{COLUMNS} WHERE tenant_id = $1 AND {condition}"))
            .bind(tenant.to_string())
            .bind(value)
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?;
        rows.iter().map(record).collect()
    }
}

/// Writes a new user in `tx` (a tenant's first rows, or one user).
pub(crate) async fn put_user(tx: &mut Tx<'_>, u: &UserRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO users (id, tenant_id, upn_key, doc, password_hash, force_change_password, \
             password_changed_at, version, name_key) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)",
    )
    .bind(u.user.id.to_string())
    .bind(u.tenant_id.to_string())
    .bind(upn_key(u))
    .bind(json(&u.user)?)
    .bind(u.password.as_ref().map(|p| p.0.clone()))
    .bind(i64::from(u.force_change_password))
    .bind(micros(u.password_changed))
    .bind(name_key(&u.user.display_name))
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict_as(e, taken(u)))?;
    Ok(())
}

/// Every user of every tenant (for a whole-directory read).
pub(crate) async fn all(conn: &mut sqlx::AnyConnection) -> Result<Vec<UserRecord>, StoreError> {
    let rows = select_rows(conn, COLUMNS, None, "tenant_id, upn_key").await?;
    rows.iter().map(record).collect()
}

#[async_trait]
impl UserStore for SqlStore {
    async fn insert_user(&self, u: &UserRecord) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new("User", u.user.id, Some(&u.user.display_name)));
        put_user(&mut tx, u).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn update_user(&self, u: &UserRecord) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new("User", u.user.id, Some(&u.user.display_name)));
        let n = sqlx::query(
            "UPDATE users SET upn_key = $1, doc = $2, password_hash = $3, force_change_password = $4, \
             password_changed_at = $5, version = version + 1, name_key = $9 \
             WHERE id = $6 AND tenant_id = $7 AND version = $8",
        )
        .bind(upn_key(u))
        .bind(json(&u.user)?)
        .bind(u.password.as_ref().map(|p| p.0.clone()))
        .bind(i64::from(u.force_change_password))
        .bind(micros(u.password_changed))
        .bind(u.user.id.to_string())
        .bind(u.tenant_id.to_string())
        .bind(u.version)
        .bind(name_key(&u.user.display_name))
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_as(e, taken(u)))?
        .rows_affected();
        if n == 0 {
            let exists = sqlx::query("SELECT 1 FROM users WHERE id = $1 AND tenant_id = $2")
                .bind(u.user.id.to_string())
                .bind(u.tenant_id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?
                .is_some();
            return if exists { Err(StoreError::Stale) } else { Ok(false) };
        }
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn delete_user(&self, tenant_id: TenantId, id: ObjectId) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new("User", id, None));
        // The user's own delegated grants go with it (an AllPrincipals grant names no user).
        sqlx::query("DELETE FROM oauth2_permission_grants WHERE tenant_id = $1 AND principal_id = $2")
            .bind(tenant_id.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let n = sqlx::query("DELETE FROM users WHERE id = $1 AND tenant_id = $2")
            .bind(id.to_string())
            .bind(tenant_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        tx.commit().await.map_err(map_err)?;
        Ok(n == 1)
    }

    async fn get_user(&self, tenant_id: TenantId, id: ObjectId) -> Result<Option<UserRecord>, StoreError> {
        Ok(self
            .users_where("id = $2", tenant_id, id.to_string())
            .await?
            .pop())
    }

    async fn find_user_by_upn(
        &self,
        tenant_id: TenantId,
        upn: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        Ok(self
            .users_where("upn_key = $2", tenant_id, upn.to_lowercase())
            .await?
            .pop())
    }

    async fn count_users(&self, tenant_id: TenantId) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT count(*) FROM users WHERE tenant_id = $1")
            .bind(tenant_id.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(row.try_get::<i64, _>(0).map_err(map_err)?.max(0) as u64)
    }

    async fn user_page(&self, tenant_id: TenantId, page: &NamePage) -> Result<Vec<UserRecord>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let rows = name_page(
            &mut conn,
            COLUMNS,
            &["name_key", "upn_key"],
            tenant_id,
            page,
            None,
        )
        .await?;
        rows.iter().map(record).collect()
    }

    async fn list_users(&self, tenant_id: TenantId) -> Result<Vec<UserRecord>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let rows = select_rows(
            &mut conn,
            COLUMNS,
            Some(("tenant_id = $1", tenant_id.to_string())),
            "upn_key",
        )
        .await?;
        rows.iter().map(record).collect()
    }
}
