//! App registrations: the list, New registration, and an application's Overview (with its Endpoints)
//! and Certificates & secrets (API permissions are `permissions.rs`). Every page reads and every form
//! writes through the core operations Graph's `/v1.0/applications` and `/servicePrincipals` run, as the
//! signed-in user's token, and a form counts only with this browser's CSRF token.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use gatehouse_core::admin::applications::{self, AppKey};
use gatehouse_core::admin::{federated, service_principals, AdminError, Caller};
use gatehouse_proto::graph::{
    AddPasswordInput, Application, ApplicationInput, FederatedIdentityCredential, PasswordCredentialInput,
    RedirectUris, ServicePrincipalInput,
};
use gatehouse_proto::{ObjectId, SignInAudience};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::views::Chrome;
use super::{redirect, refusal, Portal};
use crate::routes::signin::csrf_ok;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/applications", get(list))
        .route("/portal/applications/new", get(new_form).post(register))
        .route("/portal/applications/{id}", get(overview))
        .route("/portal/applications/{id}/credentials", get(credentials))
        .route(
            "/portal/applications/{id}/credentials/secrets",
            axum::routing::post(add_secret),
        )
        .route(
            "/portal/applications/{id}/credentials/secrets/{key}/delete",
            axum::routing::post(delete_secret),
        )
}

/// Applications on one page of the list.
const PAGE: usize = 50;

/// Entra's four choices of supported account types, with the portal's words for each.
pub(super) const AUDIENCES: [(&str, &str); 4] = [
    ("AzureADMyOrg", "Accounts in this organizational directory only (Single tenant)"),
    ("AzureADMultipleOrgs", "Accounts in any organizational directory (Any Microsoft Entra ID tenant - Multitenant)"),
    ("AzureADandPersonalMicrosoftAccount", "Accounts in any organizational directory (Any Microsoft Entra ID tenant - Multitenant) and personal Microsoft accounts (e.g. Skype, Xbox)"),
    ("PersonalMicrosoftAccount", "Personal Microsoft accounts only"),
];

fn audience_words(a: SignInAudience) -> &'static str {
    let key = serde_json::to_value(a).ok();
    AUDIENCES
        .iter()
        .find(|(v, _)| key.as_ref().and_then(|k| k.as_str()) == Some(*v))
        .map(|(v, words)| match *v {
            "AzureADMyOrg" => "My organization only",
            "AzureADMultipleOrgs" => "Multiple organizations",
            "AzureADandPersonalMicrosoftAccount" => "All Microsoft account users",
            _ => words,
        })
        .unwrap_or("My organization only")
}

/// The fields of a posted form (a name may repeat, as checkboxes do).
fn fields(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

pub(super) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The posted form, if it carries this browser's CSRF token. Without it the handler answers
/// `signin::forbidden()` and changes nothing.
pub(super) fn checked(st: &AppState, headers: &HeaderMap, body: &[u8]) -> Option<Vec<(String, String)>> {
    let f = fields(body);
    csrf_ok(st, headers, field(&f, "canary")).then_some(f)
}

/// A page for a Graph failure, inside the portal's layout.
pub(super) fn failed(p: &Portal, e: &AdminError) -> Response {
    let (status, message) = refusal(e);
    let message = match e {
        AdminError::Denied => "You don't have access to this. Ask an administrator of your organization for a role that allows it (Application Administrator, Cloud Application Administrator or Global Administrator).".to_string(),
        _ => message,
    };
    p.render_status(
        status,
        &Failure {
            c: p.chrome("apps"),
            message,
        },
    )
}

#[derive(Template)]
#[template(path = "portal/failure.html")]
struct Failure<'a> {
    c: Chrome<'a>,
    message: String,
}

/// `POST /servicePrincipals` for an application of this tenant.
pub(super) fn principal_of(app: &Application) -> ServicePrincipalInput {
    ServicePrincipalInput {
        odata_type: None,
        app_id: app.app_id.to_string(),
        account_enabled: None,
        app_role_assignment_required: None,
        tags: None,
    }
}

