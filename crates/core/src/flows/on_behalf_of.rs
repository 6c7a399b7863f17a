//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with `requested_token_use=on_behalf_of`
//! (entra-protocol.md §2.9): a middle-tier API that received a user's access token trades it for one to
//! a downstream API, acting for the same user. The assertion must be a user's token this cluster issued
//! to the caller (its `aud` is the caller's appId or identifier URI), still valid; the caller proves
//! itself with its credential; the downstream permissions must be consented for the caller, as for any
//! of its own sign-ins. Roles are not carried: they belong to the user's token for the middle API.
//! The answer has no ID token, as Entra's has none; a refresh token with `offline_access`.

use gatehouse_proto::token::Secret;
use gatehouse_proto::{ObjectId, TenantId};
use time::OffsetDateTime;
use uuid::Uuid;

use super::client_auth::PresentedClient;
use super::delegated::{self, SignedIn, UserScopes};
use super::{Issued, TokenContext};
use crate::model::{RefreshFamily, UserRecord};
use crate::signin::SignInError;
use crate::{CoreError, Snapshot};

#[derive(Debug, Clone)]
pub struct OboRequest {
    pub client: PresentedClient,
    pub assertion: Secret,
    pub scope: Option<String>,
    pub client_info: bool,
}

/// What a validly signed assertion says, read before the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAssertion {
    pub tenant_id: TenantId,
    pub user_id: ObjectId,
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// Present on a user's token (delegated permissions), absent on an application's.
    pub scp: Option<String>,
    pub idtyp: Option<String>,
}

/// Reads `token` if this cluster signed it with a key it still publishes; `None` for anything else.
pub fn read_assertion(
    keys: &crate::keys::KeyRing,
    token: &str,
    now: OffsetDateTime,
) -> Option<UserAssertion> {
    let claims = keys.verify_own(token, now)?;
    let text = |n: &str| claims.get(n).and_then(|v| v.as_str()).map(str::to_string);
    let number = |n: &str| claims.get(n).and_then(|v| v.as_i64());
    Some(UserAssertion {
        tenant_id: text("tid")?.parse().ok()?,
        user_id: text("oid")?.parse().ok()?,
        aud: text("aud")?,
        iss: text("iss")?,
        iat: number("iat")?,
        nbf: number("nbf")?,
        exp: number("exp")?,
        scp: text("scp"),
        idtyp: text("idtyp"),
    })
}

/// The assertion, its user, and what the caller holds consent for on the downstream resource.
#[derive(Debug, Clone)]
pub struct Found {
    pub assertion: UserAssertion,
    pub user: Option<UserRecord>,
    pub consented: Vec<String>,
}

