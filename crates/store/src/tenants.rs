//! Tenants and their verified domains; a new tenant's rows written at once; bootstrap.

use async_trait::async_trait;
use gatehouse_core::audit::Touched;
use gatehouse_core::model::{Change, DirectoryData, Tenant};
use gatehouse_core::store::{Conflict, StoreError, TenantStore};
use gatehouse_proto::{TenantId, UserConsent};
use sqlx::{AnyConnection, Row};

use crate::codec::{from_micros, micros, uuid};
use crate::db::{conflict_as, map_err, SqlStore, Tx};
use crate::{applications, assignments, changes, directory_roles, keys, secrets, service_principals, users};

pub(crate) async fn put_tenant(tx: &mut Tx<'_>, t: &Tenant) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO tenants (id, display_name, created_at, user_consent, users_can_register_apps) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(t.id.to_string())
    .bind(&t.display_name)
    .bind(micros(t.created))
    .bind(t.user_consent.as_str())
    .bind(i64::from(t.users_can_register_apps))
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    for (i, d) in t.domains.iter().enumerate() {
        let domain = d.to_ascii_lowercase();
        sqlx::query("INSERT INTO domains (name, tenant_id, position) VALUES ($1, $2, $3)")
            .bind(&domain)
            .bind(t.id.to_string())
            .bind(i64::try_from(i).unwrap_or(i64::MAX))
            .execute(&mut **tx)
            .await
            .map_err(|e| conflict_as(e, || Conflict::Domain(domain.clone())))?;
    }
    changes::record(tx, &Change::Tenant(t.id)).await
}

/// Writes a tenant's rows: everything in `d` but signing keys, and names, which the rows claim
/// themselves.
async fn put_rows(tx: &mut Tx<'_>, d: &DirectoryData) -> Result<(), StoreError> {
    for t in &d.tenants {
        put_tenant(tx, t).await?;
    }
    for a in &d.applications {
        applications::put_application(tx, a).await?;
    }
    for s in &d.secrets {
        secrets::put_secret(tx, s).await?;
    }
    for s in &d.service_principals {
        service_principals::put_service_principal(tx, s).await?;
    }
    for a in &d.assignments {
        assignments::put_assignment(tx, a).await?;
    }
    for u in &d.users {
        users::put_user(tx, u).await?;
    }
    for r in &d.role_assignments {
        directory_roles::put_role_assignment(tx, r).await?;
    }
    Ok(())
}

/// Every tenant with its domains (in their order), oldest first.
pub(crate) async fn tenants_in(conn: &mut AnyConnection) -> Result<Vec<Tenant>, StoreError> {
    let mut tenants = Vec::new();
    let mut index = std::collections::HashMap::new();
    let rows =
        sqlx::query("SELECT id, display_name, created_at, user_consent, users_can_register_apps FROM tenants ORDER BY created_at, id")
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?;
    for r in rows {
        let id = uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?;
        index.insert(id, tenants.len());
        tenants.push(Tenant {
            id,
            display_name: r.try_get(1).map_err(map_err)?,
            domains: Vec::new(),
            created: from_micros(r.try_get(2).map_err(map_err)?)?,
            user_consent: user_consent(&r, 3)?,
            users_can_register_apps: r.try_get::<i64, _>(4).map_err(map_err)? != 0,
        });
    }
    let rows = sqlx::query("SELECT name, tenant_id FROM domains ORDER BY position, name")
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
    for r in rows {
        let tid = uuid(&r.try_get::<String, _>(1).map_err(map_err)?)?;
        if let Some(&i) = index.get(&tid) {
            tenants[i].domains.push(r.try_get(0).map_err(map_err)?);
        }
    }
    Ok(tenants)
}

fn user_consent(r: &sqlx::any::AnyRow, i: usize) -> Result<UserConsent, StoreError> {
    let word: String = r.try_get(i).map_err(map_err)?;
    UserConsent::parse(&word)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown user consent setting {word}")))
}

async fn count(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    sqlx::query("SELECT COUNT(*) FROM tenants")
        .fetch_one(conn)
        .await
        .map_err(map_err)?
        .try_get(0)
        .map_err(map_err)
}