pub(super) fn key(id: &str) -> Result<AppKey, AdminError> {
    ObjectId::parse(id).map(AppKey::Id).ok_or_else(|| {
        AdminError::NotFound(format!(
            "Resource '{}' does not exist.",
            id.chars().take(64).collect::<String>()
        ))
    })
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

#[derive(Deserialize)]
struct ListQuery {
    search: Option<String>,
    /// The last row of the previous page (`name` then object id), for keyset paging.
    after: Option<String>,
}

/// `GET /portal/applications`: by display name, searched by the start of the name or the whole
/// Application (client) ID, a page at a time.
async fn list(State(st): State<AppState>, p: Portal, Query(q): Query<ListQuery>) -> Response {
    let apps = match applications::list(st.store.as_ref(), &p.caller).await {
        Ok(a) => a,
        Err(e) => return failed(&p, &e),
    };
    let search = q.search.unwrap_or_default().trim().to_string();
    let wanted = search.to_lowercase();
    let mut found: Vec<Application> = apps
        .into_iter()
        .filter(|a| {
            wanted.is_empty()
                || a.display_name.to_lowercase().starts_with(&wanted)
                || a.app_id.to_string() == wanted
        })
        .collect();
    let sort_key = |a: &Application| format!("{}\u{1f}{}", a.display_name.to_lowercase(), a.id);
    found.sort_by_key(sort_key);
    let after = q.after.unwrap_or_default();
    let mut page: Vec<&Application> = found
        .iter()
        .filter(|a| sort_key(a) > after)
        .take(PAGE + 1)
        .collect();
    let next = (page.len() > PAGE).then(|| {
        page.truncate(PAGE);
        page.last().map(|a| sort_key(a)).unwrap_or_default()
    });
    let rows = page
        .into_iter()
        .map(|a| Row {
            id: a.id.to_string(),
            name: a.display_name.clone(),
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
async fn register(State(st): State<AppState>, headers: HeaderMap, p: Portal, body: Bytes) -> Response {
    let Some(f) = checked(&st, &headers, &body) else {
        return crate::routes::signin::forbidden();
    };
    let name = field(&f, "name").unwrap_or_default().trim().to_string();
    let audience = field(&f, "audience").unwrap_or("AzureADMyOrg").to_string();
    let uri = field(&f, "redirect_uri").unwrap_or_default().trim().to_string();
    let platform = field(&f, "platform").unwrap_or("web");
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

/// Every URL an application of `tenant` needs, as the portal's Endpoints pane lists them.
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
        (
            "Federation metadata document",
            "federationMetadata",
            format!("{base}/{tenant}/discovery/v2.0/keys"),
        ),
    ]
}

/// `PATCH /applications/{id}` as the user: Graph's validation and retry on a concurrent change,
/// audited as "Update application" with the properties `input` sets.
pub(super) async fn patch(
    st: &AppState,
    p: &Portal,
    id: ObjectId,
    input: ApplicationInput,
    set: &[&str],
) -> Result<(), AdminError> {
    let path = format!("/applications/{id}");
    let now = OffsetDateTime::now_utc();
    let update = applications::update(st.store.as_ref(), &p.caller, AppKey::Id(id), input, now);
    p.write(st, (Method::PATCH, &path, set), update).await
}

pub(super) async fn read(st: &AppState, caller: &Caller, id: &str) -> Result<Application, AdminError> {
    applications::get(st.store.as_ref(), caller, key(id)?).await
}

#[derive(Template)]
#[template(path = "portal/app_credentials.html")]
struct Credentials<'a> {
    c: Chrome<'a>,
    app: Application,
    page: &'static str,
    federated: Vec<FederatedIdentityCredential>,
    error: Option<String>,
    adding: bool,
    /// A secret's value, on the one page that shows it: the answer to adding it.
    new_value: Option<String>,
}

async fn credentials(State(st): State<AppState>, p: Portal, Path(id): Path<String>) -> Response {
    credentials_page(&st, &p, &id, None, None).await
}

async fn credentials_page(
    st: &AppState,
    p: &Portal,
    id: &str,
    error: Option<String>,
    new_value: Option<String>,
) -> Response {
    let app = match read(st, &p.caller, id).await {
        Ok(a) => a,
        Err(e) => return failed(p, &e),
    };
    let federated = federated::list(st.store.as_ref(), &p.caller, AppKey::Id(app.id))
        .await
        .unwrap_or_default();
    let status = match &error {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    p.render_status(
        status,
        &Credentials {
            c: p.chrome("apps"),
            adding: error.is_some(),
            app,
            page: "credentials",
            federated,
            error,
            new_value,
        },
    )
}

/// `POST …/credentials/secrets`: New client secret. Its value is on this one response only.
async fn add_secret(
    State(st): State<AppState>,
    headers: HeaderMap,
    p: Portal,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(f) = checked(&st, &headers, &body) else {
        return crate::routes::signin::forbidden();
    };
    let now = OffsetDateTime::now_utc();
    let months: i64 = field(&f, "months")
        .and_then(|m| m.parse().ok())
        .unwrap_or(24)
        .clamp(1, 24);
    let description = field(&f, "description").map(str::trim).filter(|d| !d.is_empty());
    let input = AddPasswordInput {
        password_credential: Some(PasswordCredentialInput {
            display_name: description.map(str::to_string),
            end_date_time: Some(now + time::Duration::days(months * 365 / 12)),
            ..PasswordCredentialInput::default()
        }),
    };
    let path = format!("/applications/{id}/addPassword");
    let add = async {
        let k = key(&id)?;
        applications::add_password(st.store.as_ref(), &p.caller, k, input, now).await
    };
    let added = p
        .write(&st, (Method::POST, &path, &["passwordCredential"]), add)
        .await;
    match added {
        Ok(cred) => {
            let value = cred.secret_text.map(|s| s.expose().to_string());
            credentials_page(&st, &p, &id, None, value).await
        }
        Err(AdminError::BadRequest(why)) => credentials_page(&st, &p, &id, Some(why), None).await,
        Err(e) => failed(&p, &e),
    }
}

async fn delete_secret(
    State(st): State<AppState>,
    headers: HeaderMap,
    p: Portal,
    Path((id, key_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if checked(&st, &headers, &body).is_none() {
        return crate::routes::signin::forbidden();
    }
    let path = format!("/applications/{id}/removePassword");
    let remove = async {
        let k = key(&id)?;
        let key_id =
            Uuid::parse_str(&key_id).map_err(|_| AdminError::BadRequest("No such client secret.".into()))?;
        applications::remove_password(st.store.as_ref(), &p.caller, k, key_id).await
    };
    let removed = p.write(&st, (Method::POST, &path, &["keyId"]), remove).await;
    match removed {
        Ok(()) => redirect(&format!("/portal/applications/{id}/credentials")),
        Err(AdminError::BadRequest(why)) => credentials_page(&st, &p, &id, Some(why), None).await,
        Err(e) => failed(&p, &e),
    }
}
