//! The browser side of a user's sign-in (issue #9): `/authorize`, the sign-in, password-change, account
//! and consent pages, and sign-out. Pages are server-rendered templates (`templates/`) that work without
//! JavaScript and keep Entra's field names (`loginfmt`, `passwd`, `idSIButton9`, `idBtn_Back`).
//!
//! Nothing is kept on a node between pages: the validated authorization request travels sealed in the
//! `ctx` field (AES-256-GCM under a key derived from the key-encryption key, with an expiry), the
//! session is a row in the store named by a cookie, and forms carry a CSRF token (`canary`) that must
//! equal a `SameSite=Strict` cookie.

mod admin_consent;
mod authorize;
mod device;
mod forms;
mod logout;
pub(crate) mod pages;

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use gatehouse_core::authorize::AuthorizationRequest;
use gatehouse_core::model::{Session, UserRecord};
use gatehouse_core::CoreError;
use gatehouse_jose::kek::Kek;
use time::OffsetDateTime;

use crate::AppState;

pub use authorize::csrf_token;
pub use pages::error_page;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(authorize::authorize_v2).post(authorize::authorize_v2),
        )
        .route(
            "/{tenant}/oauth2/authorize",
            get(authorize::authorize_v1).post(authorize::authorize_v1),
        )
        .route("/{tenant}/adminconsent", get(admin_consent::adminconsent_v1))
        .route("/{tenant}/v2.0/adminconsent", get(admin_consent::adminconsent_v2))
        .route("/{tenant}/login", post(forms::login_post))
        .route("/{tenant}/changepassword", post(forms::change_password_post))
        .route("/{tenant}/consent", post(forms::consent_post))
        .route("/{tenant}/selectaccount", post(forms::select_account_post))
        .route("/{tenant}/oauth2/v2.0/devicecode", post(device::devicecode_v2))
        .route("/{tenant}/oauth2/devicecode", post(device::devicecode_v1))
        .route(
            "/devicelogin",
            get(device::devicelogin_get).post(device::devicelogin_post),
        )
        .route("/{tenant}/deviceconfirm", post(device::deviceconfirm_post))
        .route(
            "/{tenant}/oauth2/v2.0/logout",
            get(logout::logout).post(logout::logout),
        )
        .route(
            "/{tenant}/oauth2/logout",
            get(logout::logout).post(logout::logout),
        )
        .route("/static/gatehouse.css", get(pages::stylesheet))
        .route("/static/form_post.js", get(pages::form_post_script))
        .route("/static/signed_out.js", get(pages::signed_out_script))
}

/// The APIs that consent to `client` in `tenant` would add with it (`knownClientApplications`, see
/// `admin_consent::bundled`): those of the client's `requiredResourceAccess` with no service principal
/// in the tenant yet. Each is put in `snap` as consent would make it (not stored: its id is not the
/// one it will get), so the consent pages can show its permissions; the caller provisions them when
/// consent is given, then reads again.
async fn bundled_apis(
    st: &AppState,
    snap: &mut gatehouse_core::Snapshot,
    tenant: gatehouse_proto::TenantId,
    client: gatehouse_proto::AppId,
) -> Result<Vec<gatehouse_core::model::ApplicationRecord>, CoreError> {
    use gatehouse_core::admin::service_principals::new_service_principal;
    use gatehouse_core::model::ServicePrincipalRecord;
    let Some(client) = snap.application(client).cloned() else {
        return Ok(vec![]);
    };
    let mut pending = Vec::new();
    for access in &client.app.required_resource_access {
        let Some(api_id) = gatehouse_proto::AppId::parse(&access.resource_app_id) else {
            continue;
        };
        let dir = &st.directory;
        let present = dir
            .service_principal(tenant, api_id)
            .await
            .map_err(CoreError::unavailable)?;
        let Some(api) = dir.client(api_id).await.map_err(CoreError::unavailable)? else {
            continue;
        };
        if present.is_some() || !gatehouse_core::admin_consent::bundled(&api.app, &client, tenant) {
            continue;
        }
        let record = ServicePrincipalRecord {
            tenant_id: tenant,
            sp: new_service_principal(&api.app.app, api.app.tenant_id),
        };
        for (key, _) in record.claimed_names() {
            snap.add_name(tenant, key, api_id);
        }
        snap.add_service_principal(std::sync::Arc::new(record));
        pending.push(api.app.clone());
        snap.add_client(api);
    }
    Ok(pending)
}

/// Seals the authorization request into the pages' `ctx` field and opens it again: only this cluster
/// can read or forge it, and it says when it expires.
pub struct FlowSealer(Kek);

const FLOW_CONTEXT: &[u8] = b"gatehouse authorize request v1";

impl FlowSealer {
    /// A key of its own, derived from the key-encryption key, so every node opens what any sealed.
    pub fn new(kek: &Kek) -> Result<Self, String> {
        let derived = gatehouse_jose::hmac_sha256(kek.as_bytes(), b"gatehouse sign-in flow key v1");
        Kek::from_bytes(&derived).map(Self).map_err(|e| e.to_string())
    }

    pub fn seal(&self, req: &AuthorizationRequest) -> Result<String, CoreError> {
        let json = serde_json::to_vec(req).map_err(|_| CoreError::Internal)?;
        let sealed = self
            .0
            .seal(&json, FLOW_CONTEXT)
            .map_err(|_| CoreError::Internal)?;
        Ok(gatehouse_jose::b64url(&sealed))
    }

