//! The authorization endpoint's rules (entra-protocol.md §1.7; RFC 6749 §4.1, RFC 7636, RFC 8252 §7.3,
//! OIDC Core §3.1.2): which requests are trusted enough to redirect to, what they may ask for, and what a
//! finished sign-in sends back. Pages, cookies and the store are the server's; time is an argument.
//!
//! Order matters: until the client and its redirect URI are verified nothing is sent anywhere (an error
//! page, [`Refusal::Page`]); after that, errors go back to the redirect URI ([`Refusal::Redirect`]).

use gatehouse_proto::graph::Application;
use gatehouse_proto::token::Secret;
use gatehouse_proto::{AppId, ObjectId, TenantId, Version};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::flows::delegated::{self, SignedIn, UserScopes};
use crate::keys::KeyRing;
use crate::model::{ApplicationRecord, CodeGrant, Session, StoredCode, Tenant, UserRecord};
use crate::{CoreError, Snapshot};

/// How the authorization endpoint judges requests. Each is a `serve` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthorizePolicy {
    /// How long a code may wait to be redeemed (Entra: about 10 minutes).
    pub code_lifetime: Duration,
    /// How long the sign-in pages may take before the request must start again.
    pub flow_lifetime: Duration,
    /// Accept `code_challenge_method=plain` (and a challenge without a method), as Entra does.
    pub pkce_plain: bool,
    /// How long a browser session lasts.
    pub session_lifetime: Duration,
    /// How long a device code waits for its user (Entra: 15 minutes).
    pub device_code_lifetime: Duration,
    /// How often a device may poll (Entra: 5 seconds); faster polls get `slow_down`.
    pub device_poll_interval: Duration,
    /// Send `iss` with every authorization response (RFC 9207, the mix-up defence). Entra does not;
    /// clients ignore a parameter they do not know, and those that know it check it.
    pub response_iss: bool,
}

impl Default for AuthorizePolicy {
    fn default() -> Self {
        Self {
            code_lifetime: Duration::minutes(10),
            flow_lifetime: Duration::minutes(30),
            pkce_plain: true,
            session_lifetime: Duration::hours(24),
            device_code_lifetime: Duration::minutes(15),
            device_poll_interval: Duration::seconds(5),
            response_iss: true,
        }
    }
}

/// The query (GET) or form (POST) of an authorization request. Each parameter may appear once.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub response_mode: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Option<String>,
    pub login_hint: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub client_info: Option<String>,
    pub max_age: Option<String>,
    pub id_token_hint: Option<String>,
}

impl AuthorizeParams {
    /// Reads decoded pairs; unknown parameters (MSAL's telemetry, `domain_hint`) are ignored.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, CoreError> {
        let mut p = Self::default();
        assign_once(&mut p, pairs, |p, k| match k {
            "client_id" => Some(&mut p.client_id),
            "redirect_uri" => Some(&mut p.redirect_uri),
            "response_type" => Some(&mut p.response_type),
            "response_mode" => Some(&mut p.response_mode),
            "scope" => Some(&mut p.scope),
            "state" => Some(&mut p.state),
            "nonce" => Some(&mut p.nonce),
            "prompt" => Some(&mut p.prompt),
            "login_hint" => Some(&mut p.login_hint),
            "code_challenge" => Some(&mut p.code_challenge),
            "code_challenge_method" => Some(&mut p.code_challenge_method),
            "client_info" => Some(&mut p.client_info),
            "max_age" => Some(&mut p.max_age),
            "id_token_hint" => Some(&mut p.id_token_hint),
            _ => None,
        })?;
        Ok(p)
    }
}

/// Puts each pair's value in the field `slot` names for its key (unknown keys are ignored); a
/// parameter sent twice is refused, as Entra refuses it.
pub(crate) fn assign_once<T>(
    target: &mut T,
    pairs: Vec<(String, String)>,
    slot: for<'a> fn(&'a mut T, &str) -> Option<&'a mut Option<String>>,
) -> Result<(), CoreError> {
    for (k, v) in pairs {
        let Some(field) = slot(target, &k) else {
            continue;
        };
        if field.is_some() {
            return Err(CoreError::Malformed {
                detail: "a parameter was sent more than once",
            });
        }
        *field = Some(v);
    }
    Ok(())
}

