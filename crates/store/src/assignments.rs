//! App role assignments: which principal holds which app role of which resource, in a tenant. A
//! service principal's are in `app_role_assignments`, a user's in `user_app_role_assignments` (each
//! table's principal is a foreign key to its own kind); both are read as one.

use async_trait::async_trait;
use gatehouse_core::audit::Touched;
use gatehouse_core::model::{Assignment, Change};
use gatehouse_core::store::{AssignmentStore, AssignmentsOf, Conflict, StoreError};
use gatehouse_proto::PrincipalType;
use gatehouse_proto::TenantId;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::changes;
use crate::codec::{from_micros, micros, uuid};
use crate::db::{conflict_as, map_err, select_rows, SqlStore, Tx};

/// The table holding assignments of this kind of principal.
fn table(kind: PrincipalType) -> &'static str {
    match kind {
        PrincipalType::User => "user_app_role_assignments",
        _ => "app_role_assignments",
    }
}

pub(crate) async fn put_assignment(tx: &mut Tx<'_>, a: &Assignment) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO {} \
         (id, tenant_id, principal_id, principal_type, resource_id, app_role_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        table(a.principal_type)
    ))
    .bind(&a.id)
    .bind(a.tenant_id.to_string())
    .bind(a.principal_id.to_string())
    .bind(a.principal_type.as_str())
    .bind(a.resource_id.to_string())
    .bind(a.app_role_id.to_string())
    .bind(micros(a.created))
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict_as(e, || Conflict::Assignment))?;
    changes::record(tx, &Change::Assignments(a.principal_id)).await
}

fn principal_type(s: &str) -> Result<PrincipalType, StoreError> {
    PrincipalType::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown principal type {s}")))
}

const COLUMNS: &str =
    "SELECT id, tenant_id, principal_id, principal_type, resource_id, app_role_id, created_at";

fn assignment(r: &AnyRow) -> Result<Assignment, StoreError> {
    Ok(Assignment {
        id: r.try_get(0).map_err(map_err)?,
        tenant_id: uuid(&r.try_get::<String, _>(1).map_err(map_err)?)?,
        principal_id: uuid(&r.try_get::<String, _>(2).map_err(map_err)?)?,
        principal_type: principal_type(&r.try_get::<String, _>(3).map_err(map_err)?)?,
        resource_id: uuid(&r.try_get::<String, _>(4).map_err(map_err)?)?,
        app_role_id: uuid(&r.try_get::<String, _>(5).map_err(map_err)?)?,
        created: from_micros(r.try_get(6).map_err(map_err)?)?,
    })
}

fn oldest_first(mut all: Vec<Assignment>) -> Vec<Assignment> {
    all.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    all
}

/// The assignments of one tenant, or of all tenants, oldest first.
pub(crate) async fn assignments_where(
    conn: &mut AnyConnection,
    tenant: Option<TenantId>,
) -> Result<Vec<Assignment>, StoreError> {
    let mut all = Vec::new();
    for kind in [PrincipalType::ServicePrincipal, PrincipalType::User] {
        let columns = format!("{COLUMNS} FROM {}", table(kind));
        let filter = tenant.map(|t| ("tenant_id = $1", t.to_string()));
        for r in select_rows(conn, &columns, filter, "created_at, id").await? {
            all.push(assignment(&r)?);
        }
    }
    Ok(oldest_first(all))
}

#[async_trait]
impl AssignmentStore for SqlStore {
    async fn insert_assignment(&self, a: &Assignment) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let kind = match a.principal_type {
            PrincipalType::User => "User",
            _ => "ServicePrincipal",
        };
        tx.touch(Touched::new(kind, a.principal_id, None));
        tx.touch(Touched::new("ServicePrincipal", a.resource_id, None));
        put_assignment(&mut tx, a).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_assignment(&self, tenant_id: TenantId, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut deleted = None;
        for kind in [PrincipalType::ServicePrincipal, PrincipalType::User] {
            deleted = sqlx::query(&format!(
                "DELETE FROM {} WHERE id = $1 AND tenant_id = $2 RETURNING principal_id",
                table(kind)
            ))
            .bind(id)
            .bind(tenant_id.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
            if deleted.is_some() {
                break;
            }
        }
        let Some(row) = deleted else {
            return Ok(false);
        };
        let principal = uuid(&row.try_get::<String, _>(0).map_err(map_err)?)?;
        changes::record(&mut tx, &Change::Assignments(principal)).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn list_assignments(&self, tenant_id: TenantId) -> Result<Vec<Assignment>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        assignments_where(&mut conn, Some(tenant_id)).await
    }

    async fn list_assignments_of(
        &self,
        tenant_id: TenantId,
        of: AssignmentsOf,
    ) -> Result<Vec<Assignment>, StoreError> {
        let (column, id) = match of {
            AssignmentsOf::Principal(id) => ("principal_id", id),
            AssignmentsOf::Resource(id) => ("resource_id", id),
        };
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let mut all = Vec::new();
        for kind in [PrincipalType::ServicePrincipal, PrincipalType::User] {
            let rows = sqlx::query(&format!(
                "{COLUMNS} FROM {} WHERE {column} = $1 AND tenant_id = $2",
                table(kind)
            ))
            .bind(id.to_string())
            .bind(tenant_id.to_string())
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?;
            for r in &rows {
                all.push(assignment(r)?);
            }
        }
        Ok(oldest_first(all))
    }
}
