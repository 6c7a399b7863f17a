//! `GET|POST /{tenant}/oauth2/v2.0/authorize` and the v1 `/oauth2/authorize` (entra-protocol.md §1.7):
//! reads the request, lets core validate it, then goes on with the browser's session or shows the
//! sign-in page; and the last step every page shares ([`finish`]): consent, then the code.

use axum::body::{to_bytes, Body};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use gatehouse_core::admin::{grants, service_principals};
use gatehouse_core::authorize::{self, AuthorizationRequest, AuthorizeParams, Prompt, Refusal, Reply};
use gatehouse_core::flows::delegated::{self, UserScopes};
use gatehouse_core::flows::fill;
use gatehouse_core::model::{ApplicationRecord, Consent, Session, Tenant, UserRecord};
use gatehouse_core::{CoreError, Snapshot};
use gatehouse_proto::tenant::TenantSegment;
use gatehouse_proto::{AppId, ObjectId, Version};
use time::OffsetDateTime;

use super::admin_consent;
use super::pages::{self, error_page, page};
use super::{browser_session, cookie, current_session, with_cookie, CookieNames};
use crate::AppState;

pub async fn authorize_v2(st: State<AppState>, tenant: Path<String>, req: Request) -> Response {
    authorize(st, tenant, req, Version::V2).await
}

/// The v1 endpoint takes the same parameters here (its `resource` parameter is not read: name the
/// resource in `scope`).
pub async fn authorize_v1(st: State<AppState>, tenant: Path<String>, req: Request) -> Response {
    authorize(st, tenant, req, Version::V1).await
}

async fn authorize(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
    endpoint: Version,
) -> Response {
    start(
        &st,
        &tenant,
        req,
        |snap, segment, params: &AuthorizeParams, now| {
            authorize::validate(snap, segment, params, endpoint, &st.policies.authorize, now)
        },
    )
    .await
}

/// The parameters a browser request starts with (`/authorize`, `/adminconsent`).
pub(super) trait BrowserParams: Sized {
    fn parse(pairs: Vec<(String, String)>) -> Result<Self, CoreError>;
    fn client_id(&self) -> Option<&str>;
}

impl BrowserParams for AuthorizeParams {
    fn parse(pairs: Vec<(String, String)>) -> Result<Self, CoreError> {
        Self::from_pairs(pairs)
    }

    fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }
}

/// Starts a browser request: reads its parameters, resolves the path's tenant and the client, lets
/// `validate` (core's rules) check them, then goes on with the session or the sign-in pages. Until the
/// client and its redirect URI are verified, errors are pages; after, they go to the client.
pub(super) async fn start<P: BrowserParams>(
    st: &AppState,
    tenant: &str,
    req: Request,
    validate: impl FnOnce(&Snapshot, Option<&Tenant>, &P, OffsetDateTime) -> Result<AuthorizationRequest, Refusal>,
) -> Response {
    let now = OffsetDateTime::now_utc();
    let (parts, body) = req.into_parts();
    let read = async {
        let pairs = read_pairs(&parts.method, parts.uri.query(), body).await?;
        let params = P::parse(pairs)?;
        let (snap, segment) = request_context(st, tenant, params.client_id()).await?;
        Ok::<_, CoreError>((snap, segment, params))
    }
    .await;
    let (snap, segment, params) = match read {
        Ok(v) => v,
        Err(e) => return error_page(&e),
    };
    match validate(&snap, segment.as_ref(), &params, now) {
        Err(Refusal::Page(e)) => error_page(&e),
        Err(Refusal::Redirect(r)) => send(st, r),
        Ok(req) => proceed(st, &parts.headers, req, now).await,
    }
}

/// The query (GET) or the form body (POST, at most 64 KiB) as pairs.
async fn read_pairs(
    method: &Method,
    query: Option<&str>,
    body: Body,
) -> Result<Vec<(String, String)>, CoreError> {
    let bytes = if method == Method::POST {
        to_bytes(body, 64 * 1024)
            .await
            .map_err(|_| CoreError::Malformed {
                detail: "the body is too large",
            })?
    } else {
        axum::body::Bytes::from(query.unwrap_or_default().to_string())
    };
    Ok(url::form_urlencoded::parse(&bytes).into_owned().collect())
}