/// What the client asks to get back (OIDC Core §3; Multiple Response Types). `token` is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// `code`: the authorization code flow.
    #[default]
    Code,
    /// `id_token`: the implicit flow, for applications that enable ID-token issuance.
    IdToken,
    /// `code id_token`: the hybrid flow, for the same applications.
    CodeIdToken,
}

impl ResponseType {
    /// Reads the space-separated set, in any order; `None` for what is not served.
    fn parse(value: &str) -> Option<Self> {
        let mut parts: Vec<&str> = value.split(' ').filter(|p| !p.is_empty()).collect();
        parts.sort_unstable();
        match parts.as_slice() {
            ["code"] => Some(Self::Code),
            ["id_token"] => Some(Self::IdToken),
            ["code", "id_token"] => Some(Self::CodeIdToken),
            _ => None,
        }
    }

    pub fn has_code(self) -> bool {
        self != Self::IdToken
    }

    pub fn has_id_token(self) -> bool {
        self != Self::Code
    }
}

/// How the response reaches the client (OAuth 2.0 Multiple Response Types, Form Post Response Mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    Login,
    None,
    Consent,
    SelectAccount,
    /// An administrator grants the request's permissions for the whole tenant, within the sign-in.
    AdminConsent,
}

/// A validated authorization request, carried (sealed) through the sign-in pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub tenant_id: TenantId,
    pub client_id: AppId,
    pub redirect_uri: String,
    /// The redirect URI is a single-page application's.
    pub spa: bool,
    #[serde(default)]
    pub response_type: ResponseType,
    /// Asked at the v1 endpoint: an ID token sent from `/authorize` is a v1 one.
    #[serde(default)]
    pub v1: bool,
    pub response_mode: ResponseMode,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<Prompt>,
    pub login_hint: Option<String>,
    pub client_info: bool,
    /// `max_age`: a session whose sign-in is older than this many seconds signs in again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
    /// The user a verified `id_token_hint` names: a session of another user does not serve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hinted_user: Option<ObjectId>,
    /// Unix seconds after which the sign-in must start again.
    pub expires_at: i64,
    /// For a device's sign-in at `/devicelogin`: the user code it approves (no redirect URI then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_user_code: Option<String>,
    /// Asked at `common` or `organizations` for a multi-tenant application: the user's tenant, known
    /// from their name or session, answers (`tenant_id` is the application's until then).
    #[serde(default)]
    pub any_organization: bool,
    /// Started at `/adminconsent` (v1) or `/v2.0/adminconsent`: the sign-in ends in the admin consent
    /// page and a redirect with `admin_consent=True`, not in a code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_consent: Option<Version>,
}

impl AuthorizationRequest {
    /// The sign-in a user code starts at `/devicelogin`: the pages as for `/authorize`, ending in an
    /// approval of the code instead of a redirect.
    pub fn for_device(
        code: &crate::model::DeviceCode,
        policy: &AuthorizePolicy,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            tenant_id: code.tenant_id,
            client_id: code.client_id,
            redirect_uri: String::new(),
            spa: false,
            response_type: ResponseType::Code,
            v1: false,
            response_mode: ResponseMode::Query,
            scope: code.scope.clone(),
            state: None,
            nonce: None,
            code_challenge: None,
            code_challenge_method: None,
            prompt: None,
            login_hint: None,
            client_info: false,
            max_age: None,
            hinted_user: None,
            expires_at: (now + policy.flow_lifetime).unix_timestamp(),
            device_user_code: Some(code.user_code.clone()),
            any_organization: false,
            admin_consent: None,
        }
    }

    /// Moves a request made at `common` or `organizations` to the tenant of the user signing in (found
    /// from their name or their session). Other requests stay in their tenant.
    pub fn sign_in_tenant(&mut self, tenant: TenantId) {
        if self.any_organization {
            self.tenant_id = tenant;
        }
    }

    /// Whether the browser's `session` may finish this request without the sign-in pages: not when
    /// `max_age` has passed since its sign-in (OIDC Core §3.1.2.1), nor when `id_token_hint` names
    /// another user (the session never silently switches users).
    pub fn session_serves(&self, session: &Session, now: OffsetDateTime) -> bool {
        let fresh = self
            .max_age
            .is_none_or(|max| (now - session.auth_time).whole_seconds() <= max);
        let same_user = self.hinted_user.is_none_or(|u| u == session.user_id);
        fresh && same_user
    }
}

