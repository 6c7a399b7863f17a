//! The token endpoint's pipeline (ARCHITECTURE.md "How a request flows"). The form is parsed once into
//! a [`TokenRequest`], one variant per grant; [`issue`] fetches what needs the network (an external
//! issuer's key) through [`IssuerKeys`], then runs the grant's module, a pure function of the
//! snapshot, the request and the time. The grant returns an [`Issued`]: the token to send and the
//! single-use records the server commits before it answers. No grant writes to the store itself.
//!
//! Adding a grant is one module here and one variant of [`TokenRequest`] (with its arm in
//! [`TokenRequest::parse`] and [`issue`]).

pub mod assertion;
pub mod authorization_code;
pub mod client_auth;
pub mod client_credentials;
pub mod delegated;
pub mod device_code;
pub mod managed_identity;
pub mod mint;
pub mod on_behalf_of;
pub mod password;
pub mod refresh;

/// A bootstrapped tenant as a snapshot, and a token context for it, for the grants' unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::{Policies, TokenContext};
    use crate::admin::bootstrap::{first_tenant, BootstrapOutput};
    use crate::keys::KeyRing;
    use crate::Snapshot;
    use gatehouse_jose::kek::Kek;
    use gatehouse_proto::Version;
    use time::macros::datetime;
    use time::OffsetDateTime;

    pub const BASE: &str = "https://localhost:8443";
    pub const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    pub fn world() -> (Snapshot, BootstrapOutput) {
        let (snap, out, _) = world_with_user();
        (snap, out)
    }

    /// The same, with the tenant's first user (`admin@contoso.example`).
    pub fn world_with_user() -> (Snapshot, BootstrapOutput, crate::model::UserRecord) {
        let kek = Kek::generate().unwrap();
        let (data, out) = first_tenant("contoso.example", &kek, NOW).unwrap();
        let user = data.users[0].clone();
        let keys = KeyRing::build(&data.keys, &kek, &KeyRing::default());
        (Snapshot::build(data, keys), out, user)
    }

    pub fn ctx(endpoint: Version, tenant: &str) -> TokenContext {
        TokenContext::new(endpoint, tenant, BASE, Policies::default()).unwrap()
    }
}

use async_trait::async_trait;
use gatehouse_proto::tenant::TenantSegment;
use gatehouse_proto::token::{Secret, TokenForm, UserTokens};
pub use gatehouse_proto::Version;
use gatehouse_proto::{AppId, ObjectId, TenantId};
use time::OffsetDateTime;

use self::assertion::{AssertionPolicy, ReplayGuard};
use self::authorization_code::CodeRequest;
use self::client_auth::{ClientParameters, PresentedClient};
use self::client_credentials::ClientCredentialsRequest;
use self::delegated::{UserScopes, UserTokenPolicy};
use self::device_code::DeviceCodeRequest;
use self::mint::MintedToken;
use self::on_behalf_of::OboRequest;
use self::password::PasswordRequest;
use self::refresh::RefreshRequest;
use crate::model::{
    name_key, ApplicationRecord, RefreshFamily, ServicePrincipalRecord, StoredRefreshToken, Tenant,
    UserRecord,
};
use crate::passwords::Hasher;
use crate::signin::{self, Attempt, SignInPolicy};
use crate::snapshot::resource_app_id;
use crate::store::StoreError;
use crate::{CoreError, Directory, Snapshot};

/// The server's settings for judging token requests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policies {
    pub assertions: AssertionPolicy,
    pub sign_in: SignInPolicy,
    pub user_tokens: UserTokenPolicy,
    pub authorize: crate::authorize::AuthorizePolicy,
}