/// What a browser request's path and `client_id` name: the tenant (`None` for `common` and
/// `organizations`), and a snapshot holding the client.
async fn request_context(
    st: &AppState,
    tenant: &str,
    client_id: Option<&str>,
) -> Result<(Snapshot, Option<Tenant>), CoreError> {
    let seg = TenantSegment::parse(tenant).map_err(|m| CoreError::MalformedTenant { tenant: m.0 })?;
    let segment =
        match seg.is_alias() {
            true => None,
            false => Some(st.directory.tenants().resolve(&seg).cloned().ok_or(
                CoreError::TenantNotFound {
                    tenant: tenant.to_string(),
                },
            )?),
        };
    let snap = client_snapshot(st, segment.as_ref().map(|t| t.id), client_id).await?;
    Ok((snap, segment))
}

/// A snapshot holding the client's application and its service principal (in the path's tenant, or
/// the application's own for `common` and `organizations`).
async fn client_snapshot(
    st: &AppState,
    tenant: Option<gatehouse_proto::TenantId>,
    client_id: Option<&str>,
) -> Result<Snapshot, CoreError> {
    let mut snap = st.directory.snapshot()?;
    let Some(app_id) = client_id.and_then(AppId::parse) else {
        return Ok(snap);
    };
    let entry = st
        .directory
        .client(app_id)
        .await
        .map_err(CoreError::unavailable)?;
    if let Some(entry) = entry {
        let tenant = tenant.unwrap_or(entry.app.tenant_id);
        snap.add_client(entry);
        fill(&st.directory, &mut snap, tenant, &app_id.to_string(), None)
            .await
            .map_err(CoreError::unavailable)?;
    }
    Ok(snap)
}

/// After a valid request: with a good session, straight on (unless `prompt` asks otherwise); without
/// one, the sign-in page, or `login_required` for `prompt=none`.
pub(super) async fn proceed(
    st: &AppState,
    headers: &HeaderMap,
    mut req: AuthorizationRequest,
    now: OffsetDateTime,
) -> Response {
    // At `common` or `organizations` a multi-tenant application takes the session of any tenant.
    let session = match req.any_organization {
        true => browser_session(st, headers, now).await,
        false => current_session(st, headers, req.tenant_id, now).await,
    };
    let session = match session {
        Ok(s) => s.filter(|(session, _)| req.session_serves(session, now)),
        Err(e) => return error_page(&e),
    };
    if let Some((s, _)) = &session {
        req.sign_in_tenant(s.tenant_id);
    }
    match (req.prompt, session) {
        (Some(Prompt::None), None) => refuse(st, &req, &CoreError::LoginRequired),
        (Some(Prompt::Login), _) | (_, None) => sign_in_page(st, headers, &req, None).await,
        (Some(Prompt::SelectAccount), Some((_, user))) => {
            let ctx = match st.sealer.seal(&req) {
                Ok(c) => c,
                Err(e) => return error_page(&e),
            };
            let app = app_name(st, req.client_id).await;
            let action = format!("/{}/selectaccount", req.tenant_id);
            form_page(st, headers, |canary| pages::SelectAccount {
                action: &action,
                ctx: &ctx,
                canary,
                app_name: &app,
                display_name: &user.user.display_name,
                username: &user.user.user_principal_name,
            })
        }
        (prompt, Some((session, user))) => {
            finish(
                st,
                headers,
                &req,
                &session,
                &user,
                prompt != Some(Prompt::None),
                false,
                now,
            )
            .await
        }
    }
}

/// The username page.
pub(super) async fn sign_in_page(
    st: &AppState,
    headers: &HeaderMap,
    req: &AuthorizationRequest,
    error: Option<String>,
) -> Response {
    let ctx = match st.sealer.seal(req) {
        Ok(c) => c,
        Err(e) => return error_page(&e),
    };
    let app = app_name(st, req.client_id).await;
    let action = format!("/{}/login", req.tenant_id);
    form_page(st, headers, |canary| pages::Username {
        action: &action,
        ctx: &ctx,
        canary,
        app_name: &app,
        login_hint: req.login_hint.as_deref().unwrap_or_default(),
        error,
    })
}

