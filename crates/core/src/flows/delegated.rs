//! What every flow that acts for a signed-in user shares (ROPC and refresh now; the authorization code
//! and the device code next): the resource and permissions a `scope` names, whether the user may have
//! them (consent is data: Graph's oAuth2PermissionGrants, read from the store), and the user's tokens:
//! an access token with `scp`, an ID token, a refresh token and `client_info` (entra-protocol.md
//! §3.2–§3.5, §4.1–§4.3).

use gatehouse_proto::graph::{Application, PermissionScope};
use gatehouse_proto::token::{AccessTokenClaims, ClientInfo, IdTokenClaims, Secret, UserClaims, UserTokens};
use gatehouse_proto::{UserConsent, GRAPH_RESOURCE};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::client_credentials::graph_alias;
use super::mint::{self, MintedToken};
use super::{TokenContext, Version};
use crate::model::{
    name_key, ApplicationRecord, RefreshFamily, ServicePrincipalRecord, StoredRefreshToken, Tenant,
    UserRecord,
};
use crate::scope::ScopeSet;
use crate::{CoreError, Snapshot};

/// OpenID Connect's scopes, which name no resource.
const OIDC: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// Lifetimes of what a user's flows issue, and whether ROPC is offered. Each is a `serve` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserTokenPolicy {
    /// A refresh token unused this long expires (Entra: 90 days).
    pub refresh_idle: Duration,
    /// A family of refresh tokens ends this long after its sign-in, however often it is used.
    pub refresh_absolute: Duration,
    /// The fixed lifetime of refresh tokens issued to single-page applications (Entra: 24 hours).
    pub spa_refresh: Duration,
    /// How long a rotated refresh token may be presented again (a client retrying because it never
    /// saw the answer) before a presentation counts as reuse and revokes the family.
    pub refresh_reuse_grace: Duration,
    /// Whether `grant_type=password` (ROPC) is served. Entra serves it; RFC 9700 §2.4 says it must not
    /// be used. On by default, as in Entra, and only for applications that allow public client flows.
    pub password_grant: bool,
}

impl Default for UserTokenPolicy {
    fn default() -> Self {
        Self {
            refresh_idle: Duration::days(90),
            refresh_absolute: Duration::days(365),
            spa_refresh: Duration::hours(24),
            refresh_reuse_grace: Duration::seconds(60),
            password_grant: true,
        }
    }
}

/// A user flow's `scope`: the OpenID Connect scopes, and the permissions of at most one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserScopes {
    oidc: Vec<&'static str>,
    /// The resource as named (identifier URI or appId); `None` when only OIDC scopes were asked for.
    pub resource: Option<String>,
    /// Permission values asked for by name; empty with `.default`.
    pub named: Vec<String>,
    /// `{resource}/.default`: every permission consented.
    pub default: bool,
}

impl UserScopes {
    /// Parses `scope`. A bare permission (`User.Read`) is Microsoft Graph's (§4.1).
    pub fn parse(scope: &str) -> Result<Self, CoreError> {
        let set = ScopeSet::parse(scope);
        if set.is_empty() {
            return Err(CoreError::ScopeMissing);
        }
        let mut out = Self {
            oidc: vec![],
            resource: None,
            named: vec![],
            default: false,
        };
        for token in set.iter() {
            if let Some(o) = OIDC.iter().find(|o| o.eq_ignore_ascii_case(token)) {
                if !out.oidc.contains(o) {
                    out.oidc.push(o);
                }
                continue;
            }
            let (resource, permission) = match token.rsplit_once('/') {
                Some((r, p)) if !r.is_empty() && !p.is_empty() => (r, p),
                _ => (GRAPH_RESOURCE, token),
            };
            match &out.resource {
                Some(r) if name_key(r) != name_key(resource) => return Err(CoreError::ScopeSeveralResources),
                Some(_) => {}
                None => out.resource = Some(resource.to_string()),
            }
            if permission == ".default" {
                out.default = true;
            } else if !out.named.iter().any(|n| n.eq_ignore_ascii_case(permission)) {
                out.named.push(permission.to_string());
            }
        }
        if out.default && !out.named.is_empty() {
            return Err(CoreError::InvalidScope {
                scope: format!("{}/.default together with named permissions", out.resource_name()),
            });
        }
        Ok(out)
    }

    pub fn has(&self, oidc: &str) -> bool {
        self.oidc.contains(&oidc)
    }

    /// The OpenID Connect scopes named, in order.
    pub fn oidc(&self) -> &[&'static str] {
        &self.oidc
    }