impl SqlStore {
    /// Sets one of the tenant's authorization-policy columns; every node sees it within a second (a
    /// tenant change). `false` if the tenant does not exist.
    async fn set_policy<V>(&self, tenant_id: TenantId, column: &str, value: V) -> Result<bool, StoreError>
    where
        V: for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Send,
    {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new(
            "Policy",
            "authorizationPolicy",
            Some("Authorization Policy"),
        ));
        let n = sqlx::query(&format!("UPDATE tenants SET {column} = $1 WHERE id = $2"))
            .bind(value)
            .bind(tenant_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        if n == 1 {
            changes::record(&mut tx, &Change::Tenant(tenant_id)).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(n == 1)
    }
}

#[async_trait]
impl TenantStore for SqlStore {
    async fn create_tenant(&self, rows: &DirectoryData) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        put_rows(&mut tx, rows).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn get_tenant(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        let Some(r) = sqlx::query("SELECT display_name, created_at, user_consent, users_can_register_apps FROM tenants WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
        else {
            return Ok(None);
        };
        let domains = sqlx::query("SELECT name FROM domains WHERE tenant_id = $1 ORDER BY position, name")
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .iter()
            .map(|d| d.try_get(0).map_err(map_err))
            .collect::<Result<_, _>>()?;
        Ok(Some(Tenant {
            id,
            display_name: r.try_get(0).map_err(map_err)?,
            domains,
            created: from_micros(r.try_get(1).map_err(map_err)?)?,
            user_consent: user_consent(&r, 2)?,
            users_can_register_apps: r.try_get::<i64, _>(3).map_err(map_err)? != 0,
        }))
    }

    async fn find_tenant_by_domain(&self, domain: &str) -> Result<Option<Tenant>, StoreError> {
        let row = sqlx::query("SELECT tenant_id FROM domains WHERE name = $1")
            .bind(domain.to_ascii_lowercase())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        match row {
            Some(r) => {
                self.get_tenant(uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?)
                    .await
            }
            None => Ok(None),
        }
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        tenants_in(&mut conn).await
    }

    async fn add_domain(&self, tenant_id: TenantId, domain: &str) -> Result<bool, StoreError> {
        let domain = domain.to_ascii_lowercase();
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "INSERT INTO domains (name, tenant_id, position) \
             SELECT $1, id, (SELECT COUNT(*) FROM domains WHERE tenant_id = $2) FROM tenants WHERE id = $2",
        )
        .bind(&domain)
        .bind(tenant_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_as(e, || Conflict::Domain(domain.clone())))?
        .rows_affected();
        if n == 1 {
            changes::record(&mut tx, &Change::Tenant(tenant_id)).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(n == 1)
    }

    async fn set_user_consent(&self, tenant_id: TenantId, setting: UserConsent) -> Result<bool, StoreError> {
        self.set_policy(tenant_id, "user_consent", setting.as_str().to_string())
            .await
    }

    async fn set_users_can_register_apps(
        &self,
        tenant_id: TenantId,
        allowed: bool,
    ) -> Result<bool, StoreError> {
        self.set_policy(tenant_id, "users_can_register_apps", i64::from(allowed))
            .await
    }

    async fn delete_tenant(&self, id: TenantId) -> Result<bool, StoreError> {
        // Every row of the tenant references it with ON DELETE CASCADE. Nodes drop all they cached
        // when a tenant goes, so the cascade needs no change rows of its own.
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        if n == 1 {
            changes::record(&mut tx, &Change::Tenant(id)).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(n == 1)
    }

    async fn tenant_count(&self) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        count(&mut conn).await
    }

    async fn bootstrap(&self, d: &DirectoryData) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if count(&mut tx).await? > 0 {
            return Err(StoreError::Conflict(Conflict::Bootstrapped));
        }
        put_rows(&mut tx, d).await?;
        for k in &d.keys {
            keys::put_key(&mut tx, k).await?;
        }
        tx.commit().await.map_err(map_err)
    }
}