/// Who a verified `id_token_hint` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenHint {
    /// The client the ID token was issued to.
    pub client_id: AppId,
    pub tenant_id: TenantId,
    pub user_id: ObjectId,
    pub preferred_username: Option<String>,
}

/// Reads an `id_token_hint`: an ID token this cluster signed (expired or not), and not an access token
/// (RFC 8725 §3.11: access tokens carry `idtyp`, `scp` or `roles`, ID tokens none of them).
pub fn id_token_hint(keys: &KeyRing, token: &str, now: OffsetDateTime) -> Option<IdTokenHint> {
    let claims = keys.verify_own(token, now)?;
    if ["idtyp", "scp", "roles"].iter().any(|c| claims.get(c).is_some()) {
        return None;
    }
    let text = |name: &str| claims.get(name).and_then(|v| v.as_str());
    Some(IdTokenHint {
        client_id: AppId::parse(text("aud")?)?,
        tenant_id: text("tid")?.parse().ok()?,
        user_id: text("oid")?.parse().ok()?,
        preferred_username: text("preferred_username").map(str::to_string),
    })
}

/// Where a reply goes and what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The tenant answering, whose issuer the server may add as `iss` (RFC 9207).
    pub tenant_id: TenantId,
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub params: Vec<(&'static str, String)>,
}

impl Reply {
    /// An OAuth error (RFC 6749 §4.1.2.1) in Entra's words, with the request's `state`.
    pub fn error(
        tenant_id: TenantId,
        redirect_uri: &str,
        mode: ResponseMode,
        state: Option<&str>,
        e: &CoreError,
    ) -> Self {
        let mut params = vec![
            ("error", e.authorize_error().to_string()),
            (
                "error_description",
                format!("AADSTS{}: {}", e.aadsts(), e.message()),
            ),
        ];
        if let Some(s) = state {
            params.push(("state", s.to_string()));
        }
        Self {
            tenant_id,
            redirect_uri: redirect_uri.to_string(),
            mode,
            params,
        }
    }

    /// Adds the answering tenant's issuer as `iss` (RFC 9207).
    pub fn with_issuer(mut self, issuer: String) -> Self {
        self.params.push(("iss", issuer));
        self
    }

    /// The URL to redirect to (query or fragment); `None` for `form_post`, which the server renders.
    pub fn location(&self) -> Option<String> {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.params.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        match self.mode {
            ResponseMode::FormPost => None,
            ResponseMode::Fragment => Some(format!("{}#{encoded}", self.redirect_uri)),
            ResponseMode::Query => {
                let sep = if self.redirect_uri.contains('?') { '&' } else { '?' };
                Some(format!("{}{sep}{encoded}", self.redirect_uri))
            }
        }
    }
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Shown on an error page: nothing proves where the user could be sent.
    Page(CoreError),
    /// Sent back to the verified redirect URI.
    Redirect(Reply),
}

impl From<CoreError> for Refusal {
    fn from(e: CoreError) -> Self {
        Self::Page(e)
    }
}

