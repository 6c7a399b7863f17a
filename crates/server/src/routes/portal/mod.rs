//! The portal at `/portal/`: app registrations in the browser, server-rendered from `templates/portal/`
//! with the sign-in pages' security headers, usable without JavaScript.
//!
//! It is a client of Gatehouse like any other. Its first-party application (`core::first_party`)
//! signs the user in with the authorization-code flow and PKCE at `/organizations/oauth2/v2.0/authorize`
//! (so the user's name picks their tenant), redeems the code at the token endpoint's own handler, and
//! keeps the Microsoft Graph access token it got, sealed in a cookie (`PortalSession`). Every page then
//! acts as that token's caller through the same core operations Graph runs: what a user can do here is
//! what the same token could do at `/v1.0`, no more. Nothing is kept on a node: the cookie names the
//! sign-in session (`sid`), which must still be open, so signing out anywhere ends the portal's too.

mod apps;
mod credentials;
mod enterprise;
mod expose;
mod logs;
mod owners;
mod permissions;
mod settings;
mod shared;
mod users;
mod views;

use axum::body::{to_bytes, Body};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gatehouse_core::admin::{AdminError, Caller};
use gatehouse_core::first_party::{portal_app_id, PORTAL_REDIRECT_PATH};
use gatehouse_jose::kek::Kek;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::signin::{browser_session, cookie, csrf_ok, with_cookie, CookieNames};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal", get(|| async { redirect("/portal/") }))
        .route("/portal/", get(views::overview))
        .route("/portal/signin", get(signed_in))
        .route("/portal/signout", post(sign_out))
        .merge(apps::routes())
        .merge(credentials::routes())
        .merge(permissions::routes())
        .merge(settings::routes())
        .merge(expose::routes())
        .merge(enterprise::routes())
        .merge(users::routes())
        .merge(logs::routes())
        .merge(owners::routes())
        .route("/static/portal.css", get(views::stylesheet))
        .route("/static/portal.js", get(views::script))
}

/// What the portal asks for: an ID token (for `sid`) and a Graph token with its preauthorized
/// permissions.
const SCOPE: &str = "openid profile https://graph.microsoft.com/.default";
/// How long a started sign-in may take before its state cookie is worthless.
const FLOW_SECONDS: i64 = 600;

/// The portal's session, sealed into its cookie: the user's Graph token and the sign-in session it
/// came from.
#[derive(Serialize, Deserialize)]
struct Sealed {
    token: String,
    sid: String,
    expires_at: i64,
}

/// A sign-in under way, sealed into a short-lived cookie: the PKCE verifier, the `state` sent, and
/// the page to return to.
#[derive(Serialize, Deserialize)]
struct Flow {
    verifier: String,
    state: String,
    next: String,
    expires_at: i64,
}

/// Seals the portal's cookies under a key of their own, derived from the key-encryption key.
pub struct PortalSealer(Kek);

impl PortalSealer {
    pub fn new(kek: &Kek) -> Result<Self, String> {
        let derived = gatehouse_jose::hmac_sha256(kek.as_bytes(), b"gatehouse portal cookie key v1");
        Kek::from_bytes(&derived).map(Self).map_err(|e| e.to_string())
    }

    fn seal<T: Serialize>(&self, value: &T, purpose: &[u8]) -> Option<String> {
        let json = serde_json::to_vec(value).ok()?;
        self.0
            .seal(&json, purpose)
            .ok()
            .map(|s| gatehouse_jose::b64url(&s))
    }

    fn open<T: for<'de> Deserialize<'de>>(&self, value: &str, purpose: &[u8]) -> Option<T> {
        let sealed = gatehouse_jose::b64url_decode(value)?;
        serde_json::from_slice(&self.0.open(&sealed, purpose).ok()?).ok()
    }
}

const SESSION_PURPOSE: &[u8] = b"gatehouse portal session v1";
const FLOW_PURPOSE: &[u8] = b"gatehouse portal sign-in v1";

fn cookie_names(st: &AppState) -> (&'static str, &'static str) {
    match CookieNames::for_base(&st.base_url).session.starts_with("__Host-") {
        true => ("__Host-gh-portal", "__Host-gh-portal-flow"),
        false => ("gh-portal", "gh-portal-flow"),
    }
}

/// The signed-in user of a portal request: the caller their Graph token names (with their directory
/// roles read now), or the redirect that signs them in.
pub struct Portal {
    pub caller: Caller,
    /// The user's name, for the header.
    pub username: String,
    /// The CSRF token the page's forms carry, and the cookie to set if the browser had none.
    pub canary: String,
    set_csrf: Option<HeaderValue>,
    /// The request's headers, for the audit record of a write (correlation id, user agent).
    headers: HeaderMap,
}

