//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` (and the bare `device_code` msal-node
//! sends; RFC 8628 §3.4–3.5, entra-protocol.md §2.6): the device polls until the user has signed in at
//! `/devicelogin`. Pending is `authorization_pending`; polling faster than the interval is `slow_down`;
//! then `expired_token`, `authorization_declined`, or the user's tokens, once.

use gatehouse_proto::token::Secret;
use gatehouse_proto::AppId;
use time::{Duration, OffsetDateTime};

use super::client_auth::PresentedClient;
use super::delegated::{self, SignedIn, UserScopes};
use super::{Issued, SingleUse, TokenContext};
use crate::model::{DeviceCode, DeviceState, RefreshFamily, UserRecord};
use crate::signin::SignInError;
use crate::{CoreError, Snapshot};

/// The device's poll.
#[derive(Debug, Clone)]
pub struct DeviceCodeRequest {
    pub client: PresentedClient,
    pub device_code: Secret,
    pub client_info: bool,
}

/// The code as the store had it at this poll, and when it was polled before.
#[derive(Debug, Clone)]
pub struct Found {
    pub code: DeviceCode,
    pub previous_poll: Option<OffsetDateTime>,
    pub user: Option<UserRecord>,
    pub consented: Vec<String>,
}

/// A poll a little early still counts as on time: devices' timers are not exact.
const POLL_TOLERANCE: Duration = Duration::seconds(1);

pub fn issue(
    snap: &Snapshot,
    ctx: &TokenContext,
    req: &DeviceCodeRequest,
    found: Option<&Found>,
    now: OffsetDateTime,
) -> Result<Issued, CoreError> {
    let found = found.ok_or(CoreError::InvalidDeviceCode)?;
    let code = &found.code;
    if AppId::parse(&req.client.client_id) != Some(code.client_id) {
        return Err(CoreError::InvalidDeviceCode);
    }
    let tenant = snap.tenant(code.tenant_id).ok_or(CoreError::InvalidDeviceCode)?;
    let (client, _) = super::client_in(snap, tenant, &req.client.client_id)?;
    let public = client.app.is_fallback_public_client == Some(true);
    let (client_acr, mut single_use) =
        super::authenticate_user_client(&req.client, snap, client, tenant, ctx, public, now)?;
    if now >= code.expires_at {
        return Err(CoreError::DeviceCodeExpired);
    }
    let (user_id, auth_time, sid) = match &code.state {
        DeviceState::Pending => {
            let interval = Duration::seconds(code.interval_secs);
            return Err(match found.previous_poll {
                Some(p) if now < p + interval - POLL_TOLERANCE => CoreError::SlowDown,
                _ => CoreError::AuthorizationPending,
            });
        }
        DeviceState::Declined => return Err(CoreError::DeviceDeclined),
        DeviceState::Redeemed => return Err(CoreError::CodeRedeemed),
        DeviceState::Approved {
            user_id,
            auth_time,
            sid,
        } => (*user_id, *auth_time, *sid),
    };
    let user = found
        .user
        .as_ref()
        .filter(|u| u.user.id == user_id)
        .ok_or(CoreError::InvalidDeviceCode)?;
    if !user.user.account_enabled {
        return Err(CoreError::SignIn(SignInError::Disabled));
    }
    let scopes = UserScopes::parse(&code.scope)?;
    let granted = delegated::grant(snap, &ctx.base_url, tenant, client, &scopes, &found.consented)?;
    let who = SignedIn {
        tenant,
        client,
        client_acr,
        user,
        nonce: None,
        session_id: Some(sid.to_string()),
        client_info: req.client_info,
        auth_time,
    };
    let (token, user_tokens) = delegated::tokens(snap, ctx, &who, &granted, &scopes, now)?;
    single_use.push(SingleUse::RedeemDeviceCode(code.device_hash));
    let family = RefreshFamily {
        id: code.family_id,
        tenant_id: tenant.id,
        user_id,
        client_id: code.client_id,
        scopes: code.scope.clone(),
        auth_time,
        expires_at: now + ctx.policies.user_tokens.refresh_absolute,
        spa: false,
        session_id: Some(sid.to_string()),
        revoked: false,
    };
    delegated::answer(token, user_tokens, &granted, &scopes, single_use, family, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::client_auth::Credential;
    use crate::flows::fixtures::{ctx, world, NOW};
    use gatehouse_proto::Version;
    use uuid::Uuid;

    #[test]
    fn polls_are_pending_then_slow_down_expired_declined_or_another_clients() {
        let (snap, out) = world();
        let ctx = ctx(Version::V2, &out.tenant_id.to_string());
        let req = |client_id: AppId| DeviceCodeRequest {
            client: PresentedClient {
                client_id: client_id.to_string(),
                credential: Credential::Secret(out.client_secret.clone()),
            },
            device_code: Secret::new("device"),
            client_info: false,
        };
        let found = |state: DeviceState, expires_in: i64, previous: Option<i64>| Found {
            code: DeviceCode {
                device_hash: [1; 32],
                user_code: "BCDFGHJKL".into(),
                tenant_id: out.tenant_id,
                client_id: out.client_id,
                scope: "User.Read".into(),
                expires_at: NOW + Duration::seconds(expires_in),
                interval_secs: 5,
                state,
                family_id: Uuid::nil(),
            },
            previous_poll: previous.map(|ago| NOW - Duration::seconds(ago)),
            user: None,
            consented: vec![],
        };
        let poll = |f: &Found, client: AppId| issue(&snap, &ctx, &req(client), Some(f), NOW).err();
        let me = out.client_id;
        assert_eq!(
            poll(&found(DeviceState::Pending, 60, None), me),
            Some(CoreError::AuthorizationPending)
        );
        assert_eq!(
            poll(&found(DeviceState::Pending, 60, Some(2)), me),
            Some(CoreError::SlowDown),
            "RFC 8628 §3.5: faster than the interval"
        );
        assert_eq!(
            poll(&found(DeviceState::Pending, 60, Some(5)), me),
            Some(CoreError::AuthorizationPending)
        );
        assert_eq!(
            poll(&found(DeviceState::Pending, 0, Some(10)), me),
            Some(CoreError::DeviceCodeExpired)
        );
        assert_eq!(
            poll(&found(DeviceState::Declined, 60, None), me),
            Some(CoreError::DeviceDeclined)
        );
        assert_eq!(
            poll(&found(DeviceState::Redeemed, 60, None), me),
            Some(CoreError::CodeRedeemed)
        );
        assert_eq!(
            poll(&found(DeviceState::Pending, 60, None), AppId::default()),
            Some(CoreError::InvalidDeviceCode),
            "bound to its client"
        );
        assert_eq!(
            issue(&snap, &ctx, &req(me), None, NOW).err(),
            Some(CoreError::InvalidDeviceCode),
            "an unknown device code"
        );
    }
}