/// Validates a request at `now`. `segment` is the path's tenant, resolved by the caller (`None` for
/// `common` and `organizations`, which mean the application's own tenant until multi-tenant apps exist).
pub fn validate(
    snap: &Snapshot,
    segment: Option<&Tenant>,
    p: &AuthorizeParams,
    endpoint: Version,
    policy: &AuthorizePolicy,
    now: OffsetDateTime,
) -> Result<AuthorizationRequest, Refusal> {
    let Verified {
        app,
        tenant,
        any_organization,
        redirect_uri,
        spa,
    } = verify_client(
        snap,
        segment,
        p.client_id.as_deref(),
        p.redirect_uri.as_deref(),
        false,
    )?;
    let app_id = app.app.app_id;

    // From here on, errors go back to the client: in the fragment when an ID token was asked for
    // (tokens never travel in a query), as the request's `response_mode` says otherwise.
    let state = p.state.clone();
    let response_type_raw = p.response_type.as_deref().unwrap_or_default();
    let response_type = ResponseType::parse(response_type_raw);
    let asks_token = response_type_raw
        .split(' ')
        .any(|t| t == "id_token" || t == "token");
    let default_mode = match asks_token {
        true => ResponseMode::Fragment,
        false => ResponseMode::Query,
    };
    let mode = match p.response_mode.as_deref() {
        None => Some(default_mode),
        Some("query") if default_mode == ResponseMode::Query => Some(ResponseMode::Query),
        Some("fragment") => Some(ResponseMode::Fragment),
        Some("form_post") => Some(ResponseMode::FormPost),
        Some(_) => None,
    };
    let back = |e: CoreError| {
        Refusal::Redirect(Reply::error(
            tenant,
            &redirect_uri,
            mode.unwrap_or(default_mode),
            state.as_deref(),
            &e,
        ))
    };
    let response_type = response_type.ok_or_else(|| {
        back(CoreError::UnsupportedResponseType {
            response_type: response_type_raw.chars().take(50).collect(),
        })
    })?;
    let mode = mode.ok_or_else(|| {
        back(CoreError::InvalidAuthorizeParameter {
            name: "response_mode",
        })
    })?;
    let scope = p
        .scope
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| back(CoreError::MissingParameter { name: "scope" }))?;
    let scopes = UserScopes::parse(&scope).map_err(back)?;
    if response_type.has_id_token() {
        // Implicit and hybrid (OIDC Core §3.2.2.1, §3.3.2.11): only where the application enables
        // ID-token issuance (Entra: AADSTS700054), only with `openid`, and always with a nonce.
        if !app.app.web.implicit_grant_settings.enable_id_token_issuance {
            return Err(back(CoreError::ResponseTypeNotEnabled {
                response_type: "id_token",
            }));
        }
        if !scopes.has("openid") {
            return Err(back(CoreError::InvalidAuthorizeParameter { name: "scope" }));
        }
        if p.nonce.as_deref().is_none_or(str::is_empty) {
            return Err(back(CoreError::MissingParameter { name: "nonce" }));
        }
    }
    let max_age = match p.max_age.as_deref() {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|m| *m >= 0)
                .ok_or_else(|| back(CoreError::InvalidAuthorizeParameter { name: "max_age" }))?,
        ),
    };
    let hint = match p.id_token_hint.as_deref() {
        None => None,
        Some(t) => Some(
            id_token_hint(&snap.keys, t, now)
                .filter(|h| h.client_id == app_id)
                .filter(|h| h.tenant_id == tenant || (any_organization && snap.tenant(h.tenant_id).is_some()))
                .ok_or_else(|| {
                    back(CoreError::InvalidAuthorizeParameter {
                        name: "id_token_hint",
                    })
                })?,
        ),
    };
    let prompt = match p.prompt.as_deref() {
        None => None,
        Some("login") => Some(Prompt::Login),
        Some("none") => Some(Prompt::None),
        Some("consent") => Some(Prompt::Consent),
        Some("select_account") => Some(Prompt::SelectAccount),
        Some("admin_consent") => Some(Prompt::AdminConsent),
        Some(_) => return Err(back(CoreError::InvalidAuthorizeParameter { name: "prompt" })),
    };
    let (code_challenge, code_challenge_method) = pkce(p, policy).map_err(back)?;
    let public = spa || is_native_redirect(&app.app, &redirect_uri);
    if public && response_type.has_code() && code_challenge.is_none() {
        return Err(back(CoreError::PkceRequired));
    }
    // At `common`, a hint from another organisation names the tenant the sign-in is for.
    let tenant = hint.as_ref().map_or(tenant, |h| h.tenant_id);
    Ok(AuthorizationRequest {
        tenant_id: tenant,
        client_id: app_id,
        redirect_uri,
        spa,
        response_type,
        v1: endpoint == Version::V1,
        response_mode: mode,
        scope,
        state,
        nonce: p.nonce.clone(),
        code_challenge,
        code_challenge_method,
        prompt,
        login_hint: p
            .login_hint
            .clone()
            .or_else(|| hint.as_ref().and_then(|h| h.preferred_username.clone())),
        client_info: p.client_info.as_deref() == Some("1"),
        max_age,
        hinted_user: hint.map(|h| h.user_id),
        expires_at: (now + policy.flow_lifetime).unix_timestamp(),
        device_user_code: None,
        any_organization,
        admin_consent: None,
    })
}