/// Where a request arrived and the server's settings for judging it: the same for every grant.
#[derive(Debug, Clone)]
pub struct TokenContext {
    /// Which token endpoint was called: v1 (`/oauth2/token`) or v2 (`/oauth2/v2.0/token`).
    pub endpoint: Version,
    /// The `{tenant}` path segment, parsed.
    pub tenant: TenantSegment,
    /// The segment as sent, for error messages.
    pub tenant_raw: String,
    /// This server's public URL (the issuer's host).
    pub base_url: String,
    pub policies: Policies,
    /// The client's network address, as the server sees it (password failures are counted per address).
    pub client_address: String,
    /// The request's `Origin` header: a browser's cross-origin request (a single-page application).
    pub origin: Option<String>,
}

impl TokenContext {
    /// Parses the tenant segment first, as Entra does: a malformed one is refused before the body.
    pub fn new(
        endpoint: Version,
        tenant_raw: &str,
        base_url: &str,
        policies: Policies,
    ) -> Result<Self, CoreError> {
        let tenant =
            TenantSegment::parse(tenant_raw).map_err(|m| CoreError::MalformedTenant { tenant: m.0 })?;
        Ok(Self {
            endpoint,
            tenant,
            tenant_raw: tenant_raw.to_string(),
            base_url: base_url.to_string(),
            policies,
            client_address: String::new(),
            origin: None,
        })
    }

    /// Whether the path names a tenant other than `tenant`, the one a presented code, refresh token
    /// or assertion belongs to (`common` and `organizations` name none).
    pub(crate) fn names_other_tenant(&self, snap: &Snapshot, tenant: TenantId) -> bool {
        !self.tenant.is_alias() && snap.resolve_tenant(&self.tenant).map(|t| t.id) != Some(tenant)
    }
}

/// A token request, one variant per grant (RFC 6749 §4.4 and Entra's grants, entra-protocol.md §2).
#[derive(Debug, Clone)]
pub enum TokenRequest {
    ClientCredentials(ClientCredentialsRequest),
    Password(PasswordRequest),
    RefreshToken(RefreshRequest),
    AuthorizationCode(CodeRequest),
    DeviceCode(DeviceCodeRequest),
    OnBehalfOf(OboRequest),
}

impl TokenRequest {
    /// Reads the form once: the client's authentication (body or HTTP Basic), then the grant and its
    /// parameters.
    pub fn parse(form: TokenForm, basic: Option<(String, Secret)>) -> Result<Self, CoreError> {
        let params = ClientParameters {
            client_id: form.client_id.as_deref(),
            client_secret: form.client_secret.as_ref(),
            client_assertion: form.client_assertion.as_ref(),
            client_assertion_type: form.client_assertion_type.as_deref(),
        };
        let client = PresentedClient::from_request(params, basic)?;
        let client_info = form.client_info.as_deref() == Some("1");
        let required = |v: Option<Secret>, name| {
            v.filter(|s| !s.expose().is_empty())
                .ok_or(CoreError::MissingParameter { name })
        };
        match form.grant_type.as_deref() {
            None | Some("") => Err(CoreError::MissingParameter { name: "grant_type" }),
            Some("client_credentials") => Ok(Self::ClientCredentials(ClientCredentialsRequest {
                client,
                scope: form.scope,
                resource: form.resource,
            })),
            Some("password") => Ok(Self::Password(PasswordRequest {
                client,
                username: form
                    .username
                    .filter(|u| !u.is_empty())
                    .ok_or(CoreError::MissingParameter { name: "username" })?,
                password: required(form.password, "password")?,
                scope: form.scope,
                client_info,
            })),
            Some("refresh_token") => Ok(Self::RefreshToken(RefreshRequest {
                client,
                refresh_token: required(form.refresh_token, "refresh_token")?,
                scope: form.scope,
                client_info,
            })),
            Some("authorization_code") => Ok(Self::AuthorizationCode(CodeRequest {
                client,
                code: required(form.code, "code")?,
                redirect_uri: form.redirect_uri,
                code_verifier: form.code_verifier,
                scope: form.scope,
                client_info,
            })),
            // msal-node sends the bare name; MSAL Python sends the device code as `code` too.
            Some("urn:ietf:params:oauth:grant-type:device_code" | "device_code") => {
                Ok(Self::DeviceCode(DeviceCodeRequest {
                    client,
                    device_code: required(form.device_code.or(form.code), "device_code")?,
                    client_info,
                }))
            }
            Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => {
                match form.requested_token_use.as_deref() {
                    Some("on_behalf_of") => Ok(Self::OnBehalfOf(OboRequest {
                        client,
                        assertion: required(form.assertion, "assertion")?,
                        scope: form.scope,
                        client_info,
                    })),
                    None | Some("") => Err(CoreError::MissingParameter {
                        name: "requested_token_use",
                    }),
                    Some(_) => Err(CoreError::InvalidAuthorizeParameter {
                        name: "requested_token_use",
                    }),
                }
            }
            Some(other) => Err(CoreError::UnsupportedGrantType {
                grant_type: other.chars().take(100).collect(),
            }),
        }
    }

