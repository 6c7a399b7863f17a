//! The device authorization grant's endpoint and page (RFC 8628 §3.1–3.3; entra-protocol.md §1.9):
//! `POST /{tenant}/oauth2/v2.0/devicecode` (and v1 `/oauth2/devicecode`) gives a device its codes;
//! `/devicelogin` takes the user code (wrong codes are counted per client address and locked out like
//! passwords), shows which application is asking and for what, and on "Continue" runs the usual sign-in
//! and consent pages, which end by approving the code instead of redirecting.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::authorize::AuthorizationRequest;
use gatehouse_core::device::{self, normalize_user_code};
use gatehouse_core::flows::delegated::UserScopes;
use gatehouse_core::model::{DeviceState, Session, UserRecord};
use gatehouse_core::store::{Conflict, StoreError};
use gatehouse_core::CoreError;
use gatehouse_proto::tenant::TenantSegment;
use gatehouse_proto::Version;
use serde_json::json;
use time::OffsetDateTime;

use super::authorize::{form_page, proceed};
use super::pages::{self, error_page, page};
use super::{csrf_ok, forbidden};
use crate::routes::oauth_error::oauth_error_response;
use crate::AppState;

pub async fn devicecode_v2(st: State<AppState>, tenant: Path<String>, req: Request) -> Response {
    devicecode(st, tenant, req, Version::V2).await
}

pub async fn devicecode_v1(st: State<AppState>, tenant: Path<String>, req: Request) -> Response {
    devicecode(st, tenant, req, Version::V1).await
}

async fn devicecode(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
    v: Version,
) -> Response {
    let headers = req.headers().clone();
    match start(&st, &tenant, req, v).await {
        Ok(r) => r,
        Err(e) => oauth_error_response(&e, &headers, &st.base_url),
    }
}

async fn start(st: &AppState, tenant: &str, req: Request, v: Version) -> Result<Response, CoreError> {
    let now = OffsetDateTime::now_utc();
    let seg = TenantSegment::parse(tenant).map_err(|m| CoreError::MalformedTenant { tenant: m.0 })?;
    let segment =
        match seg.is_alias() {
            true => None,
            false => Some(st.directory.tenants().resolve(&seg).cloned().ok_or(
                CoreError::TenantNotFound {
                    tenant: tenant.into(),
                },
            )?),
        };
    let bytes = axum::body::to_bytes(req.into_body(), 64 * 1024)
        .await
        .map_err(|_| CoreError::Malformed {
            detail: "the body is too large",
        })?;
    let form: HashMap<String, String> = url::form_urlencoded::parse(&bytes).into_owned().collect();
    let client_id = form.get("client_id").map(String::as_str);
    let mut snap = st.directory.snapshot()?;
    if let Some(app_id) = client_id.and_then(gatehouse_proto::AppId::parse) {
        if let Some(entry) = st
            .directory
            .client(app_id)
            .await
            .map_err(CoreError::unavailable)?
        {
            let t = segment.as_ref().map(|t| t.id).unwrap_or(entry.app.tenant_id);
            snap.add_client(entry);
            gatehouse_core::flows::fill(&st.directory, &mut snap, t, &app_id.to_string(), None)
                .await
                .map_err(CoreError::unavailable)?;
        }
    }
    let policy = &st.policies.authorize;
    let (mut record, device_code) = device::start(
        &snap,
        segment.as_ref(),
        client_id,
        form.get("scope").map(String::as_str),
        policy,
        now,
    )?;
    // Nine letters from twenty: a taken user code is rare, and another is drawn.
    let mut inserted = false;
    for _ in 0..5 {
        match st.store.insert_device_code(&record).await {
            Ok(()) => {
                inserted = true;
                break;
            }
            Err(StoreError::Conflict(Conflict::Key)) => device::redraw(&mut record)?,
            Err(_) => return Err(CoreError::Unavailable),
        }
    }
    if !inserted {
        return Err(CoreError::Unavailable);
    }
    let uri = format!("{}/devicelogin", st.base_url);
    let user_code = record.user_code.clone();
    let message = format!(
        "To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate."
    );
    let lifetime = policy.device_code_lifetime.whole_seconds();
    let body = match v {
        Version::V2 => {
            json!({"user_code": user_code, "device_code": device_code.expose(), "verification_uri": uri,
            "expires_in": lifetime, "interval": record.interval_secs, "message": message})
        }
        // v1 says verification_url and sends numbers as strings (entra-protocol.md §1.9).
        Version::V1 => {
            json!({"user_code": user_code, "device_code": device_code.expose(), "verification_url": uri,
            "expires_in": lifetime.to_string(), "interval": record.interval_secs.to_string(), "message": message})
        }
    };
    let mut resp = Json(body).into_response();
    resp.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store, no-cache"));
    Ok(resp)
}

/// `GET /devicelogin`: the code entry page.
pub async fn devicelogin_get(State(st): State<AppState>, headers: HeaderMap) -> Response {
    form_page(&st, &headers, |canary| pages::DeviceCodeEntry {
        canary,
        error: None,
    })
}

