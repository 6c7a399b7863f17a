//! Expose an API (the Application ID URI, the scopes the API defines, its authorized client
//! applications) and App roles (create, edit, disable, delete). Every change is one PATCH of the
//! application through Graph's validation: an enabled app role cannot be deleted, an identifier URI must
//! be one the tenant may claim.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use gatehouse_core::admin::AdminError;
use gatehouse_proto::graph::{ApiApplication, AppRole, Application, ApplicationInput, PermissionScope};
use serde::Deserialize;
use uuid::Uuid;

use super::shared::{failed, patch, read, status_for, Posted};
use super::views::Chrome;
use super::{redirect, Portal};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/applications/{id}/expose", get(expose))
        .route("/portal/applications/{id}/expose/uri", post(save_uri))
        .route("/portal/applications/{id}/expose/scopes", post(add_scope))
        .route(
            "/portal/applications/{id}/expose/scopes/{scope}",
            post(change_scope),
        )
        .route("/portal/applications/{id}/expose/clients", post(change_clients))
        .route("/portal/applications/{id}/roles", get(roles).post(save_role))
        .route("/portal/applications/{id}/roles/{role}/delete", post(delete_role))
}

struct ScopeRow {
    id: Uuid,
    value: String,
    admins_only: bool,
    admin_name: String,
    user_name: String,
    is_enabled: bool,
}

#[derive(Template)]
#[template(path = "portal/app_expose.html")]
struct Expose<'a> {
    c: Chrome<'a>,
    app: Application,
    page: &'static str,
    /// The Application ID URI, or the default `api://{appId}` offered when there is none.
    uri: String,
    scopes: Vec<ScopeRow>,
    /// (client id, the scopes authorized, by value).
    clients: Vec<(String, String)>,
    error: Option<String>,
}

async fn expose(State(st): State<AppState>, p: Portal, Path(id): Path<String>) -> Response {
    expose_page(&st, &p, &id, None).await
}

async fn expose_page(st: &AppState, p: &Portal, id: &str, error: Option<String>) -> Response {
    let app = match read(st, &p.caller, id).await {
        Ok(a) => a,
        Err(e) => return failed(p, &e),
    };
    let uri = app
        .identifier_uris
        .first()
        .cloned()
        .unwrap_or_else(|| format!("api://{}", app.app_id));
    let scopes: Vec<ScopeRow> = app
        .api
        .oauth2_permission_scopes
        .iter()
        .map(|s| ScopeRow {
            id: s.id,
            value: s.value.clone(),
            admins_only: s.r#type == "Admin",
            admin_name: s.admin_consent_display_name.clone().unwrap_or_default(),
            user_name: s.user_consent_display_name.clone().unwrap_or_default(),
            is_enabled: s.is_enabled,
        })
        .collect();
    let clients = app
        .api
        .pre_authorized_applications
        .iter()
        .map(|c| {
            let ids = c["delegatedPermissionIds"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let names: Vec<&str> = ids
                .iter()
                .filter_map(|i| i.as_str())
                .filter_map(|i| scopes.iter().find(|s| s.id.to_string() == i))
                .map(|s| s.value.as_str())
                .collect();
            (
                c["appId"].as_str().unwrap_or_default().to_string(),
                names.join(", "),
            )
        })
        .collect();
    let status = status_for(&error);
    p.render_status(
        status,
        &Expose {
            c: p.chrome("apps"),
            app,
            page: "expose",
            uri,
            scopes,
            clients,
            error,
        },
    )
}

/// Reads the application, lets `change` edit its `api`, and PATCHes it back; then the page again,
/// with Graph's refusal if there was one.
async fn edit_api(
    st: &AppState,
    p: &Portal,
    id: &str,
    change: impl FnOnce(&mut ApiApplication) -> Result<(), String>,
) -> Response {
    let app = match read(st, &p.caller, id).await {
        Ok(a) => a,
        Err(e) => return failed(p, &e),
    };
    let mut api = app.api.clone();
    if let Err(why) = change(&mut api) {
        return expose_page(st, p, id, Some(why)).await;
    }
    let input = ApplicationInput {
        api: Some(api),
        ..ApplicationInput::default()
    };
    after_patch(st, p, id, patch(st, p, app.id, input, &["api"]).await, "expose").await
}

/// Where a PATCH leaves the browser: back to the page, or the page with Graph's refusal.
async fn after_patch(
    st: &AppState,
    p: &Portal,
    id: &str,
    result: Result<(), AdminError>,
    page: &str,
) -> Response {
    match result {
        Ok(()) => redirect(&format!("/portal/applications/{id}/{page}")),
        Err(AdminError::Denied) => failed(p, &AdminError::Denied),
        Err(e) if page == "roles" => roles_page(st, p, id, None, Some(e.to_string())).await,
        Err(e) => expose_page(st, p, id, Some(e.to_string())).await,
    }
}

async fn save_uri(State(st): State<AppState>, p: Portal, Path(id): Path<String>, f: Posted) -> Response {
    let app = match read(&st, &p.caller, &id).await {
        Ok(a) => a,
        Err(e) => return failed(&p, &e),
    };
    let uri = f.field("uri").unwrap_or_default().trim();
    let mut uris: Vec<String> = app.identifier_uris.iter().skip(1).cloned().collect();
    if !uri.is_empty() {
        uris.insert(0, uri.to_string());
    }
    let input = ApplicationInput {
        identifier_uris: Some(uris),
        ..ApplicationInput::default()
    };
    let result = patch(&st, &p, app.id, input, &["identifierUris"]).await;
    after_patch(&st, &p, &id, result, "expose").await
}

async fn add_scope(State(st): State<AppState>, p: Portal, Path(id): Path<String>, f: Posted) -> Response {
    let scope = PermissionScope {
        id: Uuid::new_v4(),
        value: f.text("value").unwrap_or_default(),
        r#type: if f.field("type") == Some("Admin") {
            "Admin"
        } else {
            "User"
        }
        .into(),
        admin_consent_display_name: f.text("admin_name"),
        admin_consent_description: f.text("admin_description"),
        user_consent_display_name: f.text("user_name"),
        user_consent_description: f.text("user_description"),
        is_enabled: true,
    };
    edit_api(&st, &p, &id, |api| {
        if scope.value.is_empty() {
            return Err("A scope name is required.".into());
        }
        api.oauth2_permission_scopes.push(scope);
        Ok(())
    })
    .await
}