    /// The username of a password grant (the sign-in log names who tried).
    pub fn username(&self) -> Option<&str> {
        match self {
            Self::Password(r) => Some(&r.username),
            _ => None,
        }
    }

    /// The grant's name, as metrics and logs give it.
    pub fn grant_name(&self) -> &'static str {
        match self {
            Self::ClientCredentials(_) => "client_credentials",
            Self::Password(_) => "password",
            Self::RefreshToken(_) => "refresh_token",
            Self::AuthorizationCode(_) => "authorization_code",
            Self::DeviceCode(_) => "device_code",
            Self::OnBehalfOf(_) => "on_behalf_of",
        }
    }

    /// The client id the request presents (not yet authenticated).
    pub fn client_id(&self) -> &str {
        match self {
            Self::ClientCredentials(r) => &r.client.client_id,
            Self::Password(r) => &r.client.client_id,
            Self::RefreshToken(r) => &r.client.client_id,
            Self::AuthorizationCode(r) => &r.client.client_id,
            Self::DeviceCode(r) => &r.client.client_id,
            Self::OnBehalfOf(r) => &r.client.client_id,
        }
    }

    /// The client every grant authenticates.
    fn client_mut(&mut self) -> &mut PresentedClient {
        match self {
            Self::ClientCredentials(r) => &mut r.client,
            Self::Password(r) => &mut r.client,
            Self::RefreshToken(r) => &mut r.client,
            Self::AuthorizationCode(r) => &mut r.client,
            Self::DeviceCode(r) => &mut r.client,
            Self::OnBehalfOf(r) => &mut r.client,
        }
    }
}

/// A decided request: the tokens to send, and what must be durable before they are sent.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: MintedToken,
    /// The resource as the request named it (v1 responses echo it).
    pub resource: String,
    /// The response's `scope` (a user's flows).
    pub scope: Option<String>,
    /// Refresh token, ID token and `client_info` (a user's flows).
    pub user: UserTokens,
    /// Records to commit, in order, before the response leaves (commit, then respond).
    pub single_use: Vec<SingleUse>,
    /// Who the token was issued to, for the sign-in log.
    pub subject: Subject,
}

/// Whom a token was issued to, and for what: the facts of a sign-in record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub tenant_id: gatehouse_proto::TenantId,
    pub client_id: gatehouse_proto::AppId,
    /// The signed-in user, in a user's flows.
    pub user_id: Option<gatehouse_proto::ObjectId>,
    /// The resource's service principal: its object id and display name.
    pub resource_id: gatehouse_proto::ObjectId,
    pub resource_name: String,
}

