//! Enterprise applications: the tenant's service principals (its own applications', other
//! organisations' it consented to, Microsoft's, managed identities), each with its properties (enabled
//! for sign-in, assignment required), its users and their app roles, the permissions granted to it
//! (by an administrator for everyone, or by users for themselves) with revoke, and Delete, which
//! revokes as Graph's DELETE does. All through Graph's operations as the signed-in user.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use gatehouse_core::admin::applications::AppKey;
use gatehouse_core::admin::assignments::{self, Side};
use gatehouse_core::admin::users::{self, UserKey};
use gatehouse_core::admin::{grants, graph_resource, service_principals, AdminError, Caller};
use gatehouse_proto::graph::{AppRoleAssignmentInput, ServicePrincipal, ServicePrincipalUpdate};
use gatehouse_proto::{ObjectId, PrincipalType};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::shared::{self, failed, key, next_position, paged, status_for, Posted, PAGE};
use super::views::Chrome;
use super::{redirect, Portal};
use crate::AppState;
use gatehouse_core::store::name_key;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/enterpriseApps", get(list))
        .route("/portal/enterpriseApps/{id}", get(overview).post(save))
        .route("/portal/enterpriseApps/{id}/delete", post(delete))
        .route("/portal/enterpriseApps/{id}/users", get(assigned).post(assign))
        .route(
            "/portal/enterpriseApps/{id}/users/{assignment}/delete",
            post(unassign),
        )
        .route("/portal/enterpriseApps/{id}/permissions", get(permissions))
        .route("/portal/enterpriseApps/{id}/permissions/revoke", post(revoke))
}

/// The list's filter: (value, label).
const TYPES: [(&str, &str); 4] = [
    ("enterprise", "Enterprise Applications"),
    ("microsoft", "Microsoft Applications"),
    ("managed", "Managed Identities"),
    ("all", "All Applications"),
];

/// What kind of application a service principal stands for, in the list's words.
fn kind_of(sp: &ServicePrincipal) -> &'static str {
    if sp.service_principal_type == "ManagedIdentity" {
        "Managed Identity"
    } else if graph_resource::is_microsofts(sp.app_id) {
        "Microsoft Application"
    } else {
        "Enterprise Application"
    }
}

struct Row {
    id: String,
    name: String,
    app_id: String,
    kind: &'static str,
}

#[derive(Template)]
#[template(path = "portal/enterprise_apps.html")]
struct List<'a> {
    c: Chrome<'a>,
    kind: String,
    types: [(&'static str, &'static str); 4],
    search: String,
    rows: Vec<Row>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(flatten)]
    list: shared::ListQuery,
}

async fn list(State(st): State<AppState>, p: Portal, Query(q): Query<ListQuery>) -> Response {
    let kind = q.kind.unwrap_or_else(|| "enterprise".into());
    let search = q.list.search();
    let wanted = |sp: &ServicePrincipal| match (kind.as_str(), kind_of(sp)) {
        ("all", _) => true,
        ("microsoft", k) => k == "Microsoft Application",
        ("managed", k) => k == "Managed Identity",
        (_, k) => k == "Enterprise Application",
    };
    // Store pages in name order, filtered by type, until this page is full (or the list ends). An
    // object id or appId finds that one.
    let mut found: Vec<ServicePrincipal> = Vec::new();
    let exact = ObjectId::parse(&search)
        .map(AppKey::Id)
        .or_else(|| gatehouse_proto::AppId::parse(&search).map(AppKey::AppId));
    if let Some(key) = exact {
        match service_principals::get(st.store.as_ref(), &p.caller, key).await {
            Ok(sp) => found.push(sp),
            Err(AdminError::NotFound(_)) => {}
            Err(e) => return failed(&p, &e),
        }
    } else {
        let mut page = q.list.page(200);
        loop {
            let batch = match service_principals::page(st.store.as_ref(), &p.caller, &page).await {
                Ok(b) => b,
                Err(e) => return failed(&p, &e),
            };
            let last = batch.last().map(|sp| (name_key(&sp.display_name), sp.id));
            let ended = batch.len() < page.limit;
            found.extend(batch.into_iter().filter(|sp| wanted(sp)));
            if ended || found.len() > PAGE {
                break;
            }
            page.after = last;
        }
    }
    let (found, next) = paged(found, |sp| next_position(&sp.display_name, sp.id));
    let rows = found
        .iter()
        .map(|sp| Row {
            id: sp.id.to_string(),
            name: sp.display_name.clone(),
            app_id: sp.app_id.to_string(),
            kind: kind_of(sp),
        })
        .collect();
    p.render(&List {
        c: p.chrome("enterprise"),
        kind,
        types: TYPES,
        search,
        rows,
        next,
    })
}

