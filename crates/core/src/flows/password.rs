//! `grant_type=password`, the resource owner password credentials grant (ROPC, entra-protocol.md §2.8):
//! a client sends the user's name and password and gets the user's tokens. Entra serves it on a tenant
//! or `organizations` (the tenant is then the one whose domain the name has), never on `common`, and
//! to a public client only when the application allows public client flows.
//!
//! Everything that needs no password is checked first ([`check`]), so a request that would fail anyway
//! costs no hash and counts no failure; then the password ([`crate::signin`]); then consent and the
//! tokens ([`issue`]).

use gatehouse_proto::token::Secret;
use gatehouse_proto::{AppId, ObjectId};
use time::OffsetDateTime;
use uuid::Uuid;

use super::client_auth::PresentedClient;
use super::delegated::{self, Granted, SignedIn, UserScopes};
use super::{Issued, SingleUse, TokenContext};
use crate::model::{RefreshFamily, Tenant, UserRecord};
use crate::{CoreError, Snapshot};

/// `grant_type=password`.
#[derive(Debug, Clone)]
pub struct PasswordRequest {
    pub client: PresentedClient,
    pub username: String,
    pub password: Secret,
    pub scope: Option<String>,
    pub client_info: bool,
}

/// What [`check`] established.
#[derive(Debug, Clone)]
pub struct Checked {
    pub tenant: Tenant,
    pub client_acr: &'static str,
    pub client_sp: ObjectId,
    pub resource_sp: ObjectId,
    pub scopes: UserScopes,
    pub single_use: Vec<SingleUse>,
}

/// The tenant the request is for: the path's, or for `organizations` the one holding the name's domain.
pub fn tenant<'a>(snap: &'a Snapshot, ctx: &TokenContext, username: &str) -> Result<&'a Tenant, CoreError> {
    use gatehouse_proto::tenant::TenantSegment;
    let not_found = || CoreError::TenantNotFound {
        tenant: ctx.tenant_raw.clone(),
    };
    match &ctx.tenant {
        TenantSegment::Common | TenantSegment::Consumers => Err(CoreError::GrantNeedsTenant),
        TenantSegment::Organizations => {
            snap.tenant_of_user(username)
                .ok_or_else(|| CoreError::TenantNotFound {
                    tenant: username
                        .rsplit_once('@')
                        .map(|(_, d)| d)
                        .unwrap_or_default()
                        .to_string(),
                })
        }
        seg => snap.resolve_tenant(seg).ok_or_else(not_found),
    }
}

/// Checks the tenant, the client, its credential and the scope, before any password work.
pub fn check(
    snap: &Snapshot,
    ctx: &TokenContext,
    req: &PasswordRequest,
    now: OffsetDateTime,
) -> Result<Checked, CoreError> {
    if !ctx.policies.user_tokens.password_grant {
        return Err(CoreError::UnsupportedGrantType {
            grant_type: "password".into(),
        });
    }
    let tenant = tenant(snap, ctx, &req.username)?;
    let scopes = UserScopes::parse(req.scope.as_deref().unwrap_or_default())?;
    let (app, client_sp) = super::client_in(snap, tenant, &req.client.client_id)?;
    // A public client only when the application allows public client flows (Entra's rule for ROPC).
    let public = app.app.is_fallback_public_client == Some(true);
    let (client_acr, single_use) =
        super::authenticate_user_client(&req.client, snap, app, tenant, ctx, public, now)?;
    if !client_sp.sp.account_enabled {
        return Err(CoreError::ClientDisabled {
            client_id: req.client.client_id.clone(),
        });
    }
    let lookup = scopes.lookup_name(&ctx.base_url);
    let resource = super::resource_in(snap, tenant, &lookup, scopes.resource_name())?;
    Ok(Checked {
        tenant: tenant.clone(),
        client_acr,
        client_sp: client_sp.sp.id,
        resource_sp: resource.sp.id,
        scopes,
        single_use,
    })
}

/// Issues the signed-in user's tokens: a refresh token (a new family) when `offline_access` was asked.
pub fn issue(
    snap: &Snapshot,
    ctx: &TokenContext,
    req: &PasswordRequest,
    checked: Checked,
    user: &UserRecord,
    consented: &[String],
    now: OffsetDateTime,
) -> Result<Issued, CoreError> {
    let app_id = AppId::parse(&req.client.client_id).ok_or(CoreError::Internal)?;
    let client = snap.application(app_id).ok_or(CoreError::Internal)?;
    let granted: Granted<'_> = delegated::grant(
        snap,
        &ctx.base_url,
        &checked.tenant,
        client,
        &checked.scopes,
        consented,
    )?;
    let who = SignedIn {
        tenant: &checked.tenant,
        client,
        client_acr: checked.client_acr,
        user,
        nonce: None,
        session_id: None,
        client_info: req.client_info,
        auth_time: now,
    };
    let (token, user_tokens) = delegated::tokens(snap, ctx, &who, &granted, &checked.scopes, now)?;
    let single_use = checked.single_use;
    let family = RefreshFamily {
        id: Uuid::new_v4(),
        tenant_id: checked.tenant.id,
        user_id: user.user.id,
        client_id: app_id,
        scopes: req.scope.clone().unwrap_or_default(),
        auth_time: now,
        expires_at: now + ctx.policies.user_tokens.refresh_absolute,
        spa: false,
        session_id: None,
        revoked: false,
    };
    delegated::answer(
        token,
        user_tokens,
        &granted,
        &checked.scopes,
        single_use,
        family,
        now,
    )
}
