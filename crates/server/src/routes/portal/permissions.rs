//! An application's API permissions: what it is configured to ask for (`requiredResourceAccess`),
//! whether the tenant granted each, Add a permission (Microsoft Graph's), Remove, and Grant admin
//! consent, each through Graph's operations as the signed-in user.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use gatehouse_core::admin::applications::AppKey;
use gatehouse_core::admin::assignments::{self, Side};
use gatehouse_core::admin::{grants, service_principals, AdminError, Caller};
use gatehouse_core::store::NamePage;
use gatehouse_proto::graph::{
    AppRoleAssignmentInput, Application, ApplicationInput, OAuth2PermissionGrantInput,
    RequiredResourceAccess, ResourceAccess, ServicePrincipal,
};
use gatehouse_proto::{AppId, GRAPH_APP_ID};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::shared::{failed, principal_of, read, Posted};
use super::views::Chrome;
use super::{redirect, Portal};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/applications/{id}/permissions", get(permissions))
        .route(
            "/portal/applications/{id}/permissions/add",
            get(permission_choices).post(add_permissions),
        )
        .route(
            "/portal/applications/{id}/permissions/remove",
            axum::routing::post(remove_permission),
        )
        .route(
            "/portal/applications/{id}/permissions/grant",
            get(confirm_consent).post(grant_consent),
        )
}

/// A configured permission as the API permissions page lists it.
struct Permission {
    api: String,
    resource_app_id: String,
    id: Uuid,
    value: String,
    /// "Delegated" or "Application".
    kind: &'static str,
    description: String,
    admin_required: bool,
    granted: bool,
}

#[derive(Template)]
#[template(path = "portal/app_permissions.html")]
struct Permissions<'a> {
    c: Chrome<'a>,
    app: Application,
    page: &'static str,
    tenant_name: String,
    rows: Vec<Permission>,
    error: Option<String>,
    message: Option<String>,
}

/// The application's service principal in this tenant, and each API its `requiredResourceAccess`
/// names (by appId), read as the caller.
async fn principals(
    st: &AppState,
    caller: &Caller,
    app: &Application,
) -> Result<(Option<ServicePrincipal>, Vec<ServicePrincipal>), AdminError> {
    let store = st.store.as_ref();
    let own = service_principals::get(store, caller, AppKey::AppId(app.app_id))
        .await
        .ok();
    let mut apis = Vec::new();
    for r in &app.required_resource_access {
        if let Some(api) = AppId::parse(&r.resource_app_id) {
            if let Ok(sp) = service_principals::get(store, caller, AppKey::AppId(api)).await {
                apis.push(sp);
            }
        }
    }
    Ok((own, apis))
}

/// The configured permissions, each with whether the tenant granted it (an app role assignment to
/// the application's service principal, or an `AllPrincipals` grant naming the scope).
async fn configured(
    st: &AppState,
    caller: &Caller,
    app: &Application,
) -> Result<Vec<Permission>, AdminError> {
    let (own, apis) = principals(st, caller, app).await?;
    rows(st, caller, app, own.as_ref(), &apis).await
}