async fn read(st: &AppState, caller: &Caller, id: &str) -> Result<ServicePrincipal, AdminError> {
    service_principals::get(st.store.as_ref(), caller, key(id)?).await
}

#[derive(Template)]
#[template(path = "portal/sp_overview.html")]
struct Overview<'a> {
    c: Chrome<'a>,
    sp: ServicePrincipal,
    page: &'static str,
    kind: &'static str,
    owner: String,
    error: Option<String>,
    saved: bool,
}

async fn overview(State(st): State<AppState>, p: Portal, Path(id): Path<String>) -> Response {
    overview_page(&st, &p, &id, None, false).await
}

async fn overview_page(st: &AppState, p: &Portal, id: &str, error: Option<String>, saved: bool) -> Response {
    let sp = match read(st, &p.caller, id).await {
        Ok(sp) => sp,
        Err(e) => return failed(p, &e),
    };
    let owner = match sp.app_owner_organization_id {
        Some(t) if t == p.caller.tenant_id => "This organization".to_string(),
        Some(t) => st
            .directory
            .tenants()
            .get(t)
            .map(|t| t.display_name.clone())
            .unwrap_or_else(|| t.to_string()),
        None => "—".into(),
    };
    let status = status_for(&error);
    p.render_status(
        status,
        &Overview {
            c: p.chrome("enterprise"),
            kind: kind_of(&sp),
            sp,
            page: "overview",
            owner,
            error,
            saved,
        },
    )
}

/// `POST /portal/enterpriseApps/{id}`: the properties, as `PATCH /servicePrincipals/{id}`.
async fn save(State(st): State<AppState>, p: Portal, Path(id): Path<String>, f: Posted) -> Response {
    let update = ServicePrincipalUpdate {
        account_enabled: Some(f.field("enabled") != Some("no")),
        app_role_assignment_required: Some(f.field("assignment") == Some("yes")),
        ..ServicePrincipalUpdate::default()
    };
    let path = format!("/servicePrincipals/{id}");
    let write = async {
        let sp = read(&st, &p.caller, &id).await?;
        service_principals::update(st.store.as_ref(), &p.caller, AppKey::Id(sp.id), update).await
    };
    let set = ["accountEnabled", "appRoleAssignmentRequired"];
    match p.write(&st, (Method::PATCH, &path, &set), write).await {
        Ok(()) => overview_page(&st, &p, &id, None, true).await,
        Err(AdminError::BadRequest(why)) => overview_page(&st, &p, &id, Some(why), false).await,
        Err(e) => failed(&p, &e),
    }
}

/// `POST …/delete`: Graph's `DELETE /servicePrincipals/{id}`: its assignments and consent go with
/// it, and its users' refresh tokens are revoked.
async fn delete(State(st): State<AppState>, p: Portal, Path(id): Path<String>, _: Posted) -> Response {
    let path = format!("/servicePrincipals/{id}");
    let write = async {
        let sp = read(&st, &p.caller, &id).await?;
        service_principals::delete(st.store.as_ref(), &p.caller, AppKey::Id(sp.id)).await
    };
    match p.write(&st, (Method::DELETE, &path, &[]), write).await {
        Ok(()) => redirect("/portal/enterpriseApps"),
        Err(AdminError::BadRequest(why)) => overview_page(&st, &p, &id, Some(why), false).await,
        Err(e) => failed(&p, &e),
    }
}

#[derive(Template)]
#[template(path = "portal/sp_users.html")]
struct Assigned<'a> {
    c: Chrome<'a>,
    sp: ServicePrincipal,
    page: &'static str,
    /// (assignment id, user, role).
    rows: Vec<(String, String, String)>,
    /// The roles users may be assigned: (id, name).
    roles: Vec<(Uuid, String)>,
    error: Option<String>,
}

async fn assigned(State(st): State<AppState>, p: Portal, Path(id): Path<String>) -> Response {
    assigned_page(&st, &p, &id, None).await
}