/// Decides the exchange: `found` is `None` for an assertion this cluster did not sign.
pub fn issue(
    snap: &Snapshot,
    ctx: &TokenContext,
    req: &OboRequest,
    found: Option<&Found>,
    now: OffsetDateTime,
) -> Result<Issued, CoreError> {
    let invalid = |reason| CoreError::OboAssertionInvalid { reason };
    let found = found.ok_or(invalid("The assertion is not a token this service issued."))?;
    let a = &found.assertion;
    let tenant = snap
        .tenant(a.tenant_id)
        .ok_or(invalid("The assertion's tenant does not exist."))?;
    if ctx.names_other_tenant(snap, tenant.id) {
        return Err(invalid("The assertion was issued in another tenant."));
    }
    let (client, _) = super::client_in(snap, tenant, &req.client.client_id)?;
    let (client_acr, single_use) =
        super::authenticate_user_client(&req.client, snap, client, tenant, ctx, false, now)?;

    let tid = tenant.id.to_string();
    let ours = [
        gatehouse_proto::discovery::v2_issuer(&ctx.base_url, &tid),
        gatehouse_proto::discovery::v1_issuer(&ctx.base_url, &tid),
    ];
    if !ours.contains(&a.iss) {
        return Err(invalid("The assertion's issuer is not this tenant."));
    }
    if a.scp.is_none() || a.idtyp.as_deref() == Some("app") {
        return Err(invalid(
            "The assertion is an application's token; only a user's token can be exchanged.",
        ));
    }
    let for_client = a.aud == client.app.app_id.to_string()
        || client
            .app
            .identifier_uris
            .iter()
            .any(|u| u.eq_ignore_ascii_case(&a.aud));
    if !for_client {
        return Err(invalid(
            "The assertion's audience is not the client presenting it.",
        ));
    }
    let t = now.unix_timestamp();
    if t >= a.exp || t < a.nbf - ctx.policies.assertions.clock_skew.whole_seconds() {
        return Err(CoreError::OboAssertionExpired);
    }
    let user = found
        .user
        .as_ref()
        .filter(|u| u.user.id == a.user_id)
        .ok_or(invalid("The assertion's user does not exist."))?;
    if !user.user.account_enabled {
        return Err(CoreError::SignIn(SignInError::Disabled));
    }

    let scope = req
        .scope
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or(CoreError::MissingParameter { name: "scope" })?;
    let scopes = UserScopes::parse(scope)?;
    let granted = delegated::grant(snap, &ctx.base_url, tenant, client, &scopes, &found.consented)?;
    // When the user's token was issued (its `iat` is backdated, as Entra's are, and whole seconds: the
    // end of that second): a password changed after that ends what this exchange starts.
    let auth_time = OffsetDateTime::from_unix_timestamp(a.iat + super::mint::BACKDATE_SECS + 1)
        .map_err(|_| invalid("The assertion's iat is out of range."))?;
    let who = SignedIn {
        tenant,
        client,
        client_acr,
        user,
        nonce: None,
        session_id: None,
        client_info: req.client_info,
        auth_time,
    };
    let (token, mut user_tokens) = delegated::tokens(snap, ctx, &who, &granted, &scopes, now)?;
    user_tokens.id_token = None;
    let family = RefreshFamily {
        id: Uuid::new_v4(),
        tenant_id: tenant.id,
        user_id: user.user.id,
        client_id: client.app.app_id,
        scopes: scope.to_string(),
        auth_time,
        expires_at: now + ctx.policies.user_tokens.refresh_absolute,
        spa: false,
        session_id: None,
        revoked: false,
    };
    delegated::answer(token, user_tokens, &granted, &scopes, single_use, family, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::client_auth::Credential;
    use crate::flows::fixtures::{ctx, world_with_user, BASE, NOW};
    use gatehouse_proto::Version;

    #[test]
    fn only_a_users_unexpired_token_for_the_caller_from_this_tenant_is_exchanged() {
        let (snap, out, user) = world_with_user();
        let tid = out.tenant_id.to_string();
        let ctx = ctx(Version::V2, &tid);
        let request = |credential| OboRequest {
            client: PresentedClient {
                client_id: out.client_id.to_string(),
                credential,
            },
            assertion: Secret::new("read before the decision"),
            scope: Some("https://graph.microsoft.com/User.Read offline_access".into()),
            client_info: false,
        };
        let req = request(Credential::Secret(out.client_secret.clone()));
        let t = NOW.unix_timestamp();
        let good = UserAssertion {
            tenant_id: out.tenant_id,
            user_id: user.user.id,
            aud: out.client_id.to_string(),
            iss: gatehouse_proto::discovery::v2_issuer(BASE, &tid),
            iat: t - 360,
            nbf: t - 360,
            exp: t + 3000,
            scp: Some("access_as_user".into()),
            idtyp: Some("user".into()),
        };
        let found = |assertion: UserAssertion| Found {
            assertion,
            user: Some(user.clone()),
            consented: vec!["User.Read".into()],
        };
        let run = |req: &OboRequest, a: UserAssertion| issue(&snap, &ctx, req, Some(&found(a)), NOW).err();

        assert_eq!(run(&req, good.clone()), None);
        let invalid = |e: Option<CoreError>| matches!(e, Some(CoreError::OboAssertionInvalid { .. }));
        let changed = [
            UserAssertion {
                scp: None,
                idtyp: Some("app".into()),
                ..good.clone()
            },
            UserAssertion {
                aud: "https://graph.microsoft.com".into(),
                ..good.clone()
            },
            UserAssertion {
                iss: gatehouse_proto::discovery::v2_issuer(BASE, &TenantId::new().to_string()),
                ..good.clone()
            },
            UserAssertion {
                user_id: ObjectId::new(),
                ..good.clone()
            },
        ];
        for a in changed {
            assert!(invalid(run(&req, a.clone())), "{a:?}");
        }
        assert!(
            invalid(issue(&snap, &ctx, &req, None, NOW).err()),
            "not signed here"
        );
        for a in [
            UserAssertion {
                exp: t,
                ..good.clone()
            },
            UserAssertion {
                nbf: t + 3600,
                ..good.clone()
            },
        ] {
            assert_eq!(run(&req, a), Some(CoreError::OboAssertionExpired));
        }
        assert!(
            run(&request(Credential::None), good.clone()).is_some(),
            "the caller proves itself"
        );
        let not_consented = OboRequest {
            scope: Some("https://graph.microsoft.com/User.ReadBasic.All".into()),
            ..req.clone()
        };
        assert!(matches!(
            run(&not_consented, good),
            Some(CoreError::ConsentRequired { .. })
        ));
    }
}
