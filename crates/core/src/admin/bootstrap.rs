//! A new tenant's rows: the tenant, Microsoft Graph's service principal, and a management application
//! with a fresh secret holding Application.ReadWrite.All, AppRoleAssignment.ReadWrite.All,
//! Directory.Read.All and User.ReadWrite.All. The first tenant of an empty store (`gatehouse init`, or `serve` on an empty
//! store) also gets the first signing key, written at once; later ones come from `tenant create`.

use gatehouse_jose::kek::Kek;
use gatehouse_proto::graph::AddPasswordInput;
use gatehouse_proto::token::Secret;
use gatehouse_proto::{AppId, ObjectId, TenantId};
use serde::Serialize;
use time::OffsetDateTime;

use super::applications::{new_application, new_password};
use super::assignments::assignment_id;
use super::graph_resource::{graph_role_id, graph_service_principal};
use super::service_principals::new_service_principal;
use super::AdminError;
use crate::keys::new_stored_key;
use crate::model::{ApplicationRecord, Assignment, DirectoryData, ServicePrincipalRecord, Tenant};
use crate::store::{Conflict, Store, StoreError};

pub const DEFAULT_DOMAIN: &str = "gatehouse.local";
/// The tag that marks a tenant's management application, so `tenant credential reset` finds it.
pub const MANAGEMENT_TAG: &str = "gatehouse:management";
const MANAGEMENT_ROLES: [&str; 4] = [
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "Directory.Read.All",
    "User.ReadWrite.All",
];

/// What `gatehouse init --json` prints: everything needed to get the first token.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BootstrapOutput {
    pub tenant_id: TenantId,
    pub domain: String,
    pub client_id: AppId,
    pub client_secret: Secret,
}

/// Builds the rows of the first tenant and the first signing key. Pure apart from fresh ids, secret
/// and key.
pub fn first_tenant(
    domain: &str,
    kek: &Kek,
    now: OffsetDateTime,
) -> Result<(DirectoryData, BootstrapOutput), AdminError> {
    let (mut data, out) = new_tenant(domain, None, now)?;
    data.keys = vec![new_stored_key(kek, now, now).map_err(AdminError::from)?];
    Ok((data, out))
}

/// A domain as a tenant verifies it: a DNS name, lower-cased.
pub fn domain_name(domain: &str) -> Result<String, AdminError> {
    let domain = domain.to_ascii_lowercase();
    if gatehouse_proto::tenant::is_dns_name(&domain) {
        Ok(domain)
    } else {
        Err(AdminError::BadRequest(format!(
            "'{domain}' is not a valid domain name."
        )))
    }
}

/// Builds the rows of a new tenant (no signing key: keys are the cluster's). Pure apart from fresh
/// ids and secret.
pub fn new_tenant(
    domain: &str,
    display_name: Option<&str>,
    now: OffsetDateTime,
) -> Result<(DirectoryData, BootstrapOutput), AdminError> {
    let domain = domain_name(domain)?;
    let display_name = display_name.map(str::trim).unwrap_or(&domain);
    if display_name.is_empty() || display_name.chars().count() > 256 {
        return Err(AdminError::BadRequest(
            "displayName must be 1 to 256 characters.".into(),
        ));
    }
    let tenant = Tenant {
        id: TenantId::new(),
        display_name: display_name.to_string(),
        domains: vec![domain.clone()],
        created: now,
    };
    let graph = ServicePrincipalRecord {
        tenant_id: tenant.id,
        sp: graph_service_principal(ObjectId::new(), tenant.id),
    };
    let (mut data, output) = management_application(tenant.id, &domain, graph.sp.id, now)?;
    data.names = graph.resource_names().collect();
    data.service_principals.insert(0, graph);
    data.tenants = vec![tenant];
    Ok((data, output))
}

/// The rows of a tenant's management application: the application (tagged [`MANAGEMENT_TAG`]), its
/// service principal, a fresh secret, and the Graph app roles of [`MANAGEMENT_ROLES`] assigned on the
/// tenant's Graph service principal `graph`.
pub fn management_application(
    tenant: TenantId,
    domain: &str,
    graph: ObjectId,
    now: OffsetDateTime,
) -> Result<(DirectoryData, BootstrapOutput), AdminError> {
    let mut app = new_application("Gatehouse management", Some(domain.to_string()), now);
    app.tags = vec![MANAGEMENT_TAG.into()];
    let sp = new_service_principal(&app, tenant);
    let (secret, credential) = new_password(app.id, AddPasswordInput::default(), now)?;
    let client_secret = credential.secret_text.ok_or(AdminError::Unavailable)?;
    let assignments = MANAGEMENT_ROLES
        .iter()
        .filter_map(|v| graph_role_id(v))
        .map(|role| {
            Ok(Assignment {
                id: assignment_id(sp.id)?,
                tenant_id: tenant,
                principal_id: sp.id,
                principal_type: gatehouse_proto::PrincipalType::ServicePrincipal,
                resource_id: graph,
                app_role_id: role,
                created: now,
            })
        })
        .collect::<Result<Vec<_>, AdminError>>()?;
    let output = BootstrapOutput {
        tenant_id: tenant,
        domain: domain.to_string(),
        client_id: app.app_id,
        client_secret,
    };
    let data = DirectoryData {
        service_principals: vec![ServicePrincipalRecord {
            tenant_id: tenant,
            sp,
        }],
        applications: vec![ApplicationRecord {
            tenant_id: tenant,
            app,
            version: 0,
        }],
        secrets: vec![secret],
        assignments,
        ..DirectoryData::default()
    };
    Ok((data, output))
}

/// Bootstraps `store` if it holds no tenant. `Ok(None)` when it already had one (or another node
/// bootstrapped it first).
pub async fn bootstrap_if_empty(
    store: &dyn Store,
    domain: &str,
    kek: &Kek,
    now: OffsetDateTime,
) -> Result<Option<BootstrapOutput>, AdminError> {
    if store.tenant_count().await? > 0 {
        return Ok(None);
    }
    let (data, out) = first_tenant(domain, kek, now)?;
    match store.bootstrap(&data).await {
        Ok(()) => Ok(Some(out)),
        Err(StoreError::Conflict(Conflict::Bootstrapped)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
