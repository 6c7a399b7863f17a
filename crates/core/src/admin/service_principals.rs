//! Service principals (entra-protocol.md §5.2): an application's presence in a tenant. Their app roles
//! and names follow the application when it is known, as Entra keeps them in sync.

use std::collections::HashMap;

use gatehouse_proto::graph::{Application, ServicePrincipal, ServicePrincipalInput, ServicePrincipalUpdate};
use gatehouse_proto::{AppId, ObjectId, TenantId};

use super::applications::AppKey;
use super::{not_found, Access, AdminError, Caller};
use crate::model::ServicePrincipalRecord;
use crate::store::Store;

/// The service principal of an application in a tenant, with Graph's defaults.
pub fn new_service_principal(
    app: &gatehouse_proto::graph::Application,
    owner_tenant: TenantId,
) -> ServicePrincipal {
    let mut names = vec![app.app_id.to_string()];
    names.extend(app.identifier_uris.iter().cloned());
    ServicePrincipal {
        id: ObjectId::new(),
        deleted_date_time: None,
        account_enabled: true,
        alternative_names: vec![],
        app_display_name: Some(app.display_name.clone()),
        app_id: app.app_id,
        app_owner_organization_id: Some(owner_tenant),
        app_role_assignment_required: false,
        display_name: app.display_name.clone(),
        homepage: app.web.home_page_url.clone(),
        logout_url: app.web.logout_url.clone(),
        reply_urls: app.web.redirect_uris.clone(),
        service_principal_names: names,
        service_principal_type: "Application".into(),
        sign_in_audience: Some(app.sign_in_audience),
        tags: app.tags.clone(),
        app_roles: app.app_roles.clone(),
        key_credentials: vec![],
        oauth2_permission_scopes: app.api.oauth2_permission_scopes.clone(),
        password_credentials: vec![],
    }
}

pub async fn create(
    store: &dyn Store,
    caller: &Caller,
    input: ServicePrincipalInput,
) -> Result<ServicePrincipal, AdminError> {
    let everyone = caller.require(Access::WriteApplications);
    let app_id = AppId::parse(&input.app_id)
        .ok_or_else(|| AdminError::BadRequest(format!("'{}' is not a valid appId.", input.app_id)))?;
    if everyone.is_err() {
        // The owner of one of the tenant's own applications may add its service principal, as Entra's
        // portal does at registration.
        super::applications::writable(store, caller, AppKey::AppId(app_id)).await?;
    }
    // The tenant's own application, or a multi-tenant one from anywhere (how an organisation adds
    // another's application without a sign-in, as Graph allows).
    let app = store
        .client(app_id)
        .await?
        .map(|c| c.app)
        .filter(|a| a.serves(caller.tenant_id))
        .ok_or_else(|| AdminError::BadRequest(format!("The appId '{app_id}' of the service principal does not reference a valid application object.")))?;
    let mut sp = new_service_principal(&app.app, app.tenant_id);
    if let Some(v) = input.account_enabled {
        sp.account_enabled = v;
    }
    if let Some(v) = input.app_role_assignment_required {
        sp.app_role_assignment_required = v;
    }
    if let Some(t) = input.tags {
        sp.tags = t;
    }
    store
        .insert_service_principal(&ServicePrincipalRecord {
            tenant_id: caller.tenant_id,
            sp: sp.clone(),
        })
        .await?;
    Ok(sp)
}

