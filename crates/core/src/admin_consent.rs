//! Admin consent (entra-protocol.md §1.10, §4.4): an administrator grants a client permissions for
//! every user of the tenant, at `/{tenant}/adminconsent` (v1), `/{tenant}/v2.0/adminconsent` (v2), or
//! with `prompt=admin_consent` inside a sign-in. The request is checked like an authorization request
//! (client, tenant, registered redirect URI) and travels through the same sign-in pages; what is asked
//! is resolved here, who may grant it is the directory roles' rule, and the answer is a redirect with
//! `admin_consent=True`. The server writes what was granted (the client's service principal, an
//! `AllPrincipals` grant per resource, an app role assignment per application permission).

use gatehouse_proto::graph::{AppRole, PermissionScope};
use gatehouse_proto::{Version, GRAPH_APP_ID};
use time::OffsetDateTime;

use crate::admin::directory_roles::DirectoryRole;
use crate::authorize::{
    assign_once, verify_client, AuthorizationRequest, AuthorizePolicy, Refusal, Reply, ResponseMode,
    ResponseType,
};
use crate::flows::delegated::{self, UserScopes};
use crate::model::{effective_app_roles, ApplicationRecord, ServicePrincipalRecord, Tenant};
use crate::{CoreError, Snapshot};

/// The query of an admin consent request.
#[derive(Debug, Clone, Default)]
pub struct AdminConsentParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
    /// v2 only, and required there: `{resource}/.default` for everything the client's
    /// `requiredResourceAccess` lists, or named delegated permissions of one resource.
    pub scope: Option<String>,
}

impl AdminConsentParams {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, CoreError> {
        let mut p = Self::default();
        assign_once(&mut p, pairs, |p, k| match k {
            "client_id" => Some(&mut p.client_id),
            "redirect_uri" => Some(&mut p.redirect_uri),
            "state" => Some(&mut p.state),
            "scope" => Some(&mut p.scope),
            _ => None,
        })?;
        Ok(p)
    }
}

/// Validates an admin consent request at `now`: the client may be used in the tenant (700016), the
/// redirect URI is registered (50011, on the error page); after that, errors go to the redirect URI.
pub fn validate(
    snap: &Snapshot,
    segment: Option<&Tenant>,
    p: &AdminConsentParams,
    endpoint: Version,
    policy: &AuthorizePolicy,
    now: OffsetDateTime,
) -> Result<AuthorizationRequest, Refusal> {
    let v = verify_client(
        snap,
        segment,
        p.client_id.as_deref(),
        p.redirect_uri.as_deref(),
        true,
    )?;
    let scope = match endpoint {
        Version::V1 => String::new(),
        Version::V2 => p.scope.clone().filter(|s| !s.trim().is_empty()).ok_or_else(|| {
            Refusal::Redirect(Reply::error(
                v.tenant,
                &v.redirect_uri,
                ResponseMode::Query,
                p.state.as_deref(),
                &CoreError::MissingParameter { name: "scope" },
            ))
        })?,
    };
    Ok(AuthorizationRequest {
        tenant_id: v.tenant,
        client_id: v.app.app.app_id,
        redirect_uri: v.redirect_uri,
        spa: v.spa,
        response_type: ResponseType::Code,
        v1: endpoint == Version::V1,
        response_mode: ResponseMode::Query,
        scope,
        state: p.state.clone(),
        nonce: None,
        code_challenge: None,
        code_challenge_method: None,
        prompt: None,
        login_hint: None,
        client_info: false,
        max_age: None,
        hinted_user: None,
        expires_at: (now + policy.flow_lifetime).unix_timestamp(),
        device_user_code: None,
        // Like Entra, an administrator of any organisation may consent at `organizations`.
        any_organization: v.any_organization,
        admin_consent: Some(endpoint),
    })
}

/// What an administrator is asked to grant on one resource.
#[derive(Debug, Clone)]
pub struct Requested<'a> {
    pub resource: &'a ServicePrincipalRecord,
    /// Delegated permissions, for every user (an `AllPrincipals` grant).
    pub scopes: Vec<&'a PermissionScope>,
    /// Application permissions (app role assignments to the client).
    pub roles: Vec<&'a AppRole>,
}