/// A record the server makes durable before it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SingleUse {
    /// A client assertion's `jti` (OIDC Core §9): recording it fails if it was recorded before.
    AssertionId(ReplayGuard),
    /// A new family of refresh tokens and its first token.
    NewRefreshFamily(Box<(RefreshFamily, StoredRefreshToken)>),
    /// Exchanges a refresh token for its successor. Fails, and revokes the family, if `old` was used
    /// before `grace_from` or the family was revoked meanwhile.
    RotateRefresh {
        old: [u8; 32],
        new: StoredRefreshToken,
        grace_from: OffsetDateTime,
    },
    /// Redeems an authorization code (by its hash). Fails if it was redeemed before, and then revokes
    /// what the first redemption issued.
    RedeemCode([u8; 32]),
    /// Marks an approved device code redeemed (by the device code's hash); fails if it was already.
    RedeemDeviceCode([u8; 32]),
}

/// The signing keys of external issuers (federated credentials), which only the server can fetch.
#[async_trait]
pub trait IssuerKeys: Send + Sync {
    /// The RSA key (`n`, `e`) that `issuer` publishes under `kid`; `None` if it cannot be had.
    async fn rsa_key(&self, issuer: &str, kid: &str) -> Option<(Vec<u8>, Vec<u8>)>;
}

/// What only the server can do for a grant: fetch external issuers' keys, and hash passwords off the
/// async runtime.
#[derive(Clone, Copy)]
pub struct Services<'a> {
    pub issuer_keys: &'a dyn IssuerKeys,
    pub hasher: &'a dyn Hasher,
}

/// Runs a token request through its grant. `clock` is read when the decision is made, and again
/// only if the request first waited on an external issuer or a password hash.
pub async fn issue(
    directory: &Directory,
    services: Services<'_>,
    mut req: TokenRequest,
    ctx: &TokenContext,
    clock: impl Fn() -> OffsetDateTime,
) -> Result<Issued, CoreError> {
    let (mut snap, mut found) = prefetch(directory, &req, ctx, clock()).await?;
    if client_auth::fetch_federated_key(&snap, services.issuer_keys, req.client_mut()).await {
        // Fetching an external issuer's keys can take a while: decide on fresh entries.
        (snap, found) = prefetch(directory, &req, ctx, clock()).await?;
    }
    let now = clock();
    match (&req, found) {
        (TokenRequest::ClientCredentials(r), _) => client_credentials::issue(&snap, ctx, r, now),
        (TokenRequest::RefreshToken(r), found) => {
            refresh::issue(&snap, ctx, r, found.and_then(Found::refresh).as_ref(), now)
        }
        (TokenRequest::AuthorizationCode(r), found) => {
            authorization_code::issue(&snap, ctx, r, found.and_then(Found::code).as_ref(), now)
        }
        (TokenRequest::DeviceCode(r), found) => {
            device_code::issue(&snap, ctx, r, found.and_then(Found::device).as_ref(), now)
        }
        (TokenRequest::OnBehalfOf(r), found) => {
            on_behalf_of::issue(&snap, ctx, r, found.and_then(Found::obo).as_ref(), now)
        }
        (TokenRequest::Password(r), _) => {
            let checked = password::check(&snap, ctx, r, now)?;
            let attempt = Attempt {
                tenant: checked.tenant.id,
                upn: r.username.clone(),
                password: r.password.clone(),
                client_address: ctx.client_address.clone(),
            };
            let store = directory.store();
            let user = signin::authenticate(
                store.as_ref(),
                services.hasher,
                &ctx.policies.sign_in,
                attempt,
                now,
            )
            .await
            .map_err(CoreError::SignIn)?;
            add_user_roles(directory, &mut snap, user.user.id).await?;
            let consented = store
                .consented_scopes(
                    checked.tenant.id,
                    checked.client_sp,
                    checked.resource_sp,
                    user.user.id,
                )
                .await
                .map_err(CoreError::unavailable)?;
            password::issue(&snap, ctx, r, checked, &user, &consented, clock())
        }
    }
}

/// What a refresh token or a code stands for, read from the store before the decision.
enum Found {
    Refresh(refresh::Found),
    Code(authorization_code::Found),
    Device(device_code::Found),
    Obo(on_behalf_of::Found),
}

