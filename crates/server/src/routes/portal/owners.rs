//! An application's Owners: who may view and edit its registration without a directory role. Through
//! Graph's `/applications/{id}/owners` operations as the signed-in user (an owner may add another).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use gatehouse_core::admin::applications;
use gatehouse_core::admin::users::{self, UserKey};
use gatehouse_core::admin::AdminError;
use gatehouse_proto::graph::Application;
use gatehouse_proto::ObjectId;

use super::shared::{failed, key, read, status_for, Posted};
use super::views::Chrome;
use super::{redirect, Portal};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/applications/{id}/owners", get(owners).post(add))
        .route("/portal/applications/{id}/owners/{user}/delete", post(remove))
}

#[derive(Template)]
#[template(path = "portal/app_owners.html")]
struct Owners<'a> {
    c: Chrome<'a>,
    app: Application,
    page: &'static str,
    /// (id, display name, user principal name).
    owners: Vec<(String, String, String)>,
    error: Option<String>,
}

async fn owners(State(st): State<AppState>, p: Portal, Path(id): Path<String>) -> Response {
    owners_page(&st, &p, &id, None).await
}

async fn owners_page(st: &AppState, p: &Portal, id: &str, error: Option<String>) -> Response {
    let store = st.store.as_ref();
    let app = match read(st, &p.caller, id).await {
        Ok(a) => a,
        Err(e) => return failed(p, &e),
    };
    let ids = match applications::owners(store, &p.caller, applications::AppKey::Id(app.id)).await {
        Ok(ids) => ids,
        Err(e) => return failed(p, &e),
    };
    let mut owners = Vec::new();
    for owner in ids {
        if let Ok(u) = users::get(store, &p.caller, &UserKey::Id(owner)).await {
            owners.push((u.id.to_string(), u.display_name, u.user_principal_name));
        }
    }
    let status = status_for(&error);
    p.render_status(
        status,
        &Owners {
            c: p.chrome("apps"),
            app,
            page: "owners",
            owners,
            error,
        },
    )
}

/// `POST …/owners`: Add owners, by user principal name (`POST /applications/{id}/owners/$ref`).
async fn add(State(st): State<AppState>, p: Portal, Path(id): Path<String>, f: Posted) -> Response {
    let name = f.field("user").unwrap_or_default().trim().to_string();
    let store = st.store.as_ref();
    let path = format!("/applications/{id}/owners/$ref");
    let write = async {
        let user = users::get(store, &p.caller, &UserKey::parse(&name))
            .await
            .map_err(|e| match e {
                AdminError::NotFound(_) => {
                    AdminError::BadRequest(format!("No user '{name}' in this organization."))
                }
                e => e,
            })?;
        applications::add_owner(store, &p.caller, key(&id)?, user.id).await
    };
    match p.write(&st, (Method::POST, &path, &["@odata.id"]), write).await {
        Ok(()) => redirect(&format!("/portal/applications/{id}/owners")),
        Err(AdminError::BadRequest(why)) => owners_page(&st, &p, &id, Some(why)).await,
        Err(e) => failed(&p, &e),
    }
}

async fn remove(
    State(st): State<AppState>,
    p: Portal,
    Path((id, user)): Path<(String, String)>,
    _: Posted,
) -> Response {
    let path = format!("/applications/{id}/owners/{user}/$ref");
    let write = async {
        let user = ObjectId::parse(&user).ok_or_else(|| AdminError::BadRequest("No such owner.".into()))?;
        applications::remove_owner(st.store.as_ref(), &p.caller, key(&id)?, user).await
    };
    match p.write(&st, (Method::DELETE, &path, &[]), write).await {
        Ok(()) => redirect(&format!("/portal/applications/{id}/owners")),
        Err(e) => failed(&p, &e),
    }
}
