//! A new tenant's rows: the tenant, Microsoft Graph's service principal, and a management application
//! with a fresh secret holding Application.ReadWrite.All, AppRoleAssignment.ReadWrite.All,
//! AuditLog.Read.All, Directory.Read.All, User.ReadWrite.All, RoleManagement.ReadWrite.Directory and
//! Policy.ReadWrite.Authorization. The first tenant of an empty store (`gatehouse init`, or `serve` on an empty
//! store) also gets the first signing key, written at once; later ones come from `tenant create`.

use gatehouse_jose::kek::Kek;
use gatehouse_proto::graph::{AddPasswordInput, User};
use gatehouse_proto::token::Secret;
use gatehouse_proto::{AppId, ObjectId, TenantId};
use serde::Serialize;
use time::OffsetDateTime;

use super::applications::{new_application, new_password};
use super::assignments::assignment_id;
use super::azure_resources::AZURE_RESOURCES;
use super::directory_roles::{new_assignment, DirectoryRole};
use super::graph_resource::{graph_role_id, graph_service_principal};
use super::service_principals::new_service_principal;
use super::AdminError;
use crate::keys::new_stored_key;
use crate::model::{
    ApplicationRecord, Assignment, DirectoryData, ServicePrincipalRecord, Tenant, UserRecord,
};
use crate::store::{Conflict, Store, StoreError};

pub const DEFAULT_DOMAIN: &str = "gatehouse.local";
/// The tag that marks a tenant's management application, so `tenant credential reset` finds it.
pub const MANAGEMENT_TAG: &str = "gatehouse:management";
pub(crate) const MANAGEMENT_ROLES: [&str; 7] = [
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "AuditLog.Read.All",
    "Directory.Read.All",
    "User.ReadWrite.All",
    "RoleManagement.ReadWrite.Directory",
    "Policy.ReadWrite.Authorization",
];

/// What `gatehouse init --json` prints: everything needed to get the first token.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BootstrapOutput {
    pub tenant_id: TenantId,
    pub domain: String,
    pub client_id: AppId,
    pub client_secret: Secret,
    /// The tenant's first user, `admin@DOMAIN`, and its generated password (new tenants only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_user_principal_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<Secret>,
}

/// Builds the rows of the first tenant and the first signing key. Pure apart from fresh ids, secret
/// and key.
pub fn first_tenant(
    domain: &str,
    kek: &Kek,
    now: OffsetDateTime,
) -> Result<(DirectoryData, BootstrapOutput), AdminError> {
    let (mut data, mut out) = new_tenant(domain, None, now)?;
    add_administrator(&mut data, &mut out, now)?;
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
        user_consent: Default::default(),
        users_can_register_apps: true,
    };
    let graph = ServicePrincipalRecord {
        tenant_id: tenant.id,
        sp: graph_service_principal(ObjectId::new(), tenant.id),
    };
    let (mut data, output) = management_application(tenant.id, &domain, graph.sp.id, now)?;
    let azure = AZURE_RESOURCES.iter().map(|r| ServicePrincipalRecord {
        tenant_id: tenant.id,
        sp: r.service_principal(ObjectId::new(), tenant.id),
    });
    let microsoft: Vec<ServicePrincipalRecord> = std::iter::once(graph).chain(azure).collect();
    data.names = microsoft.iter().flat_map(|sp| sp.resource_names()).collect();
    data.service_principals.splice(0..0, microsoft);
    data.tenants = vec![tenant];
    Ok((data, output))
}

/// Adds the tenant's first user, `admin@DOMAIN`, to a new tenant's rows, and its password to what is
/// printed. Separate from [`new_tenant`] because it costs an Argon2id hash (`init`, the first `serve`
/// and `tenant create` add it; a benchmark seeding many tenants need not).
pub fn add_administrator(
    data: &mut DirectoryData,
    output: &mut BootstrapOutput,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    let (admin, password) = administrator(output.tenant_id, &output.domain, now)?;
    output.admin_user_principal_name = Some(admin.user.user_principal_name.clone());
    output.admin_password = Some(password);
    data.role_assignments.push(new_assignment(
        output.tenant_id,
        admin.user.id,
        DirectoryRole::GlobalAdministrator,
    ));
    data.users.push(admin);
    Ok(())
}

/// The tenant's first user, `admin@DOMAIN`, with a generated password that meets Entra's rule (shown
/// once, with the management secret). It need not change at first sign-in: the operator chose to make
/// it. It holds Global Administrator, so it may grant consent for the tenant.
fn administrator(
    tenant: TenantId,
    domain: &str,
    now: OffsetDateTime,
) -> Result<(UserRecord, Secret), AdminError> {
    let password = crate::passwords::generate()?;
    let hash = crate::passwords::hash_blocking(&password)?;
    let user = User {
        id: ObjectId::new(),
        deleted_date_time: None,
        account_enabled: true,
        business_phones: vec![],
        created_date_time: now,
        display_name: "Administrator".into(),
        given_name: None,
        job_title: None,
        mail: None,
        mail_nickname: "admin".into(),
        mobile_phone: None,
        office_location: None,
        preferred_language: None,
        surname: None,
        user_principal_name: format!("admin@{domain}"),
        user_type: "Member".into(),
    };
    let rec = UserRecord {
        tenant_id: tenant,
        user,
        password: Some(hash),
        force_change_password: false,
        password_changed: now,
        version: 0,
    };
    Ok((rec, password))
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
        admin_user_principal_name: None,
        admin_password: None,
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