impl Found {
    fn refresh(self) -> Option<refresh::Found> {
        match self {
            Self::Refresh(f) => Some(f),
            _ => None,
        }
    }

    fn code(self) -> Option<authorization_code::Found> {
        match self {
            Self::Code(f) => Some(f),
            _ => None,
        }
    }

    fn device(self) -> Option<device_code::Found> {
        match self {
            Self::Device(f) => Some(f),
            _ => None,
        }
    }

    fn obo(self) -> Option<on_behalf_of::Found> {
        match self {
            Self::Obo(f) => Some(f),
            _ => None,
        }
    }
}

/// The entries the request's grant reads, from the node's caches or, on a miss, the store; and for a
/// refresh token or a code, what it stands for, its user and their consent, always from the store.
async fn prefetch(
    directory: &Directory,
    req: &TokenRequest,
    ctx: &TokenContext,
    now: OffsetDateTime,
) -> Result<(Snapshot, Option<Found>), CoreError> {
    let mut snap = directory.snapshot()?;
    let store = directory.store();
    match req {
        TokenRequest::ClientCredentials(r) => {
            let snap = client_credentials::prefetch(directory, snap, ctx, r)
                .await
                .map_err(CoreError::unavailable)?;
            Ok((snap, None))
        }
        TokenRequest::Password(r) => {
            if let Ok(tenant) = password::tenant(&snap, ctx, &r.username).map(|t| t.id) {
                let scopes = r.scope.as_deref().and_then(|s| UserScopes::parse(s).ok());
                let resource = scopes.map(|s| s.lookup_name(&ctx.base_url));
                fill(
                    directory,
                    &mut snap,
                    tenant,
                    &r.client.client_id,
                    resource.as_deref(),
                )
                .await
                .map_err(CoreError::unavailable)?;
            }
            Ok((snap, None))
        }
        TokenRequest::RefreshToken(r) => {
            let hash = delegated::refresh_token_hash(r.refresh_token.expose());
            let Some((token, family)) = store
                .find_refresh_token(&hash)
                .await
                .map_err(CoreError::unavailable)?
            else {
                return Ok((snap, None));
            };
            let scope = refresh::requested_scope(r, &family);
            let (user, consented) = user_and_consent(
                directory,
                &mut snap,
                ctx,
                family.tenant_id,
                &r.client.client_id,
                scope,
                family.user_id,
            )
            .await?;
            let found = refresh::Found {
                token,
                family,
                user,
                consented,
            };
            Ok((snap, Some(Found::Refresh(found))))
        }
        TokenRequest::AuthorizationCode(r) => {
            let hash = gatehouse_jose::sha256(r.code.expose().as_bytes());
            let Some(code) = store.find_code(&hash).await.map_err(CoreError::unavailable)? else {
                return Ok((snap, None));
            };
            if code.redeemed {
                // A second redemption: the store revokes what the first one issued (RFC 6819 §5.2.1.1).
                store
                    .redeem_code(&hash, now)
                    .await
                    .map_err(CoreError::unavailable)?;
            }
            let scope = r
                .scope
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or(&code.grant.scope);
            let (user, consented) = user_and_consent(
                directory,
                &mut snap,
                ctx,
                code.tenant_id,
                &r.client.client_id,
                scope,
                code.grant.user_id,
            )
            .await?;
            Ok((
                snap,
                Some(Found::Code(authorization_code::Found {
                    code,
                    user,
                    consented,
                })),
            ))
        }
        TokenRequest::OnBehalfOf(r) => {
            let Some(assertion) = on_behalf_of::read_assertion(&snap.keys, r.assertion.expose(), now) else {
                return Ok((snap, None));
            };
            let scope = r.scope.as_deref().unwrap_or_default();
            let (user, consented) = user_and_consent(
                directory,
                &mut snap,
                ctx,
                assertion.tenant_id,
                &r.client.client_id,
                scope,
                assertion.user_id,
            )
            .await?;
            let found = on_behalf_of::Found {
                assertion,
                user,
                consented,
            };
            Ok((snap, Some(Found::Obo(found))))
        }
        TokenRequest::DeviceCode(r) => {
            let hash = gatehouse_jose::sha256(r.device_code.expose().as_bytes());
            let Some((code, previous_poll)) = store
                .poll_device_code(&hash, now)
                .await
                .map_err(CoreError::unavailable)?
            else {
                return Ok((snap, None));
            };
            let approved_user = match &code.state {
                crate::model::DeviceState::Approved { user_id, .. } => Some(*user_id),
                _ => None,
            };
            let (user, consented) = match approved_user {
                Some(u) => {
                    user_and_consent(
                        directory,
                        &mut snap,
                        ctx,
                        code.tenant_id,
                        &r.client.client_id,
                        &code.scope,
                        u,
                    )
                    .await?
                }
                None => {
                    fill(directory, &mut snap, code.tenant_id, &r.client.client_id, None)
                        .await
                        .map_err(CoreError::unavailable)?;
                    (None, vec![])
                }
            };
            let found = device_code::Found {
                code,
                previous_poll,
                user,
                consented,
            };
            Ok((snap, Some(Found::Device(found))))
        }
    }
}