async fn assigned_page(st: &AppState, p: &Portal, id: &str, error: Option<String>) -> Response {
    let sp = match read(st, &p.caller, id).await {
        Ok(sp) => sp,
        Err(e) => return failed(p, &e),
    };
    let held = match assignments::list(st.store.as_ref(), &p.caller, Side::Resource, sp.id).await {
        Ok(h) => h,
        Err(e) => return failed(p, &e),
    };
    let role_name = |role: Uuid| {
        sp.app_roles
            .iter()
            .find(|r| r.id == role)
            .and_then(|r| r.display_name.clone())
            .unwrap_or_else(|| "Default Access".into())
    };
    let rows = held
        .iter()
        .filter(|a| a.principal_type == PrincipalType::User)
        .map(|a| {
            let who = a
                .principal_display_name
                .clone()
                .unwrap_or_else(|| a.principal_id.to_string());
            (a.id.clone(), who, role_name(a.app_role_id))
        })
        .collect();
    let mut roles: Vec<(Uuid, String)> = sp
        .app_roles
        .iter()
        .filter(|r| r.is_enabled && r.allowed_member_types.iter().any(|t| t == "User"))
        .map(|r| (r.id, r.display_name.clone().unwrap_or_default()))
        .collect();
    if roles.is_empty() {
        roles.push((Uuid::nil(), "Default Access".into()));
    }
    let status = status_for(&error);
    p.render_status(
        status,
        &Assigned {
            c: p.chrome("enterprise"),
            sp,
            page: "users",
            rows,
            roles,
            error,
        },
    )
}

/// `POST …/users`: Assign a user an app role (`POST /servicePrincipals/{id}/appRoleAssignedTo`).
async fn assign(State(st): State<AppState>, p: Portal, Path(id): Path<String>, f: Posted) -> Response {
    let name = f.field("user").unwrap_or_default().trim().to_string();
    let role = f
        .field("role")
        .and_then(|r| Uuid::parse_str(r).ok())
        .unwrap_or_default();
    let path = format!("/servicePrincipals/{id}/appRoleAssignedTo");
    let write = async {
        let sp = read(&st, &p.caller, &id).await?;
        let user = users::get(st.store.as_ref(), &p.caller, &UserKey::parse(&name))
            .await
            .map_err(|e| match e {
                AdminError::NotFound(_) => {
                    AdminError::BadRequest(format!("No user '{name}' in this organization."))
                }
                e => e,
            })?;
        let input = AppRoleAssignmentInput {
            principal_id: user.id,
            resource_id: sp.id,
            app_role_id: role,
        };
        let now = OffsetDateTime::now_utc();
        assignments::create(st.store.as_ref(), &p.caller, Side::Resource, sp.id, input, now).await
    };
    let set = ["principalId", "resourceId", "appRoleId"];
    match p.write(&st, (Method::POST, &path, &set), write).await {
        Ok(_) => redirect(&format!("/portal/enterpriseApps/{id}/users")),
        Err(AdminError::Denied) => failed(&p, &AdminError::Denied),
        Err(e) => assigned_page(&st, &p, &id, Some(e.to_string())).await,
    }
}

async fn unassign(
    State(st): State<AppState>,
    p: Portal,
    Path((id, assignment)): Path<(String, String)>,
    _: Posted,
) -> Response {
    let path = format!("/servicePrincipals/{id}/appRoleAssignedTo/{assignment}");
    let write = async {
        let sp = read(&st, &p.caller, &id).await?;
        assignments::delete(st.store.as_ref(), &p.caller, Side::Resource, sp.id, &assignment).await
    };
    match p.write(&st, (Method::DELETE, &path, &[]), write).await {
        Ok(()) => redirect(&format!("/portal/enterpriseApps/{id}/users")),
        Err(e) => failed(&p, &e),
    }
}

/// A permission granted to the application, as the Permissions page lists it.
struct Granted {
    /// The grant's id (delegated) or the app role assignment's (application).
    id: String,
    api: String,
    value: String,
    kind: &'static str,
    /// Who consented, for a user's consent.
    by: String,
}

#[derive(Template)]
#[template(path = "portal/sp_permissions.html")]
struct Permissions<'a> {
    c: Chrome<'a>,
    sp: ServicePrincipal,
    page: &'static str,
    admin: Vec<Granted>,
    users: Vec<Granted>,
    error: Option<String>,
}

