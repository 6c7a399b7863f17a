//! Managed identities (migration 0018): a row beside the identity's service principal, and the hashes
//! of its header secrets. Looked up by the store on every managed-identity token request (never from a
//! node's cache), so a deleted identity gets no token from any node as soon as the delete commits.

use async_trait::async_trait;
use gatehouse_core::audit::Touched;
use gatehouse_core::model::{IdentityKey, ManagedIdentity, ServicePrincipalRecord};
use gatehouse_core::store::{Conflict, IdentityStore, StoreError};
use gatehouse_proto::{ObjectId, TenantId};
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

use crate::codec::{from_micros, hex, micros, uuid};
use crate::db::{conflict_as, map_err, select_rows, SqlStore, Tx};
use crate::service_principals::put_service_principal;

const COLUMNS: &str = "SELECT i.tenant_id, i.id, i.client_id, i.name, i.created_at FROM managed_identities i";

fn record(r: &AnyRow) -> Result<ManagedIdentity, StoreError> {
    let text = |i: usize| r.try_get::<String, _>(i).map_err(map_err);
    Ok(ManagedIdentity {
        tenant_id: uuid(&text(0)?)?,
        principal_id: uuid(&text(1)?)?,
        client_id: uuid(&text(2)?)?,
        name: text(3)?,
        created: from_micros(r.try_get(4).map_err(map_err)?)?,
    })
}

#[async_trait]
impl IdentityStore for SqlStore {
    async fn insert_identity(
        &self,
        identity: &ManagedIdentity,
        sp: &ServicePrincipalRecord,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new("ServicePrincipal", sp.sp.id, Some(&identity.name)));
        put_service_principal(&mut tx, sp).await?;
        sqlx::query(
            "INSERT INTO managed_identities (id, tenant_id, name, name_key, client_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(identity.principal_id.to_string())
        .bind(identity.tenant_id.to_string())
        .bind(identity.name.clone())
        .bind(identity.name.to_lowercase())
        .bind(identity.client_id.to_string())
        .bind(micros(identity.created))
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_as(e, || Conflict::IdentityName(identity.name.clone())))?;
        tx.commit().await.map_err(map_err)
    }

    async fn list_identities(&self, tenant_id: Option<TenantId>) -> Result<Vec<ManagedIdentity>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let filter = tenant_id.map(|t| ("i.tenant_id = $1", t.to_string()));
        let rows = select_rows(&mut conn, COLUMNS, filter, "i.created_at, i.id").await?;
        rows.iter().map(record).collect()
    }

    async fn find_identity(&self, key: &IdentityKey) -> Result<Option<ManagedIdentity>, StoreError> {
        let (filter, first, second) = match key {
            IdentityKey::ClientId(c) => ("i.client_id = $1", c.to_string(), None),
            IdentityKey::PrincipalId(p) => ("i.id = $1", p.to_string(), None),
            IdentityKey::Name(t, n) => (
                "i.tenant_id = $1 AND i.name_key = $2",
                t.to_string(),
                Some(n.to_lowercase()),
            ),
            IdentityKey::Header(h) => (
                "i.id = (SELECT identity_id FROM managed_identity_headers WHERE hash = $1)",
                hex(h),
                None,
            ),
        };
        let sql = format!("{COLUMNS} WHERE {filter}");
        let mut q = sqlx::query(&sql).bind(first);
        if let Some(s) = second {
            q = q.bind(s);
        }
        let row = q.fetch_optional(&self.pool).await.map_err(map_err)?;
        row.as_ref().map(record).transpose()
    }

    async fn add_identity_header(
        &self,
        principal_id: ObjectId,
        hash: &[u8; 32],
        now: OffsetDateTime,
        keep: usize,
    ) -> Result<bool, StoreError> {
        let mut tx = Tx::begin(&self.pool).await.map_err(map_err)?;
        let id = principal_id.to_string();
        let inserted = sqlx::query(
            "INSERT INTO managed_identity_headers (hash, identity_id, created_at) \
             SELECT $1, id, $3 FROM managed_identities WHERE id = $2",
        )
        .bind(hex(hash))
        .bind(id.clone())
        .bind(micros(now))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        sqlx::query(
            "DELETE FROM managed_identity_headers WHERE identity_id = $1 AND hash NOT IN \
             (SELECT hash FROM managed_identity_headers WHERE identity_id = $1 \
              ORDER BY created_at DESC, hash LIMIT $2)",
        )
        .bind(id)
        .bind(i64::try_from(keep).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }
}