/// For a user's token: the client, the resource `scope` names, the user, and the scopes consented.
/// (On-behalf-of reads its assertion's user the same way, with the caller as the client.)
async fn user_and_consent(
    dir: &Directory,
    snap: &mut Snapshot,
    ctx: &TokenContext,
    tenant: TenantId,
    client_id: &str,
    scope: &str,
    user_id: ObjectId,
) -> Result<(Option<UserRecord>, Vec<String>), CoreError> {
    let store = dir.store();
    let resource = UserScopes::parse(scope)
        .ok()
        .map(|s| s.lookup_name(&ctx.base_url));
    let (client_sp, resource_sp) = fill(dir, snap, tenant, client_id, resource.as_deref())
        .await
        .map_err(CoreError::unavailable)?;
    let user = store
        .get_user(tenant, user_id)
        .await
        .map_err(CoreError::unavailable)?;
    add_user_roles(dir, snap, user_id).await?;
    let consented = match (client_sp, resource_sp, &user) {
        (Some(c), Some(res), Some(u)) => store
            .consented_scopes(tenant, c, res, u.user.id)
            .await
            .map_err(CoreError::unavailable)?,
        _ => vec![],
    };
    Ok((user, consented))
}

/// The app roles assigned to a user, into `snap` (for `roles` in the user's access token).
async fn add_user_roles(dir: &Directory, snap: &mut Snapshot, user: ObjectId) -> Result<(), CoreError> {
    let held = dir.roles_held(user).await.map_err(CoreError::unavailable)?;
    snap.add_roles(user, &held);
    Ok(())
}

/// Reads a client's application and its service principal in `tenant`, and a resource (named by
/// identifier URI or appId) with its service principal and application, into `snap`. Returns the two
/// service principals' ids, where they exist.
pub async fn fill(
    dir: &Directory,
    snap: &mut Snapshot,
    tenant: TenantId,
    client_id: &str,
    resource: Option<&str>,
) -> Result<(Option<ObjectId>, Option<ObjectId>), StoreError> {
    let mut client_sp = None;
    if let Some(client) = AppId::parse(client_id) {
        if let Some(entry) = dir.client(client).await? {
            snap.add_client(entry);
        }
        if let Some(sp) = dir.service_principal(tenant, client).await? {
            client_sp = Some(sp.sp.id);
            snap.add_service_principal(sp);
        }
    }
    let Some(wanted) = resource else {
        return Ok((client_sp, None));
    };
    let app_id = match resource_app_id(wanted) {
        Some(id) => Some(id),
        None => {
            let key = name_key(wanted);
            let holder = dir.resource_name(tenant, &key).await?;
            if let Some(h) = holder {
                snap.add_name(tenant, key, h);
            }
            holder
        }
    };
    let mut resource_sp = None;
    if let Some(app_id) = app_id {
        if let Some(sp) = dir.service_principal(tenant, app_id).await? {
            resource_sp = Some(sp.sp.id);
            snap.add_service_principal(sp);
        }
        if let Some(entry) = dir.client(app_id).await? {
            snap.add_client(entry);
        }
    }
    Ok((client_sp, resource_sp))
}

