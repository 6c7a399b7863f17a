//! The SQL of signing keys, federated identity credentials and used assertion ids, expanded for each
//! backend by `sql_credential_store!`. Expand it right after `sql_store!` in the same module: it uses
//! that macro's imports and inherent helpers (`begin_write`, `write_one`, `put_key`).

macro_rules! sql_credential_store {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn keys_in<'e, E>(ex: &mut E) -> Result<Vec<StoredKey>, StoreError>
            where
                for<'c> &'c mut E: sqlx::Executor<'c, Database = $db>,
            {
                sqlx::query(
                    "SELECT kid, sealed_private_key, certificate, created_at, activates_at FROM signing_keys \
                     ORDER BY activates_at, kid",
                )
                .fetch_all(&mut *ex)
                .await
                .map_err(map_err)?
                .iter()
                .map(|r| {
                    Ok(StoredKey {
                        kid: r.try_get(0).map_err(map_err)?,
                        sealed_private_key: from_b64(&r.try_get::<String, _>(1).map_err(map_err)?)?,
                        certificate_der: from_b64(&r.try_get::<String, _>(2).map_err(map_err)?)?,
                        created: from_micros(r.try_get(3).map_err(map_err)?)?,
                        activates: from_micros(r.try_get(4).map_err(map_err)?)?,
                    })
                })
                .collect()
            }

            async fn federated_where<'e, E>(
                ex: &mut E,
                application: Option<Uuid>,
            ) -> Result<Vec<FederatedCredentialRecord>, StoreError>
            where
                for<'c> &'c mut E: sqlx::Executor<'c, Database = $db>,
            {
                let rows = match application {
                    Some(a) => sqlx::query(
                        "SELECT application_id, doc FROM federated_credentials WHERE application_id = $1 ORDER BY name",
                    )
                    .bind(a.to_string())
                    .fetch_all(&mut *ex)
                    .await,
                    None => sqlx::query("SELECT application_id, doc FROM federated_credentials ORDER BY name")
                        .fetch_all(&mut *ex)
                        .await,
                }
                .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        Ok(FederatedCredentialRecord {
                            application_id: uuid(&r.try_get::<String, _>(0).map_err(map_err)?)?,
                            credential: from_json(&r.try_get::<String, _>(1).map_err(map_err)?)?,
                        })
                    })
                    .collect()
            }

        }

        #[async_trait]
        impl KeyStore for $store {
            async fn insert_key(&self, key: &StoredKey) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::put_key(&mut tx, key).await?;
                tx.commit().await.map_err(map_err)
            }

            async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                Self::keys_in(&mut *conn).await
            }

            async fn rotate_keys(
                &self,
                key: &StoredKey,
                now: time::OffsetDateTime,
                emergency: bool,
            ) -> Result<Rotation, StoreError> {
                // The revision bump in begin_write serialises writers, so the check below sees any
                // key another node added a moment ago.
                let mut tx = self.begin_write().await?;
                if emergency {
                    sqlx::query("DELETE FROM signing_keys").execute(&mut *tx).await.map_err(map_err)?;
                } else if let Some(r) =
                    sqlx::query("SELECT kid FROM signing_keys WHERE activates_at > $1 ORDER BY activates_at, kid")
                        .bind(micros(now))
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(map_err)?
                {
                    let kid: String = r.try_get(0).map_err(map_err)?;
                    tx.rollback().await.map_err(map_err)?;
                    return Ok(Rotation::AlreadyPending(kid));
                }
                Self::put_key(&mut tx, key).await?;
                tx.commit().await.map_err(map_err)?;
                Ok(Rotation::Added)
            }

            async fn delete_keys(&self, kids: &[String]) -> Result<u64, StoreError> {
                if kids.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.begin_write().await?;
                let mut n = 0;
                for kid in kids {
                    n += sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
                        .bind(kid)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?
                        .rows_affected();
                }
                tx.commit().await.map_err(map_err)?;
                Ok(n)
            }
        }

        #[async_trait]
        impl FederatedCredentialStore for $store {
            async fn insert_federated(&self, rec: &FederatedCredentialRecord) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query("INSERT INTO federated_credentials (id, application_id, name, doc) VALUES ($1, $2, $3, $4)")
                    .bind(rec.credential.id.to_string())
                    .bind(rec.application_id.to_string())
                    .bind(&rec.credential.name)
                    .bind(json(&rec.credential)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| conflict_as(e, || Conflict::FederatedCredentialName(rec.credential.name.clone())))?;
                tx.commit().await.map_err(map_err)
            }

            async fn update_federated(&self, rec: &FederatedCredentialRecord) -> Result<bool, StoreError> {
                let n = self
                    .write_one(
                        "UPDATE federated_credentials SET doc = $1 WHERE id = $2 AND application_id = $3",
                        &[json(&rec.credential)?, rec.credential.id.to_string(), rec.application_id.to_string()],
                    )
                    .await?;
                Ok(n == 1)
            }

            async fn delete_federated(&self, application_id: Uuid, id: Uuid) -> Result<bool, StoreError> {
                let n = self
                    .write_one(
                        "DELETE FROM federated_credentials WHERE id = $1 AND application_id = $2",
                        &[id.to_string(), application_id.to_string()],
                    )
                    .await?;
                Ok(n == 1)
            }

            async fn list_federated(&self, application_id: Uuid) -> Result<Vec<FederatedCredentialRecord>, StoreError> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                Self::federated_where(&mut *conn, Some(application_id)).await
            }
        }

        #[async_trait]
        impl ReplayStore for $store {
            async fn record_assertions(
                &self,
                batch: &[(String, String, time::OffsetDateTime)],
            ) -> Result<Vec<bool>, StoreError> {
                let mut tx = self.pool.begin().await.map_err(map_err)?;
                let mut fresh = Vec::with_capacity(batch.len());
                for (client_id, jti, expires) in batch {
                    let n = sqlx::query(
                        "INSERT INTO used_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (client_id, jti) DO NOTHING",
                    )
                    .bind(client_id)
                    .bind(jti)
                    .bind(micros(*expires))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .rows_affected();
                    fresh.push(n == 1);
                }
                tx.commit().await.map_err(map_err)?;
                Ok(fresh)
            }

            async fn prune_assertions(&self, now: time::OffsetDateTime) -> Result<u64, StoreError> {
                Ok(sqlx::query("DELETE FROM used_assertions WHERE expires_at < $1")
                    .bind(micros(now))
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?
                    .rows_affected())
            }
        }

    };
}

pub(crate) use sql_credential_store;