/// The application's service principal in `tenant`, created if it has none yet: what consent does for
/// a multi-tenant application in another organisation (`appOwnerOrganizationId` names its home). Two
/// consents at once create one.
pub async fn provision(
    store: &dyn Store,
    app: &crate::model::ApplicationRecord,
    tenant: TenantId,
) -> Result<ObjectId, AdminError> {
    if !app.serves(tenant) {
        return Err(AdminError::BadRequest(format!(
            "The appId '{}' of the service principal does not reference a valid application object.",
            app.app.app_id
        )));
    }
    for _ in 0..3 {
        if let Some(found) = store
            .find_service_principal_by_app_id(tenant, app.app.app_id)
            .await?
        {
            return Ok(found.sp.id);
        }
        let sp = new_service_principal(&app.app, app.tenant_id);
        match store
            .insert_service_principal(&ServicePrincipalRecord {
                tenant_id: tenant,
                sp: sp.clone(),
            })
            .await
        {
            Ok(()) => return Ok(sp.id),
            Err(crate::store::StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AdminError::Unavailable)
}

/// Lists service principals, optionally only the one with `app_id` (`$filter=appId eq '…'`).
pub async fn list(
    store: &dyn Store,
    caller: &Caller,
    app_id: Option<AppId>,
) -> Result<Vec<ServicePrincipal>, AdminError> {
    caller.require(Access::ReadApplications)?;
    let apps: HashMap<AppId, Application> = store
        .list_applications(caller.tenant_id)
        .await?
        .into_iter()
        .map(|r| (r.app.app_id, r.app))
        .collect();
    Ok(store
        .list_service_principals(caller.tenant_id)
        .await?
        .into_iter()
        .filter(|rec| app_id.is_none_or(|a| a == rec.sp.app_id))
        .map(|rec| {
            let app = apps.get(&rec.sp.app_id);
            synced(rec.sp, app, caller.tenant_id)
        })
        .collect())
}

/// One page of the tenant's service principals by display name: what a list shows (their permissions
/// as stored, not refreshed from their applications).
pub async fn page(
    store: &dyn Store,
    caller: &Caller,
    page: &crate::store::NamePage,
) -> Result<Vec<ServicePrincipal>, AdminError> {
    caller.require(Access::ReadApplications)?;
    Ok(store
        .service_principal_page(caller.tenant_id, page)
        .await?
        .into_iter()
        .map(|rec| rec.sp)
        .collect())
}

/// One service principal. A member without a role reads Microsoft's and those of the applications
/// they own (what registering and configuring their own applications needs).
pub async fn get(store: &dyn Store, caller: &Caller, key: AppKey) -> Result<ServicePrincipal, AdminError> {
    let everyone = caller.require(Access::ReadApplications);
    let rec = find(store, caller.tenant_id, key).await?;
    if everyone.is_err() {
        let user = caller.owner(Access::ReadApplications)?;
        let owned = match store
            .find_application_by_app_id(caller.tenant_id, rec.sp.app_id)
            .await?
        {
            Some(app) => store.is_owner(app.app.id, user).await?,
            None => false,
        };
        if !owned && !super::graph_resource::is_microsofts(rec.sp.app_id) {
            return Err(AdminError::Denied);
        }
    }
    let app = store
        .find_application_by_app_id(caller.tenant_id, rec.sp.app_id)
        .await?;
    Ok(synced(rec.sp, app.as_ref().map(|a| &a.app), caller.tenant_id))
}

/// A service principal another object names (an assignment's or a grant's ends), read with the
/// caller's permission to write that object.
pub(crate) async fn named(
    store: &dyn Store,
    caller: &Caller,
    id: ObjectId,
) -> Result<ServicePrincipal, AdminError> {
    get(store, &caller.as_application_reader(), AppKey::Id(id)).await
}

/// `PATCH /servicePrincipals/{id}`: enabled for sign-in, assignment required, tags. Microsoft's and
/// managed identities' are not the tenant's to change.
pub async fn update(
    store: &dyn Store,
    caller: &Caller,
    key: AppKey,
    update: ServicePrincipalUpdate,
) -> Result<(), AdminError> {
    caller.require(Access::WriteApplications)?;
    let rec = find(store, caller.tenant_id, key).await?;
    if super::graph_resource::is_microsofts(rec.sp.app_id) {
        return Err(AdminError::Denied);
    }
    match store
        .update_service_principal(caller.tenant_id, rec.sp.id, &update)
        .await?
    {
        Some(_) => Ok(()),
        None => Err(not_found("servicePrincipal", rec.sp.id)),
    }
}

pub async fn delete(store: &dyn Store, caller: &Caller, key: AppKey) -> Result<(), AdminError> {
    caller.require(Access::WriteApplications)?;
    let rec = find(store, caller.tenant_id, key).await?;
    // Microsoft's own (Graph's, Azure's resources'): deleting one would free its names for any
    // application to claim, and break every client of it in the tenant.
    if super::graph_resource::is_microsofts(rec.sp.app_id) {
        return Err(AdminError::Denied);
    }
    // A managed identity's lifecycle is its own (Azure Resource Manager's in Entra).
    if rec.sp.service_principal_type == "ManagedIdentity" {
        return Err(AdminError::BadRequest(format!(
            "The service principal {} is a managed identity's: delete the identity (gatehouse identity delete).",
            rec.sp.id
        )));
    }
    if !store
        .delete_service_principal(caller.tenant_id, rec.sp.id)
        .await?
    {
        return Err(not_found("servicePrincipal", rec.sp.id));
    }
    Ok(())
}

/// Finds by object id or by appId (`servicePrincipals(appId='…')`).
pub(crate) async fn find(
    store: &dyn Store,
    tenant: TenantId,
    key: AppKey,
) -> Result<ServicePrincipalRecord, AdminError> {
    match key {
        AppKey::Id(id) => store
            .get_service_principal(tenant, id)
            .await?
            .ok_or_else(|| not_found("servicePrincipal", id)),
        AppKey::AppId(app_id) => store
            .find_service_principal_by_app_id(tenant, app_id)
            .await?
            .ok_or_else(|| not_found("servicePrincipal", app_id)),
    }
}

/// Refreshes the properties a service principal mirrors from its application, when it has one here.
fn synced(mut sp: ServicePrincipal, app: Option<&Application>, tenant: TenantId) -> ServicePrincipal {
    if let Some(app) = app {
        let fresh = new_service_principal(app, tenant);
        sp.app_roles = fresh.app_roles;
        sp.oauth2_permission_scopes = fresh.oauth2_permission_scopes;
        sp.service_principal_names = fresh.service_principal_names;
        sp.app_display_name = fresh.app_display_name;
    }
    sp
}
