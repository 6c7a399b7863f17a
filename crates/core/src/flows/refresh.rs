//! `grant_type=refresh_token` (entra-protocol.md §2.7; RFC 9700 §4.14): a refresh token buys the same
//! user a new access token, for any resource the client has consent for, and is exchanged for a new
//! refresh token of its family (rotation). The old one stays usable for a short grace window (a client
//! that never saw the answer retries); presented after it, the family is revoked (reuse detection, done
//! by the store's conditional update when the server commits, so racing nodes agree).
//!
//! A family ends at its absolute lifetime (24 hours for single-page apps), a token unused for the idle
//! lifetime expires, and a password change after the sign-in, a disabled or deleted account, sign-out
//! and revocation end them all.

use gatehouse_proto::token::Secret;
use gatehouse_proto::AppId;
use time::OffsetDateTime;

use super::client_auth::PresentedClient;
use super::delegated::{self, SignedIn, UserScopes};
use super::{Issued, SingleUse, TokenContext};
use crate::model::{RefreshFamily, StoredRefreshToken, UserRecord};
use crate::signin::SignInError;
use crate::{CoreError, Snapshot};

/// `grant_type=refresh_token`.
#[derive(Debug, Clone)]
pub struct RefreshRequest {
    pub client: PresentedClient,
    pub refresh_token: Secret,
    /// Optional: the family's scopes when absent.
    pub scope: Option<String>,
    pub client_info: bool,
}

/// What the store holds for the presented token, read before deciding.
#[derive(Debug, Clone)]
pub struct Found {
    pub token: StoredRefreshToken,
    pub family: RefreshFamily,
    /// The family's user as the directory has it now; `None` if deleted.
    pub user: Option<UserRecord>,
    /// The scope values consented for that user on the resource asked for.
    pub consented: Vec<String>,
}

/// Decides a refresh: `found` is `None` for a token the store does not know.
pub fn issue(
    snap: &Snapshot,
    ctx: &TokenContext,
    req: &RefreshRequest,
    found: Option<&Found>,
    now: OffsetDateTime,
) -> Result<Issued, CoreError> {
    let found = found.ok_or(CoreError::InvalidRefreshToken)?;
    let family = &found.family;
    // Bound to its client (RFC 6749 §6): another client's token is as good as unknown.
    if AppId::parse(&req.client.client_id) != Some(family.client_id) {
        return Err(CoreError::InvalidRefreshToken);
    }
    let tenant = snap
        .tenant(family.tenant_id)
        .ok_or(CoreError::RefreshTokenRevoked)?;
    if ctx.names_other_tenant(snap, tenant.id) {
        return Err(CoreError::InvalidRefreshToken);
    }
    // The application and its service principal here: deleting the enterprise application (the
    // service principal) ends its refresh tokens at once (700016), as in Entra.
    let (client, _) = super::client_in(snap, tenant, &req.client.client_id)?;
    let (client_acr, mut single_use) = super::authenticate_user_client(
        &req.client,
        snap,
        client,
        tenant,
        ctx,
        delegated::accepts_public_client(client),
        now,
    )?;
    if family.revoked {
        return Err(CoreError::RefreshTokenRevoked);
    }
    let policy = &ctx.policies.user_tokens;
    if now >= family.expires_at || now - found.token.issued_at >= policy.refresh_idle {
        return Err(CoreError::RefreshTokenExpired { spa: family.spa });
    }
    let user = found.user.as_ref().ok_or(CoreError::RefreshTokenRevoked)?;
    if !user.user.account_enabled {
        return Err(CoreError::SignIn(SignInError::Disabled));
    }
    if user.password_changed > family.auth_time {
        return Err(CoreError::RefreshTokenRevoked);
    }
    if !snap
        .service_principal(tenant.id, family.client_id)
        .is_some_and(|sp| sp.sp.account_enabled)
    {
        return Err(CoreError::ClientDisabled {
            client_id: req.client.client_id.clone(),
        });
    }

    let scope = requested_scope(req, family);
    let scopes = UserScopes::parse(scope)?;
    let granted = delegated::grant(snap, &ctx.base_url, tenant, client, &scopes, &found.consented)?;
    let who = SignedIn {
        tenant,
        client,
        client_acr,
        user,
        nonce: None,
        session_id: family.session_id.clone(),
        client_info: req.client_info,
        auth_time: family.auth_time,
    };
    let (token, mut user_tokens) = delegated::tokens(snap, ctx, &who, &granted, &scopes, now)?;
    let (value, next) = delegated::new_refresh_token(family.id, now)?;
    user_tokens.refresh_token = Some(value);
    single_use.push(SingleUse::RotateRefresh {
        old: found.token.hash,
        new: next,
        grace_from: now - policy.refresh_reuse_grace,
    });
    Ok(Issued {
        token,
        scope: Some(granted.response_scope(&scopes)),
        resource: granted.resource_name.clone(),
        user: user_tokens,
        single_use,
        subject: delegated::subject(family, &granted),
    })
}

/// The request's `scope`, or the family's when the request names none.
pub fn requested_scope<'a>(req: &'a RefreshRequest, family: &'a RefreshFamily) -> &'a str {
    req.scope
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(&family.scopes)
}
