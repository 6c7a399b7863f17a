//! `grant_type=authorization_code` (entra-protocol.md §2.5; RFC 6749 §4.1.3, RFC 7636 §4.6): a code from
//! `/authorize` buys the user's tokens, once. The code is bound to its client, its redirect URI and its
//! PKCE challenge; it expires after the code lifetime; a second redemption fails (54005) and revokes the
//! refresh tokens the first one started (done by the store when the server commits, so two nodes
//! redeeming at once cannot both succeed). A single-page application's code is redeemed cross-origin
//! only, and only such a code may be (Entra's 9002327 / 9002326).

use gatehouse_proto::token::Secret;
use gatehouse_proto::AppId;
use time::OffsetDateTime;

use super::client_auth::PresentedClient;
use super::delegated::{self, SignedIn, UserScopes};
use super::{Issued, SingleUse, TokenContext};
use crate::authorize::{is_native_redirect, pkce_verified};
use crate::model::{RefreshFamily, StoredCode, UserRecord};
use crate::signin::SignInError;
use crate::{CoreError, Snapshot};

/// `grant_type=authorization_code`.
#[derive(Debug, Clone)]
pub struct CodeRequest {
    pub client: PresentedClient,
    pub code: Secret,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<Secret>,
    pub scope: Option<String>,
    pub client_info: bool,
}

/// What the store holds for the presented code, read before deciding.
#[derive(Debug, Clone)]
pub struct Found {
    pub code: StoredCode,
    pub user: Option<UserRecord>,
    pub consented: Vec<String>,
}

/// Decides a redemption: `found` is `None` for a code the store does not know.
pub fn issue(
    snap: &Snapshot,
    ctx: &TokenContext,
    req: &CodeRequest,
    found: Option<&Found>,
    now: OffsetDateTime,
) -> Result<Issued, CoreError> {
    let found = found.ok_or(CoreError::InvalidCode)?;
    let grant = &found.code.grant;
    if AppId::parse(&req.client.client_id) != Some(grant.client_id) {
        return Err(CoreError::InvalidCode);
    }
    let tenant = snap.tenant(found.code.tenant_id).ok_or(CoreError::InvalidCode)?;
    if ctx.names_other_tenant(snap, tenant.id) {
        return Err(CoreError::InvalidCode);
    }
    let (client, _) = super::client_in(snap, tenant, &req.client.client_id)?;
    // Cross-origin redemption is a single-page application's, and its codes are redeemed no other way.
    match (grant.spa, ctx.origin.is_some()) {
        (true, false) => return Err(CoreError::SpaNeedsOrigin),
        (false, true) => return Err(CoreError::CrossOriginNotSpa),
        _ => {}
    }
    // A code sent to a single-page or mobile/desktop redirect URI was asked for by a public client.
    let public = grant.spa || is_native_redirect(&client.app, &grant.redirect_uri);
    let (client_acr, mut single_use) =
        super::authenticate_user_client(&req.client, snap, client, tenant, ctx, public, now)?;
    if found.code.redeemed {
        // The pipeline has already told the store, which revoked what the first redemption issued.
        return Err(CoreError::CodeRedeemed);
    }
    if now >= found.code.expires_at {
        return Err(CoreError::CodeExpired);
    }
    if req.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
        return Err(CoreError::CodeRedirectUriMismatch);
    }
    if !pkce_verified(grant, req.code_verifier.as_ref()) {
        return Err(CoreError::PkceMismatch);
    }
    let user = found.user.as_ref().ok_or(CoreError::InvalidCode)?;
    if !user.user.account_enabled {
        return Err(CoreError::SignIn(SignInError::Disabled));
    }

    let scope = req
        .scope
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(&grant.scope);
    let scopes = UserScopes::parse(scope)?;
    let granted = delegated::grant(snap, &ctx.base_url, tenant, client, &scopes, &found.consented)?;
    let who = SignedIn {
        tenant,
        client,
        client_acr,
        user,
        nonce: grant.nonce.clone(),
        session_id: grant.sid.map(|s| s.to_string()),
        client_info: req.client_info || grant.client_info,
        auth_time: grant.auth_time,
    };
    let (token, user_tokens) = delegated::tokens(snap, ctx, &who, &granted, &scopes, now)?;
    single_use.push(SingleUse::RedeemCode(found.code.hash));
    let policy = &ctx.policies.user_tokens;
    let family = RefreshFamily {
        id: grant.family_id,
        tenant_id: tenant.id,
        user_id: user.user.id,
        client_id: grant.client_id,
        scopes: scope.to_string(),
        auth_time: grant.auth_time,
        expires_at: now
            + if grant.spa {
                policy.spa_refresh
            } else {
                policy.refresh_absolute
            },
        spa: grant.spa,
        session_id: grant.sid.map(|s| s.to_string()),
        revoked: false,
    };
    delegated::answer(token, user_tokens, &granted, &scopes, single_use, family, now)
}