/// [`configured`] from the application's service principal and its APIs, already read.
async fn rows(
    st: &AppState,
    caller: &Caller,
    app: &Application,
    own: Option<&ServicePrincipal>,
    apis: &[ServicePrincipal],
) -> Result<Vec<Permission>, AdminError> {
    let store = st.store.as_ref();
    let (held, consented) = match own {
        Some(sp) => (
            // What the caller may not read shows as not granted.
            assignments::list(store, caller, Side::Principal, sp.id)
                .await
                .unwrap_or_default(),
            grants::list(store, caller)
                .await
                .unwrap_or_default()
                .into_iter()
                .filter(|g| g.client_id == sp.id && g.consent_type == "AllPrincipals")
                .collect(),
        ),
        None => (vec![], vec![]),
    };
    let mut rows = Vec::new();
    for r in &app.required_resource_access {
        let api = apis
            .iter()
            .find(|sp| sp.app_id.to_string().eq_ignore_ascii_case(&r.resource_app_id));
        for access in &r.resource_access {
            let (kind, value, description, admin_required, granted) = match (access.kind.as_str(), api) {
                ("Role", Some(api)) => {
                    let role = api.app_roles.iter().find(|x| x.id == access.id);
                    let granted = held
                        .iter()
                        .any(|a| a.resource_id == api.id && a.app_role_id == access.id);
                    (
                        "Application",
                        role.and_then(|x| x.value.clone())
                            .unwrap_or_else(|| access.id.to_string()),
                        role.and_then(|x| x.display_name.clone()).unwrap_or_default(),
                        true,
                        granted,
                    )
                }
                (_, Some(api)) => {
                    let scope = api.oauth2_permission_scopes.iter().find(|x| x.id == access.id);
                    let value = scope
                        .map(|x| x.value.clone())
                        .unwrap_or_else(|| access.id.to_string());
                    let granted =
                        consented
                            .iter()
                            .any(|g: &gatehouse_proto::graph::OAuth2PermissionGrant| {
                                g.resource_id == api.id
                                    && g.scope.split_whitespace().any(|s| s.eq_ignore_ascii_case(&value))
                            });
                    (
                        "Delegated",
                        value,
                        scope
                            .and_then(|x| x.admin_consent_display_name.clone())
                            .unwrap_or_default(),
                        scope.is_some_and(|x| x.r#type == "Admin"),
                        granted,
                    )
                }
                (kind, None) => (
                    if kind == "Role" {
                        "Application"
                    } else {
                        "Delegated"
                    },
                    access.id.to_string(),
                    String::new(),
                    true,
                    false,
                ),
            };
            rows.push(Permission {
                api: api
                    .map(|a| a.display_name.clone())
                    .unwrap_or_else(|| r.resource_app_id.clone()),
                resource_app_id: r.resource_app_id.clone(),
                id: access.id,
                value,
                kind,
                description,
                admin_required,
                granted,
            });
        }
    }
    Ok(rows)
}

async fn permissions(State(st): State<AppState>, p: Portal, Path(id): Path<String>) -> Response {
    permissions_page(&st, &p, &id, None, None).await
}

async fn permissions_page(
    st: &AppState,
    p: &Portal,
    id: &str,
    error: Option<String>,
    message: Option<String>,
) -> Response {
    let app = match read(st, &p.caller, id).await {
        Ok(a) => a,
        Err(e) => return failed(p, &e),
    };
    let rows = match configured(st, &p.caller, &app).await {
        Ok(r) => r,
        Err(e) => return failed(p, &e),
    };
    let status = match &error {
        Some(_) => StatusCode::FORBIDDEN,
        None => StatusCode::OK,
    };
    p.render_status(
        status,
        &Permissions {
            c: p.chrome("apps"),
            app,
            page: "permissions",
            tenant_name: tenant_name(st, p),
            rows,
            error,
            message,
        },
    )
}

fn tenant_name(st: &AppState, p: &Portal) -> String {
    st.directory
        .tenants()
        .get(p.caller.tenant_id)
        .map(|t| t.display_name.clone())
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "portal/permission_add.html")]
struct AddPermission<'a> {
    c: Chrome<'a>,
    app: Application,
    page: &'static str,
    kind: &'static str,
    /// The API chosen: its appId and name.
    resource_app_id: String,
    resource_name: String,
    /// The APIs to choose from: Microsoft Graph, then those of this tenant (appId, name).
    apis: Vec<(String, String)>,
    search: String,
    /// (id, value, what it allows).
    choices: Vec<(Uuid, String, String)>,
}

#[derive(Deserialize)]
struct ChoiceQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    /// The API's appId; Microsoft Graph when absent.
    api: Option<String>,
    search: Option<String>,
}

/// `GET …/permissions/add`: Request API permissions. Microsoft Graph or one of the tenant's own APIs,
/// its delegated or application permissions, filtered by what the search names.
async fn permission_choices(
    State(st): State<AppState>,
    p: Portal,
    Path(id): Path<String>,
    Query(q): Query<ChoiceQuery>,
) -> Response {
    let app = match read(&st, &p.caller, &id).await {
        Ok(a) => a,
        Err(e) => return failed(&p, &e),
    };
    let apis = apis(&st, &p.caller).await;
    let wanted = q
        .api
        .as_deref()
        .and_then(AppId::parse)
        .unwrap_or_else(|| AppId::parse(GRAPH_APP_ID).unwrap_or_default());
    let api = match service_principals::get(st.store.as_ref(), &p.caller, AppKey::AppId(wanted)).await {
        Ok(sp) => sp,
        Err(e) => return failed(&p, &e),
    };
    let application = q.kind.as_deref() == Some("Application");
    let search = q.search.unwrap_or_default().trim().to_string();
    let needle = search.to_lowercase();
    let all: Vec<(Uuid, String, String)> = match application {
        true => api
            .app_roles
            .iter()
            .filter(|r| r.is_enabled && r.allowed_member_types.iter().any(|t| t == "Application"))
            .map(|r| {
                (
                    r.id,
                    r.value.clone().unwrap_or_default(),
                    r.display_name.clone().unwrap_or_default(),
                )
            })
            .collect(),
        false => api
            .oauth2_permission_scopes
            .iter()
            .filter(|s| s.is_enabled)
            .map(|s| {
                (
                    s.id,
                    s.value.clone(),
                    s.admin_consent_display_name.clone().unwrap_or_default(),
                )
            })
            .collect(),
    };
    let choices = all
        .into_iter()
        .filter(|(_, value, text)| {
            needle.is_empty()
                || value.to_lowercase().contains(&needle)
                || text.to_lowercase().contains(&needle)
        })
        .collect();
    p.render(&AddPermission {
        c: p.chrome("apps"),
        app,
        page: "permissions",
        kind: if application { "Application" } else { "Delegated" },
        resource_app_id: api.app_id.to_string(),
        resource_name: api.display_name,
        apis,
        search,
        choices,
    })
}