    /// The resource the access token is for: the one named, or Microsoft Graph.
    pub fn resource_name(&self) -> &str {
        self.resource.as_deref().unwrap_or(GRAPH_RESOURCE)
    }

    /// The resource to look up: this server's own URL means Microsoft Graph, as in client credentials.
    pub fn lookup_name(&self, base_url: &str) -> String {
        graph_alias(self.resource_name(), base_url).unwrap_or_else(|| self.resource_name().to_string())
    }
}

/// The permissions a user's token carries, once consent was checked.
#[derive(Debug, Clone)]
pub struct Granted<'a> {
    pub resource: &'a ServicePrincipalRecord,
    pub resource_app: Option<&'a Application>,
    /// The resource as the request named it (a v1 `aud`, and the prefix of `scope` in the response).
    pub resource_name: String,
    /// `scp`: every permission consented on the resource (as Entra issues), in the resource's spelling.
    pub scp: Vec<String>,
}

/// Checks the request's permissions against what the resource offers and what the user (or an
/// administrator, for everyone) consented to: `consented` is the grants' scope values. A client asking
/// for its own API needs no consent.
pub fn grant<'a>(
    snap: &'a Snapshot,
    base_url: &str,
    tenant: &Tenant,
    client: &ApplicationRecord,
    scopes: &UserScopes,
    consented: &[String],
) -> Result<Granted<'a>, CoreError> {
    let lookup = scopes.lookup_name(base_url);
    let resource = super::resource_in(snap, tenant, &lookup, scopes.resource_name())?;
    let offered: Vec<&str> = offered_scopes(snap, resource)
        .iter()
        .filter(|s| s.is_enabled)
        .map(|s| s.value.as_str())
        .collect();
    let own_api = resource.sp.app_id == client.app.app_id;
    let held = held_scopes(snap, resource, client, consented);
    let mut scp: Vec<String> = offered
        .iter()
        .filter(|o| !OIDC.contains(o))
        .filter(|o| own_api || held.iter().any(|c| c.eq_ignore_ascii_case(o)))
        .map(|o| o.to_string())
        .collect();
    for wanted in &scopes.named {
        let Some(value) = offered.iter().find(|o| o.eq_ignore_ascii_case(wanted)) else {
            return Err(CoreError::InvalidScope {
                scope: format!("{}/{wanted}", scopes.resource_name()),
            });
        };
        if !scp.iter().any(|s| s == value) {
            return Err(CoreError::ConsentRequired {
                client_id: client.app.app_id.to_string(),
                scope: wanted.clone(),
            });
        }
    }
    let graph = lookup == GRAPH_RESOURCE;
    if graph {
        // Graph's own OIDC permissions, as Entra lists them in a Graph token's scp.
        scp.extend(
            ["openid", "profile", "email"]
                .iter()
                .filter(|o| scopes.has(o))
                .map(|o| o.to_string()),
        );
    }
    if scp.is_empty() {
        return Err(CoreError::ConsentRequired {
            client_id: client.app.app_id.to_string(),
            scope: format!("{}/.default", scopes.resource_name()),
        });
    }
    Ok(Granted {
        resource,
        resource_app: snap.application(resource.sp.app_id).map(|a| &a.app),
        resource_name: if graph {
            GRAPH_RESOURCE.to_string()
        } else {
            scopes.resource_name().to_string()
        },
        scp,
    })
}

/// The permissions a user could consent to that the request names and nobody has consented to yet (for
/// the consent page). A permission the resource does not offer is 70011. `.default` names the
/// resource's delegated permissions the client lists in its `requiredResourceAccess`, as in Entra; a
/// client that lists none asks for nothing a user can grant, so without consent it is 65001.
pub fn missing_consent<'a>(
    snap: &'a Snapshot,
    base_url: &str,
    tenant: &Tenant,
    client: &ApplicationRecord,
    scopes: &UserScopes,
    consented: &[String],
) -> Result<(&'a ServicePrincipalRecord, Vec<&'a PermissionScope>), CoreError> {
    let lookup = scopes.lookup_name(base_url);
    let resource = super::resource_in(snap, tenant, &lookup, scopes.resource_name())?;
    if resource.sp.app_id == client.app.app_id {
        return Ok((resource, vec![]));
    }
    let held = held_scopes(snap, resource, client, consented);
    let mut missing = Vec::new();
    let required;
    let names = match scopes.default {
        true => {
            required = required_scopes(snap, resource, client);
            &required
        }
        false => &scopes.named,
    };
    for wanted in names {
        let offered = offered_scopes(snap, resource)
            .iter()
            .find(|o| o.is_enabled && o.value.eq_ignore_ascii_case(wanted))
            .ok_or_else(|| CoreError::InvalidScope {
                scope: format!("{}/{wanted}", scopes.resource_name()),
            })?;
        if !held.iter().any(|c| c.eq_ignore_ascii_case(&offered.value)) {
            missing.push(offered);
        }
    }
    Ok((resource, missing))
}

