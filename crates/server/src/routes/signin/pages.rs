//! The pages, rendered from `templates/` (askama escapes every value), and the headers every page
//! carries: a Content-Security-Policy without inline script, `frame-ancestors 'none'` and
//! `X-Frame-Options: DENY` (no clickjacking), no referrer, no caching.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_core::authorize::Reply;
use gatehouse_core::CoreError;
use time::OffsetDateTime;

#[derive(Template)]
#[template(path = "username.html")]
pub struct Username<'a> {
    pub action: &'a str,
    pub ctx: &'a str,
    pub canary: String,
    pub app_name: &'a str,
    pub login_hint: &'a str,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "password.html")]
pub struct Password<'a> {
    pub action: &'a str,
    pub ctx: &'a str,
    pub canary: String,
    pub username: &'a str,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "change_password.html")]
pub struct ChangePassword<'a> {
    pub action: &'a str,
    pub ctx: &'a str,
    pub canary: String,
    pub username: &'a str,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct Consent<'a> {
    pub action: &'a str,
    pub ctx: &'a str,
    pub canary: String,
    pub username: &'a str,
    pub app_name: &'a str,
    pub client_id: &'a str,
    /// The registering organisation's domain.
    pub publisher: &'a str,
    /// For an administrator's consent: the organisation it is given for.
    pub organization: Option<&'a str>,
    /// (permission, what it allows).
    pub scopes: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "select_account.html")]
pub struct SelectAccount<'a> {
    pub action: &'a str,
    pub ctx: &'a str,
    pub canary: String,
    pub app_name: &'a str,
    pub display_name: &'a str,
    pub username: &'a str,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    code: u32,
    message: String,
    trace_id: String,
    timestamp: String,
}

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPost<'a> {
    action: &'a str,
    params: &'a [(&'static str, String)],
}

#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOut<'a> {
    /// Front-channel logout URLs, each loaded in a hidden frame.
    pub frames: Vec<&'a str>,
    /// Where to go once they have loaded (`post_logout_redirect_uri`).
    pub next: Option<String>,
}

/// A rendered page with the security headers. There is no `form-action` directive: browsers apply it to
/// the redirect a form post ends in too, and the pages' posts end in a redirect to the client.
pub fn page(status: StatusCode, t: &impl Template) -> Response {
    page_with_frames(status, t, &[])
}

/// [`page`] that may load frames from `frame_origins` (the signed-out page's front-channel logout).
pub fn page_with_frames(status: StatusCode, t: &impl Template, frame_origins: &[&str]) -> Response {
    let body = match t.render() {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "a page failed to render");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut csp = String::from(
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
    );
    if !frame_origins.is_empty() {
        csp.push_str("; frame-src ");
        csp.push_str(&frame_origins.join(" "));
    }
    let mut resp = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    let h = resp.headers_mut();
    match HeaderValue::from_str(&csp) {
        Ok(v) => h.insert("content-security-policy", v),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    resp
}

/// A page shown while sign-ins from here are locked out: 429 with `Retry-After` in seconds (at least 1),
/// so that scripts guessing passwords or codes are told to back off; browsers show the page as usual.
pub fn throttled(mut resp: Response, wait: time::Duration) -> Response {
    *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let secs = wait.whole_seconds().max(1);
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// Entra's error page: the AADSTS code and message in its text. Server-side failures log their detail
/// and show only the code.
pub fn error_page(e: &CoreError) -> Response {
    let status = match e {
        CoreError::Unavailable | CoreError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        CoreError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        CoreError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        CoreError::FlowExpired => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    let trace_id = crate::metrics::request_id().to_string();
    tracing::info!(code = e.aadsts(), %trace_id, "sign-in page refused the request");
    let t = ErrorPage {
        code: e.aadsts(),
        message: e.message(),
        trace_id,
        timestamp: gatehouse_proto::timefmt::error_timestamp(OffsetDateTime::now_utc()),
    };
    let mut resp = page(status, &t);
    if let Some(secs) = crate::routes::oauth_error::retry_after(e) {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// Sends a reply to the client's redirect URI: a 302 for query and fragment, an auto-submitting form
/// (no inline script) for form_post.
pub fn reply(r: &Reply) -> Response {
    match r.location() {
        Some(location) => match HeaderValue::from_str(&location) {
            Ok(v) => {
                let mut resp = StatusCode::FOUND.into_response();
                resp.headers_mut().insert(header::LOCATION, v);
                resp.headers_mut()
                    .insert("cache-control", HeaderValue::from_static("no-store"));
                resp
            }
            Err(_) => error_page(&CoreError::Internal),
        },
        None => {
            let t = FormPost {
                action: &r.redirect_uri,
                params: &r.params,
            };
            page(StatusCode::OK, &t)
        }
    }
}

pub async fn stylesheet() -> Response {
    asset("text/css", include_str!("../../../static/gatehouse.css"))
}

pub async fn form_post_script() -> Response {
    asset("text/javascript", include_str!("../../../static/form_post.js"))
}

pub async fn signed_out_script() -> Response {
    asset("text/javascript", include_str!("../../../static/signed_out.js"))
}

pub(crate) fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "device_code.html")]
pub struct DeviceCodeEntry {
    pub canary: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "device_confirm.html")]
pub struct DeviceConfirm<'a> {
    pub action: &'a str,
    pub ctx: &'a str,
    pub canary: String,
    pub app_name: &'a str,
    pub client_id: &'a str,
    pub tenant: &'a str,
    pub scopes: Vec<String>,
}

#[derive(Template)]
#[template(path = "device_done.html")]
pub struct DeviceDone<'a> {
    pub title: &'a str,
    pub text: String,
}
