//! Applications: their Graph shape as a JSON document (without secrets, which live in their own
//! table), a version for optimistic concurrency, and their identifier URIs claimed as names.

use async_trait::async_trait;
use gatehouse_core::audit::Touched;
use gatehouse_core::model::{ApplicationRecord, Change};
use gatehouse_core::store::{name_key, ApplicationStore, NamePage, StoreError};
use gatehouse_proto::{AppId, ObjectId, TenantId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::codec::{from_json, json, uuid};
use crate::db::{map_err, name_page, select_rows, SqlStore, Tx};
use crate::{changes, names};

const COLUMNS: &str = "SELECT tenant_id, doc, version FROM applications";

/// Records a user as an owner of an application. Owners are not in the change feed: they are read
/// from the store whenever a write is authorized.
/// `false` if they already owned it.
async fn put_owner(tx: &mut Tx<'_>, application: ObjectId, user: ObjectId) -> Result<bool, StoreError> {
    let n = sqlx::query(
        "INSERT INTO application_owners (application_id, user_id) VALUES ($1, $2) \
         ON CONFLICT (application_id, user_id) DO NOTHING",
    )
    .bind(application.to_string())
    .bind(user.to_string())
    .execute(&mut **tx)
    .await
    .map_err(map_err)?
    .rows_affected();
    Ok(n == 1)
}

/// The stored document: the Graph shape without password credentials.
fn document(a: &ApplicationRecord) -> Result<String, StoreError> {
    let mut doc = a.app.clone();
    doc.password_credentials.clear();
    json(&doc)
}

fn from_row(r: &AnyRow) -> Result<ApplicationRecord, StoreError> {
    Ok(ApplicationRecord {
        tenant_id: uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?,
        app: from_json(&r.try_get::<String, _>(1).map_err(map_err)?)?,
        version: r.try_get(2).map_err(map_err)?,
    })
}

pub(crate) async fn put_application(tx: &mut Tx<'_>, a: &ApplicationRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO applications (id, tenant_id, app_id, doc, version, name_key) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(a.app.id.to_string())
    .bind(a.tenant_id.to_string())
    .bind(a.app.app_id.to_string())
    .bind(document(a)?)
    .bind(a.version)
    .bind(name_key(&a.app.display_name))
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    changes::record(tx, &Change::Application(a.app.app_id)).await?;
    names::claim(tx, a.tenant_id, a.app.app_id, &a.claimed_names()).await
}

/// The applications of one tenant, or of all tenants.
pub(crate) async fn applications_where(
    conn: &mut AnyConnection,
    tenant: Option<TenantId>,
) -> Result<Vec<ApplicationRecord>, StoreError> {
    let filter = tenant.map(|t| ("tenant_id = $1", t.to_string()));
    let rows = select_rows(conn, COLUMNS, filter, "id").await?;
    rows.iter().map(from_row).collect()
}

/// The application with this appId, in whichever tenant it lives.
pub(crate) async fn by_app_id(
    conn: &mut AnyConnection,
    app_id: AppId,
) -> Result<Option<ApplicationRecord>, StoreError> {
    let row = sqlx::query(&format!("{COLUMNS} WHERE app_id = $1"))
        .bind(app_id.to_string())
        .fetch_optional(conn)
        .await
        .map_err(map_err)?;
    row.as_ref().map(from_row).transpose()
}

impl SqlStore {
    /// The application `filter` (a WHERE clause on `$1` = key, `$2` = tenant) selects, if any.
    async fn application(
        &self,
        filter: &str,
        key: impl std::fmt::Display + Send,
        tenant: TenantId,
    ) -> Result<Option<ApplicationRecord>, StoreError> {
        let row = self
            .select_by_key(&format!("{COLUMNS} WHERE {filter}"), key, tenant)
            .await?;
        row.as_ref().map(from_row).transpose()
    }
}

#[async_trait]
impl ApplicationStore for SqlStore {
    async fn insert_application(&self, app: &ApplicationRecord) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new(
            "Application",
            app.app.id,
            Some(&app.app.display_name),
        ));
        put_application(&mut tx, app).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn update_application(&self, app: &ApplicationRecord) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new(
            "Application",
            app.app.id,
            Some(&app.app.display_name),
        ));
        let n = sqlx::query(
            "UPDATE applications SET doc = $1, version = version + 1, name_key = $5 \
             WHERE id = $2 AND tenant_id = $3 AND version = $4",
        )
        .bind(document(app)?)
        .bind(app.app.id.to_string())
        .bind(app.tenant_id.to_string())
        .bind(app.version)
        .bind(name_key(&app.app.display_name))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        if n == 0 {
            // Gone, or changed since it was read: say which.
            let exists = sqlx::query("SELECT 1 FROM applications WHERE id = $1 AND tenant_id = $2")
                .bind(app.app.id.to_string())
                .bind(app.tenant_id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?
                .is_some();
            return if exists { Err(StoreError::Stale) } else { Ok(false) };
        }
        changes::record(&mut tx, &Change::Application(app.app.app_id)).await?;
        names::release(&mut tx, app.tenant_id, &app.app.app_id.to_string()).await?;
        names::claim(&mut tx, app.tenant_id, app.app.app_id, &app.claimed_names()).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn delete_application(&self, tenant_id: TenantId, id: ObjectId) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new("Application", id, None));
        let Some(row) = sqlx::query("SELECT app_id FROM applications WHERE id = $1 AND tenant_id = $2")
            .bind(id.to_string())
            .bind(tenant_id.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?
        else {
            return Ok(false);
        };
        let app_id: String = row.try_get(0).map_err(map_err)?;
        let gone =
            sqlx::query("DELETE FROM service_principals WHERE tenant_id = $1 AND app_id = $2 RETURNING id")
                .bind(tenant_id.to_string())
                .bind(&app_id)
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
        for sp in gone {
            let sp = uuid(&sp.try_get::<String, _>(0).map_err(map_err)?)?;
            changes::record(&mut tx, &Change::Assignments(sp)).await?;
        }
        let parsed = uuid(&app_id)?;
        changes::record(&mut tx, &Change::Application(parsed)).await?;
        let sp_change = Change::ServicePrincipal {
            tenant: tenant_id,
            app_id: parsed,
        };
        changes::record(&mut tx, &sp_change).await?;
        names::release(&mut tx, tenant_id, &app_id).await?;
        sqlx::query("DELETE FROM applications WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn get_application(
        &self,
        tenant_id: TenantId,
        id: ObjectId,
    ) -> Result<Option<ApplicationRecord>, StoreError> {
        self.application("id = $1 AND tenant_id = $2", id, tenant_id)
            .await
    }

    async fn list_applications(&self, tenant_id: TenantId) -> Result<Vec<ApplicationRecord>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        applications_where(&mut conn, Some(tenant_id)).await
    }

    async fn insert_owned_application(
        &self,
        app: &ApplicationRecord,
        owner: ObjectId,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new(
            "Application",
            app.app.id,
            Some(&app.app.display_name),
        ));
        put_application(&mut tx, app).await?;
        put_owner(&mut tx, app.app.id, owner).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn add_owner(
        &self,
        tenant_id: TenantId,
        application: ObjectId,
        user: ObjectId,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new("Application", application, None));
        let same_tenant = sqlx::query(
            "SELECT 1 FROM applications a JOIN users u ON u.tenant_id = a.tenant_id \
             WHERE a.id = $1 AND u.id = $2 AND a.tenant_id = $3",
        )
        .bind(application.to_string())
        .bind(user.to_string())
        .bind(tenant_id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        if same_tenant.is_none() {
            return Err(StoreError::MissingReference(
                "owner or application not in the tenant".into(),
            ));
        }
        let added = put_owner(&mut tx, application, user).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(added)
    }

    async fn remove_owner(
        &self,
        tenant_id: TenantId,
        application: ObjectId,
        user: ObjectId,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new("Application", application, None));
        let n = sqlx::query(
            "DELETE FROM application_owners WHERE application_id = $1 AND user_id = $2 \
             AND application_id IN (SELECT id FROM applications WHERE tenant_id = $3)",
        )
        .bind(application.to_string())
        .bind(user.to_string())
        .bind(tenant_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        tx.commit().await.map_err(map_err)?;
        Ok(n == 1)
    }

    async fn owners(&self, application: ObjectId) -> Result<Vec<ObjectId>, StoreError> {
        let rows =
            sqlx::query("SELECT user_id FROM application_owners WHERE application_id = $1 ORDER BY user_id")
                .bind(application.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        rows.iter()
            .map(|r| uuid(&r.try_get::<String, _>(0).map_err(map_err)?))
            .collect()
    }

    async fn is_owner(&self, application: ObjectId, user: ObjectId) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM application_owners WHERE application_id = $1 AND user_id = $2")
            .bind(application.to_string())
            .bind(user.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(row.is_some())
    }

    async fn application_page(
        &self,
        tenant_id: TenantId,
        page: &NamePage,
    ) -> Result<Vec<ApplicationRecord>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let rows = name_page(&mut conn, COLUMNS, &["name_key"], tenant_id, page, page.owner).await?;
        rows.iter().map(from_row).collect()
    }

    async fn count_applications(&self, tenant_id: TenantId) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT count(*) FROM applications WHERE tenant_id = $1")
            .bind(tenant_id.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(row.try_get::<i64, _>(0).map_err(map_err)?.max(0) as u64)
    }

    async fn find_application_by_app_id(
        &self,
        tenant_id: TenantId,
        app_id: AppId,
    ) -> Result<Option<ApplicationRecord>, StoreError> {
        self.application("app_id = $1 AND tenant_id = $2", app_id, tenant_id)
            .await
    }
}