/// Microsoft Graph's delegated permissions a user may grant to an application from any organisation
/// (Entra's low-risk set, beside the OpenID Connect scopes, which need no grant here).
const LOW_RISK_GRAPH: [&str; 1] = ["User.Read"];

/// Whether a user of `tenant` may consent on their own behalf to `scope` of `resource` for `client`,
/// under the tenant's user consent setting: never to an `Admin` permission, nor when user consent is
/// off; with Entra's default policy ("allow user consent for apps from verified publishers", no
/// publisher being verified here) to any `User` permission of an application of their own
/// organisation, and to one from another organisation only Graph's low-risk permissions; with the
/// legacy policy to any `User` permission. Anything else needs an administrator (90094).
pub fn user_may_consent(
    client: &ApplicationRecord,
    tenant: &Tenant,
    resource: &ServicePrincipalRecord,
    scope: &PermissionScope,
) -> bool {
    if scope.r#type == "Admin" {
        return false;
    }
    let graph = resource.sp.app_id.to_string() == gatehouse_proto::GRAPH_APP_ID;
    match tenant.user_consent {
        UserConsent::Disabled => false,
        UserConsent::Legacy => true,
        UserConsent::Low => {
            client.tenant_id == tenant.id
                || (graph
                    && LOW_RISK_GRAPH
                        .iter()
                        .any(|l| l.eq_ignore_ascii_case(&scope.value)))
        }
    }
}

/// Whether the user may give the consent a page asks for: every `missing` permission of `resource`
/// ([`user_may_consent`]) and, when the consent would add the client to the tenant (its first sign-in
/// there), adding it, which a tenant that turned user consent off keeps for administrators.
pub fn user_may_grant(
    client: &ApplicationRecord,
    tenant: &Tenant,
    resource: &ServicePrincipalRecord,
    missing: &[&PermissionScope],
    adds_application: bool,
) -> bool {
    missing
        .iter()
        .all(|s| user_may_consent(client, tenant, resource, s))
        && !(adds_application && tenant.user_consent == UserConsent::Disabled)
}

/// The delegated permissions a resource offers: its application's, when the application lives in the
/// resource's tenant (the home service principal mirrors them, as in Entra, so a permission exposed
/// after the service principal was made is offered at once); otherwise the service principal's own.
pub(crate) fn offered_scopes<'a>(
    snap: &'a Snapshot,
    resource: &'a ServicePrincipalRecord,
) -> &'a [PermissionScope] {
    match snap.application(resource.sp.app_id) {
        Some(app) if app.tenant_id == resource.tenant_id => &app.app.api.oauth2_permission_scopes,
        _ => &resource.sp.oauth2_permission_scopes,
    }
}

/// The values of the resource's delegated permissions the client's `requiredResourceAccess` lists.
fn required_scopes(
    snap: &Snapshot,
    resource: &ServicePrincipalRecord,
    client: &ApplicationRecord,
) -> Vec<String> {
    let resource_app = resource.sp.app_id.to_string();
    let ids: Vec<uuid::Uuid> = client
        .app
        .required_resource_access
        .iter()
        .filter(|r| r.resource_app_id.eq_ignore_ascii_case(&resource_app))
        .flat_map(|r| r.resource_access.iter())
        .filter(|a| a.kind == "Scope")
        .map(|a| a.id)
        .collect();
    offered_scopes(snap, resource)
        .iter()
        .filter(|s| s.is_enabled && ids.contains(&s.id))
        .map(|s| s.value.clone())
        .collect()
}

