//! The client-credentials grant (entra-protocol.md §2.1): an application gets an app-only token for a
//! resource named by `{resource}/.default`; its `roles` are the resource's app roles assigned to the
//! client's service principal in that tenant, and no assignment means no `roles` claim (§4.3).

use gatehouse_proto::token::{AccessTokenClaims, UserClaims, UserTokens};
use gatehouse_proto::GRAPH_RESOURCE;
use time::OffsetDateTime;

use super::client_auth::PresentedClient;
use super::mint;
use super::{Issued, SingleUse, TokenContext, Version};
use crate::model::{effective_app_roles, name_key, ServicePrincipalRecord, Tenant};
use crate::scope::DefaultScope;
use crate::store::StoreError;
use crate::{CoreError, Directory, Snapshot};

/// `grant_type=client_credentials`: the client and the resource it names.
#[derive(Debug, Clone)]
pub struct ClientCredentialsRequest {
    pub client: PresentedClient,
    pub scope: Option<String>,
    pub resource: Option<String>,
}

/// Reads what [`issue`] needs into `snap`: the client's application and service principal, the
/// resource's name, service principal and application, and the roles the client holds.
pub async fn prefetch(
    dir: &Directory,
    mut snap: Snapshot,
    ctx: &TokenContext,
    req: &ClientCredentialsRequest,
) -> Result<Snapshot, StoreError> {
    let Some(tenant) = snap.resolve_tenant(&ctx.tenant).map(|t| t.id) else {
        return Ok(snap);
    };
    let resource = requested_resource(ctx, req).ok();
    fill_app_only(dir, &mut snap, tenant, &req.client.client_id, resource.as_deref()).await?;
    Ok(snap)
}

/// What an app-only token is decided from: the client's entries and the resource's (`fill`), and the
/// app roles the client's service principal holds. Managed identities read the same.
pub(crate) async fn fill_app_only(
    dir: &Directory,
    snap: &mut Snapshot,
    tenant: gatehouse_proto::TenantId,
    client_id: &str,
    resource: Option<&str>,
) -> Result<(), StoreError> {
    let (client_sp, _) = super::fill(dir, snap, tenant, client_id, resource).await?;
    if let Some(sp) = client_sp {
        snap.add_roles(sp, &dir.roles_held(sp).await?);
    }
    Ok(())
}

/// Issues an app-only token.
pub fn issue(
    snap: &Snapshot,
    ctx: &TokenContext,
    req: &ClientCredentialsRequest,
    now: OffsetDateTime,
) -> Result<Issued, CoreError> {
    if ctx.tenant.is_alias() {
        return Err(CoreError::NoTenantForClientCredentials);
    }
    let tenant = snap
        .resolve_tenant(&ctx.tenant)
        .ok_or_else(|| CoreError::TenantNotFound {
            tenant: ctx.tenant_raw.clone(),
        })?;
    let wanted = requested_resource(ctx, req)?;
    let base_url = ctx.base_url.as_str();

    let (app, client_sp) = super::client_in(snap, tenant, &req.client.client_id)?;
    let auth = req
        .client
        .authenticate(snap, app, tenant, base_url, &ctx.policies.assertions, now)?;
    let acr = auth.acr;
    if !client_sp.sp.account_enabled {
        return Err(CoreError::ClientDisabled {
            client_id: req.client.client_id.clone(),
        });
    }

    let mut issued = app_only(snap, tenant, client_sp, wanted, acr, base_url, now)?;
    issued.single_use = auth
        .replay_guard
        .into_iter()
        .map(SingleUse::AssertionId)
        .collect();
    Ok(issued)
}

