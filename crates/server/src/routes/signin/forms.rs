//! The pages' form posts: user name, then password (then a new password if one must be chosen), the
//! account picker, and consent. Each checks the CSRF token first, then opens the sealed request.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gatehouse_core::admin::users;
use gatehouse_core::authorize::AuthorizationRequest;
use gatehouse_core::signin::{self, Attempt, SignInError};
use gatehouse_core::CoreError;
use gatehouse_proto::token::Secret;
use time::OffsetDateTime;

use super::admin_consent;
use super::authorize::{finish, form_page, proceed, record_consent, refuse, sign_in_page};
use super::pages::{self, error_page};
use super::{csrf_ok, current_session, forbidden, start_session, with_cookie};
use crate::AppState;

/// A page's posted fields, after the CSRF check, with the request they continue.
struct Posted {
    fields: HashMap<String, String>,
    req: AuthorizationRequest,
    headers: HeaderMap,
    peer: String,
}

impl Posted {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn secret(&self, name: &str) -> Option<Secret> {
        self.get(name).map(Secret::new)
    }
}

/// Reads a form post: the body (at most 64 KiB), the CSRF token against its cookie and the `Origin`
/// (when the browser sends one) against this server's, then the sealed request.
async fn posted(st: &AppState, req: Request, now: OffsetDateTime) -> Result<Posted, Response> {
    let (parts, body) = req.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.map_err(|_| {
        error_page(&CoreError::Malformed {
            detail: "the form is too large",
        })
    })?;
    let fields: HashMap<String, String> = url::form_urlencoded::parse(&bytes).into_owned().collect();
    if !csrf_ok(st, &parts.headers, fields.get("canary").map(String::as_str)) {
        return Err(forbidden());
    }
    let ctx = fields.get("ctx").map(String::as_str).unwrap_or_default();
    let req = st.sealer.open(ctx, now).map_err(|e| error_page(&e))?;
    Ok(Posted {
        fields,
        req,
        headers: parts.headers,
        peer,
    })
}

/// `POST /{tenant}/login`: the user name (shows the password page), or the user name and password.
pub async fn login_post(State(st): State<AppState>, Path(_tenant): Path<String>, req: Request) -> Response {
    let now = OffsetDateTime::now_utc();
    let mut p = match posted(&st, req, now).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    if let Some(home) = p
        .get("loginfmt")
        .and_then(|u| st.directory.tenants().of_user(u).map(|t| t.id))
    {
        p.req.sign_in_tenant(home);
    }
    let Some(username) = p.get("loginfmt").map(str::to_string) else {
        return sign_in_page(
            &st,
            &p.headers,
            &p.req,
            Some("Enter a valid email address or user name.".into()),
        )
        .await;
    };
    let Some(password) = p.secret("passwd") else {
        // The password page for any name: whether the account exists is not told (50126 for both).
        return password_page(&st, &p, &username, None);
    };
    let attempt = Attempt {
        tenant: p.req.tenant_id,
        upn: username.clone(),
        password,
        client_address: p.peer.clone(),
    };
    match signin::authenticate(
        st.store.as_ref(),
        &st.passwords,
        &st.policies.sign_in,
        attempt,
        now,
    )
    .await
    {
        Ok(user) => signed_in(&st, &p, &user, now).await,
        Err(SignInError::PasswordChangeRequired) => change_password_page(&st, &p, &username, None),
        Err(SignInError::Unavailable) => error_page(&CoreError::Unavailable),
        Err(e @ SignInError::Locked { until }) => pages::throttled(
            password_page(&st, &p, &username, Some(format!("AADSTS{}: {e}", e.aadsts()))),
            until - now,
        ),
        Err(e) => password_page(&st, &p, &username, Some(format!("AADSTS{}: {e}", e.aadsts()))),
    }
}

/// `POST /{tenant}/changepassword`: the current password again, and the new one twice.
pub async fn change_password_post(
    State(st): State<AppState>,
    Path(_tenant): Path<String>,
    req: Request,
) -> Response {
    let now = OffsetDateTime::now_utc();
    let p = match posted(&st, req, now).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let username = p.get("loginfmt").unwrap_or_default().to_string();
    let (Some(old), Some(new)) = (p.secret("oldPassword"), p.secret("newPassword")) else {
        return change_password_page(
            &st,
            &p,
            &username,
            Some("Enter your current password and a new one.".into()),
        );
    };
    if p.get("confirmNewPassword") != Some(new.expose()) {
        return change_password_page(&st, &p, &username, Some("The passwords don't match.".into()));
    }
    if new == old {
        return change_password_page(
            &st,
            &p,
            &username,
            Some("Choose a password other than the current one.".into()),
        );
    }
    let attempt = Attempt {
        tenant: p.req.tenant_id,
        upn: username.clone(),
        password: old,
        client_address: p.peer.clone(),
    };
    let user = match signin::authenticate(
        st.store.as_ref(),
        &st.passwords,
        &st.policies.sign_in,
        attempt,
        now,
    )
    .await
    {
        Ok(u) => u,
        Err(SignInError::PasswordChangeRequired) => {
            match st.store.find_user_by_upn(p.req.tenant_id, &username).await {
                Ok(Some(u)) => u,
                _ => return error_page(&CoreError::Unavailable),
            }
        }
        Err(e) => {
            return change_password_page(&st, &p, &username, Some(format!("AADSTS{}: {e}", e.aadsts())))
        }
    };
    let changed = users::change_own_password(
        st.store.as_ref(),
        &st.passwords,
        p.req.tenant_id,
        user.user.id,
        new,
        now,
    )
    .await;
    if let Err(e) = changed {
        return change_password_page(&st, &p, &username, Some(e.to_string()));
    }
    match st.store.get_user(p.req.tenant_id, user.user.id).await {
        Ok(Some(fresh)) => signed_in(&st, &p, &fresh, now).await,
        _ => error_page(&CoreError::Unavailable),
    }
}

