//! The directory roles users hold (Graph's `unifiedRoleAssignment` at directory scope `/`).

use async_trait::async_trait;
use gatehouse_core::audit::Touched;
use gatehouse_core::model::DirectoryRoleAssignment;
use gatehouse_core::store::{Conflict, DirectoryRoleStore, StoreError};
use gatehouse_proto::{ObjectId, TenantId};
use sqlx::Row;

use crate::codec::uuid;
use crate::db::{conflict_as, map_err, SqlStore, Tx};

const COLUMNS: &str = "SELECT id, tenant_id, principal_id, role_id FROM directory_role_assignments";

fn assignment(r: &sqlx::any::AnyRow) -> Result<DirectoryRoleAssignment, StoreError> {
    let text = |i: usize| r.try_get::<String, _>(i).map_err(map_err);
    Ok(DirectoryRoleAssignment {
        id: text(0)?,
        tenant_id: uuid(&text(1)?)?,
        principal_id: uuid(&text(2)?)?,
        role_id: uuid(&text(3)?)?,
    })
}

/// Writes an assignment in `tx` (a tenant's first rows, or one assignment).
pub(crate) async fn put_role_assignment(
    tx: &mut Tx<'_>,
    a: &DirectoryRoleAssignment,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO directory_role_assignments (id, tenant_id, principal_id, role_id) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&a.id)
    .bind(a.tenant_id.to_string())
    .bind(a.principal_id.to_string())
    .bind(a.role_id.to_string())
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict_as(e, || Conflict::RoleAssignment))?;
    Ok(())
}

pub(crate) async fn all(conn: &mut sqlx::AnyConnection) -> Result<Vec<DirectoryRoleAssignment>, StoreError> {
    let rows = sqlx::query(&format!("{COLUMNS} ORDER BY id"))
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
    rows.iter().map(assignment).collect()
}

#[async_trait]
impl DirectoryRoleStore for SqlStore {
    async fn insert_role_assignment(&self, a: &DirectoryRoleAssignment) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new("User", a.principal_id, None));
        put_role_assignment(&mut tx, a).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_role_assignment(&self, tenant_id: TenantId, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM directory_role_assignments WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        tx.commit().await.map_err(map_err)?;
        Ok(n == 1)
    }

    async fn list_role_assignments(
        &self,
        tenant_id: TenantId,
        principal: Option<ObjectId>,
    ) -> Result<Vec<DirectoryRoleAssignment>, StoreError> {
        const BY_TENANT: &str = "SELECT id, tenant_id, principal_id, role_id \
            FROM directory_role_assignments WHERE tenant_id = $1 ORDER BY id";
        const BY_USER: &str = "SELECT id, tenant_id, principal_id, role_id \
            FROM directory_role_assignments WHERE tenant_id = $1 AND principal_id = $2 ORDER BY id";
        let query = match principal {
            Some(p) => sqlx::query(BY_USER)
                .bind(tenant_id.to_string())
                .bind(p.to_string()),
            None => sqlx::query(BY_TENANT).bind(tenant_id.to_string()),
        };
        let rows = query.fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter().map(assignment).collect()
    }
}
