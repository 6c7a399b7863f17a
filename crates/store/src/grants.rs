//! Delegated permission grants (Graph's `oAuth2PermissionGrant`): which scopes of a resource a client
//! may use for every user of the tenant, or for one.

use async_trait::async_trait;
use gatehouse_core::audit::Touched;
use gatehouse_core::model::{Consent, PermissionGrant};
use gatehouse_core::store::{Conflict, GrantStore, StoreError};
use gatehouse_proto::{ObjectId, TenantId};
use sqlx::Row;

use crate::codec::uuid;
use crate::db::{conflict_as, map_err, select_rows, SqlStore};

fn consent(kind: &str, principal: &str) -> Result<Consent, StoreError> {
    match kind {
        "AllPrincipals" => Ok(Consent::AllPrincipals),
        "Principal" => Ok(Consent::Principal(uuid(principal)?)),
        other => Err(StoreError::Corrupt(format!("unknown consent type {other}"))),
    }
}

const COLUMNS: &str =
    "SELECT id, tenant_id, client_id, resource_id, consent_type, principal_id, scope FROM oauth2_permission_grants";

fn grant(r: &sqlx::any::AnyRow) -> Result<PermissionGrant, StoreError> {
    let text = |i: usize| r.try_get::<String, _>(i).map_err(map_err);
    Ok(PermissionGrant {
        id: text(0)?,
        tenant_id: uuid(&text(1)?)?,
        client_id: uuid(&text(2)?)?,
        resource_id: uuid(&text(3)?)?,
        consent: consent(&text(4)?, &text(5)?)?,
        scopes: text(6)?.split_whitespace().map(str::to_string).collect(),
    })
}

#[async_trait]
impl GrantStore for SqlStore {
    async fn insert_grant(&self, g: &PermissionGrant) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new("ServicePrincipal", g.client_id, None));
        sqlx::query(
            "INSERT INTO oauth2_permission_grants \
             (id, tenant_id, client_id, resource_id, consent_type, principal_id, scope) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&g.id)
        .bind(g.tenant_id.to_string())
        .bind(g.client_id.to_string())
        .bind(g.resource_id.to_string())
        .bind(g.consent.kind())
        .bind(g.consent.principal().map(|p| p.to_string()).unwrap_or_default())
        .bind(g.scopes.join(" "))
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_as(e, || Conflict::PermissionGrant))?;
        tx.commit().await.map_err(map_err)
    }

    async fn update_grant_scopes(
        &self,
        tenant_id: TenantId,
        id: &str,
        scopes: &[String],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n =
            sqlx::query("UPDATE oauth2_permission_grants SET scope = $1 WHERE id = $2 AND tenant_id = $3")
                .bind(scopes.join(" "))
                .bind(id)
                .bind(tenant_id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?
                .rows_affected();
        tx.commit().await.map_err(map_err)?;
        Ok(n == 1)
    }

    async fn delete_grant(&self, tenant_id: TenantId, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM oauth2_permission_grants WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        tx.commit().await.map_err(map_err)?;
        Ok(n == 1)
    }

    async fn list_grants(&self, tenant_id: TenantId) -> Result<Vec<PermissionGrant>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let rows = select_rows(
            &mut conn,
            COLUMNS,
            Some(("tenant_id = $1", tenant_id.to_string())),
            "id",
        )
        .await?;
        rows.iter().map(grant).collect()
    }

    async fn find_grant(
        &self,
        tenant_id: TenantId,
        client_id: ObjectId,
        resource_id: ObjectId,
        principal: Option<ObjectId>,
    ) -> Result<Option<PermissionGrant>, StoreError> {
        let (kind, principal) = match principal {
            None => ("AllPrincipals", String::new()),
            Some(p) => ("Principal", p.to_string()),
        };
        let row = sqlx::query(&format!(
            "{COLUMNS} WHERE tenant_id = $1 AND client_id = $2 AND resource_id = $3 \
             AND consent_type = $4 AND principal_id = $5"
        ))
        .bind(tenant_id.to_string())
        .bind(client_id.to_string())
        .bind(resource_id.to_string())
        .bind(kind)
        .bind(principal)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(grant).transpose()
    }

    async fn consented_scopes(
        &self,
        tenant_id: TenantId,
        client_id: ObjectId,
        resource_id: ObjectId,
        user_id: ObjectId,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT scope FROM oauth2_permission_grants WHERE tenant_id = $1 AND client_id = $2 \
             AND resource_id = $3 AND principal_id IN ('', $4)",
        )
        .bind(tenant_id.to_string())
        .bind(client_id.to_string())
        .bind(resource_id.to_string())
        .bind(user_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let mut out = Vec::new();
        for r in rows {
            let scope: String = r.try_get(0).map_err(map_err)?;
            out.extend(scope.split_whitespace().map(str::to_string));
        }
        Ok(out)
    }
}
