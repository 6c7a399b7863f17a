//! Tenants as data: the operator's operations behind `gatehouse tenant …`. They run with the store's
//! credentials, not a tenant's token, so they take no [`super::Caller`]. A new tenant gets its own
//! Microsoft Graph service principal and management application, as the first one does; every node
//! sees a new, changed or deleted tenant within a second through its watcher.

use gatehouse_proto::graph::AddPasswordInput;
use gatehouse_proto::tenant::TenantSegment;
use gatehouse_proto::{AppId, TenantId, GRAPH_APP_ID};
use time::OffsetDateTime;

use super::applications::new_password;
use super::assignments::assignment_id;
use super::bootstrap::{
    add_administrator, domain_name, management_application, new_tenant, BootstrapOutput, MANAGEMENT_ROLES,
    MANAGEMENT_TAG,
};
use super::graph_resource::graph_role_id;
use super::AdminError;
use crate::model::{Assignment, Tenant};
use crate::store::Store;

/// Creates a tenant with one verified domain; the output carries its management secret, shown once.
pub async fn create(
    store: &dyn Store,
    domain: &str,
    display_name: Option<&str>,
    now: OffsetDateTime,
) -> Result<BootstrapOutput, AdminError> {
    let (mut rows, mut out) = new_tenant(domain, display_name, now)?;
    add_administrator(&mut rows, &mut out, now)?;
    store.create_tenant(&rows).await?;
    Ok(out)
}

pub async fn list(store: &dyn Store) -> Result<Vec<Tenant>, AdminError> {
    Ok(store.list_tenants().await?)
}

/// The tenant a GUID or a verified domain (any case) names.
pub async fn find(store: &dyn Store, id_or_domain: &str) -> Result<Tenant, AdminError> {
    let missing = || {
        AdminError::NotFound(format!(
            "No tenant has the id or verified domain '{id_or_domain}'."
        ))
    };
    let found = match TenantSegment::parse(id_or_domain) {
        Ok(TenantSegment::Id(id)) => store.get_tenant(TenantId(id)).await?,
        Ok(TenantSegment::Domain(d)) => store.find_tenant_by_domain(&d).await?,
        _ => return Err(missing()),
    };
    found.ok_or_else(missing)
}

/// Adds a verified domain: discovery and tokens then work under it as under the tenant's GUID.
pub async fn add_domain(store: &dyn Store, id_or_domain: &str, domain: &str) -> Result<Tenant, AdminError> {
    let tenant = find(store, id_or_domain).await?;
    let domain = domain_name(domain)?;
    if !store.add_domain(tenant.id, &domain).await? {
        return Err(gone(tenant.id));
    }
    store.get_tenant(tenant.id).await?.ok_or_else(|| gone(tenant.id))
}

/// Deletes the tenant and everything in it: applications, secrets, certificates, federated
/// credentials, service principals, assignments, domains.
pub async fn delete(store: &dyn Store, id_or_domain: &str) -> Result<Tenant, AdminError> {
    let tenant = find(store, id_or_domain).await?;
    if !store.delete_tenant(tenant.id).await? {
        return Err(gone(tenant.id));
    }
    Ok(tenant)
}

/// Break glass for an operator who lost a tenant's management secret: a new secret for its management
/// application, replacing the old ones (as `az ad app credential reset` does), shown once. A tenant
/// whose management application was deleted gets a new one, with the same Graph roles.
pub async fn reset_management_secret(
    store: &dyn Store,
    id_or_domain: &str,
    now: OffsetDateTime,
) -> Result<BootstrapOutput, AdminError> {
    let tenant = find(store, id_or_domain).await?;
    let domain = tenant.domains.first().cloned().unwrap_or_default();
    let management = store
        .list_applications(tenant.id)
        .await?
        .into_iter()
        .filter(|a| {
            a.app.tags.iter().any(|t| t == MANAGEMENT_TAG) || a.app.display_name == "Gatehouse management"
        })
        .min_by_key(|a| a.app.created_date_time);
    if let Some(app) = management {
        let (secret, credential) = new_password(app.app.id, AddPasswordInput::default(), now)?;
        let client_secret = credential.secret_text.ok_or(AdminError::Unavailable)?;
        store.insert_secret(&secret).await?;
        for old in store.list_secrets(app.app.id).await? {
            if old.key_id != secret.key_id {
                store.delete_secret(app.app.id, old.key_id).await?;
            }
        }
        top_up_management_roles(store, tenant.id, app.app.app_id, now).await?;
        return Ok(BootstrapOutput {
            tenant_id: tenant.id,
            domain,
            client_id: app.app.app_id,
            client_secret,
            admin_user_principal_name: None,
            admin_password: None,
        });
    }
    let graph = AppId::parse(GRAPH_APP_ID).ok_or(AdminError::Unavailable)?;
    let graph = store
        .find_service_principal_by_app_id(tenant.id, graph)
        .await?
        .ok_or(AdminError::Unavailable)?;
    let (rows, out) = management_application(tenant.id, &domain, graph.sp.id, now)?;
    store.create_tenant(&rows).await?;
    Ok(out)
}

/// Gives an existing management application the Graph roles a new one gets that it lacks (a tenant
/// made by an older version has no `RoleManagement.ReadWrite.Directory`), so a reset also upgrades it.
async fn top_up_management_roles(
    store: &dyn Store,
    tenant: TenantId,
    management: AppId,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    let graph = AppId::parse(GRAPH_APP_ID).ok_or(AdminError::Unavailable)?;
    let (Some(sp), Some(graph)) = (
        store.find_service_principal_by_app_id(tenant, management).await?,
        store.find_service_principal_by_app_id(tenant, graph).await?,
    ) else {
        return Ok(());
    };
    let held = store.roles_held(sp.sp.id).await?;
    for role in MANAGEMENT_ROLES.iter().filter_map(|v| graph_role_id(v)) {
        if held.contains(&(graph.sp.id, role)) {
            continue;
        }
        let a = Assignment {
            id: assignment_id(sp.sp.id)?,
            tenant_id: tenant,
            principal_id: sp.sp.id,
            principal_type: gatehouse_proto::PrincipalType::ServicePrincipal,
            resource_id: graph.sp.id,
            app_role_id: role,
            created: now,
        };
        match store.insert_assignment(&a).await {
            Ok(()) | Err(crate::store::StoreError::Conflict(crate::store::Conflict::Assignment)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn gone(id: TenantId) -> AdminError {
    AdminError::NotFound(format!("The tenant {id} was deleted meanwhile."))
}
