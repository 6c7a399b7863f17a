//! Users: the list with search, New user (the password generated and shown once, to be changed at
//! first sign-in, as Entra's portal does), and a user's page with their directory roles, Reset
//! password, Block sign-in and Delete. Through Graph's `/users` operations as the signed-in user.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use gatehouse_core::admin::directory_roles::{self, DirectoryRole};
use gatehouse_core::admin::users::{self, UserKey};
use gatehouse_core::admin::AdminError;
use gatehouse_proto::graph::{PasswordProfile, User, UserInput};
use gatehouse_proto::token::Secret;
use time::OffsetDateTime;

use super::shared::{failed, next_position, paged, status_for, ListQuery, Posted, PAGE};
use super::views::Chrome;
use super::{redirect, Portal};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/users", get(list))
        .route("/portal/users/new", get(new_form).post(create))
        .route("/portal/users/{id}", get(show))
        .route("/portal/users/{id}/resetPassword", post(reset_password))
        .route("/portal/users/{id}/signIn", post(sign_in))
        .route("/portal/users/{id}/delete", post(delete))
}

#[derive(Template)]
#[template(path = "portal/users.html")]
struct List<'a> {
    c: Chrome<'a>,
    search: String,
    /// (id, display name, user principal name, enabled).
    rows: Vec<(String, String, String, bool)>,
    next: Option<String>,
}

async fn list(State(st): State<AppState>, p: Portal, Query(q): Query<ListQuery>) -> Response {
    let search = q.search();
    let (page, next) = match users::page(st.store.as_ref(), &p.caller, &q.page(PAGE + 1)).await {
        Ok(found) => paged(found, |u| next_position(&u.display_name, u.id)),
        Err(e) => return failed(&p, &e),
    };
    let rows = page
        .into_iter()
        .map(|u| {
            (
                u.id.to_string(),
                u.display_name.clone(),
                u.user_principal_name.clone(),
                u.account_enabled,
            )
        })
        .collect();
    p.render(&List {
        c: p.chrome("users"),
        search,
        rows,
        next,
    })
}

#[derive(Template)]
#[template(path = "portal/user_new.html")]
struct NewUser<'a> {
    c: Chrome<'a>,
    domains: Vec<String>,
    name: String,
    display_name: String,
    error: Option<String>,
}

fn domains(st: &AppState, p: &Portal) -> Vec<String> {
    st.directory
        .tenants()
        .get(p.caller.tenant_id)
        .map(|t| t.domains.clone())
        .unwrap_or_default()
}

async fn new_form(State(st): State<AppState>, p: Portal) -> Response {
    p.render(&NewUser {
        c: p.chrome("users"),
        domains: domains(&st, &p),
        name: String::new(),
        display_name: String::new(),
        error: None,
    })
}

/// A password for a new user or a reset: generated, to be changed at the next sign-in.
fn generated() -> Result<(Secret, PasswordProfile), AdminError> {
    let password = gatehouse_core::passwords::generate()?;
    let profile = PasswordProfile {
        password: Some(password.clone()),
        force_change_password_next_sign_in: Some(true),
        force_change_password_next_sign_in_with_mfa: None,
    };
    Ok((password, profile))
}

async fn create(State(st): State<AppState>, p: Portal, f: Posted) -> Response {
    let name = f.field("name").unwrap_or_default().trim().to_string();
    let display_name = f.field("display_name").unwrap_or_default().trim().to_string();
    let domain = f.field("domain").unwrap_or_default();
    let write = async {
        let (password, profile) = generated()?;
        let input = UserInput {
            account_enabled: Some(f.field("enabled") == Some("yes")),
            display_name: Some(display_name.clone()),
            mail_nickname: Some(name.clone()),
            user_principal_name: Some(format!("{name}@{domain}")),
            password_profile: Some(profile),
            ..UserInput::default()
        };
        let now = OffsetDateTime::now_utc();
        let user = users::create(st.store.as_ref(), &st.passwords, &p.caller, input, now).await?;
        Ok((user, password))
    };
    let set = [
        "accountEnabled",
        "displayName",
        "mailNickname",
        "userPrincipalName",
        "passwordProfile",
    ];
    match p.write(&st, (Method::POST, "/users", &set), write).await {
        Ok((user, password)) => user_page(&st, &p, user, Some(password), None).await,
        Err(AdminError::Denied) => failed(&p, &AdminError::Denied),
        Err(e) => p.render_status(
            StatusCode::BAD_REQUEST,
            &NewUser {
                c: p.chrome("users"),
                domains: domains(&st, &p),
                name,
                display_name,
                error: Some(e.to_string()),
            },
        ),
    }
}