/// What [`verify_client`] established: the client, the tenant the request is for, and the redirect
/// URI, which is now safe to send errors to.
pub struct Verified<'a> {
    pub app: &'a ApplicationRecord,
    pub tenant: TenantId,
    /// At `common` or `organizations` for a multi-tenant application: the user's tenant will answer.
    pub any_organization: bool,
    pub redirect_uri: String,
    pub spa: bool,
}

/// The first checks of every browser request (`/authorize`, `/adminconsent`): the client exists and
/// may be used in the tenant (700016), and the redirect URI is one it registered (50011). Until these
/// pass, nothing is sent anywhere but an error page.
/// `provisions`: the request may add the client's service principal to its home tenant too (admin
/// consent does; a sign-in at home needs it there already, 700016).
pub fn verify_client<'a>(
    snap: &'a Snapshot,
    segment: Option<&Tenant>,
    client_id: Option<&str>,
    redirect_uri: Option<&str>,
    provisions: bool,
) -> Result<Verified<'a>, CoreError> {
    let client_id = client_id
        .filter(|c| !c.is_empty())
        .ok_or(CoreError::MissingParameter { name: "client_id" })?;
    let not_found = |tenant: String| CoreError::ClientNotFound {
        client_id: client_id.chars().take(100).collect(),
        tenant,
    };
    let tenant_name = || {
        segment
            .map(|t| t.id.to_string())
            .unwrap_or_else(|| "common".into())
    };
    let app_id = AppId::parse(client_id).ok_or_else(|| not_found(tenant_name()))?;
    let app = snap.application(app_id).ok_or_else(|| not_found(tenant_name()))?;
    // `common` and `organizations` start in the application's tenant; for a multi-tenant application
    // the user's name later picks theirs ([`AuthorizationRequest::sign_in_tenant`]). Elsewhere than
    // home, a multi-tenant application needs no service principal yet: consent creates it.
    let (tenant, any_organization) = match segment {
        Some(t) => (t.id, false),
        None => (app.tenant_id, app.app.sign_in_audience.is_multi_organization()),
    };
    // At home a sign-in needs the service principal there already, unless the user's tenant is not
    // known yet (`organizations`) or the request adds it (admin consent).
    let provisioned = snap.service_principal(tenant, app_id).is_some();
    let home_needs_it = tenant == app.tenant_id && !provisions && !any_organization;
    if !app.serves(tenant) || (home_needs_it && !provisioned) {
        return Err(not_found(tenant.to_string()));
    }
    let (redirect_uri, spa) = match redirect_uri {
        Some(uri) => (
            uri.to_string(),
            registered(&app.app, uri).ok_or_else(|| CoreError::RedirectUriMismatch {
                redirect_uri: uri.chars().take(500).collect(),
                client_id: client_id.to_string(),
            })?,
        ),
        None => only_redirect_uri(app)?,
    };
    Ok(Verified {
        app,
        tenant,
        any_organization,
        redirect_uri,
        spa,
    })
}

/// The registered redirect URI `uri` matches exactly (RFC 9700 §2.1), on which platform: `Some(true)`
/// for a single-page application's. A mobile/desktop (public client) `http` loopback URI matches on any
/// port (RFC 8252 §7.3).
pub fn registered(app: &Application, uri: &str) -> Option<bool> {
    if app.spa.redirect_uris.iter().any(|r| r == uri) {
        return Some(true);
    }
    let web = app.web.redirect_uris.iter().any(|r| r == uri);
    (web || is_native_redirect(app, uri)).then_some(false)
}

/// Whether `uri` is one of the application's mobile/desktop (public client) redirect URIs.
pub fn is_native_redirect(app: &Application, uri: &str) -> bool {
    app.public_client
        .redirect_uris
        .iter()
        .any(|r| r == uri || loopback_match(r, uri))
}