/// What the client holds on the resource without asking the user: the consented scope values, and
/// those the resource's application pre-authorized for this client (`api.preAuthorizedApplications`,
/// by permission id), which need no consent, as in Entra.
fn held_scopes(
    snap: &Snapshot,
    resource: &ServicePrincipalRecord,
    client: &ApplicationRecord,
    consented: &[String],
) -> Vec<String> {
    let mut held = consented.to_vec();
    let first_party = crate::first_party::preauthorized(client.app.app_id, resource.sp.app_id);
    held.extend(first_party.iter().map(|s| s.to_string()));
    let Some(resource_app) = snap.application(resource.sp.app_id) else {
        return held;
    };
    let client_id = client.app.app_id.to_string();
    let ids: Vec<&str> = resource_app
        .app
        .api
        .pre_authorized_applications
        .iter()
        .filter(|p| {
            p["appId"]
                .as_str()
                .is_some_and(|a| a.eq_ignore_ascii_case(&client_id))
        })
        .filter_map(|p| p["delegatedPermissionIds"].as_array())
        .flatten()
        .filter_map(|id| id.as_str())
        .collect();
    held.extend(
        offered_scopes(snap, resource)
            .iter()
            .filter(|s| ids.iter().any(|id| id.eq_ignore_ascii_case(&s.id.to_string())))
            .map(|s| s.value.clone()),
    );
    held
}

impl Granted<'_> {
    /// The response's `scope`: the permissions as a client names them (Graph's bare, others prefixed
    /// with the resource), then the OIDC scopes asked for, without `offline_access` (as Entra answers).
    pub fn response_scope(&self, scopes: &UserScopes) -> String {
        let graph = self.resource_name == GRAPH_RESOURCE;
        let mut out: Vec<String> = self
            .scp
            .iter()
            .map(|s| {
                if graph || OIDC.contains(&s.as_str()) {
                    s.clone()
                } else {
                    format!("{}/{s}", self.resource_name)
                }
            })
            .collect();
        for o in ["openid", "profile", "email"] {
            if scopes.has(o) && !out.iter().any(|s| s == o) {
                out.push(o.to_string());
            }
        }
        out.join(" ")
    }
}

/// Who signed in and how, for the tokens.
#[derive(Debug, Clone)]
pub struct SignedIn<'a> {
    pub tenant: &'a Tenant,
    pub client: &'a ApplicationRecord,
    /// `azpacr`: `"0"` public client, `"1"` secret, `"2"` certificate or assertion.
    pub client_acr: &'static str,
    pub user: &'a UserRecord,
    /// The authorization request's `nonce`, echoed in the ID token.
    pub nonce: Option<String>,
    /// The sign-in session, as the ID token's `sid`.
    pub session_id: Option<String>,
    /// Whether the request had `client_info=1`.
    pub client_info: bool,
    /// When the user proved who they are (`auth_time`).
    pub auth_time: OffsetDateTime,
}

/// Whether the user may use the client: always, unless its service principal in the user's tenant
/// requires assignment (`appRoleAssignmentRequired`) and the user holds none of its roles (the default
/// access role counts). Entra's 50105. The snapshot holds the user's assignments.
pub fn user_assigned(
    snap: &Snapshot,
    tenant: &Tenant,
    client: &ApplicationRecord,
    user: &UserRecord,
) -> Result<(), CoreError> {
    match snap.service_principal(tenant.id, client.app.app_id) {
        Some(sp)
            if sp.sp.app_role_assignment_required && snap.roles_held(user.user.id, sp.sp.id).is_empty() =>
        {
            Err(CoreError::UserNotAssigned {
                app_name: client.app.display_name.clone(),
            })
        }
        _ => Ok(()),
    }
}

/// The app roles of the resource assigned to the user (allowed member type `User`), by value, for the
/// access token's `roles`; `None` when there are none. The snapshot holds the user's assignments.
fn user_roles(snap: &Snapshot, user: &UserRecord, granted: &Granted<'_>) -> Option<Vec<String>> {
    let held = snap.roles_held(user.user.id, granted.resource.sp.id);
    let mut values: Vec<String> =
        crate::model::effective_app_roles(&granted.resource.sp, granted.resource_app)
            .iter()
            .filter(|r| {
                r.is_enabled && held.contains(&r.id) && r.allowed_member_types.iter().any(|t| t == "User")
            })
            .filter_map(|r| r.value.clone())
            .collect();
    values.sort();
    (!values.is_empty()).then_some(values)
}