impl Portal {
    /// Runs one write as this user, audited as the Graph request it stands for (`graph`: method,
    /// path under `/v1.0`, the properties it sets), then lets this node see it at once.
    pub async fn write<T>(
        &self,
        st: &AppState,
        graph: (axum::http::Method, &str, &[&str]),
        write: impl std::future::Future<Output = Result<T, AdminError>>,
    ) -> Result<T, AdminError> {
        let result = super::graph::audit_write(st, &self.caller, &self.headers, graph, write).await;
        st.refresh().await;
        result
    }

    /// A rendered portal page, with the CSRF cookie if this browser needs one.
    pub fn render(&self, t: &impl askama::Template) -> Response {
        self.render_status(StatusCode::OK, t)
    }

    pub fn render_status(&self, status: StatusCode, t: &impl askama::Template) -> Response {
        let resp = super::signin::pages::page(status, t);
        match &self.set_csrf {
            Some(c) => with_cookie(resp, c.clone()),
            None => resp,
        }
    }
}

impl axum::extract::FromRequestParts<AppState> for Portal {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        st: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let now = OffsetDateTime::now_utc();
        // Back to this page after signing in; a form's post cannot be replayed, so after one, the start.
        let next = match parts.method {
            axum::http::Method::GET => parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/portal/".into()),
            _ => "/portal/".into(),
        };
        let (name, _) = cookie_names(st);
        let sealed: Option<Sealed> =
            cookie(&parts.headers, name).and_then(|v| st.portal.open(v, SESSION_PURPOSE));
        let Some(sealed) = sealed.filter(|s| s.expires_at > now.unix_timestamp() + 30) else {
            return Err(start_sign_in(st, &next));
        };
        // Signed out (here or at the logout endpoint), or another user signed in: start again.
        let session = browser_session(st, &parts.headers, now)
            .await
            .map_err(|e| super::signin::error_page(&e))?;
        let Some((session, user)) = session.filter(|(s, _)| s.sid.to_string() == sealed.sid) else {
            return Err(start_sign_in(st, &next));
        };
        let caller = super::graph::token_caller(st, &sealed.token)
            .await
            .map_err(|_| start_sign_in(st, &next))?;
        if caller.user != Some(session.user_id) {
            return Err(start_sign_in(st, &next));
        }
        let (canary, set_csrf) = super::signin::csrf_token(st, &parts.headers);
        Ok(Self {
            caller,
            username: user.user.user_principal_name,
            canary,
            set_csrf,
            headers: parts.headers.clone(),
        })
    }
}

/// Sends the browser to sign in, and back to `next` afterwards.
fn start_sign_in(st: &AppState, next: &str) -> Response {
    let Some((verifier, state)) = random().zip(random()) else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let challenge = gatehouse_jose::b64url(&gatehouse_jose::sha256(verifier.as_bytes()));
    let next = if next.starts_with("/portal/") && !next.starts_with("/portal/signin") {
        next.to_string()
    } else {
        "/portal/".into()
    };
    let flow = Flow {
        verifier,
        state: state.clone(),
        next,
        expires_at: OffsetDateTime::now_utc().unix_timestamp() + FLOW_SECONDS,
    };
    let Some(sealed) = st.portal.seal(&flow, FLOW_PURPOSE) else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let query = serde_urlencoded::to_string([
        ("client_id", portal_app_id().to_string()),
        ("response_type", "code".into()),
        ("redirect_uri", format!("{}{PORTAL_REDIRECT_PATH}", st.base_url)),
        ("response_mode", "query".into()),
        ("scope", SCOPE.into()),
        ("state", state),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256".into()),
    ])
    .unwrap_or_default();
    let (_, flow_cookie) = cookie_names(st);
    let resp = redirect(&format!("/organizations/oauth2/v2.0/authorize?{query}"));
    with_cookie(resp, set_cookie(st, flow_cookie, &sealed, FLOW_SECONDS))
}