/// Disable or enable a scope, or delete a disabled one.
async fn change_scope(
    State(st): State<AppState>,
    p: Portal,
    Path((id, scope)): Path<(String, String)>,
    f: Posted,
) -> Response {
    let action = f.field("action").unwrap_or_default().to_string();
    edit_api(&st, &p, &id, |api| {
        let scopes = &mut api.oauth2_permission_scopes;
        let Some(at) = scopes.iter().position(|s| s.id.to_string() == scope) else {
            return Err("No such scope.".into());
        };
        match action.as_str() {
            "disable" => scopes[at].is_enabled = false,
            "enable" => scopes[at].is_enabled = true,
            "delete" if !scopes[at].is_enabled => drop(scopes.remove(at)),
            "delete" => return Err("A scope must be disabled before it is deleted.".into()),
            _ => return Err("Unknown action.".into()),
        }
        Ok(())
    })
    .await
}

/// Add an authorized client application (a client ID and the scopes it may use without consent), or
/// remove one.
async fn change_clients(
    State(st): State<AppState>,
    p: Portal,
    Path(id): Path<String>,
    f: Posted,
) -> Response {
    let remove = f.field("remove").map(str::to_string);
    let client = f
        .field("client_id")
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    let chosen: Vec<String> = f.all("scope").map(str::to_string).collect();
    edit_api(&st, &p, &id, |api| {
        let list = &mut api.pre_authorized_applications;
        if let Some(gone) = remove {
            list.retain(|c| c["appId"].as_str() != Some(gone.as_str()));
            return Ok(());
        }
        if gatehouse_proto::AppId::parse(&client).is_none() {
            return Err(format!(
                "'{}' is not a valid client ID.",
                client.chars().take(64).collect::<String>()
            ));
        }
        if chosen.is_empty() {
            return Err("Choose at least one scope to authorize.".into());
        }
        list.retain(|c| c["appId"].as_str() != Some(client.as_str()));
        list.push(serde_json::json!({"appId": client, "delegatedPermissionIds": chosen}));
        Ok(())
    })
    .await
}