    /// The request, if `ctx` is ours, unaltered and not expired.
    pub fn open(&self, ctx: &str, now: OffsetDateTime) -> Result<AuthorizationRequest, CoreError> {
        let sealed = gatehouse_jose::b64url_decode(ctx).ok_or(CoreError::FlowExpired)?;
        let json = self
            .0
            .open(&sealed, FLOW_CONTEXT)
            .map_err(|_| CoreError::FlowExpired)?;
        let req: AuthorizationRequest = serde_json::from_slice(&json).map_err(|_| CoreError::FlowExpired)?;
        if now.unix_timestamp() >= req.expires_at {
            return Err(CoreError::FlowExpired);
        }
        Ok(req)
    }
}

/// The session cookie, and the CSRF cookie of the forms. Under HTTPS both take the `__Host-` prefix
/// (Secure, no Domain, Path=/), which browsers refuse to let another site or a subdomain set.
pub struct CookieNames {
    pub session: &'static str,
    pub csrf: &'static str,
    secure: bool,
}

impl CookieNames {
    pub fn for_base(base_url: &str) -> Self {
        let secure = base_url.starts_with("https://");
        Self {
            session: if secure { "__Host-gh-session" } else { "gh-session" },
            csrf: if secure { "__Host-gh-csrf" } else { "gh-csrf" },
            secure,
        }
    }

    /// A `Set-Cookie` value: HttpOnly, Path=/, Secure under HTTPS; `max_age` 0 deletes it.
    pub fn set(&self, name: &str, value: &str, same_site: &str, max_age: i64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The signed-in session the browser presents for `tenant`, if it is still good: not expired, its user
/// still there and enabled, and no password change since the sign-in.
pub async fn current_session(
    st: &AppState,
    headers: &HeaderMap,
    tenant: gatehouse_proto::TenantId,
    now: OffsetDateTime,
) -> Result<Option<(Session, UserRecord)>, CoreError> {
    Ok(browser_session(st, headers, now)
        .await?
        .filter(|(session, _)| session.tenant_id == tenant))
}

/// The browser's signed-in session in whatever tenant it is, if it is still good.
pub async fn browser_session(
    st: &AppState,
    headers: &HeaderMap,
    now: OffsetDateTime,
) -> Result<Option<(Session, UserRecord)>, CoreError> {
    let names = CookieNames::for_base(&st.base_url);
    let Some(value) = cookie(headers, names.session) else {
        return Ok(None);
    };
    let hash = gatehouse_jose::sha256(value.as_bytes());
    let Some(session) = st
        .store
        .find_session(&hash)
        .await
        .map_err(CoreError::unavailable)?
    else {
        return Ok(None);
    };
    if now >= session.expires_at {
        return Ok(None);
    }
    let user = st
        .store
        .get_user(session.tenant_id, session.user_id)
        .await
        .map_err(CoreError::unavailable)?;
    Ok(user
        .filter(|u| u.user.account_enabled && u.password_changed <= session.auth_time)
        .map(|u| (session, u)))
}

/// Starts a session for a user who just proved who they are: a new random id (never one the browser
/// brought, so a planted cookie is worth nothing), stored as its hash. Ends the session the browser had.
pub async fn start_session(
    st: &AppState,
    headers: &HeaderMap,
    user: &UserRecord,
    now: OffsetDateTime,
) -> Result<(Session, HeaderValue), CoreError> {
    let names = CookieNames::for_base(&st.base_url);
    if let Some(old) = cookie(headers, names.session) {
        let _ = st
            .store
            .end_session(&gatehouse_jose::sha256(old.as_bytes()))
            .await;
    }
    let bytes = gatehouse_jose::random_bytes::<32>().map_err(|_| CoreError::Internal)?;
    let value = gatehouse_jose::b64url(&bytes);
    let lifetime = st.policies.authorize.session_lifetime;
    let session = Session {
        id_hash: gatehouse_jose::sha256(value.as_bytes()),
        sid: uuid::Uuid::new_v4(),
        tenant_id: user.tenant_id,
        user_id: user.user.id,
        auth_time: now,
        expires_at: now + lifetime,
        clients: vec![],
    };
    st.store
        .insert_session(&session)
        .await
        .map_err(CoreError::unavailable)?;
    let cookie = names.set(names.session, &value, "Lax", lifetime.whole_seconds());
    Ok((session, cookie))
}

/// Whether a form post carries this browser's CSRF token (the `canary` field equals the CSRF cookie)
/// and comes from this server's pages, as far as the browser says: `Sec-Fetch-Site`, when sent, must be
/// `same-origin`, and `Origin`, when it names one, this server's. Browsers send `Origin: null` for a
/// form on a `Referrer-Policy: no-referrer` page (ours), so `null` names none; the token decides then.
pub fn csrf_ok(st: &AppState, headers: &HeaderMap, presented: Option<&str>) -> bool {
    use subtle::ConstantTimeEq;
    let names = CookieNames::for_base(&st.base_url);
    let expected = cookie(headers, names.csrf).unwrap_or_default();
    let presented = presented.unwrap_or_default();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let fetch_site_ok = header("sec-fetch-site").is_none_or(|s| s == "same-origin");
    let origin_ok = match header("origin") {
        None | Some("null") => true,
        Some(o) => url::Url::parse(&st.base_url).is_ok_and(|b| b.origin().ascii_serialization() == o),
    };
    fetch_site_ok
        && origin_ok
        && !expected.is_empty()
        && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// The answer to a form post that fails [`csrf_ok`]: 403, nothing changed.
pub fn forbidden() -> Response {
    tracing::info!("a sign-in form was posted without this browser's CSRF token or from another origin");
    let mut resp = error_page(&CoreError::FlowExpired);
    *resp.status_mut() = axum::http::StatusCode::FORBIDDEN;
    resp
}

/// Adds a `Set-Cookie` to a response.
pub fn with_cookie(mut resp: Response, cookie: HeaderValue) -> Response {
    resp.headers_mut().append("set-cookie", cookie);
    resp
}
