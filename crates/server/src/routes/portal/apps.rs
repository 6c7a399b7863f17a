//! App registrations: the list, New registration, and an application's Overview (with its Endpoints)
//! and Certificates & secrets (API permissions are `permissions.rs`). Every page reads and every form
//! writes through the core operations Graph's `/v1.0/applications` and `/servicePrincipals` run, as the
//! signed-in user's token, and a form counts only with this browser's CSRF token.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use gatehouse_core::admin::applications::{self, AppKey};
use gatehouse_core::admin::{service_principals, AdminError};
use gatehouse_proto::graph::{Application, ApplicationInput, RedirectUris};
use gatehouse_proto::SignInAudience;
use time::OffsetDateTime;

use super::shared::{self, failed, principal_of, read, Posted};
use super::views::Chrome;
use super::{redirect, refusal, Portal};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/applications", get(list))
        .route("/portal/applications/new", get(new_form).post(register))
        .route("/portal/applications/{id}", get(overview))
}

/// Entra's four choices of supported account types, with the portal's words for each.
pub(super) const AUDIENCES: [(&str, &str); 4] = [
    ("AzureADMyOrg", "Accounts in this organizational directory only (Single tenant)"),
    ("AzureADMultipleOrgs", "Accounts in any organizational directory (Any Microsoft Entra ID tenant - Multitenant)"),
    ("AzureADandPersonalMicrosoftAccount", "Accounts in any organizational directory (Any Microsoft Entra ID tenant - Multitenant) and personal Microsoft accounts (e.g. Skype, Xbox)"),
    ("PersonalMicrosoftAccount", "Personal Microsoft accounts only"),
];

fn audience_words(a: SignInAudience) -> &'static str {
    match a {
        SignInAudience::AzureADMyOrg => "My organization only",
        SignInAudience::AzureADMultipleOrgs => "Multiple organizations",
        SignInAudience::AzureAdAndPersonalMicrosoftAccount => "All Microsoft account users",
        SignInAudience::PersonalMicrosoftAccount => "Personal Microsoft accounts only",
    }
}

struct Row {
    id: String,
    name: String,
    app_id: String,
    created: String,
}

#[derive(Template)]
#[template(path = "portal/apps.html")]
struct List<'a> {
    c: Chrome<'a>,
    search: String,
    rows: Vec<Row>,
    next: Option<String>,
}

/// `GET /portal/applications`: by display name, searched by the start of the name or the whole
/// Application (client) ID, a page at a time.
async fn list(State(st): State<AppState>, p: Portal, Query(q): Query<shared::ListQuery>) -> Response {
    let search = q.search();
    let store = st.store.as_ref();
    // A whole Application (client) ID finds that one application; anything else is a name's start.
    let found = match gatehouse_proto::AppId::parse(&search) {
        Some(app_id) => match applications::get(store, &p.caller, AppKey::AppId(app_id)).await {
            Ok(app) => Ok(vec![app]),
            Err(AdminError::NotFound(_)) => Ok(vec![]),
            Err(e) => Err(e),
        },
        None => applications::page(store, &p.caller, &q.page(shared::PAGE + 1)).await,
    };
    let (apps, next) = match found {
        Ok(a) => shared::paged(a, |a| shared::next_position(&a.display_name, a.id)),
        Err(e) => return failed(&p, &e),
    };
    let rows = apps
        .into_iter()
        .map(|a| Row {
            id: a.id.to_string(),
            name: a.display_name,
            app_id: a.app_id.to_string(),
            created: a.created_date_time.date().to_string(),
        })
        .collect();
    p.render(&List {
        c: p.chrome("apps"),
        search,
        rows,
        next,
    })
}

#[derive(Template)]
#[template(path = "portal/app_new.html")]
struct NewApp<'a> {
    c: Chrome<'a>,
    error: Option<String>,
    name: String,
    audience: String,
    redirect_uri: String,
    audiences: [(&'static str, &'static str); 4],
}

async fn new_form(p: Portal) -> Response {
    p.render(&NewApp {
        c: p.chrome("apps"),
        error: None,
        name: String::new(),
        audience: "AzureADMyOrg".into(),
        redirect_uri: String::new(),
        audiences: AUDIENCES,
    })
}