/// Authenticates the client of a user's flow: none needed from a public client where `public` allows
/// it (azpacr `"0"`), else its secret or assertion. Returns `azpacr` and the records to commit.
pub(crate) fn authenticate_user_client(
    presented: &PresentedClient,
    snap: &Snapshot,
    client: &ApplicationRecord,
    tenant: &Tenant,
    ctx: &TokenContext,
    public: bool,
    now: OffsetDateTime,
) -> Result<(&'static str, Vec<SingleUse>), CoreError> {
    if public && matches!(presented.credential, client_auth::Credential::None) {
        return Ok(("0", vec![]));
    }
    let auth = presented.authenticate(snap, client, tenant, &ctx.base_url, &ctx.policies.assertions, now)?;
    Ok((
        auth.acr,
        auth.replay_guard
            .into_iter()
            .map(SingleUse::AssertionId)
            .collect(),
    ))
}

/// A client's application and its service principal in `tenant` (700016 if either is missing).
pub(crate) fn client_in<'a>(
    snap: &'a Snapshot,
    tenant: &Tenant,
    client_id: &str,
) -> Result<(&'a ApplicationRecord, &'a ServicePrincipalRecord), CoreError> {
    let not_found = || CoreError::ClientNotFound {
        client_id: client_id.to_string(),
        tenant: tenant.id.to_string(),
    };
    let app_id = AppId::parse(client_id).ok_or_else(not_found)?;
    let app = snap.application(app_id).ok_or_else(not_found)?;
    let sp = snap.service_principal(tenant.id, app_id).ok_or_else(not_found)?;
    Ok((app, sp))
}

/// The service principal of the resource `lookup` names in `tenant`; 500011 names it as `named`, as
/// the request spelled it.
pub(crate) fn resource_in<'a>(
    snap: &'a Snapshot,
    tenant: &Tenant,
    lookup: &str,
    named: &str,
) -> Result<&'a ServicePrincipalRecord, CoreError> {
    snap.resource(tenant.id, lookup)
        .ok_or_else(|| CoreError::ResourceNotFound {
            resource: named.to_string(),
            tenant: tenant
                .domains
                .first()
                .cloned()
                .unwrap_or_else(|| tenant.id.to_string()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> TokenForm {
        TokenForm::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn the_form_is_parsed_once_into_its_grant() {
        let f = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("client_secret", "s"),
            ("scope", "api://x/.default"),
        ]);
        let TokenRequest::ClientCredentials(r) = TokenRequest::parse(f, None).unwrap() else {
            panic!("a client-credentials request")
        };
        assert_eq!(
            (r.client.client_id.as_str(), r.scope.as_deref()),
            ("app", Some("api://x/.default"))
        );
        let code = |pairs: &[(&str, &str)]| TokenRequest::parse(form(pairs), None).unwrap_err().aadsts();
        assert_eq!(code(&[("client_id", "app")]), 900144, "no grant_type");
        assert_eq!(code(&[("client_id", "app"), ("grant_type", "magic")]), 70003);
        assert_eq!(
            code(&[("grant_type", "client_credentials")]),
            900144,
            "no client_id"
        );
    }

    #[test]
    fn a_malformed_tenant_is_refused_before_anything_else() {
        let e =
            TokenContext::new(Version::V2, "not a tenant!", "https://h", Policies::default()).unwrap_err();
        assert_eq!(e.aadsts(), 900023);
    }
}