/// The APIs an application of this tenant can ask permissions of: Microsoft Graph, then the tenant's
/// service principals that offer delegated permissions or app roles (the first few hundred by name).
async fn apis(st: &AppState, caller: &Caller) -> Vec<(String, String)> {
    let mut apis = vec![(GRAPH_APP_ID.to_string(), "Microsoft Graph".to_string())];
    let page = NamePage {
        limit: 500,
        ..NamePage::default()
    };
    let own = service_principals::page(st.store.as_ref(), caller, &page)
        .await
        .unwrap_or_default();
    apis.extend(
        own.into_iter()
            .filter(|sp| !gatehouse_core::admin::graph_resource::is_microsofts(sp.app_id))
            .filter(|sp| !sp.oauth2_permission_scopes.is_empty() || !sp.app_roles.is_empty())
            .map(|sp| (sp.app_id.to_string(), sp.display_name)),
    );
    apis
}

/// `POST …/permissions/add`: adds the chosen permissions to `requiredResourceAccess` (a PATCH).
async fn add_permissions(
    State(st): State<AppState>,
    p: Portal,
    Path(id): Path<String>,
    f: Posted,
) -> Response {
    let resource = f.field("resource").unwrap_or(GRAPH_APP_ID).to_string();
    let kind = match f.field("type") {
        Some("Application") => "Role",
        _ => "Scope",
    };
    let chosen: Vec<Uuid> = f.all("id").filter_map(|v| Uuid::parse_str(v).ok()).collect();
    let result = edit_required(&st, &p, &id, |required| {
        let of_resource = |r: &RequiredResourceAccess| r.resource_app_id.eq_ignore_ascii_case(&resource);
        if !required.iter().any(of_resource) {
            required.push(RequiredResourceAccess {
                resource_app_id: resource.clone(),
                resource_access: vec![],
            });
        }
        let Some(entry) = required.iter_mut().find(|r| of_resource(r)) else {
            return;
        };
        for id in &chosen {
            if !entry
                .resource_access
                .iter()
                .any(|a| a.id == *id && a.kind == kind)
            {
                entry.resource_access.push(ResourceAccess {
                    id: *id,
                    kind: kind.to_string(),
                });
            }
        }
    })
    .await;
    match result {
        Ok(()) => redirect(&format!("/portal/applications/{id}/permissions")),
        Err(e) => permissions_page(&st, &p, &id, Some(e.to_string()), None).await,
    }
}

/// `POST …/permissions/remove`: Remove permission (what was granted stays until revoked, as in Entra).
async fn remove_permission(
    State(st): State<AppState>,
    p: Portal,
    Path(id): Path<String>,
    f: Posted,
) -> Response {
    let resource = f.field("resource").unwrap_or_default().to_string();
    let perm = f.field("id").and_then(|v| Uuid::parse_str(v).ok());
    let result = edit_required(&st, &p, &id, |required| {
        for r in required
            .iter_mut()
            .filter(|r| r.resource_app_id.eq_ignore_ascii_case(&resource))
        {
            r.resource_access.retain(|a| Some(a.id) != perm);
        }
        required.retain(|r| !r.resource_access.is_empty());
    })
    .await;
    match result {
        Ok(()) => redirect(&format!("/portal/applications/{id}/permissions")),
        Err(e) => permissions_page(&st, &p, &id, Some(e.to_string()), None).await,
    }
}

/// Reads the application's `requiredResourceAccess`, changes it, and writes it back with Graph's
/// PATCH (which retries on a concurrent change).
async fn edit_required(
    st: &AppState,
    p: &Portal,
    id: &str,
    change: impl FnOnce(&mut Vec<RequiredResourceAccess>),
) -> Result<(), AdminError> {
    let caller = &p.caller;
    let app = read(st, caller, id).await?;
    let mut required = app.required_resource_access;
    change(&mut required);
    let input = ApplicationInput {
        required_resource_access: Some(required),
        ..ApplicationInput::default()
    };
    super::shared::patch(st, p, app.id, input, &["requiredResourceAccess"]).await
}