/// An app-only token for `client_sp` to the resource `wanted` names: the resource's app roles it holds,
/// in the resource's token format. Client credentials and managed identities (`managed_identity.rs`)
/// both end here. It consumes nothing: the caller adds what must be durable first.
pub(super) fn app_only(
    snap: &Snapshot,
    tenant: &Tenant,
    client_sp: &ServicePrincipalRecord,
    wanted: String,
    acr: &str,
    base_url: &str,
    now: OffsetDateTime,
) -> Result<Issued, CoreError> {
    let client_app_id = client_sp.sp.app_id;
    let resource_sp = super::resource_in(snap, tenant, &wanted, &wanted)?;
    let resource_app = snap.application(resource_sp.sp.app_id).map(|a| &a.app);
    let assigned = snap.roles_held(client_sp.sp.id, resource_sp.sp.id);
    if resource_sp.sp.app_role_assignment_required && assigned.is_empty() {
        return Err(CoreError::AssignmentRequired {
            client_id: client_app_id.to_string(),
            resource: wanted,
        });
    }
    let mut roles: Vec<String> = effective_app_roles(&resource_sp.sp, resource_app)
        .iter()
        .filter(|r| r.is_enabled && assigned.contains(&r.id))
        .filter(|r| r.allowed_member_types.iter().any(|t| t == "Application"))
        .filter_map(|r| r.value.clone())
        .collect();
    roles.sort();
    roles.dedup();

    let format = Version::of_requested_token(resource_app.and_then(|a| a.api.requested_access_token_version));
    let v2 = format == Version::V2;
    let tid = tenant.id.to_string();
    let (iat, exp) = mint::lifetime(now);
    let subject = super::Subject {
        tenant_id: tenant.id,
        client_id: client_app_id,
        user_id: None,
        resource_id: resource_sp.sp.id,
        resource_name: resource_sp.sp.display_name.clone(),
    };
    let client_app_id = client_app_id.to_string();
    let oid = client_sp.sp.id.to_string();
    let claims = AccessTokenClaims {
        aud: if v2 {
            resource_sp.sp.app_id.to_string()
        } else {
            wanted.clone()
        },
        iss: mint::issuer(format, base_url, &tid),
        iat,
        nbf: iat,
        exp,
        aio: Some(mint::token_id()?),
        appid: (!v2).then(|| client_app_id.clone()),
        appidacr: (!v2).then(|| acr.to_string()),
        azp: v2.then(|| client_app_id.clone()),
        azpacr: v2.then(|| acr.to_string()),
        idp: (!v2).then(|| mint::issuer(Version::V1, base_url, &tid)),
        idtyp: Some("app".into()),
        oid: oid.clone(),
        rh: Some(format!("1.{}.", mint::token_id()?)),
        roles: (!roles.is_empty()).then_some(roles),
        scp: None,
        sub: oid,
        tid,
        uti: mint::token_id()?,
        ver: format.claim().into(),
        user: UserClaims::default(),
    };
    let token = mint::sign(snap, &claims, format, now)?;
    Ok(Issued {
        token,
        resource: wanted,
        scope: None,
        user: UserTokens::default(),
        single_use: vec![],
        subject,
    })
}

/// The resource the request names: `scope={resource}/.default` on v2, `resource=` (or a scope) on v1.
/// This server's own public URL names Microsoft Graph (see [`graph_alias`]).
fn requested_resource(ctx: &TokenContext, req: &ClientCredentialsRequest) -> Result<String, CoreError> {
    let named = match (ctx.endpoint, req.resource.as_deref(), req.scope.as_deref()) {
        (Version::V2, Some(_), _) => Err(CoreError::ResourceParameterOnV2),
        (Version::V1, Some(r), _) if !r.is_empty() => Ok(r.to_string()),
        (_, _, Some(s)) if !s.trim().is_empty() => DefaultScope::parse(s).map(|d| d.resource),
        (Version::V1, _, _) => Err(CoreError::MissingParameter { name: "resource" }),
        (Version::V2, _, _) => Err(CoreError::ScopeMissing),
    }?;
    Ok(graph_alias(&named, &ctx.base_url).unwrap_or(named))
}