/// The access token and, as the request asked, an ID token and `client_info`. The refresh token is the
/// caller's (each flow stores it differently).
pub fn tokens(
    snap: &Snapshot,
    ctx: &TokenContext,
    who: &SignedIn<'_>,
    granted: &Granted<'_>,
    scopes: &UserScopes,
    now: OffsetDateTime,
) -> Result<(MintedToken, UserTokens), CoreError> {
    let tid = who.tenant.id.to_string();
    let oid = who.user.user.id.to_string();
    let client_id = who.client.app.app_id.to_string();
    let user = &who.user.user;
    let upn = user.user_principal_name.clone();
    let sub = snap.keys.pairwise_subject(&tid, &oid, &client_id);
    let base = ctx.base_url.as_str();
    let (iat, exp) = mint::lifetime(now);

    let format = Version::of_requested_token(
        granted
            .resource_app
            .and_then(|a| a.api.requested_access_token_version),
    );
    let v2 = format == Version::V2;
    let access = AccessTokenClaims {
        aud: if v2 {
            granted.resource.sp.app_id.to_string()
        } else {
            granted.resource_name.clone()
        },
        iss: mint::issuer(format, base, &tid),
        iat,
        nbf: iat,
        exp,
        aio: Some(mint::token_id()?),
        appid: (!v2).then(|| client_id.clone()),
        appidacr: (!v2).then(|| who.client_acr.to_string()),
        azp: v2.then(|| client_id.clone()),
        azpacr: v2.then(|| who.client_acr.to_string()),
        idp: None,
        idtyp: Some("user".into()),
        oid: oid.clone(),
        rh: Some(format!("0.{}.", mint::token_id()?)),
        roles: user_roles(snap, who.user, granted),
        scp: Some(granted.scp.join(" ")),
        sub: sub.clone(),
        tid: tid.clone(),
        uti: mint::token_id()?,
        ver: format.claim().into(),
        user: UserClaims {
            name: Some(user.display_name.clone()),
            preferred_username: v2.then(|| upn.clone()),
            upn: (!v2).then(|| upn.clone()),
            unique_name: (!v2).then(|| upn.clone()),
            given_name: user.given_name.clone().filter(|_| !v2),
            family_name: user.surname.clone().filter(|_| !v2),
            acr: (!v2).then(|| "1".into()),
            amr: (!v2).then(|| vec!["pwd".into()]),
        },
    };
    user_assigned(snap, who.tenant, who.client, who.user)?;
    let token = mint::sign(snap, &access, format, now)?;

    let id_token = scopes
        .has("openid")
        .then(|| id_token(snap, ctx.endpoint, base, who, scopes, None, now))
        .transpose()?;
    let client_info = who
        .client_info
        .then(|| serde_json::to_vec(&ClientInfo { uid: oid, utid: tid }))
        .transpose()
        .map_err(|_| CoreError::Internal)?
        .map(|json| gatehouse_jose::b64url(&json));
    Ok((
        token,
        UserTokens {
            refresh_token: None,
            id_token,
            client_info,
        },
    ))
}

/// The ID token for `who` (OIDC Core §2; entra-protocol.md §4.3), in the version of the endpoint that
/// issues it. `c_hash` is for a code sent beside it from `/authorize`.
pub fn id_token(
    snap: &Snapshot,
    endpoint: Version,
    base_url: &str,
    who: &SignedIn<'_>,
    scopes: &UserScopes,
    c_hash: Option<String>,
    now: OffsetDateTime,
) -> Result<Secret, CoreError> {
    let tid = who.tenant.id.to_string();
    let oid = who.user.user.id.to_string();
    let client_id = who.client.app.app_id.to_string();
    let user = &who.user.user;
    let upn = &user.user_principal_name;
    let (iat, exp) = mint::lifetime(now);
    let v2 = endpoint == Version::V2;
    let profile = scopes.has("profile");
    let claims = IdTokenClaims {
        sub: snap.keys.pairwise_subject(&tid, &oid, &client_id),
        aud: client_id,
        iss: mint::issuer(endpoint, base_url, &tid),
        iat,
        nbf: iat,
        exp,
        aio: Some(mint::token_id()?),
        auth_time: Some(who.auth_time.unix_timestamp()),
        c_hash,
        email: user.mail.clone().filter(|_| scopes.has("email")),
        name: profile.then(|| user.display_name.clone()),
        nonce: who.nonce.clone(),
        oid,
        preferred_username: (v2 && profile).then(|| upn.clone()),
        unique_name: (!v2).then(|| upn.clone()),
        upn: (!v2).then(|| upn.clone()),
        rh: Some(format!("0.{}.", mint::token_id()?)),
        sid: who.session_id.clone(),
        tid,
        uti: mint::token_id()?,
        ver: if v2 { "2.0" } else { "1.0" }.into(),
    };
    mint::sign_jwt(snap, &claims, endpoint, now)
}

