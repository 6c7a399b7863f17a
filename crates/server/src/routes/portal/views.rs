//! The portal's templates (`templates/portal/`), the parts every page shares, the tenant's Overview,
//! and the portal's stylesheet and script.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_core::admin::{applications, users};

use super::Portal;
use crate::AppState;

/// What the layout shows on every page: who is signed in, the sign-out form's CSRF token, and which
/// part of the portal the page is in.
pub struct Chrome<'a> {
    pub username: &'a str,
    pub canary: &'a str,
    pub section: &'static str,
}

impl Portal {
    pub fn chrome(&self, section: &'static str) -> Chrome<'_> {
        Chrome {
            username: &self.username,
            canary: &self.canary,
            section,
        }
    }
}

#[derive(Template)]
#[template(path = "portal/overview.html")]
struct Overview<'a> {
    c: Chrome<'a>,
    tenant_name: String,
    tenant_id: String,
    primary_domain: String,
    /// Counts, where the user may read them.
    users: Option<u64>,
    applications: Option<u64>,
}

/// `GET /portal/`: the tenant's Overview.
pub async fn overview(State(st): State<AppState>, p: Portal) -> Response {
    let tenant = st.directory.tenants().get(p.caller.tenant_id).cloned();
    let store = st.store.as_ref();
    let users = users::count(store, &p.caller).await.ok();
    let applications = applications::count(store, &p.caller).await.ok();
    let t = Overview {
        c: p.chrome("overview"),
        tenant_name: tenant
            .as_ref()
            .map(|t| t.display_name.clone())
            .unwrap_or_default(),
        tenant_id: p.caller.tenant_id.to_string(),
        primary_domain: tenant
            .and_then(|t| t.domains.first().cloned())
            .unwrap_or_default(),
        users,
        applications,
    };
    p.render(&t)
}

#[derive(Template)]
#[template(path = "portal/problem.html")]
struct Problem<'a> {
    message: &'a str,
}

/// A page that says what went wrong, outside the signed-in layout (the sign-in itself failed).
pub fn problem(status: StatusCode, message: &str) -> Response {
    crate::routes::signin::pages::page(status, &Problem { message })
}

pub async fn stylesheet() -> Response {
    crate::routes::signin::pages::asset("text/css", include_str!("../../../static/portal.css"))
}

pub async fn script() -> Response {
    crate::routes::signin::pages::asset("text/javascript", include_str!("../../../static/portal.js"))
}