/// The last step of every path through the pages: the user is signed in (`session`); if consent is
/// missing, the consent page (or `consent_required` when no page may be shown); otherwise the code.
/// `consented_now` is set when the user has just accepted, so `prompt=consent` asks once.
#[allow(clippy::too_many_arguments)]
pub(super) async fn finish(
    st: &AppState,
    headers: &HeaderMap,
    req: &AuthorizationRequest,
    session: &Session,
    user: &UserRecord,
    interactive: bool,
    consented_now: bool,
    now: OffsetDateTime,
) -> Response {
    // An administrator's consent comes first (`/adminconsent` ends there; `prompt=admin_consent`
    // goes on to the code).
    if admin_consent::asked(req) && !consented_now {
        return match interactive {
            true => admin_consent::ask(st, headers, req, user).await,
            false => refuse(st, req, &CoreError::LoginRequired),
        };
    }
    if req.admin_consent.is_some() {
        return admin_consent::granted(st, req);
    }
    match decide(st, req, user, interactive, consented_now).await {
        Ok(Decision::Consent(scopes)) => {
            let ctx = match st.sealer.seal(req) {
                Ok(c) => c,
                Err(e) => return error_page(&e),
            };
            let (app, publisher) = app_publisher(st, req.client_id).await;
            let (action, client_id) = (format!("/{}/consent", req.tenant_id), req.client_id.to_string());
            form_page(st, headers, |canary| pages::Consent {
                action: &action,
                ctx: &ctx,
                canary,
                username: &user.user.user_principal_name,
                app_name: &app,
                client_id: &client_id,
                publisher: &publisher,
                organization: None,
                scopes,
            })
        }
        Ok(Decision::Code(_)) if req.device_user_code.is_some() => {
            super::device::approve(st, req, session, user).await
        }
        Ok(Decision::Code(snap)) => match respond(st, &snap, req, session, user, now).await {
            Ok(reply) => send(st, reply),
            Err(e) => refuse(st, req, &e),
        },
        Err(Stop::Page(e)) => error_page(&e),
        Err(Stop::Client(e)) => refuse(st, req, &e),
    }
}

/// Why [`decide`] stops: something only the page may say, or an error for the client.
enum Stop {
    Page(CoreError),
    Client(CoreError),
}

enum Decision {
    /// Ask: (permission, what it allows).
    Consent(Vec<(String, String)>),
    /// Answer, from this snapshot (the client, its tenant and the keys).
    Code(Box<Snapshot>),
}

/// The answer to a finished sign-in: a code (stored before it is sent), an ID token, or both.
async fn respond(
    st: &AppState,
    snap: &Snapshot,
    req: &AuthorizationRequest,
    session: &Session,
    user: &UserRecord,
    now: OffsetDateTime,
) -> Result<Reply, CoreError> {
    let code = match req.response_type.has_code() {
        true => {
            let (code, stored) = authorize::new_code(req, session, &st.policies.authorize, now)?;
            st.store
                .insert_code(&stored)
                .await
                .map_err(CoreError::unavailable)?;
            Some(code)
        }
        false => None,
    };
    if !session.clients.contains(&req.client_id) {
        st.store
            .add_session_client(&session.id_hash, req.client_id)
            .await
            .map_err(CoreError::unavailable)?;
    }
    let id_token = match req.response_type.has_id_token() {
        true => Some(authorize::front_channel_id_token(
            snap,
            &st.base_url,
            req,
            session,
            user,
            code.as_deref(),
            now,
        )?),
        false => None,
    };
    Ok(authorize::success(req, session, code, id_token))
}

async fn decide(
    st: &AppState,
    req: &AuthorizationRequest,
    user: &UserRecord,
    interactive: bool,
    consented_now: bool,
) -> Result<Decision, Stop> {
    let fail = Stop::Client;
    let scopes = UserScopes::parse(&req.scope).map_err(fail)?;
    let state = consent_state(st, req, &scopes, user).await.map_err(fail)?;
    let snap = state.snap;
    let tenant = snap
        .tenant(req.tenant_id)
        .ok_or_else(|| fail(CoreError::Internal))?;
    let client = snap
        .application(req.client_id)
        .ok_or_else(|| fail(CoreError::Internal))?;
    // An application that requires assignment refuses unassigned users before anything else (50105).
    delegated::user_assigned(&snap, tenant, client, user).map_err(Stop::Page)?;
    let (resource, missing) =
        delegated::missing_consent(&snap, &st.base_url, tenant, client, &scopes, &state.consented)
            .map_err(fail)?;
    // Everything the request names (or `.default` stands for), consented or not.
    let (_, wanted) =
        delegated::missing_consent(&snap, &st.base_url, tenant, client, &scopes, &[]).map_err(fail)?;
    let ask_again = req.prompt == Some(Prompt::Consent) && !consented_now && !wanted.is_empty();
    // A multi-tenant application not yet in the user's organisation: consent to sign in adds it.
    let unprovisioned = state.client_sp.is_none();
    if !missing.is_empty() || ask_again || unprovisioned {
        if !interactive {
            return Err(fail(CoreError::ConsentRequired {
                client_id: req.client_id.to_string(),
                scope: req.scope.clone(),
            }));
        }
        if !delegated::user_may_grant(client, tenant, resource, &missing, unprovisioned) {
            return Err(Stop::Page(CoreError::AdminConsentRequired {
                client_id: req.client_id.to_string(),
            }));
        }
        let mut shown: Vec<(String, String)> = match unprovisioned {
            true => scopes
                .oidc()
                .iter()
                .filter_map(|o| oidc_line(o))
                .map(|(name, what)| (name.to_string(), what.to_string()))
                .collect(),
            false => vec![],
        };
        shown.extend(wanted.iter().map(|p| {
            let what = p
                .user_consent_description
                .clone()
                .or_else(|| p.user_consent_display_name.clone())
                .unwrap_or_default();
            (format!("{} ({})", p.value, resource.sp.display_name), what)
        }));
        return Ok(Decision::Consent(shown));
    }
    // Everything the token endpoint will check about the permissions, checked now, so that a request
    // that cannot succeed fails here and not at redemption.
    delegated::grant(&snap, &st.base_url, tenant, client, &scopes, &state.consented).map_err(fail)?;
    Ok(Decision::Code(Box::new(snap)))
}