/// The compatibility alias tools that point a cloud's Graph (and resource manager) at Gatehouse need:
/// the az CLI asks for a token whose resource is the cloud's Graph URL, which is this server's public
/// URL. That name means Microsoft Graph, so the token is Graph's (`aud` https://graph.microsoft.com) and
/// no application can claim the server's own URL from Graph.
pub fn graph_alias(resource: &str, base_url: &str) -> Option<String> {
    (name_key(resource) == name_key(base_url)).then(|| GRAPH_RESOURCE.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::bootstrap::{first_tenant, BootstrapOutput};
    use crate::flows::client_auth::Credential;
    use crate::flows::fixtures::{ctx, world, BASE, NOW};
    use crate::keys::KeyRing;
    use gatehouse_jose::kek::Kek;
    use gatehouse_jose::ParsedJws;
    use gatehouse_proto::token::Secret;

    fn run(
        snap: &Snapshot,
        out: &BootstrapOutput,
        tenant: &str,
        secret: &str,
        scope: &str,
    ) -> Result<AccessTokenClaims, CoreError> {
        let ctx = ctx(Version::V2, tenant);
        let req = ClientCredentialsRequest {
            client: PresentedClient {
                client_id: out.client_id.to_string(),
                credential: Credential::Secret(Secret::new(secret)),
            },
            scope: Some(scope.into()),
            resource: None,
        };
        let t = issue(snap, &ctx, &req, NOW)?;
        let parsed = ParsedJws::parse(t.token.access_token.expose()).unwrap();
        assert_eq!(parsed.header.kid, parsed.header.x5t, "v1 tokens carry x5t == kid");
        Ok(serde_json::from_slice(&parsed.payload).unwrap())
    }

    #[test]
    fn graph_token_is_v1_with_the_assigned_roles_and_entras_timestamps() {
        let (snap, out) = world();
        let c = run(
            &snap,
            &out,
            "contoso.example",
            out.client_secret.expose(),
            "https://graph.microsoft.com/.default",
        )
        .unwrap();
        assert_eq!(c.ver, "1.0");
        assert_eq!(c.aud, "https://graph.microsoft.com");
        assert_eq!(c.iss, format!("{BASE}/{}/", out.tenant_id));
        assert_eq!(c.appid.as_deref(), Some(out.client_id.to_string().as_str()));
        assert_eq!(c.appidacr.as_deref(), Some("1"));
        assert_eq!(c.oid, c.sub);
        assert_eq!(
            c.roles.unwrap(),
            vec![
                "AppRoleAssignment.ReadWrite.All",
                "Application.ReadWrite.All",
                "AuditLog.Read.All",
                "Directory.Read.All",
                "Policy.ReadWrite.Authorization",
                "RoleManagement.ReadWrite.Directory",
                "User.ReadWrite.All"
            ]
        );
        assert_eq!(c.iat, NOW.unix_timestamp() - 300);
        assert_eq!(c.exp - c.iat, 3900);
    }

    #[test]
    fn resource_may_be_named_by_appid_and_tenant_by_guid_in_any_case() {
        let (snap, out) = world();
        let tenant = out.tenant_id.to_string().to_uppercase();
        let c = run(
            &snap,
            &out,
            &tenant,
            out.client_secret.expose(),
            "00000003-0000-0000-c000-000000000000/.default openid",
        )
        .unwrap();
        assert_eq!(c.aud, "00000003-0000-0000-c000-000000000000");
    }

    #[test]
    fn the_servers_own_url_names_graph_for_tools_that_use_it_as_their_clouds_graph() {
        let (snap, out) = world();
        for scope in [
            format!("{BASE}//.default"),
            format!("{}/.default", BASE.to_uppercase()),
        ] {
            let c = run(&snap, &out, "contoso.example", out.client_secret.expose(), &scope).unwrap();
            assert_eq!(c.aud, "https://graph.microsoft.com", "{scope}");
        }
    }

    #[test]
    fn failures_carry_entras_codes() {
        let (snap, out) = world();
        let s = out.client_secret.expose();
        let graph = "https://graph.microsoft.com/.default";
        let code = |r: Result<AccessTokenClaims, CoreError>| r.unwrap_err().aadsts();
        assert_eq!(code(run(&snap, &out, "contoso.example", "wrong", graph)), 7000215);
        assert_eq!(code(run(&snap, &out, "common", s, graph)), 50059);
        assert_eq!(code(run(&snap, &out, "fabrikam.example", s, graph)), 90002);
        assert_eq!(code(run(&snap, &out, "contoso.example", s, "User.Read")), 1002012);
        assert_eq!(
            code(run(&snap, &out, "contoso.example", s, "api://nothing/.default")),
            500011
        );
    }

    #[test]
    fn unknown_clients_and_missing_secrets_are_refused() {
        let (snap, out) = world();
        let ctx = ctx(Version::V2, "contoso.example");
        let mut req = ClientCredentialsRequest {
            client: PresentedClient {
                client_id: uuid::Uuid::new_v4().to_string(),
                credential: Credential::Secret(Secret::new("x")),
            },
            scope: Some("https://graph.microsoft.com/.default".into()),
            resource: None,
        };
        assert_eq!(issue(&snap, &ctx, &req, NOW).unwrap_err().aadsts(), 700016);
        req.client = PresentedClient {
            client_id: out.client_id.to_string(),
            credential: Credential::None,
        };
        assert_eq!(issue(&snap, &ctx, &req, NOW).unwrap_err().aadsts(), 7000218);
        req.scope = None;
        assert_eq!(issue(&snap, &ctx, &req, NOW).unwrap_err().aadsts(), 90014);
        req.resource = Some("https://graph.microsoft.com".into());
        assert_eq!(issue(&snap, &ctx, &req, NOW).unwrap_err().aadsts(), 901002);
    }

    #[test]
    fn an_expired_secret_is_rejected_with_7000222() {
        let (snap, out) = world();
        let ctx = ctx(Version::V1, "contoso.example");
        let req = ClientCredentialsRequest {
            client: PresentedClient {
                client_id: out.client_id.to_string(),
                credential: Credential::Secret(out.client_secret.clone()),
            },
            scope: None,
            resource: Some("https://graph.microsoft.com".into()),
        };
        let later = NOW + time::Duration::days(731);
        assert_eq!(issue(&snap, &ctx, &req, later).unwrap_err().aadsts(), 7000222);
        assert!(issue(&snap, &ctx, &req, NOW).is_ok());
    }

    /// A federated assertion, with the external issuer's key as the server would have fetched it.
    #[test]
    fn a_federated_assertion_needs_a_matching_credential_the_issuers_key_and_a_valid_time() {
        use crate::flows::client_auth::ClientParameters;
        use crate::model::FederatedCredentialRecord;
        use gatehouse_jose::jws::{sign, JwsHeader};
        use gatehouse_jose::{ClientCertificate, SignatureAlgorithm, SigningKey};
        use gatehouse_proto::graph::FederatedIdentityCredential;

        let kek = Kek::generate().unwrap();
        let (mut data, out) = first_tenant("contoso.example", &kek, NOW).unwrap();
        let app = data
            .applications
            .iter()
            .find(|a| a.app.app_id == out.client_id)
            .unwrap();
        data.federated.push(FederatedCredentialRecord {
            application_id: app.app.id,
            credential: FederatedIdentityCredential {
                id: uuid::Uuid::new_v4(),
                name: "ci-runner".into(),
                issuer: "https://issuer.example".into(),
                subject: "workload".into(),
                description: None,
                audiences: vec!["api://AzureADTokenExchange".into()],
            },
        });
        let keys = KeyRing::build(&data.keys, &kek, &KeyRing::default());
        let snap = Snapshot::build(data, keys);
        let issuer_key = SigningKey::generate("issuer", NOW - time::Duration::DAY, 1).unwrap();
        let public = |k: &SigningKey| {
            let c = ClientCertificate::parse(k.certificate_der()).unwrap();
            (c.n, c.e)
        };
        let client_id = out.client_id.to_string();
        let attempt = |exp_offset: i64, key: Option<(Vec<u8>, Vec<u8>)>| {
            let t = NOW.unix_timestamp();
            let claims = serde_json::json!({"iss": "https://issuer.example", "sub": "workload",
                "aud": "api://AzureADTokenExchange", "iat": t - 60, "exp": t + exp_offset});
            let header = JwsHeader {
                kid: Some(issuer_key.kid().into()),
                ..Default::default()
            };
            let raw = Secret::new(sign(&issuer_key, SignatureAlgorithm::Rs256, header, &claims).unwrap());
            let params = ClientParameters {
                client_id: Some(&client_id),
                client_assertion: Some(&raw),
                client_assertion_type: Some(super::super::assertion::JWT_BEARER),
                ..Default::default()
            };
            let mut client = PresentedClient::from_request(params, None).unwrap();
            let Credential::Federated { key: slot, .. } = &mut client.credential else {
                panic!("an assertion from another issuer is federated")
            };
            *slot = key;
            let ctx = ctx(Version::V2, "contoso.example");
            let req = ClientCredentialsRequest {
                client,
                scope: Some("https://graph.microsoft.com/.default".into()),
                resource: None,
            };
            issue(&snap, &ctx, &req, NOW).map(|t| t.single_use)
        };
        assert_eq!(
            attempt(600, Some(public(&issuer_key))),
            Ok(vec![]),
            "accepted, and not single-use"
        );
        assert_eq!(
            attempt(-600, Some(public(&issuer_key))).unwrap_err().aadsts(),
            700024
        );
        let stranger = SigningKey::generate("stranger", NOW - time::Duration::DAY, 1).unwrap();
        assert_eq!(
            attempt(600, Some(public(&stranger))).unwrap_err().aadsts(),
            700027
        );
        assert_eq!(attempt(600, None).unwrap_err().aadsts(), 50166);
    }
}