#[derive(Template)]
#[template(path = "portal/consent_confirm.html")]
struct ConfirmConsent<'a> {
    c: Chrome<'a>,
    app: Application,
    page: &'static str,
    tenant_name: String,
    rows: Vec<Permission>,
}

async fn confirm_consent(State(st): State<AppState>, p: Portal, Path(id): Path<String>) -> Response {
    let app = match read(&st, &p.caller, &id).await {
        Ok(a) => a,
        Err(e) => return failed(&p, &e),
    };
    let rows = match configured(&st, &p.caller, &app).await {
        Ok(r) => r,
        Err(e) => return failed(&p, &e),
    };
    p.render(&ConfirmConsent {
        c: p.chrome("apps"),
        app,
        page: "permissions",
        tenant_name: tenant_name(&st, &p),
        rows,
    })
}

/// `POST …/permissions/grant`: Grant admin consent for the tenant: an app role assignment per
/// application permission and one `AllPrincipals` grant per API for the delegated ones, each written
/// by Graph's operation as this user (so an Application Administrator cannot grant Microsoft Graph's
/// application permissions here either).
async fn grant_consent(State(st): State<AppState>, p: Portal, Path(id): Path<String>, _: Posted) -> Response {
    match grant_all(&st, &p, &id).await {
        Ok(()) => {
            let message = "Successfully granted admin consent for the requested permissions.".to_string();
            permissions_page(&st, &p, &id, None, Some(message)).await
        }
        Err(AdminError::Denied) => {
            let why = "You don't have permission to grant admin consent for these permissions. Application and Cloud Application Administrators cannot grant Microsoft Graph's application permissions; ask a Global Administrator.";
            permissions_page(&st, &p, &id, Some(why.into()), None).await
        }
        Err(e) => failed(&p, &e),
    }
}

async fn grant_all(st: &AppState, p: &Portal, id: &str) -> Result<(), AdminError> {
    let (store, caller) = (st.store.as_ref(), &p.caller);
    let app = read(st, caller, id).await?;
    let (own, apis) = principals(st, caller, &app).await?;
    let own = match own {
        Some(sp) => sp,
        None => {
            let create = service_principals::create(store, caller, principal_of(&app));
            p.write(st, (Method::POST, "/servicePrincipals", &["appId"]), create)
                .await?
        }
    };
    let rows = rows(st, caller, &app, Some(&own), &apis).await?;
    let now = OffsetDateTime::now_utc();
    for api in &apis {
        let mine = |r: &&Permission| r.resource_app_id.eq_ignore_ascii_case(&api.app_id.to_string());
        for role in rows
            .iter()
            .filter(mine)
            .filter(|r| r.kind == "Application" && !r.granted)
        {
            let input = AppRoleAssignmentInput {
                principal_id: own.id,
                resource_id: api.id,
                app_role_id: role.id,
            };
            let path = format!("/servicePrincipals/{}/appRoleAssignedTo", api.id);
            let create = assignments::create(store, caller, Side::Resource, api.id, input, now);
            let set = ["principalId", "resourceId", "appRoleId"];
            p.write(st, (Method::POST, &path, &set), create).await?;
        }
        let scopes: Vec<&str> = rows
            .iter()
            .filter(mine)
            .filter(|r| r.kind == "Delegated")
            .map(|r| r.value.as_str())
            .collect();
        if scopes.is_empty() {
            continue;
        }
        let existing = grants::list(store, caller)
            .await?
            .into_iter()
            .find(|g| g.client_id == own.id && g.resource_id == api.id && g.consent_type == "AllPrincipals");
        match existing {
            Some(g) => {
                let mut all: Vec<&str> = g.scope.split_whitespace().collect();
                all.extend(
                    scopes
                        .iter()
                        .filter(|s| !g.scope.split_whitespace().any(|h| h.eq_ignore_ascii_case(s))),
                );
                let path = format!("/oauth2PermissionGrants/{}", g.id);
                let scope = all.join(" ");
                let update = grants::update(store, caller, &g.id, &scope);
                p.write(st, (Method::PATCH, &path, &["scope"]), update).await?;
            }
            None => {
                let input = OAuth2PermissionGrantInput {
                    odata_type: None,
                    client_id: own.id,
                    consent_type: Some("AllPrincipals".into()),
                    principal_id: None,
                    resource_id: api.id,
                    scope: Some(scopes.join(" ")),
                    start_time: None,
                    expiry_time: None,
                };
                let create = grants::create(store, caller, input);
                let set = ["clientId", "consentType", "resourceId", "scope"];
                p.write(st, (Method::POST, "/oauth2PermissionGrants", &set), create)
                    .await?;
            }
        }
    }
    Ok(())
}