fn random() -> Option<String> {
    gatehouse_jose::random_bytes::<32>()
        .ok()
        .map(|b| gatehouse_jose::b64url(&b))
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /portal/signin`: the authorization response. The code is redeemed at the token endpoint's
/// own handler with the verifier only this browser's flow cookie holds.
async fn signed_in(State(st): State<AppState>, headers: HeaderMap, Query(cb): Query<Callback>) -> Response {
    if cb.code.is_none() && cb.error.is_none() {
        return redirect("/portal/"); // back from signing out
    }
    let now = OffsetDateTime::now_utc();
    let (session_cookie, flow_cookie) = cookie_names(&st);
    let flow: Option<Flow> = cookie(&headers, flow_cookie).and_then(|v| st.portal.open(v, FLOW_PURPOSE));
    let Some(flow) = flow.filter(|f| f.expires_at > now.unix_timestamp()) else {
        return views::problem(
            StatusCode::BAD_REQUEST,
            "The sign-in took too long or was started elsewhere. Open the portal again.",
        );
    };
    if cb.state.as_deref() != Some(flow.state.as_str()) {
        return views::problem(
            StatusCode::BAD_REQUEST,
            "The sign-in response does not belong to this browser's sign-in. Open the portal again.",
        );
    }
    if let Some(error) = cb.error {
        let why = cb.error_description.unwrap_or(error);
        return views::problem(StatusCode::FORBIDDEN, &why);
    }
    let Some(code) = cb.code else {
        return views::problem(StatusCode::BAD_REQUEST, "The sign-in response has no code.");
    };
    let tokens = match redeem(&st, &code, &flow.verifier).await {
        Ok(t) => t,
        Err(why) => return views::problem(StatusCode::FORBIDDEN, &why),
    };
    let sid = id_token_sid(&tokens.id_token).unwrap_or_default();
    let sealed = Sealed {
        token: tokens.access_token,
        sid,
        expires_at: now.unix_timestamp() + tokens.expires_in,
    };
    let Some(value) = st.portal.seal(&sealed, SESSION_PURPOSE) else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let resp = redirect(&flow.next);
    let resp = with_cookie(resp, set_cookie(&st, session_cookie, &value, tokens.expires_in));
    with_cookie(resp, set_cookie(&st, flow_cookie, "", 0))
}

#[derive(Deserialize)]
struct Tokens {
    access_token: String,
    id_token: String,
    expires_in: i64,
}

/// Redeems the code as the portal, through `POST /organizations/oauth2/v2.0/token` in this process.
async fn redeem(st: &AppState, code: &str, verifier: &str) -> Result<Tokens, String> {
    let form = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("client_id", &portal_app_id().to_string()),
        ("code", code),
        ("redirect_uri", &format!("{}{PORTAL_REDIRECT_PATH}", st.base_url)),
        ("code_verifier", verifier),
        ("scope", SCOPE),
    ])
    .map_err(|e| e.to_string())?;
    let req = Request::builder()
        .method("POST")
        .uri("/organizations/oauth2/v2.0/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .map_err(|e| e.to_string())?;
    let resp = super::token::token_v2_post(
        State(st.clone()),
        axum::extract::Path("organizations".to_string()),
        req,
    )
    .await;
    let ok = resp.status().is_success();
    let body = to_bytes(resp.into_body(), 256 * 1024)
        .await
        .map_err(|e| e.to_string())?;
    if !ok {
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        return Err(v["error_description"]
            .as_str()
            .unwrap_or("The sign-in failed.")
            .to_string());
    }
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}

/// The `sid` of an ID token this process just issued (read, not verified: it never left the process).
fn id_token_sid(id_token: &str) -> Option<String> {
    let payload = gatehouse_jose::b64url_decode(id_token.split('.').nth(1)?)?;
    let v: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    v["sid"].as_str().map(str::to_string)
}

#[derive(Deserialize)]
struct Canary {
    canary: Option<String>,
}

/// `POST /portal/signout`: forgets the portal's session and ends the sign-in session at the logout
/// endpoint, which comes back to the portal's start.
async fn sign_out(State(st): State<AppState>, headers: HeaderMap, form: axum::Form<Canary>) -> Response {
    if !csrf_ok(&st, &headers, form.canary.as_deref()) {
        return super::signin::forbidden();
    }
    let (session_cookie, _) = cookie_names(&st);
    // The portal's redirect URI is the one place it may be sent back to; without a code it starts over.
    let back = format!("{}{PORTAL_REDIRECT_PATH}", st.base_url);
    let query = serde_urlencoded::to_string([
        ("client_id", portal_app_id().to_string()),
        ("post_logout_redirect_uri", back),
    ])
    .unwrap_or_default();
    let resp = redirect(&format!("/organizations/oauth2/v2.0/logout?{query}"));
    with_cookie(resp, set_cookie(&st, session_cookie, "", 0))
}

fn set_cookie(st: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    CookieNames::for_base(&st.base_url).set(name, value, "Lax", max_age)
}

pub fn redirect(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A Graph failure as the portal shows it: the same words Graph's error message has.
pub fn refusal(e: &AdminError) -> (StatusCode, String) {
    let status = match e {
        AdminError::Denied => StatusCode::FORBIDDEN,
        AdminError::NotFound(_) => StatusCode::NOT_FOUND,
        AdminError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        AdminError::Conflict(_) => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    (status, e.to_string())
}