/// What the consent page says an OpenID Connect scope allows.
fn oidc_line(scope: &str) -> Option<(&'static str, &'static str)> {
    match scope {
        "openid" => Some(("Sign you in", "Lets the app sign you in with your account.")),
        "profile" => Some(("View your basic profile", "Your name, user name and picture.")),
        "email" => Some(("View your email address", "Your primary email address.")),
        "offline_access" => Some((
            "Maintain access to data you have given it access to",
            "Lets the app see and update that data even when you are not using it.",
        )),
        _ => None,
    }
}

/// A snapshot with the request's client and resource, and their service principals' ids. A resource
/// not yet in the tenant that consent to this client would add (`knownClientApplications`) is in the
/// snapshot as it would be made, without an id, and returned to provision.
async fn client_and_resource(
    st: &AppState,
    req: &AuthorizationRequest,
    scopes: &UserScopes,
) -> Result<
    (
        Snapshot,
        Option<ObjectId>,
        Option<ObjectId>,
        Vec<ApplicationRecord>,
    ),
    CoreError,
> {
    let mut snap = st.directory.snapshot()?;
    let lookup = scopes.lookup_name(&st.base_url);
    let (client_sp, resource_sp) = fill(
        &st.directory,
        &mut snap,
        req.tenant_id,
        &req.client_id.to_string(),
        Some(&lookup),
    )
    .await
    .map_err(CoreError::unavailable)?;
    let pending = match resource_sp {
        Some(_) => vec![],
        None => super::bundled_apis(st, &mut snap, req.tenant_id, req.client_id).await?,
    };
    Ok((snap, client_sp, resource_sp, pending))
}

/// What a sign-in knows about consent: the snapshot (with the user's app roles), the client's service
/// principal in the tenant (none yet for a multi-tenant application there), and the scopes consented
/// for the user.
struct ConsentState {
    snap: Snapshot,
    client_sp: Option<ObjectId>,
    consented: Vec<String>,
    /// APIs consent would add with the client (see [`client_and_resource`]).
    pending: Vec<ApplicationRecord>,
}

async fn consent_state(
    st: &AppState,
    req: &AuthorizationRequest,
    scopes: &UserScopes,
    user: &UserRecord,
) -> Result<ConsentState, CoreError> {
    let (mut snap, client_sp, resource_sp, pending) = client_and_resource(st, req, scopes).await?;
    let held = st
        .directory
        .roles_held(user.user.id)
        .await
        .map_err(CoreError::unavailable)?;
    snap.add_roles(user.user.id, &held);
    let consented = match (client_sp, resource_sp) {
        (Some(c), Some(r)) => st
            .store
            .consented_scopes(req.tenant_id, c, r, user.user.id)
            .await
            .map_err(CoreError::unavailable)?,
        _ => vec![],
    };
    Ok(ConsentState {
        snap,
        client_sp,
        consented,
        pending,
    })
}