/// Whether consent to `client` in `tenant` also adds `api` there (Entra's `knownClientApplications`):
/// a multi-tenant API that names the client as a known client, so that one consent, a user's or an
/// administrator's, provisions both.
pub fn bundled(
    api: &ApplicationRecord,
    client: &ApplicationRecord,
    tenant: gatehouse_proto::TenantId,
) -> bool {
    api.serves(tenant)
        && api
            .app
            .api
            .known_client_applications
            .contains(&client.app.app_id.0)
}

/// The resources of the client's `requiredResourceAccess` by appId, which the snapshot must hold.
pub fn required_resources(client: &ApplicationRecord) -> Vec<String> {
    client
        .app
        .required_resource_access
        .iter()
        .map(|r| r.resource_app_id.clone())
        .collect()
}

/// What the request asks an administrator to grant in `tenant`: for v1, or v2 with `.default`, every
/// permission the client's `requiredResourceAccess` lists (a resource missing from the tenant is 500011,
/// as nothing could be granted on it); for v2 with named scopes, those delegated permissions.
pub fn requested<'a>(
    snap: &'a Snapshot,
    base_url: &str,
    tenant: &Tenant,
    client: &ApplicationRecord,
    scope: &str,
) -> Result<Vec<Requested<'a>>, CoreError> {
    let named = match scope.trim().is_empty() {
        true => None,
        false => Some(UserScopes::parse(scope)?).filter(|s| !s.default),
    };
    if let Some(scopes) = named {
        let lookup = scopes.lookup_name(base_url);
        let resource = crate::flows::resource_in(snap, tenant, &lookup, scopes.resource_name())?;
        let mut wanted = Vec::new();
        for name in &scopes.named {
            let found = delegated::offered_scopes(snap, resource)
                .iter()
                .find(|s| s.is_enabled && s.value.eq_ignore_ascii_case(name))
                .ok_or_else(|| CoreError::InvalidScope {
                    scope: format!("{}/{name}", scopes.resource_name()),
                })?;
            wanted.push(found);
        }
        return Ok(vec![Requested {
            resource,
            scopes: wanted,
            roles: vec![],
        }]);
    }
    let mut out = Vec::new();
    for access in &client.app.required_resource_access {
        let resource =
            crate::flows::resource_in(snap, tenant, &access.resource_app_id, &access.resource_app_id)?;
        let of_kind = |kind: &str| -> Vec<uuid::Uuid> {
            access
                .resource_access
                .iter()
                .filter(|a| a.kind == kind)
                .map(|a| a.id)
                .collect()
        };
        let (scope_ids, role_ids) = (of_kind("Scope"), of_kind("Role"));
        let app = snap
            .application(resource.sp.app_id)
            .filter(|a| a.tenant_id == resource.tenant_id)
            .map(|a| &a.app);
        out.push(Requested {
            resource,
            scopes: delegated::offered_scopes(snap, resource)
                .iter()
                .filter(|s| s.is_enabled && scope_ids.contains(&s.id))
                .collect(),
            roles: effective_app_roles(&resource.sp, app)
                .iter()
                .filter(|r| {
                    r.is_enabled
                        && role_ids.contains(&r.id)
                        && r.allowed_member_types.iter().any(|t| t == "Application")
                })
                .collect(),
        });
    }
    Ok(out)
}

/// Whether a user holding `roles` may grant all of `requested` for the tenant (Entra: Global and
/// Privileged Role Administrators anything; Application and Cloud Application Administrators all but
/// Microsoft Graph's application permissions). Others see 90094.
pub fn may_grant(roles: &[DirectoryRole], requested: &[Requested]) -> bool {
    let graph_app_permissions = requested
        .iter()
        .any(|r| r.resource.sp.app_id.to_string() == GRAPH_APP_ID && !r.roles.is_empty());
    roles.iter().any(|r| r.may_grant(graph_app_permissions))
}

/// The redirect after an administrator granted: `admin_consent=True`, the tenant, the state, and for
/// v2 the scope asked.
pub fn granted(req: &AuthorizationRequest) -> Reply {
    let mut params = vec![
        ("admin_consent", "True".to_string()),
        ("tenant", req.tenant_id.to_string()),
    ];
    if req.admin_consent == Some(Version::V2) {
        params.push(("scope", req.scope.clone()));
    }
    if let Some(s) = &req.state {
        params.push(("state", s.clone()));
    }
    Reply {
        tenant_id: req.tenant_id,
        redirect_uri: req.redirect_uri.clone(),
        mode: ResponseMode::Query,
        params,
    }
}
