//! Tenants as data: the operator's operations behind `gatehouse tenant …`. They run with the store's
//! credentials, not a tenant's token, so they take no [`super::Caller`]. A new tenant gets its own
//! Microsoft Graph service principal and management application, as the first one does; every node
//! sees a new, changed or deleted tenant within a second through its watcher.

use gatehouse_proto::tenant::TenantSegment;
use gatehouse_proto::TenantId;
use time::OffsetDateTime;

use super::bootstrap::{domain_name, new_tenant, BootstrapOutput};
use super::AdminError;
use crate::model::Tenant;
use crate::store::Store;

/// Creates a tenant with one verified domain; the output carries its management secret, shown once.
pub async fn create(
    store: &dyn Store,
    domain: &str,
    display_name: Option<&str>,
    now: OffsetDateTime,
) -> Result<BootstrapOutput, AdminError> {
    let (rows, out) = new_tenant(domain, display_name, now)?;
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

fn gone(id: TenantId) -> AdminError {
    AdminError::NotFound(format!("The tenant {id} was deleted meanwhile."))
}