/// `POST /{tenant}/selectaccount`: go on as the signed-in account, or sign in as another.
pub async fn select_account_post(
    State(st): State<AppState>,
    Path(_tenant): Path<String>,
    req: Request,
) -> Response {
    let now = OffsetDateTime::now_utc();
    let mut p = match posted(&st, req, now).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    if p.get("account") == Some("current") {
        p.req.prompt = None;
        return proceed(&st, &p.headers, p.req, now).await;
    }
    sign_in_page(&st, &p.headers, &p.req, None).await
}

/// `POST /{tenant}/consent`: `idSIButton9` (accept) records the user's consent and goes on;
/// `idBtn_Back` (cancel) tells the client `access_denied`.
pub async fn consent_post(State(st): State<AppState>, Path(_tenant): Path<String>, req: Request) -> Response {
    let now = OffsetDateTime::now_utc();
    let p = match posted(&st, req, now).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let Ok(Some((session, user))) = current_session(&st, &p.headers, p.req.tenant_id, now).await else {
        return sign_in_page(&st, &p.headers, &p.req, None).await;
    };
    if p.get("accept").is_none() {
        if p.req.device_user_code.is_some() {
            return super::device::declined(&st, &p.req).await;
        }
        return refuse(&st, &p.req, &CoreError::ConsentDeclined);
    }
    let by_admin = admin_consent::asked(&p.req);
    let consent = async {
        match by_admin {
            true => admin_consent::record(&st, &p.req, &user, now).await,
            false => record_consent(&st, &p.req, &user).await,
        }
    };
    // Consent is a change to the directory: the audit log has it, stored with its first write.
    let recorded = match st.audit {
        true => {
            gatehouse_store::logs::audited(consent_draft(&p.req, &user), consent)
                .await
                .0
        }
        false => consent.await,
    };
    match recorded {
        Ok(()) => {}
        Err(e @ CoreError::AdminConsentRequired { .. }) if admin_consent::asked(&p.req) => {
            return error_page(&e)
        }
        Err(e) => return refuse(&st, &p.req, &e),
    }
    finish(&st, &p.headers, &p.req, &session, &user, true, true, now).await
}

/// A new session for the user, then the rest of the flow, with the session cookie set.
async fn signed_in(
    st: &AppState,
    p: &Posted,
    user: &gatehouse_core::model::UserRecord,
    now: OffsetDateTime,
) -> Response {
    let (session, cookie) = match start_session(st, &p.headers, user, now).await {
        Ok(s) => s,
        Err(e) => return error_page(&e),
    };
    let resp = finish(st, &p.headers, &p.req, &session, user, true, false, now).await;
    with_cookie(resp, cookie)
}

/// The password page. The request is sealed again: at `organizations` the name has chosen its tenant.
fn password_page(st: &AppState, p: &Posted, username: &str, error: Option<String>) -> Response {
    let ctx = match st.sealer.seal(&p.req) {
        Ok(c) => c,
        Err(e) => return error_page(&e),
    };
    let action = format!("/{}/login", p.req.tenant_id);
    form_page(st, &p.headers, |canary| pages::Password {
        action: &action,
        ctx: &ctx,
        canary,
        username,
        error,
    })
}

fn change_password_page(st: &AppState, p: &Posted, username: &str, error: Option<String>) -> Response {
    let (ctx, action) = (
        p.get("ctx").unwrap_or_default(),
        format!("/{}/changepassword", p.req.tenant_id),
    );
    form_page(st, &p.headers, |canary| pages::ChangePassword {
        action: &action,
        ctx,
        canary,
        username,
        error,
    })
}

/// The audit record of consent given on these pages, by the signed-in user.
fn consent_draft(
    req: &AuthorizationRequest,
    user: &gatehouse_core::model::UserRecord,
) -> gatehouse_core::audit::AuditDraft {
    use gatehouse_proto::logs::{AuditActivityInitiator, UserIdentity};
    gatehouse_core::audit::AuditDraft {
        tenant_id: req.tenant_id,
        activity: gatehouse_core::audit::Activity::CONSENT,
        correlation_id: crate::metrics::request_id(),
        initiated_by: AuditActivityInitiator {
            app: None,
            user: Some(UserIdentity {
                id: Some(user.user.id.to_string()),
                display_name: Some(user.user.display_name.clone()),
                ip_address: None,
                user_principal_name: Some(user.user.user_principal_name.clone()),
            }),
        },
        // Entra's names for what consent sets (values are never recorded).
        modified_properties: [
            "ConsentContext.IsAdminConsent",
            "ConsentContext.OnBehalfOfAll",
            "ConsentAction.Permissions",
        ]
        .map(String::from)
        .to_vec(),
        target: None,
        user_agent: None,
    }
}