/// The answer of a user's flow: the tokens, and with `offline_access` the first refresh token of the
/// new `family` (the family and the token are committed before the answer leaves).
pub fn answer(
    token: MintedToken,
    mut user_tokens: UserTokens,
    granted: &Granted<'_>,
    scopes: &UserScopes,
    mut single_use: Vec<super::SingleUse>,
    family: RefreshFamily,
    now: OffsetDateTime,
) -> Result<super::Issued, CoreError> {
    let subject = subject(&family, granted);
    if scopes.has("offline_access") {
        let (value, stored) = new_refresh_token(family.id, now)?;
        user_tokens.refresh_token = Some(value);
        single_use.push(super::SingleUse::NewRefreshFamily(Box::new((family, stored))));
    }
    Ok(super::Issued {
        token,
        scope: Some(granted.response_scope(scopes)),
        resource: granted.resource_name.clone(),
        user: user_tokens,
        single_use,
        subject,
    })
}

/// The sign-in record's facts of a user's token.
pub fn subject(family: &RefreshFamily, granted: &Granted<'_>) -> super::Subject {
    super::Subject {
        tenant_id: family.tenant_id,
        client_id: family.client_id,
        user_id: Some(family.user_id),
        resource_id: granted.resource.sp.id,
        resource_name: granted.resource.sp.display_name.clone(),
    }
}

/// A new refresh token of `family`: `1.` and 32 random bytes in base64url (256 bits), and the record
/// the store keeps, which holds only its SHA-256.
pub fn new_refresh_token(
    family: Uuid,
    now: OffsetDateTime,
) -> Result<(Secret, StoredRefreshToken), CoreError> {
    let bytes = gatehouse_jose::random_bytes::<32>().map_err(|_| CoreError::Internal)?;
    let value = format!("1.{}", gatehouse_jose::b64url(&bytes));
    let stored = StoredRefreshToken {
        hash: refresh_token_hash(&value),
        family_id: family,
        issued_at: now,
        used_at: None,
    };
    Ok((Secret::new(value), stored))
}

/// How a presented refresh token is looked up.
pub fn refresh_token_hash(value: &str) -> [u8; 32] {
    gatehouse_jose::sha256(value.as_bytes())
}

/// Whether an application may use a user's flows without a credential (a public client): Entra's
/// "allow public client flows", or a mobile/desktop or single-page redirect URI.
pub fn accepts_public_client(app: &ApplicationRecord) -> bool {
    app.app.is_fallback_public_client == Some(true)
        || !app.app.public_client.redirect_uris.is_empty()
        || !app.app.spa.redirect_uris.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_name_one_resource_and_bare_permissions_are_graphs() {
        let s = UserScopes::parse("User.Read openid profile offline_access").unwrap();
        assert_eq!(s.resource.as_deref(), Some(GRAPH_RESOURCE));
        assert_eq!(s.named, vec!["User.Read"]);
        assert!(s.has("openid") && s.has("offline_access") && !s.has("email"));

        let s = UserScopes::parse("api://orders/Orders.Read api://orders/orders.write OPENID").unwrap();
        assert_eq!(s.resource.as_deref(), Some("api://orders"));
        assert_eq!(s.named, vec!["Orders.Read", "orders.write"]);
        assert!(s.has("openid"));

        let s = UserScopes::parse("https://contoso.com//.default").unwrap();
        assert_eq!(
            (s.resource.as_deref(), s.default),
            (Some("https://contoso.com/"), true)
        );

        let only_oidc = UserScopes::parse("openid profile").unwrap();
        assert_eq!(
            (only_oidc.resource.as_deref(), only_oidc.resource_name()),
            (None, GRAPH_RESOURCE)
        );

        let code = |s: &str| UserScopes::parse(s).unwrap_err().aadsts();
        assert_eq!(code("User.Read api://orders/Orders.Read"), 70011);
        assert_eq!(code("api://orders/.default api://orders/Orders.Read"), 70011);
        assert_eq!(code("  "), 90014);
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_only_as_a_hash() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let (a, stored) = new_refresh_token(Uuid::nil(), now).unwrap();
        let (b, _) = new_refresh_token(Uuid::nil(), now).unwrap();
        assert_ne!(a, b);
        assert!(a.expose().starts_with("1.") && a.expose().len() == 45);
        assert_eq!(stored.hash, refresh_token_hash(a.expose()));
        assert!(!format!("{stored:?}").contains(&a.expose()[2..]));
    }
}