/// `requested` is `registered` on another port of the same loopback host (`http://localhost`,
/// `http://127.0.0.1`, `http://[::1]`), with the same path and query.
fn loopback_match(registered: &str, requested: &str) -> bool {
    let (Ok(r), Ok(q)) = (url::Url::parse(registered), url::Url::parse(requested)) else {
        return false;
    };
    let loopback = |u: &url::Url| {
        u.scheme() == "http" && matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
    };
    loopback(&r)
        && loopback(&q)
        && r.host_str() == q.host_str()
        && r.path() == q.path()
        && r.query() == q.query()
        && q.fragment().is_none()
}

/// Without `redirect_uri`, Entra uses the application's only one; with several, it cannot choose.
fn only_redirect_uri(app: &ApplicationRecord) -> Result<(String, bool), CoreError> {
    let a = &app.app;
    let all: Vec<(&String, bool)> = a
        .web
        .redirect_uris
        .iter()
        .chain(a.public_client.redirect_uris.iter())
        .map(|u| (u, false))
        .chain(a.spa.redirect_uris.iter().map(|u| (u, true)))
        .collect();
    match all.as_slice() {
        [(uri, spa)] => Ok(((*uri).clone(), *spa)),
        [] => Err(CoreError::NoRedirectUri {
            client_id: a.app_id.to_string(),
        }),
        _ => Err(CoreError::MissingParameter { name: "redirect_uri" }),
    }
}

/// The PKCE challenge and method (RFC 7636 §4.3): `S256`, or `plain` (also when no method is given,
/// as Entra reads it) unless the policy refuses it.
fn pkce(
    p: &AuthorizeParams,
    policy: &AuthorizePolicy,
) -> Result<(Option<String>, Option<String>), CoreError> {
    let Some(challenge) = p.code_challenge.clone() else {
        return match p.code_challenge_method {
            Some(_) => Err(CoreError::InvalidAuthorizeParameter {
                name: "code_challenge",
            }),
            None => Ok((None, None)),
        };
    };
    let method = match p.code_challenge_method.as_deref() {
        Some("S256") => "S256",
        Some("plain") | None if policy.pkce_plain => "plain",
        _ => {
            return Err(CoreError::InvalidAuthorizeParameter {
                name: "code_challenge_method",
            })
        }
    };
    let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    if !(43..=128).contains(&challenge.len()) || !challenge.chars().all(unreserved) {
        return Err(CoreError::InvalidAuthorizeParameter {
            name: "code_challenge",
        });
    }
    Ok((Some(challenge), Some(method.to_string())))
}

/// Whether `verifier` answers the challenge a code was issued with (RFC 7636 §4.6); a verifier sent for
/// a code issued without a challenge is refused too (PKCE downgrade, RFC 9700 §4.8).
pub fn pkce_verified(grant: &CodeGrant, verifier: Option<&Secret>) -> bool {
    use subtle::ConstantTimeEq;
    match (&grant.code_challenge, verifier) {
        (None, None) => true,
        (None, Some(_)) | (Some(_), None) => false,
        (Some(challenge), Some(v)) => {
            let computed = match grant.code_challenge_method.as_deref() {
                Some("S256") => gatehouse_jose::b64url(&gatehouse_jose::sha256(v.expose().as_bytes())),
                _ => v.expose().to_string(),
            };
            computed.as_bytes().ct_eq(challenge.as_bytes()).into()
        }
    }
}

/// A new authorization code for a finished sign-in, and the record the server stores before sending
/// it (only its hash).
pub fn new_code(
    req: &AuthorizationRequest,
    session: &Session,
    policy: &AuthorizePolicy,
    now: OffsetDateTime,
) -> Result<(String, StoredCode), CoreError> {
    let bytes = gatehouse_jose::random_bytes::<32>().map_err(|_| CoreError::Internal)?;
    let code = gatehouse_jose::b64url(&bytes);
    let stored = StoredCode {
        hash: gatehouse_jose::sha256(code.as_bytes()),
        tenant_id: req.tenant_id,
        grant: CodeGrant {
            client_id: req.client_id,
            redirect_uri: req.redirect_uri.clone(),
            spa: req.spa,
            scope: req.scope.clone(),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.clone(),
            code_challenge_method: req.code_challenge_method.clone(),
            user_id: session.user_id,
            auth_time: session.auth_time,
            sid: Some(session.sid),
            family_id: Uuid::new_v4(),
            client_info: req.client_info,
        },
        expires_at: now + policy.code_lifetime,
        redeemed: false,
    };
    Ok((code, stored))
}