/// Records the user's consent to the named permissions of the request's resource, adding a
/// multi-tenant application to the user's organisation first if it is not there yet.
pub(super) async fn record_consent(
    st: &AppState,
    req: &AuthorizationRequest,
    user: &UserRecord,
) -> Result<(), CoreError> {
    let scopes = UserScopes::parse(&req.scope)?;
    let mut state = consent_state(st, req, &scopes, user).await?;
    // Consent adds the client, and the APIs that come with it, to the user's tenant first.
    let adds = state.client_sp.is_none() || !state.pending.is_empty();
    {
        let snap = &state.snap;
        let tenant = snap.tenant(req.tenant_id).ok_or(CoreError::Internal)?;
        let client = snap.application(req.client_id).ok_or(CoreError::Internal)?;
        let (resource, missing) =
            delegated::missing_consent(snap, &st.base_url, tenant, client, &scopes, &state.consented)?;
        // The form's sealed request is the one every page carries, so it proves no consent page was
        // shown: what the user may not grant is refused here too.
        if !delegated::user_may_grant(client, tenant, resource, &missing, state.client_sp.is_none()) {
            return Err(CoreError::AdminConsentRequired {
                client_id: req.client_id.to_string(),
            });
        }
        if adds {
            for app in state.pending.iter().chain(std::iter::once(client)) {
                service_principals::provision(st.store.as_ref(), app, tenant.id)
                    .await
                    .map_err(CoreError::unavailable)?;
            }
            st.refresh().await;
        }
    }
    if adds {
        state = consent_state(st, req, &scopes, user).await?;
    }
    let snap = &state.snap;
    let tenant = snap.tenant(req.tenant_id).ok_or(CoreError::Internal)?;
    let client = snap.application(req.client_id).ok_or(CoreError::Internal)?;
    let client_sp = state.client_sp.ok_or(CoreError::Unavailable)?;
    let (resource, missing) =
        delegated::missing_consent(snap, &st.base_url, tenant, client, &scopes, &state.consented)?;
    let values: Vec<String> = missing.iter().map(|p| p.value.clone()).collect();
    if values.is_empty() {
        return Ok(());
    }
    grants::record_consent(
        st.store.as_ref(),
        req.tenant_id,
        client_sp,
        resource.sp.id,
        Consent::Principal(user.user.id),
        &values,
    )
    .await
    .map_err(CoreError::unavailable)
}

/// An error for the client, at its verified redirect URI.
pub(super) fn back(req: &AuthorizationRequest, e: &CoreError) -> Reply {
    Reply::error(
        req.tenant_id,
        &req.redirect_uri,
        req.response_mode,
        req.state.as_deref(),
        e,
    )
}

/// Sends a reply to the client's redirect URI, with the answering tenant's issuer as `iss` (RFC 9207)
/// unless `--no-authorization-response-iss`.
pub(super) fn send(st: &AppState, r: Reply) -> Response {
    let r = match st.policies.authorize.response_iss {
        true => {
            let issuer = gatehouse_proto::discovery::v2_issuer(&st.base_url, &r.tenant_id.to_string());
            r.with_issuer(issuer)
        }
        false => r,
    };
    pages::reply(&r)
}

/// Tells the client of an error: at its redirect URI, or for a device's sign-in on the page.
pub(super) fn refuse(st: &AppState, req: &AuthorizationRequest, e: &CoreError) -> Response {
    match req.device_user_code {
        Some(_) => error_page(e),
        None => send(st, back(req, e)),
    }
}

/// The application's name and its publisher: the default domain of the organisation that registered
/// it (no publisher is verified here, so the page says so, as Entra does for unverified apps).
async fn app_publisher(st: &AppState, app_id: AppId) -> (String, String) {
    match st.directory.client(app_id).await {
        Ok(Some(entry)) => {
            let tenants = st.directory.tenants();
            let domain = tenants
                .get(entry.app.tenant_id)
                .and_then(|t| t.domains.first().cloned())
                .unwrap_or_else(|| entry.app.tenant_id.to_string());
            (entry.app.app.display_name.clone(), domain)
        }
        _ => (app_id.to_string(), String::new()),
    }
}

async fn app_name(st: &AppState, app_id: AppId) -> String {
    match st.directory.client(app_id).await {
        Ok(Some(entry)) => entry.app.app.display_name.clone(),
        _ => app_id.to_string(),
    }
}

/// The form's CSRF token: the browser's CSRF cookie if it has one, else a new one to set.
pub fn csrf_token(st: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    let names = CookieNames::for_base(&st.base_url);
    if let Some(v) = cookie(headers, names.csrf).filter(|v| v.len() >= 32) {
        return (v.to_string(), None);
    }
    let value = gatehouse_jose::random_bytes::<32>()
        .map(|b| gatehouse_jose::b64url(&b))
        .unwrap_or_default();
    let set = names.set(
        names.csrf,
        &value,
        "Strict",
        st.policies.authorize.session_lifetime.whole_seconds(),
    );
    (value, Some(set))
}

/// A page with a form: `build` gets the CSRF token to put in it; the CSRF cookie is set if the
/// browser has none yet.
pub(super) fn form_page<T: askama::Template>(
    st: &AppState,
    headers: &HeaderMap,
    build: impl FnOnce(String) -> T,
) -> Response {
    let (canary, set) = csrf_token(st, headers);
    let resp = page(StatusCode::OK, &build(canary));
    match set {
        Some(c) => with_cookie(resp, c),
        None => resp,
    }
}