#[derive(Template)]
#[template(path = "portal/user.html")]
struct UserPage<'a> {
    c: Chrome<'a>,
    user: User,
    roles: Vec<&'static str>,
    /// A password just set, on the one page that shows it.
    password: Option<String>,
    error: Option<String>,
}

async fn user_page(
    st: &AppState,
    p: &Portal,
    user: User,
    password: Option<Secret>,
    error: Option<String>,
) -> Response {
    let roles = directory_roles::list(st.store.as_ref(), &p.caller)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.principal_id == user.id)
        .filter_map(|a| uuid::Uuid::parse_str(&a.role_definition_id).ok())
        .filter_map(DirectoryRole::from_id)
        .map(DirectoryRole::display_name)
        .collect();
    let status = status_for(&error);
    p.render_status(
        status,
        &UserPage {
            c: p.chrome("users"),
            user,
            roles,
            password: password.map(|s| s.expose().to_string()),
            error,
        },
    )
}

fn key(id: &str) -> UserKey {
    UserKey::parse(id)
}

async fn show(State(st): State<AppState>, p: Portal, Path(id): Path<String>) -> Response {
    match users::get(st.store.as_ref(), &p.caller, &key(&id)).await {
        Ok(user) => user_page(&st, &p, user, None, None).await,
        Err(e) => failed(&p, &e),
    }
}

/// Applies `input` as `PATCH /users/{id}`, then the user's page (with `password` if one was set).
async fn update(
    st: &AppState,
    p: &Portal,
    id: &str,
    input: UserInput,
    set: &[&str],
    password: Option<Secret>,
) -> Response {
    let path = format!("/users/{id}");
    let now = OffsetDateTime::now_utc();
    let user = key(id);
    let write = users::update(st.store.as_ref(), &st.passwords, &p.caller, &user, input, now);
    let result = p.write(st, (Method::PATCH, &path, set), write).await;
    match (result, users::get(st.store.as_ref(), &p.caller, &key(id)).await) {
        (Ok(()), Ok(user)) => user_page(st, p, user, password, None).await,
        (Err(AdminError::Denied), _) => failed(p, &AdminError::Denied),
        (Err(e), Ok(user)) => user_page(st, p, user, None, Some(e.to_string())).await,
        (_, Err(e)) => failed(p, &e),
    }
}

async fn reset_password(
    State(st): State<AppState>,
    p: Portal,
    Path(id): Path<String>,
    _: Posted,
) -> Response {
    let (password, profile) = match generated() {
        Ok(g) => g,
        Err(e) => return failed(&p, &e),
    };
    let input = UserInput {
        password_profile: Some(profile),
        ..UserInput::default()
    };
    update(&st, &p, &id, input, &["passwordProfile"], Some(password)).await
}

/// Block sign-in (or allow it again): `accountEnabled`.
async fn sign_in(State(st): State<AppState>, p: Portal, Path(id): Path<String>, f: Posted) -> Response {
    let input = UserInput {
        account_enabled: Some(f.field("enabled") == Some("yes")),
        ..UserInput::default()
    };
    update(&st, &p, &id, input, &["accountEnabled"], None).await
}

async fn delete(State(st): State<AppState>, p: Portal, Path(id): Path<String>, _: Posted) -> Response {
    let path = format!("/users/{id}");
    let user = key(&id);
    let write = users::delete(st.store.as_ref(), &p.caller, &user);
    match p.write(&st, (Method::DELETE, &path, &[]), write).await {
        Ok(()) => redirect("/portal/users"),
        Err(e) => failed(&p, &e),
    }
}