/// `POST /devicelogin`: a user code. Wrong codes count against the client address (as wrong
/// passwords do); a known, pending code shows what it would approve.
pub async fn devicelogin_post(State(st): State<AppState>, req: Request) -> Response {
    let now = OffsetDateTime::now_utc();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let headers = req.headers().clone();
    let bytes = axum::body::to_bytes(req.into_body(), 16 * 1024)
        .await
        .unwrap_or_default();
    let form: HashMap<String, String> = url::form_urlencoded::parse(&bytes).into_owned().collect();
    if !csrf_ok(&st, &headers, form.get("canary").map(String::as_str)) {
        return forbidden();
    }
    let retry = |error: String| {
        form_page(&st, &headers, |canary| pages::DeviceCodeEntry {
            canary,
            error: Some(error),
        })
    };
    let key = vec![format!("devicecode:{peer}")];
    let policy = st.policies.sign_in;
    match st.store.sign_in_failures(&key).await {
        Ok(counts) => {
            if let Some((failures, Some(last))) = counts.first() {
                if let Some(until) = policy.locked_until(*failures, *last).filter(|u| now < *u) {
                    let page = retry(
                        "AADSTS50053: Too many wrong codes were entered. Wait a while, then try again."
                            .into(),
                    );
                    return pages::throttled(page, until - now);
                }
            }
        }
        Err(_) => return error_page(&CoreError::Unavailable),
    }
    let typed = normalize_user_code(form.get("otc").map(String::as_str).unwrap_or_default());
    let found = match st.store.find_device_code(&typed).await {
        Ok(f) => f.filter(|c| c.state == DeviceState::Pending && now < c.expires_at),
        Err(_) => return error_page(&CoreError::Unavailable),
    };
    let Some(code) = found else {
        let _ = st.store.record_sign_in_failure(&key, now).await;
        return retry(
            "The code you entered has expired or is not valid. Get a new code from the device and try again."
                .into(),
        );
    };
    let _ = st.store.clear_sign_in_failures(&key[0]).await;
    let req = AuthorizationRequest::for_device(&code, &st.policies.authorize, now);
    let ctx = match st.sealer.seal(&req) {
        Ok(c) => c,
        Err(e) => return error_page(&e),
    };
    let app = match st.directory.client(code.client_id).await {
        Ok(Some(e)) => e.app.app.display_name.clone(),
        _ => code.client_id.to_string(),
    };
    let scopes: Vec<String> = UserScopes::parse(&code.scope)
        .map(|s| {
            let resource = s.resource_name().to_string();
            s.named.iter().map(|n| format!("{n} ({resource})")).collect()
        })
        .unwrap_or_default();
    let (action, client_id, tenant) = (
        format!("/{}/deviceconfirm", code.tenant_id),
        code.client_id.to_string(),
        code.tenant_id.to_string(),
    );
    form_page(&st, &headers, |canary| pages::DeviceConfirm {
        action: &action,
        ctx: &ctx,
        canary,
        app_name: &app,
        client_id: &client_id,
        tenant: &tenant,
        scopes,
    })
}

/// `POST /{tenant}/deviceconfirm`: Continue runs the sign-in; Cancel declines the code.
pub async fn deviceconfirm_post(
    State(st): State<AppState>,
    Path(_t): Path<String>,
    req: Request,
) -> Response {
    let now = OffsetDateTime::now_utc();
    let headers = req.headers().clone();
    let bytes = axum::body::to_bytes(req.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let form: HashMap<String, String> = url::form_urlencoded::parse(&bytes).into_owned().collect();
    if !csrf_ok(&st, &headers, form.get("canary").map(String::as_str)) {
        return forbidden();
    }
    let req = match st
        .sealer
        .open(form.get("ctx").map(String::as_str).unwrap_or_default(), now)
    {
        Ok(r) => r,
        Err(e) => return error_page(&e),
    };
    if form.contains_key("accept") {
        return proceed(&st, &headers, req, now).await;
    }
    declined(&st, &req).await
}

/// The end of a device's sign-in: the code approved for the signed-in user.
pub(super) async fn approve(
    st: &AppState,
    req: &AuthorizationRequest,
    session: &Session,
    user: &UserRecord,
) -> Response {
    let Some(user_code) = &req.device_user_code else {
        return error_page(&CoreError::Internal);
    };
    let approved = DeviceState::Approved {
        user_id: user.user.id,
        auth_time: session.auth_time,
        sid: session.sid,
    };
    match st.store.settle_device_code(user_code, &approved).await {
        Ok(true) => done(
            "You're signed in",
            format!(
                "You have signed in to the application on your device as {}. You may now close this window.",
                user.user.user_principal_name
            ),
        ),
        Ok(false) => error_page(&CoreError::DeviceCodeExpired),
        Err(_) => error_page(&CoreError::Unavailable),
    }
}

/// The user said no (on the confirmation or the consent page): the device hears
/// `authorization_declined`.
pub(super) async fn declined(st: &AppState, req: &AuthorizationRequest) -> Response {
    if let Some(code) = &req.device_user_code {
        if st
            .store
            .settle_device_code(code, &DeviceState::Declined)
            .await
            .is_err()
        {
            return error_page(&CoreError::Unavailable);
        }
    }
    done(
        "Sign-in canceled",
        "You declined to sign in to the application on your device. You may now close this window.".into(),
    )
}

fn done(title: &str, text: String) -> Response {
    page(StatusCode::OK, &pages::DeviceDone { title, text })
}
