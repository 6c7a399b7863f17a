//! Service principals: an application's presence in a tenant, as a Graph-shaped JSON document. One
//! per (tenant, appId); names of one whose application lives elsewhere are claimed in its tenant.
//! Microsoft's (Graph's, Azure's resources') are stored without their permissions and read with those
//! of this version (`graph_resource::stored`, `graph_resource::current`).

use async_trait::async_trait;
use gatehouse_core::admin::graph_resource::{current, stored};
use gatehouse_core::audit::Touched;
use gatehouse_core::model::{Change, ServicePrincipalRecord};
use gatehouse_core::store::{name_key, Conflict, NamePage, ServicePrincipalStore, StoreError};
use gatehouse_proto::graph::ServicePrincipalUpdate;
use gatehouse_proto::{AppId, ObjectId, TenantId};
use sqlx::{AnyConnection, Row};

use crate::codec::{from_json, json, uuid};
use crate::db::{conflict_as, map_err, name_page, select_rows, SqlStore, Tx};
use crate::{changes, names};

pub(crate) async fn put_service_principal(
    tx: &mut Tx<'_>,
    s: &ServicePrincipalRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO service_principals (id, tenant_id, app_id, doc, name_key) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(s.sp.id.to_string())
    .bind(s.tenant_id.to_string())
    .bind(s.sp.app_id.to_string())
    .bind(json(stored(&s.sp).as_ref())?)
    .bind(name_key(&s.sp.display_name))
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict_as(e, || Conflict::ServicePrincipal(s.sp.app_id)))?;
    let change = Change::ServicePrincipal {
        tenant: s.tenant_id,
        app_id: s.sp.app_id,
    };
    changes::record(tx, &change).await?;
    names::claim(tx, s.tenant_id, s.sp.app_id, &s.claimed_names()).await
}

/// The service principals of one tenant, or of all tenants.
pub(crate) async fn service_principals_where(
    conn: &mut AnyConnection,
    tenant: Option<TenantId>,
) -> Result<Vec<ServicePrincipalRecord>, StoreError> {
    const COLUMNS: &str = "SELECT tenant_id, doc FROM service_principals";
    let filter = tenant.map(|t| ("tenant_id = $1", t.to_string()));
    let rows = select_rows(conn, COLUMNS, filter, "id").await?;
    rows.iter().map(record).collect()
}

/// A row of (tenant_id, doc) as a service principal with this version's permissions.
fn record(r: &sqlx::any::AnyRow) -> Result<ServicePrincipalRecord, StoreError> {
    Ok(ServicePrincipalRecord {
        tenant_id: uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?,
        sp: current(from_json(&r.try_get::<String, _>(1).map_err(map_err)?)?),
    })
}

impl SqlStore {
    /// The service principal `filter` (a WHERE clause on `$1` = key, `$2` = tenant) selects, if any.
    async fn service_principal(
        &self,
        filter: &str,
        key: impl std::fmt::Display + Send,
        tenant_id: TenantId,
    ) -> Result<Option<ServicePrincipalRecord>, StoreError> {
        let sql = format!("SELECT doc FROM service_principals WHERE {filter}");
        let row = self.select_by_key(&sql, key, tenant_id).await?;
        let sp = row
            .map(|r| from_json(&r.try_get::<String, _>(0).map_err(map_err)?))
            .transpose()?;
        Ok(sp.map(|sp| ServicePrincipalRecord {
            tenant_id,
            sp: current(sp),
        }))
    }
}

#[async_trait]
impl ServicePrincipalStore for SqlStore {
    async fn insert_service_principal(&self, sp: &ServicePrincipalRecord) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new(
            "ServicePrincipal",
            sp.sp.id,
            Some(&sp.sp.display_name),
        ));
        put_service_principal(&mut tx, sp).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn update_service_principal(
        &self,
        tenant_id: TenantId,
        id: ObjectId,
        update: &ServicePrincipalUpdate,
    ) -> Result<Option<ServicePrincipalRecord>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT doc FROM service_principals WHERE id = $1 AND tenant_id = $2")
            .bind(id.to_string())
            .bind(tenant_id.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut sp: gatehouse_proto::graph::ServicePrincipal =
            current(from_json(&row.try_get::<String, _>(0).map_err(map_err)?)?);
        update.apply(&mut sp);
        tx.touch(Touched::new("ServicePrincipal", id, Some(&sp.display_name)));
        sqlx::query("UPDATE service_principals SET doc = $1 WHERE id = $2 AND tenant_id = $3")
            .bind(json(stored(&sp).as_ref())?)
            .bind(id.to_string())
            .bind(tenant_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let change = Change::ServicePrincipal {
            tenant: tenant_id,
            app_id: sp.app_id,
        };
        changes::record(&mut tx, &change).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(Some(ServicePrincipalRecord { tenant_id, sp }))
    }

    async fn service_principal_page(
        &self,
        tenant_id: TenantId,
        page: &NamePage,
    ) -> Result<Vec<ServicePrincipalRecord>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let rows = name_page(
            &mut conn,
            "SELECT tenant_id, doc FROM service_principals",
            &["name_key"],
            tenant_id,
            page,
            None,
        )
        .await?;
        rows.iter().map(record).collect()
    }

    async fn delete_service_principal(&self, tenant_id: TenantId, id: ObjectId) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new("ServicePrincipal", id, None));
        let Some(row) =
            sqlx::query("DELETE FROM service_principals WHERE id = $1 AND tenant_id = $2 RETURNING app_id")
                .bind(id.to_string())
                .bind(tenant_id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?
        else {
            return Ok(false);
        };
        let app_id: String = row.try_get(0).map_err(map_err)?;
        let change = Change::ServicePrincipal {
            tenant: tenant_id,
            app_id: uuid(&app_id)?,
        };
        changes::record(&mut tx, &change).await?;
        changes::record(&mut tx, &Change::Assignments(id)).await?;
        names::release_unowned(&mut tx, tenant_id, &app_id).await?;
        // Its users' refresh tokens end with it, even if it is made again (its consent went with it:
        // the grants name it and cascade).
        sqlx::query("UPDATE refresh_families SET revoked = 1 WHERE tenant_id = $1 AND client_id = $2")
            .bind(tenant_id.to_string())
            .bind(&app_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn get_service_principal(
        &self,
        tenant_id: TenantId,
        id: ObjectId,
    ) -> Result<Option<ServicePrincipalRecord>, StoreError> {
        self.service_principal("id = $1 AND tenant_id = $2", id, tenant_id)
            .await
    }

    async fn list_service_principals(
        &self,
        tenant_id: TenantId,
    ) -> Result<Vec<ServicePrincipalRecord>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        service_principals_where(&mut conn, Some(tenant_id)).await
    }

    async fn find_service_principal_by_app_id(
        &self,
        tenant_id: TenantId,
        app_id: AppId,
    ) -> Result<Option<ServicePrincipalRecord>, StoreError> {
        self.service_principal("app_id = $1 AND tenant_id = $2", app_id, tenant_id)
            .await
    }
}