/// `POST /portal/applications/new`: Register. Creates the application and, as Entra's portal does,
/// its service principal in this tenant; then its Overview.
async fn register(State(st): State<AppState>, p: Portal, f: Posted) -> Response {
    let name = f.field("name").unwrap_or_default().trim().to_string();
    let audience = f.field("audience").unwrap_or("AzureADMyOrg").to_string();
    let uri = f.field("redirect_uri").unwrap_or_default().trim().to_string();
    let platform = f.field("platform").unwrap_or("web");
    let mut input = ApplicationInput {
        display_name: Some(name.clone()),
        sign_in_audience: Some(audience.clone()),
        ..ApplicationInput::default()
    };
    if !uri.is_empty() {
        let uris = RedirectUris {
            redirect_uris: vec![uri.clone()],
        };
        match platform {
            "spa" => input.spa = Some(uris),
            "publicClient" => input.public_client = Some(uris),
            _ => {
                input.web = Some(gatehouse_proto::graph::WebApplication {
                    redirect_uris: uris.redirect_uris,
                    ..Default::default()
                })
            }
        }
    }
    let publisher = st
        .directory
        .tenants()
        .get(p.caller.tenant_id)
        .and_then(|t| t.domains.first().cloned());
    let now = OffsetDateTime::now_utc();
    let store = st.store.as_ref();
    let create = applications::create(store, &p.caller, input, publisher, now);
    let set = ["displayName", "signInAudience", platform];
    let app = match p.write(&st, (Method::POST, "/applications", &set), create).await {
        Ok(app) => app,
        Err(AdminError::Denied) => return failed(&p, &AdminError::Denied),
        Err(e) => {
            return p.render_status(
                refusal(&e).0,
                &NewApp {
                    c: p.chrome("apps"),
                    error: Some(e.to_string()),
                    name,
                    audience,
                    redirect_uri: uri,
                    audiences: AUDIENCES,
                },
            )
        }
    };
    let create = service_principals::create(store, &p.caller, principal_of(&app));
    let made = p
        .write(&st, (Method::POST, "/servicePrincipals", &["appId"]), create)
        .await;
    if let Err(e) = made {
        return failed(&p, &e);
    }
    redirect(&format!("/portal/applications/{}", app.id))
}

#[derive(Template)]
#[template(path = "portal/app_overview.html")]
struct AppOverview<'a> {
    c: Chrome<'a>,
    app: Application,
    page: &'static str,
    tenant_id: String,
    audience: &'static str,
    credentials: String,
    redirects: String,
    /// (label, element id, URL).
    endpoints: Vec<(&'static str, &'static str, String)>,
}

/// `GET /portal/applications/{id}`: Essentials and Endpoints.
async fn overview(State(st): State<AppState>, p: Portal, Path(id): Path<String>) -> Response {
    let app = match read(&st, &p.caller, &id).await {
        Ok(a) => a,
        Err(e) => return failed(&p, &e),
    };
    let tenant = p.caller.tenant_id.to_string();
    let (secrets, certs) = (app.password_credentials.len(), app.key_credentials.len());
    let count = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    let credentials = format!("{}, {}", count(certs, "certificate"), count(secrets, "secret"));
    let (web, spa, public) = (
        app.web.redirect_uris.len(),
        app.spa.redirect_uris.len(),
        app.public_client.redirect_uris.len(),
    );
    let redirects = match web + spa + public {
        0 => "Add a Redirect URI".to_string(),
        _ => format!("{web} web, {spa} spa, {public} public client"),
    };
    let endpoints = endpoints(&st.base_url, &tenant);
    p.render(&AppOverview {
        c: p.chrome("apps"),
        audience: audience_words(app.sign_in_audience),
        app,
        page: "overview",
        tenant_id: tenant,
        credentials,
        redirects,
        endpoints,
    })
}

/// Every URL an application of `tenant` needs, as the portal's Endpoints pane lists them (without
/// the SAML and WS-Federation ones: Gatehouse speaks OAuth 2.0 and OpenID Connect only).
fn endpoints(base: &str, tenant: &str) -> Vec<(&'static str, &'static str, String)> {
    vec![
        (
            "OAuth 2.0 authorization endpoint (v2)",
            "authorizeV2",
            format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        ),
        (
            "OAuth 2.0 token endpoint (v2)",
            "tokenV2",
            format!("{base}/{tenant}/oauth2/v2.0/token"),
        ),
        (
            "OAuth 2.0 authorization endpoint (v1)",
            "authorizeV1",
            format!("{base}/{tenant}/oauth2/authorize"),
        ),
        (
            "OAuth 2.0 token endpoint (v1)",
            "tokenV1",
            format!("{base}/{tenant}/oauth2/token"),
        ),
        (
            "OpenID Connect metadata document",
            "metadata",
            format!("{base}/{tenant}/v2.0/.well-known/openid-configuration"),
        ),
        (
            "Microsoft Graph API endpoint",
            "graphEndpoint",
            format!("{base}/v1.0"),
        ),
    ]
}