/// The app role form's fields.
#[derive(Default)]
struct RoleForm {
    id: String,
    display_name: String,
    /// "User", "Application" or "Both".
    members: String,
    value: String,
    description: String,
    enabled: bool,
}

#[derive(Template)]
#[template(path = "portal/app_roles.html")]
struct Roles<'a> {
    c: Chrome<'a>,
    app: Application,
    page: &'static str,
    editing: Option<Uuid>,
    form: RoleForm,
    member_types: [(&'static str, &'static str); 3],
    error: Option<String>,
}

const MEMBER_TYPES: [(&str, &str); 3] = [
    ("User", "Users/Groups"),
    ("Application", "Applications"),
    ("Both", "Both (Users/Groups + Applications)"),
];

#[derive(Deserialize)]
struct EditQuery {
    edit: Option<Uuid>,
}

async fn roles(
    State(st): State<AppState>,
    p: Portal,
    Path(id): Path<String>,
    Query(q): Query<EditQuery>,
) -> Response {
    roles_page(&st, &p, &id, q.edit, None).await
}

async fn roles_page(
    st: &AppState,
    p: &Portal,
    id: &str,
    editing: Option<Uuid>,
    error: Option<String>,
) -> Response {
    let app = match read(st, &p.caller, id).await {
        Ok(a) => a,
        Err(e) => return failed(p, &e),
    };
    let form = match editing.and_then(|e| app.app_roles.iter().find(|r| r.id == e)) {
        Some(r) => RoleForm {
            id: r.id.to_string(),
            display_name: r.display_name.clone().unwrap_or_default(),
            members: match r.allowed_member_types.len() {
                2 => "Both".into(),
                _ => r
                    .allowed_member_types
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "User".into()),
            },
            value: r.value.clone().unwrap_or_default(),
            description: r.description.clone().unwrap_or_default(),
            enabled: r.is_enabled,
        },
        None => RoleForm {
            members: "User".into(),
            enabled: true,
            ..RoleForm::default()
        },
    };
    let status = status_for(&error);
    p.render_status(
        status,
        &Roles {
            c: p.chrome("apps"),
            app,
            page: "roles",
            editing: editing.filter(|_| !form.id.is_empty()),
            form,
            member_types: MEMBER_TYPES,
            error,
        },
    )
}

/// Create an app role, or apply the form to the one its `id` names.
async fn save_role(State(st): State<AppState>, p: Portal, Path(id): Path<String>, f: Posted) -> Response {
    let members = match f.field("members") {
        Some("Application") => vec!["Application".to_string()],
        Some("Both") => vec!["User".to_string(), "Application".to_string()],
        _ => vec!["User".to_string()],
    };
    let editing = f.field("id").and_then(|i| Uuid::parse_str(i).ok());
    edit_roles(&st, &p, &id, |roles| {
        let role = AppRole {
            allowed_member_types: members,
            description: f.text("description"),
            display_name: f.text("display_name"),
            id: editing.unwrap_or_else(Uuid::new_v4),
            is_enabled: f.field("enabled") == Some("yes"),
            origin: Some("Application".into()),
            value: f.text("value"),
        };
        match roles.iter_mut().find(|r| Some(r.id) == editing) {
            Some(existing) => *existing = role,
            None => roles.push(role),
        }
    })
    .await
}

async fn delete_role(
    State(st): State<AppState>,
    p: Portal,
    Path((id, role)): Path<(String, String)>,
    _: Posted,
) -> Response {
    edit_roles(&st, &p, &id, |roles| roles.retain(|r| r.id.to_string() != role)).await
}

async fn edit_roles(st: &AppState, p: &Portal, id: &str, change: impl FnOnce(&mut Vec<AppRole>)) -> Response {
    let app = match read(st, &p.caller, id).await {
        Ok(a) => a,
        Err(e) => return failed(p, &e),
    };
    let mut roles = app.app_roles.clone();
    change(&mut roles);
    let input = ApplicationInput {
        app_roles: Some(roles),
        ..ApplicationInput::default()
    };
    after_patch(
        st,
        p,
        id,
        patch(st, p, app.id, input, &["appRoles"]).await,
        "roles",
    )
    .await
}