/// The ID token `/authorize` sends itself (implicit and hybrid), with `c_hash` beside a `code`.
pub fn front_channel_id_token(
    snap: &Snapshot,
    base_url: &str,
    req: &AuthorizationRequest,
    session: &Session,
    user: &UserRecord,
    code: Option<&str>,
    now: OffsetDateTime,
) -> Result<Secret, CoreError> {
    let tenant = snap.tenant(req.tenant_id).ok_or(CoreError::Internal)?;
    let client = snap.application(req.client_id).ok_or(CoreError::Internal)?;
    let who = SignedIn {
        tenant,
        client,
        client_acr: "0",
        user,
        nonce: req.nonce.clone(),
        session_id: Some(session.sid.to_string()),
        client_info: req.client_info,
        auth_time: session.auth_time,
    };
    let endpoint = if req.v1 { Version::V1 } else { Version::V2 };
    let scopes = UserScopes::parse(&req.scope)?;
    let c_hash = code.map(|c| {
        let digest = gatehouse_jose::sha256(c.as_bytes());
        gatehouse_jose::b64url(&digest[..16])
    });
    delegated::id_token(snap, endpoint, base_url, &who, &scopes, c_hash, now)
}

/// What a finished sign-in sends back: the code, the ID token, or both, as the request asked.
pub fn success(
    req: &AuthorizationRequest,
    session: &Session,
    code: Option<String>,
    id_token: Option<Secret>,
) -> Reply {
    let mut params = vec![];
    if let Some(c) = code {
        params.push(("code", c));
    }
    if let Some(t) = id_token {
        params.push(("id_token", t.expose().to_string()));
    }
    if req.client_info {
        let info =
            serde_json::json!({"uid": session.user_id.to_string(), "utid": session.tenant_id.to_string()});
        params.push(("client_info", gatehouse_jose::b64url(info.to_string().as_bytes())));
    }
    if let Some(s) = &req.state {
        params.push(("state", s.clone()));
    }
    params.push(("session_state", session.sid.to_string()));
    Reply {
        tenant_id: req.tenant_id,
        redirect_uri: req.redirect_uri.clone(),
        mode: req.response_mode,
        params,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirect_uris_match_on_any_port_and_nothing_else_does() {
        assert!(loopback_match("http://localhost", "http://localhost:51004"));
        assert!(loopback_match("http://127.0.0.1/cb", "http://127.0.0.1:8400/cb"));
        assert!(!loopback_match(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:8400/cb/x"
        ));
        assert!(!loopback_match("http://localhost/cb", "http://127.0.0.1:8400/cb"));
        assert!(!loopback_match(
            "https://localhost/cb",
            "https://localhost:8400/cb"
        ));
        assert!(!loopback_match(
            "http://localhost/cb",
            "http://localhost:1/cb?a=1"
        ));
    }

    #[test]
    fn pkce_s256_and_plain_are_checked_and_a_downgrade_is_refused() {
        let verifier = Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        let mut g = CodeGrant {
            client_id: AppId::default(),
            redirect_uri: String::new(),
            spa: false,
            scope: String::new(),
            nonce: None,
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            code_challenge_method: Some("S256".into()),
            user_id: Default::default(),
            auth_time: OffsetDateTime::UNIX_EPOCH,
            sid: None,
            family_id: Uuid::nil(),
            client_info: false,
        };
        assert!(pkce_verified(&g, Some(&verifier)), "RFC 7636 appendix B");
        assert!(!pkce_verified(&g, Some(&Secret::new("wrong"))));
        assert!(!pkce_verified(&g, None));
        g.code_challenge_method = Some("plain".into());
        g.code_challenge = Some(verifier.expose().into());
        assert!(pkce_verified(&g, Some(&verifier)));
        g.code_challenge = None;
        assert!(!pkce_verified(&g, Some(&verifier)), "no challenge, no verifier");
        assert!(pkce_verified(&g, None));
    }

    #[test]
    fn pkce_challenges_are_checked_at_the_authorization_endpoint() {
        let with = |challenge: &str, method: Option<&str>| AuthorizeParams {
            code_challenge: Some(challenge.into()),
            code_challenge_method: method.map(str::to_string),
            ..AuthorizeParams::default()
        };
        let entra = AuthorizePolicy::default();
        let strict = AuthorizePolicy {
            pkce_plain: false,
            ..entra
        };
        let good = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce(&with(good, Some("S256")), &strict).is_ok());
        assert_eq!(
            pkce(&with(good, None), &entra).unwrap().1.as_deref(),
            Some("plain"),
            "RFC 7636 §4.3: no method means plain"
        );
        let refused = [
            (
                with(good, None),
                &strict,
                "no method under S256-only is not silently plain",
            ),
            (with(good, Some("plain")), &strict, "plain refused by policy"),
            (with(good, Some("S512")), &entra, "unsupported transform"),
            (with(&format!("{good}="), Some("S256")), &entra, "padded"),
            (
                with("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+c/", Some("S256")),
                &entra,
                "standard base64",
            ),
            (with(&good[..42], Some("S256")), &entra, "42 characters"),
            (with(&"a".repeat(129), Some("plain")), &entra, "129 characters"),
        ];
        for (params, policy, why) in refused {
            assert!(
                matches!(
                    pkce(&params, policy),
                    Err(CoreError::InvalidAuthorizeParameter { .. })
                ),
                "{why}"
            );
        }
    }

    #[test]
    fn codes_are_256_random_bits_and_share_nothing() {
        let req = AuthorizationRequest::for_device(
            &crate::model::DeviceCode {
                device_hash: [0; 32],
                user_code: "BCDFGHJKL".into(),
                tenant_id: TenantId::default(),
                client_id: AppId::default(),
                scope: "openid".into(),
                expires_at: OffsetDateTime::UNIX_EPOCH,
                interval_secs: 5,
                state: crate::model::DeviceState::Pending,
                family_id: Uuid::nil(),
            },
            &AuthorizePolicy::default(),
            OffsetDateTime::UNIX_EPOCH,
        );
        let session = Session {
            id_hash: [0; 32],
            sid: Uuid::nil(),
            tenant_id: TenantId::default(),
            user_id: ObjectId::default(),
            auth_time: OffsetDateTime::UNIX_EPOCH,
            expires_at: OffsetDateTime::UNIX_EPOCH,
            clients: vec![],
        };
        let mut codes = std::collections::HashSet::new();
        let mut prefixes = std::collections::HashSet::new();
        for _ in 0..1000 {
            let (code, stored) = new_code(
                &req,
                &session,
                &AuthorizePolicy::default(),
                OffsetDateTime::UNIX_EPOCH,
            )
            .unwrap();
            assert_eq!(code.len(), 43, "32 bytes in base64url");
            assert_eq!(
                stored.hash,
                gatehouse_jose::sha256(code.as_bytes()),
                "only its hash is kept"
            );
            prefixes.insert(code[..8].to_string());
            codes.insert(code);
        }
        assert_eq!((codes.len(), prefixes.len()), (1000, 1000));
    }

    #[test]
    fn replies_go_by_query_fragment_or_form_post() {
        let r = Reply {
            tenant_id: TenantId::default(),
            redirect_uri: "https://app.example/cb?x=1".into(),
            mode: ResponseMode::Query,
            params: vec![("code", "a b".into()), ("state", "s&t".into())],
        };
        assert_eq!(
            r.location().unwrap(),
            "https://app.example/cb?x=1&code=a+b&state=s%26t"
        );
        let f = Reply {
            mode: ResponseMode::Fragment,
            redirect_uri: "https://app.example/cb".into(),
            ..r.clone()
        };
        assert_eq!(
            f.location().unwrap(),
            "https://app.example/cb#code=a+b&state=s%26t"
        );
        let p = Reply {
            mode: ResponseMode::FormPost,
            ..r
        };
        assert_eq!(p.location(), None);
    }
}
