//! The SQL of the directory's store operations, written once and expanded for each backend by `sql_store!`.

/// Implements core's directory store traits for `$store` (which has a `pool: sqlx::Pool<$db>` and an
/// inherent `async fn wait_for_change(&self)`); `sql_credential_store!` (sql_credentials.rs) adds the
/// signing-key, federated-credential and replay traits. `$begin_read` is the first statement of a consistent
/// multi-statement read; `$notify`, if any, runs in every write transaction to wake other nodes.
macro_rules! sql_store {
    ($store:ty, $db:ty, $begin_read:expr, $notify:expr) => {
        use async_trait::async_trait;
        use gatehouse_core::model::{
            ApplicationRecord, Assignment, DirectoryData, FederatedCredentialRecord, PasswordSecret,
            ResourceName, ServicePrincipalRecord, StoredKey, Tenant,
        };
        use gatehouse_core::store::{
            ApplicationStore, AssignmentStore, Conflict, DirectoryReader, FederatedCredentialStore, KeyStore,
            ReplayStore, Rotation, SecretStore, ServicePrincipalStore, StoreError, TenantStore,
        };
        use sqlx::Row;
        use uuid::Uuid;

        use crate::codec::*;
        use crate::{conflict_as, map_err};

        type Tx<'a> = sqlx::Transaction<'a, $db>;

        /// An application from a `SELECT tenant_id, doc, version` row.
        fn application_row(r: &<$db as sqlx::Database>::Row) -> Result<ApplicationRecord, StoreError> {
            Ok(ApplicationRecord {
                tenant_id: uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?,
                app: from_json(&r.try_get::<String, _>(1).map_err(map_err)?)?,
                version: r.try_get(2).map_err(map_err)?,
            })
        }

        impl $store {
            /// Starts a write transaction and takes the write lock by bumping the revision.
            async fn begin_write(&self) -> Result<Tx<'_>, StoreError> {
                let mut tx = self.pool.begin().await.map_err(map_err)?;
                sqlx::query("UPDATE revision SET value = value + 1 WHERE id = 1")
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                let notify: Option<&str> = $notify;
                if let Some(sql) = notify {
                    sqlx::query(sql).execute(&mut *tx).await.map_err(map_err)?;
                }
                Ok(tx)
            }

            async fn put_tenant(tx: &mut Tx<'_>, t: &Tenant) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO tenants (id, display_name, created_at) VALUES ($1, $2, $3)")
                    .bind(t.id.to_string())
                    .bind(&t.display_name)
                    .bind(micros(t.created))
                    .execute(&mut **tx)
                    .await
                    .map_err(map_err)?;
                for (i, d) in t.domains.iter().enumerate() {
                    sqlx::query("INSERT INTO domains (name, tenant_id, position) VALUES ($1, $2, $3)")
                        .bind(d.to_ascii_lowercase())
                        .bind(t.id.to_string())
                        .bind(i as i64)
                        .execute(&mut **tx)
                        .await
                        .map_err(|e| conflict_as(e, || Conflict::Domain(d.to_ascii_lowercase())))?;
                }
                Ok(())
            }

            async fn put_application(tx: &mut Tx<'_>, a: &ApplicationRecord) -> Result<(), StoreError> {
                let mut doc = a.app.clone();
                doc.password_credentials.clear();
                sqlx::query(
                    "INSERT INTO applications (id, tenant_id, app_id, doc, version) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(a.app.id.to_string())
                .bind(a.tenant_id.to_string())
                .bind(a.app.app_id.to_string())
                .bind(json(&doc)?)
                .bind(a.version)
                .execute(&mut **tx)
                .await
                .map_err(map_err)?;
                Self::claim_names(tx, a.tenant_id, a.app.app_id, &a.claimed_names()).await
            }

            /// Claims resource names for `app_id` in `tenant`. A name `app_id` holds already stays its;
            /// a name another appId holds is `Conflict::IdentifierUri`. The primary key on (tenant,
            /// name) makes this hold under concurrent writers, in the write's own transaction.
            async fn claim_names(
                tx: &mut Tx<'_>,
                tenant: Uuid,
                app_id: Uuid,
                names: &[(String, &str)],
            ) -> Result<(), StoreError> {
                for (key, original) in names {
                    let holder: String = sqlx::query(
                        "INSERT INTO resource_names (tenant_id, name, app_id) VALUES ($1, $2, $3) \
                         ON CONFLICT (tenant_id, name) DO UPDATE SET app_id = resource_names.app_id \
                         RETURNING app_id",
                    )
                    .bind(tenant.to_string())
                    .bind(key)
                    .bind(app_id.to_string())
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(map_err)?
                    .try_get(0)
                    .map_err(map_err)?;
                    if holder != app_id.to_string() {
                        return Err(StoreError::Conflict(Conflict::IdentifierUri(original.to_string())));
                    }
                }
                Ok(())
            }

            /// Frees every name `app_id` holds in `tenant`.
            async fn release_names(tx: &mut Tx<'_>, tenant: Uuid, app_id: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM resource_names WHERE tenant_id = $1 AND app_id = $2")
                    .bind(tenant.to_string())
                    .bind(app_id)
                    .execute(&mut **tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn put_secret(tx: &mut Tx<'_>, s: &PasswordSecret) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO password_secrets (key_id, application_id, display_name, hint, hash, start_at, end_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(s.key_id.to_string())
                .bind(s.application_id.to_string())
                .bind(s.display_name.clone())
                .bind(&s.hint)
                .bind(hex(&s.hash))
                .bind(micros(s.start))
                .bind(micros(s.end))
                .execute(&mut **tx)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn put_service_principal(tx: &mut Tx<'_>, s: &ServicePrincipalRecord) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO service_principals (id, tenant_id, app_id, doc) VALUES ($1, $2, $3, $4)")
                    .bind(s.sp.id.to_string())
                    .bind(s.tenant_id.to_string())
                    .bind(s.sp.app_id.to_string())
                    .bind(json(&s.sp)?)
                    .execute(&mut **tx)
                    .await
                    .map_err(|e| conflict_as(e, || Conflict::ServicePrincipal(s.sp.app_id)))?;
                Self::claim_names(tx, s.tenant_id, s.sp.app_id, &s.claimed_names()).await
            }

            async fn put_assignment(tx: &mut Tx<'_>, a: &Assignment) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO app_role_assignments \
                     (id, tenant_id, principal_id, principal_type, resource_id, app_role_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&a.id)
                .bind(a.tenant_id.to_string())
                .bind(a.principal_id.to_string())
                .bind(&a.principal_type)
                .bind(a.resource_id.to_string())
                .bind(a.app_role_id.to_string())
                .bind(micros(a.created))
                .execute(&mut **tx)
                .await
                .map_err(|e| conflict_as(e, || Conflict::Assignment))?;
                Ok(())
            }

            async fn put_key(tx: &mut Tx<'_>, k: &StoredKey) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO signing_keys (kid, sealed_private_key, certificate, created_at, activates_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&k.kid)
                .bind(b64(&k.sealed_private_key))
                .bind(b64(&k.certificate_der))
                .bind(micros(k.created))
                .bind(micros(k.activates))
                .execute(&mut **tx)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            /// Writes a tenant's rows (everything in `d` but signing keys and names, which the rows
            /// claim themselves).
            async fn put_rows(tx: &mut Tx<'_>, d: &DirectoryData) -> Result<(), StoreError> {
                for t in &d.tenants {
                    Self::put_tenant(tx, t).await?;
                }
                for a in &d.applications {
                    Self::put_application(tx, a).await?;
                }
                for s in &d.secrets {
                    Self::put_secret(tx, s).await?;
                }
                for s in &d.service_principals {
                    Self::put_service_principal(tx, s).await?;
                }
                for a in &d.assignments {
                    Self::put_assignment(tx, a).await?;
                }
                Ok(())
            }

            async fn tenants_in<'e, E>(ex: &mut E) -> Result<Vec<Tenant>, StoreError>
            where
                for<'c> &'c mut E: sqlx::Executor<'c, Database = $db>,
            {
                let mut tenants = Vec::new();
                let mut index = std::collections::HashMap::new();
                for r in sqlx::query("SELECT id, display_name, created_at FROM tenants ORDER BY created_at, id")
                    .fetch_all(&mut *ex)
                    .await
                    .map_err(map_err)?
                {
                    let id = uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?;
                    index.insert(id, tenants.len());
                    tenants.push(Tenant {
                        id,
                        display_name: r.try_get(1).map_err(map_err)?,
                        domains: Vec::new(),
                        created: from_micros(r.try_get(2).map_err(map_err)?)?,
                    });
                }
                for r in sqlx::query("SELECT name, tenant_id FROM domains ORDER BY position, name")
                    .fetch_all(&mut *ex)
                    .await
                    .map_err(map_err)?
                {
                    let tid = uuid(&r.try_get::<String, _>(1).map_err(map_err)?)?;
                    if let Some(&i) = index.get(&tid) {
                        tenants[i].domains.push(r.try_get(0).map_err(map_err)?);
                    }
                }
                Ok(tenants)
            }

            async fn read_all<'e, E>(ex: &mut E) -> Result<DirectoryData, StoreError>
            where
                for<'c> &'c mut E: sqlx::Executor<'c, Database = $db>,
            {
                let revision: i64 = sqlx::query("SELECT value FROM revision WHERE id = 1")
                    .fetch_one(&mut *ex)
                    .await
                    .map_err(map_err)?
                    .try_get(0)
                    .map_err(map_err)?;
                let tenants = Self::tenants_in(&mut *ex).await?;
                let applications = Self::applications_where(&mut *ex, None).await?;
                let secrets = Self::secrets_where(&mut *ex, None).await?;
                let service_principals = Self::service_principals_where(&mut *ex, None).await?;
                let assignments = Self::assignments_where(&mut *ex, None).await?;
                let keys = Self::keys_in(&mut *ex).await?;
                let federated = Self::federated_where(&mut *ex, None).await?;
                let mut names = Vec::new();
                for r in sqlx::query("SELECT tenant_id, name, app_id FROM resource_names")
                    .fetch_all(&mut *ex)
                    .await
                    .map_err(map_err)?
                {
                    names.push(ResourceName {
                        tenant_id: uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?,
                        key: r.try_get(1).map_err(map_err)?,
                        app_id: uuid(&r.try_get::<String, _>(2).map_err(map_err)?)?,
                    });
                }
                Ok(DirectoryData {
                    revision,
                    tenants,
                    applications,
                    secrets,
                    service_principals,
                    assignments,
                    keys,
                    federated,
                    names,
                })
            }

            async fn applications_where<'e, E>(ex: &mut E, tenant: Option<Uuid>) -> Result<Vec<ApplicationRecord>, StoreError>
            where
                for<'c> &'c mut E: sqlx::Executor<'c, Database = $db>,
            {
                const COLS: &str = "SELECT tenant_id, doc, version FROM applications";
                let rows = match tenant {
                    Some(t) => sqlx::query(&format!("{COLS} WHERE tenant_id = $1 ORDER BY id"))
                        .bind(t.to_string())
                        .fetch_all(&mut *ex)
                        .await,
                    None => sqlx::query(&format!("{COLS} ORDER BY id")).fetch_all(&mut *ex).await,
                }
                .map_err(map_err)?;
                rows.iter().map(application_row).collect()
            }

            /// Secrets of one application (`Some(app, false)`), of one tenant (`Some(tenant, true)`), or all.
            async fn secrets_where<'e, E>(ex: &mut E, scope: Option<(Uuid, bool)>) -> Result<Vec<PasswordSecret>, StoreError>
            where
                for<'c> &'c mut E: sqlx::Executor<'c, Database = $db>,
            {
                const COLS: &str = "SELECT key_id, application_id, display_name, hint, hash, start_at, end_at FROM password_secrets";
                let rows = match scope {
                    Some((a, false)) => sqlx::query(&format!("{COLS} WHERE application_id = $1 ORDER BY start_at, key_id"))
                        .bind(a.to_string())
                        .fetch_all(&mut *ex)
                        .await,
                    Some((t, true)) => sqlx::query(&format!(
                        "{COLS} WHERE application_id IN (SELECT id FROM applications WHERE tenant_id = $1) ORDER BY start_at, key_id"
                    ))
                    .bind(t.to_string())
                    .fetch_all(&mut *ex)
                    .await,
                    None => sqlx::query(&format!("{COLS} ORDER BY start_at, key_id")).fetch_all(&mut *ex).await,
                }
                .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        Ok(PasswordSecret {
                            key_id: uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?,
                            application_id: uuid(&r.try_get::<String, _>(1).map_err(map_err)?)?,
                            display_name: r.try_get(2).map_err(map_err)?,
                            hint: r.try_get(3).map_err(map_err)?,
                            hash: from_hex32(&r.try_get::<String, _>(4).map_err(map_err)?)?,
                            start: from_micros(r.try_get(5).map_err(map_err)?)?,
                            end: from_micros(r.try_get(6).map_err(map_err)?)?,
                        })
                    })
                    .collect()
            }

            async fn service_principals_where<'e, E>(
                ex: &mut E,
                tenant: Option<Uuid>,
            ) -> Result<Vec<ServicePrincipalRecord>, StoreError>
            where
                for<'c> &'c mut E: sqlx::Executor<'c, Database = $db>,
            {
                let rows = match tenant {
                    Some(t) => sqlx::query("SELECT tenant_id, doc FROM service_principals WHERE tenant_id = $1 ORDER BY id")
                        .bind(t.to_string())
                        .fetch_all(&mut *ex)
                        .await,
                    None => sqlx::query("SELECT tenant_id, doc FROM service_principals ORDER BY id").fetch_all(&mut *ex).await,
                }
                .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        Ok(ServicePrincipalRecord {
                            tenant_id: uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?,
                            sp: from_json(&r.try_get::<String, _>(1).map_err(map_err)?)?,
                        })
                    })
                    .collect()
            }

            async fn assignments_where<'e, E>(ex: &mut E, tenant: Option<Uuid>) -> Result<Vec<Assignment>, StoreError>
            where
                for<'c> &'c mut E: sqlx::Executor<'c, Database = $db>,
            {
                const COLS: &str = "SELECT id, tenant_id, principal_id, principal_type, resource_id, app_role_id, created_at FROM app_role_assignments";
                let rows = match tenant {
                    Some(t) => sqlx::query(&format!("{COLS} WHERE tenant_id = $1 ORDER BY created_at, id"))
                        .bind(t.to_string())
                        .fetch_all(&mut *ex)
                        .await,
                    None => sqlx::query(&format!("{COLS} ORDER BY created_at, id")).fetch_all(&mut *ex).await,
                }
                .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        Ok(Assignment {
                            id: r.try_get(0).map_err(map_err)?,
                            tenant_id: uuid(&r.try_get::<String, _>(1).map_err(map_err)?)?,
                            principal_id: uuid(&r.try_get::<String, _>(2).map_err(map_err)?)?,
                            principal_type: r.try_get(3).map_err(map_err)?,
                            resource_id: uuid(&r.try_get::<String, _>(4).map_err(map_err)?)?,
                            app_role_id: uuid(&r.try_get::<String, _>(5).map_err(map_err)?)?,
                            created: from_micros(r.try_get(6).map_err(map_err)?)?,
                        })
                    })
                    .collect()
            }

            /// The JSON document column of the one row `sql` selects by (key, tenant), if any.
            async fn document<T: serde::de::DeserializeOwned>(
                &self,
                sql: &str,
                key: Uuid,
                tenant_id: Uuid,
            ) -> Result<Option<T>, StoreError> {
                let row = sqlx::query(sql)
                    .bind(key.to_string())
                    .bind(tenant_id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                row.map(|r| from_json(&r.try_get::<String, _>(0).map_err(map_err)?)).transpose()
            }

            /// The application `sql` selects by (key, tenant), if any.
            async fn application(&self, sql: &str, key: Uuid, tenant_id: Uuid) -> Result<Option<ApplicationRecord>, StoreError> {
                let row = sqlx::query(sql)
                    .bind(key.to_string())
                    .bind(tenant_id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                row.as_ref().map(application_row).transpose()
            }

            /// Runs one statement in a write transaction; returns the rows it affected.
            async fn write_one(&self, sql: &str, args: &[String]) -> Result<u64, StoreError> {
                let mut tx = self.begin_write().await?;
                let mut q = sqlx::query(sql);
                for a in args {
                    q = q.bind(a.clone());
                }
                let n = q.execute(&mut *tx).await.map_err(map_err)?.rows_affected();
                tx.commit().await.map_err(map_err)?;
                Ok(n)
            }
        }

        #[async_trait]
        impl TenantStore for $store {
            async fn create_tenant(&self, rows: &DirectoryData) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::put_rows(&mut tx, rows).await?;
                tx.commit().await.map_err(map_err)
            }

            async fn get_tenant(&self, id: Uuid) -> Result<Option<Tenant>, StoreError> {
                let Some(r) = sqlx::query("SELECT display_name, created_at FROM tenants WHERE id = $1")
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
                }))
            }

            async fn find_tenant_by_domain(&self, domain: &str) -> Result<Option<Tenant>, StoreError> {
                let row = sqlx::query("SELECT tenant_id FROM domains WHERE name = $1")
                    .bind(domain.to_ascii_lowercase())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                match row {
                    Some(r) => self.get_tenant(uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?).await,
                    None => Ok(None),
                }
            }

            async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                Self::tenants_in(&mut *conn).await
            }

            async fn add_domain(&self, tenant_id: Uuid, domain: &str) -> Result<bool, StoreError> {
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
                tx.commit().await.map_err(map_err)?;
                Ok(n == 1)
            }

            async fn delete_tenant(&self, id: Uuid) -> Result<bool, StoreError> {
                // Every row of the tenant references it with ON DELETE CASCADE.
                let n = self.write_one("DELETE FROM tenants WHERE id = $1", &[id.to_string()]).await?;
                Ok(n == 1)
            }

            async fn tenant_count(&self) -> Result<i64, StoreError> {
                sqlx::query("SELECT COUNT(*) FROM tenants")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_err)?
                    .try_get(0)
                    .map_err(map_err)
            }

            async fn bootstrap(&self, d: &DirectoryData) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let existing: i64 = sqlx::query("SELECT COUNT(*) FROM tenants")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .try_get(0)
                    .map_err(map_err)?;
                if existing > 0 {
                    return Err(StoreError::Conflict(Conflict::Bootstrapped));
                }
                Self::put_rows(&mut tx, d).await?;
                for k in &d.keys {
                    Self::put_key(&mut tx, k).await?;
                }
                tx.commit().await.map_err(map_err)
            }
        }

        #[async_trait]
        impl ApplicationStore for $store {
            async fn insert_application(&self, app: &ApplicationRecord) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::put_application(&mut tx, app).await?;
                tx.commit().await.map_err(map_err)
            }

            async fn update_application(&self, app: &ApplicationRecord) -> Result<bool, StoreError> {
                let mut doc = app.app.clone();
                doc.password_credentials.clear();
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE applications SET doc = $1, version = version + 1 \
                     WHERE id = $2 AND tenant_id = $3 AND version = $4",
                )
                .bind(json(&doc)?)
                .bind(app.app.id.to_string())
                .bind(app.tenant_id.to_string())
                .bind(app.version)
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
                Self::release_names(&mut tx, app.tenant_id, &app.app.app_id.to_string()).await?;
                Self::claim_names(&mut tx, app.tenant_id, app.app.app_id, &app.claimed_names()).await?;
                tx.commit().await.map_err(map_err)?;
                Ok(true)
            }

            async fn delete_application(&self, tenant_id: Uuid, id: Uuid) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                let row = sqlx::query("SELECT app_id FROM applications WHERE id = $1 AND tenant_id = $2")
                    .bind(id.to_string())
                    .bind(tenant_id.to_string())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?;
                let Some(row) = row else {
                    return Ok(false);
                };
                let app_id: String = row.try_get(0).map_err(map_err)?;
                sqlx::query("DELETE FROM service_principals WHERE tenant_id = $1 AND app_id = $2")
                    .bind(tenant_id.to_string())
                    .bind(&app_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                Self::release_names(&mut tx, tenant_id, &app_id).await?;
                sqlx::query("DELETE FROM applications WHERE id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(true)
            }

            async fn get_application(&self, tenant_id: Uuid, id: Uuid) -> Result<Option<ApplicationRecord>, StoreError> {
                self.application("SELECT tenant_id, doc, version FROM applications WHERE id = $1 AND tenant_id = $2", id, tenant_id)
                    .await
            }

            async fn list_applications(&self, tenant_id: Uuid) -> Result<Vec<ApplicationRecord>, StoreError> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                Self::applications_where(&mut *conn, Some(tenant_id)).await
            }

            async fn find_application_by_app_id(
                &self,
                tenant_id: Uuid,
                app_id: Uuid,
            ) -> Result<Option<ApplicationRecord>, StoreError> {
                self.application(
                    "SELECT tenant_id, doc, version FROM applications WHERE app_id = $1 AND tenant_id = $2",
                    app_id,
                    tenant_id,
                )
                .await
            }
        }

        #[async_trait]
        impl SecretStore for $store {
            async fn insert_secret(&self, secret: &PasswordSecret) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::put_secret(&mut tx, secret).await?;
                tx.commit().await.map_err(map_err)
            }

            async fn delete_secret(&self, application_id: Uuid, key_id: Uuid) -> Result<bool, StoreError> {
                let n = self
                    .write_one(
                        "DELETE FROM password_secrets WHERE key_id = $1 AND application_id = $2",
                        &[key_id.to_string(), application_id.to_string()],
                    )
                    .await?;
                Ok(n == 1)
            }

            async fn list_secrets(&self, application_id: Uuid) -> Result<Vec<PasswordSecret>, StoreError> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                Self::secrets_where(&mut *conn, Some((application_id, false))).await
            }

            async fn list_tenant_secrets(&self, tenant_id: Uuid) -> Result<Vec<PasswordSecret>, StoreError> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                Self::secrets_where(&mut *conn, Some((tenant_id, true))).await
            }
        }

        #[async_trait]
        impl ServicePrincipalStore for $store {
            async fn insert_service_principal(&self, sp: &ServicePrincipalRecord) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::put_service_principal(&mut tx, sp).await?;
                tx.commit().await.map_err(map_err)
            }

            async fn delete_service_principal(&self, tenant_id: Uuid, id: Uuid) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                let Some(row) = sqlx::query("DELETE FROM service_principals WHERE id = $1 AND tenant_id = $2 RETURNING app_id")
                    .bind(id.to_string())
                    .bind(tenant_id.to_string())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?
                else {
                    return Ok(false);
                };
                let app_id: String = row.try_get(0).map_err(map_err)?;
                // Names of an application of this tenant stay with the application.
                sqlx::query(
                    "DELETE FROM resource_names WHERE tenant_id = $1 AND app_id = $2 \
                     AND NOT EXISTS (SELECT 1 FROM applications WHERE tenant_id = $1 AND app_id = $2)",
                )
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
                tenant_id: Uuid,
                id: Uuid,
            ) -> Result<Option<ServicePrincipalRecord>, StoreError> {
                let doc = self.document("SELECT doc FROM service_principals WHERE id = $1 AND tenant_id = $2", id, tenant_id).await?;
                Ok(doc.map(|sp| ServicePrincipalRecord { tenant_id, sp }))
            }

            async fn list_service_principals(&self, tenant_id: Uuid) -> Result<Vec<ServicePrincipalRecord>, StoreError> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                Self::service_principals_where(&mut *conn, Some(tenant_id)).await
            }

            async fn find_service_principal_by_app_id(
                &self,
                tenant_id: Uuid,
                app_id: Uuid,
            ) -> Result<Option<ServicePrincipalRecord>, StoreError> {
                let doc = self.document("SELECT doc FROM service_principals WHERE app_id = $1 AND tenant_id = $2", app_id, tenant_id).await?;
                Ok(doc.map(|sp| ServicePrincipalRecord { tenant_id, sp }))
            }
        }

        #[async_trait]
        impl AssignmentStore for $store {
            async fn insert_assignment(&self, a: &Assignment) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::put_assignment(&mut tx, a).await?;
                tx.commit().await.map_err(map_err)
            }

            async fn delete_assignment(&self, tenant_id: Uuid, id: &str) -> Result<bool, StoreError> {
                let n = self
                    .write_one(
                        "DELETE FROM app_role_assignments WHERE id = $1 AND tenant_id = $2",
                        &[id.to_string(), tenant_id.to_string()],
                    )
                    .await?;
                Ok(n == 1)
            }

            async fn list_assignments(&self, tenant_id: Uuid) -> Result<Vec<Assignment>, StoreError> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                Self::assignments_where(&mut *conn, Some(tenant_id)).await
            }
        }

        #[async_trait]
        impl DirectoryReader for $store {
            async fn revision(&self) -> Result<i64, StoreError> {
                sqlx::query("SELECT value FROM revision WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_err)?
                    .try_get(0)
                    .map_err(map_err)
            }

            async fn load_directory(&self) -> Result<DirectoryData, StoreError> {
                let mut tx = self.pool.begin().await.map_err(map_err)?;
                sqlx::query($begin_read).execute(&mut *tx).await.map_err(map_err)?;
                let data = Self::read_all(&mut *tx).await?;
                tx.commit().await.map_err(map_err)?;
                Ok(data)
            }

            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map_err(map_err)?;
                Ok(())
            }

            async fn close(&self) {
                self.shutdown().await;
            }

            async fn changed(&self) {
                self.wait_for_change().await;
            }
        }
    };
}

pub(crate) use sql_store;