async fn permissions(State(st): State<AppState>, p: Portal, Path(id): Path<String>) -> Response {
    match permissions_of(&st, &p, &id).await {
        Ok(page) => p.render(&page),
        Err(e) => failed(&p, &e),
    }
}

async fn permissions_of<'a>(st: &AppState, p: &'a Portal, id: &str) -> Result<Permissions<'a>, AdminError> {
    let store = st.store.as_ref();
    let sp = read(st, &p.caller, id).await?;
    let held = assignments::list(store, &p.caller, Side::Principal, sp.id).await?;
    let all_grants = grants::list(store, &p.caller).await?;
    let mut names: std::collections::HashMap<ObjectId, ServicePrincipal> = std::collections::HashMap::new();
    for resource in held
        .iter()
        .map(|a| a.resource_id)
        .chain(all_grants.iter().map(|g| g.resource_id))
    {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(resource) {
            if let Ok(r) = service_principals::get(store, &p.caller, AppKey::Id(resource)).await {
                slot.insert(r);
            }
        }
    }
    let api_name = |id: ObjectId| {
        names
            .get(&id)
            .map(|r| r.display_name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let mut admin: Vec<Granted> = held
        .iter()
        .map(|a| Granted {
            id: a.id.clone(),
            api: api_name(a.resource_id),
            value: names
                .get(&a.resource_id)
                .and_then(|r| r.app_roles.iter().find(|x| x.id == a.app_role_id))
                .and_then(|x| x.value.clone())
                .unwrap_or_else(|| a.app_role_id.to_string()),
            kind: "Application",
            by: String::new(),
        })
        .collect();
    let mut users = Vec::new();
    for g in all_grants.iter().filter(|g| g.client_id == sp.id) {
        let by = match g.principal_id {
            Some(u) => users::get(store, &p.caller, &UserKey::Id(u))
                .await
                .map(|u| u.user_principal_name)
                .unwrap_or_else(|_| u.to_string()),
            None => String::new(),
        };
        for value in g.scope.split_whitespace() {
            let row = Granted {
                id: g.id.clone(),
                api: api_name(g.resource_id),
                value: value.to_string(),
                kind: "Delegated",
                by: by.clone(),
            };
            match g.consent_type.as_str() {
                "AllPrincipals" => admin.push(row),
                _ => users.push(row),
            }
        }
    }
    Ok(Permissions {
        c: p.chrome("enterprise"),
        sp,
        page: "permissions",
        admin,
        users,
        error: None,
    })
}

/// `POST …/permissions/revoke`: an application permission's assignment is deleted; a delegated
/// permission is taken out of its grant (the grant is deleted with its last one).
async fn revoke(State(st): State<AppState>, p: Portal, Path(id): Path<String>, f: Posted) -> Response {
    let grant = f.field("grant").unwrap_or_default().to_string();
    let value = f.field("value").unwrap_or_default().to_string();
    let store = st.store.as_ref();
    let result = match f.field("kind") {
        Some("Application") => {
            let path = format!("/servicePrincipals/{id}/appRoleAssignments/{grant}");
            let write = async {
                let sp = read(&st, &p.caller, &id).await?;
                assignments::delete(store, &p.caller, Side::Principal, sp.id, &grant).await
            };
            p.write(&st, (Method::DELETE, &path, &[]), write).await
        }
        _ => {
            let path = format!("/oauth2PermissionGrants/{grant}");
            let current = grants::get(store, &p.caller, &grant).await;
            match current {
                Err(e) => Err(e),
                Ok(g) => {
                    let rest: Vec<&str> = g.scope.split_whitespace().filter(|s| *s != value).collect();
                    if rest.is_empty() {
                        let write = grants::delete(store, &p.caller, &grant);
                        p.write(&st, (Method::DELETE, &path, &[]), write).await
                    } else {
                        let scope = rest.join(" ");
                        let write = grants::update(store, &p.caller, &grant, &scope);
                        p.write(&st, (Method::PATCH, &path, &["scope"]), write).await
                    }
                }
            }
        }
    };
    match result {
        Ok(()) => redirect(&format!("/portal/enterpriseApps/{id}/permissions")),
        Err(e) => failed(&p, &e),
    }
}
