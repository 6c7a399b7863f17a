//! The managed-identity listener (issue #12, `serve --identity-listen`): the two protocols Azure's SDKs
//! speak to get a managed identity's token, on plain HTTP as the real endpoints are.
//!
//! - **App Service** (`GET /msi/token?api-version=2019-08-01&resource=…`, header `X-IDENTITY-HEADER`):
//!   what `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` select in every SDK. The header is a per-identity
//!   secret from `gatehouse identity env`, looked up by its SHA-256; it names the identity.
//! - **Instance metadata** (`GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=…`,
//!   header `Metadata: true`): what SDKs use when `AZURE_POD_IDENTITY_AUTHORITY_HOST` points here. It
//!   has no secret (on a VM, any process may use the VM's identities), so it is off unless
//!   `--identity-imds` turns it on, and then the caller must name the identity (`client_id`,
//!   `object_id`/`principal_id` or `msi_res_id`/`mi_res_id`), or send an identity header.
//!
//! Either way the listener answers loopback callers only, unless `--identity-allow-remote`. Every
//! refusal is a 4xx JSON body that each SDK reads (`error`, `error_description`, `statusCode`,
//! `message`); never 404, 410, 429 or a 5xx for a caller's mistake, since the SDKs retry those for
//! up to a minute. Identities are read from the store on each request: a deleted one gets no token
//! from any node once the delete commits.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_core::admin::identities::header_hash;
use gatehouse_core::audit::SignInAttempt;
use gatehouse_core::flows::managed_identity;
use gatehouse_core::model::{IdentityKey, ManagedIdentity};
use gatehouse_core::CoreError;
use gatehouse_proto::{AppId, ObjectId};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::AppState;

/// What the listener serves, and to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IdentityPolicy {
    /// Serve the instance-metadata protocol (no secret: any local process may use any identity).
    pub imds: bool,
    /// Answer callers that are not on loopback.
    pub allow_remote: bool,
}

pub fn router(state: AppState, policy: IdentityPolicy) -> Router {
    Router::new()
        .route("/msi/token", get(app_service_get))
        .route("/metadata/identity/oauth2/token", get(imds_get))
        .fallback(|| async { Refusal::UnknownPath })
        .with_state((state, policy))
}

type Listener = State<(AppState, IdentityPolicy)>;

/// The App Service protocol.
async fn app_service_get(
    State((st, policy)): Listener,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, Refusal> {
    caller_allowed(policy, peer)?;
    let q = Query::parse(query.as_deref(), "2019-08-01")?;
    let secret = header(&headers, "x-identity-header").ok_or(Refusal::NoHeader)?;
    let identity = find(&st, &IdentityKey::Header(header_hash(secret)))
        .await?
        .ok_or(Refusal::UnknownHeader)?;
    if !q.selects(&identity) {
        return Err(Refusal::UnknownIdentity);
    }
    token(&st, &headers, peer, &identity, &q.resource).await
}

/// The instance-metadata protocol.
async fn imds_get(
    State((st, policy)): Listener,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, Refusal> {
    caller_allowed(policy, peer)?;
    // SDKs probe without the header, with a one-second timeout: the answer must be quick and 400.
    if header(&headers, "metadata") != Some("true") {
        return Err(Refusal::NoMetadataHeader);
    }
    if !policy.imds {
        return Err(Refusal::ImdsOff);
    }
    let q = Query::parse(query.as_deref(), "2018-02-01")?;
    let key = match (header(&headers, "x-identity-header"), q.key()) {
        (Some(secret), _) => IdentityKey::Header(header_hash(secret)),
        (None, Some(key)) => key,
        (None, None) => return Err(Refusal::NoSelector),
    };
    let identity = find(&st, &key)
        .await?
        .filter(|i| q.selects(i))
        .ok_or(Refusal::UnknownIdentity)?;
    token(&st, &headers, peer, &identity, &q.resource).await
}

/// Issues the token in the shape both protocols answer with (every number a string, as the Rust SDK
/// requires; `expires_in` for MSAL Python, `expires_on` for msal-node, `resource` for azure-identity's
/// async client), and records the sign-in.
async fn token(
    st: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
    identity: &ManagedIdentity,
    resource: &str,
) -> Result<Json<Value>, Refusal> {
    // A managed identity's token takes a turn like any token request, so the listener cannot
    // overload the node.
    let Some(_turn) = st.admission.turn(crate::admission::Class::Token).await else {
        return Err(Refusal::Token(CoreError::Busy));
    };
    let issued = managed_identity::issue(
        &st.directory,
        identity,
        resource,
        &st.base_url,
        OffsetDateTime::now_utc,
    )
    .await;
    st.sign_ins.record(SignInAttempt {
        at: OffsetDateTime::now_utc(),
        correlation_id: super::oauth_error::correlation_id(headers),
        grant: "managed_identity",
        client_id: identity.client_id.to_string(),
        address: peer.ip().to_string(),
        username: None,
        tenant: identity.tenant_id.to_string(),
        outcome: issued
            .as_ref()
            .map(|i| i.subject.clone())
            .map_err(|e| (e.aadsts(), e.message())),
    });
    let t = issued.map_err(Refusal::Token)?.token;
    Ok(Json(json!({
        "access_token": t.access_token.expose(),
        "client_id": identity.client_id.to_string(),
        "expires_in": t.expires_in.to_string(),
        "expires_on": t.expires_on.to_string(),
        "ext_expires_in": t.expires_in.to_string(),
        "not_before": t.not_before.to_string(),
        "resource": resource,
        "token_type": "Bearer",
    })))
}

/// The query both protocols take.
struct Query {
    resource: String,
    client_id: Option<String>,
    principal_id: Option<String>,
    resource_id: Option<String>,
}

impl Query {
    /// Parses the query: `api-version` at least `oldest`, a `resource`, and at most one selector
    /// under any of the names the SDKs use (App Service's and IMDS's, and azure-identity's async
    /// client's `resource_id`).
    fn parse(raw: Option<&str>, oldest: &str) -> Result<Self, Refusal> {
        let bad = |m: &str| Refusal::BadQuery(m.to_string());
        let mut q = Self {
            resource: String::new(),
            client_id: None,
            principal_id: None,
            resource_id: None,
        };
        let mut version = None;
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let slot = match k.as_ref() {
                "api-version" => &mut version,
                "resource" => {
                    q.resource = v.into_owned();
                    continue;
                }
                "client_id" | "clientid" => &mut q.client_id,
                "principal_id" | "object_id" => &mut q.principal_id,
                "mi_res_id" | "msi_res_id" | "resource_id" => &mut q.resource_id,
                _ => continue,
            };
            if slot.replace(v.into_owned()).is_some() {
                return Err(bad(&format!("The parameter '{k}' was given more than once.")));
            }
        }
        match version.as_deref() {
            None => return Err(bad("The api-version parameter is required.")),
            Some(v) if !is_version_at_least(v, oldest) => {
                return Err(bad(&format!(
                    "The api-version '{v}' is not supported: use {oldest} or later."
                )))
            }
            Some(_) => {}
        }
        if q.resource.trim().is_empty() {
            return Err(bad(
                "The resource parameter is required (for example https://vault.azure.net).",
            ));
        }
        let selectors = [&q.client_id, &q.principal_id, &q.resource_id];
        if selectors.iter().filter(|s| s.is_some()).count() > 1 {
            return Err(bad(
                "Name the identity one way only: client_id, object_id or the resource id.",
            ));
        }
        Ok(q)
    }

    /// The key its selector gives, if any (a malformed GUID selects nothing, so no identity).
    fn key(&self) -> Option<IdentityKey> {
        if let Some(c) = &self.client_id {
            return Some(IdentityKey::ClientId(AppId::parse(c).unwrap_or_default()));
        }
        if let Some(p) = &self.principal_id {
            return Some(IdentityKey::PrincipalId(ObjectId::parse(p).unwrap_or_default()));
        }
        let id = self.resource_id.as_deref()?;
        let (tenant, name) = parse_resource_id(id).unwrap_or_default();
        Some(IdentityKey::Name(tenant, name))
    }

    /// Whether the identity is the one the selector names (or none is named).
    fn selects(&self, identity: &ManagedIdentity) -> bool {
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        self.client_id
            .as_deref()
            .is_none_or(|c| same(c, &identity.client_id.to_string()))
            && self
                .principal_id
                .as_deref()
                .is_none_or(|p| same(p, &identity.principal_id.to_string()))
            && self
                .resource_id
                .as_deref()
                .is_none_or(|r| same(r.trim_end_matches('/'), &identity.resource_id()))
    }
}

/// For the fuzz target: a managed-identity request's query as both protocols parse it, and what its
/// selector names.
pub fn fuzz_query(raw: &str) {
    for oldest in ["2018-02-01", "2019-08-01"] {
        if let Ok(q) = Query::parse(Some(raw), oldest) {
            let _ = q.key();
        }
    }
}

/// The tenant and name in `/subscriptions/{tenant}/resourcegroups/gatehouse/providers/
/// Microsoft.ManagedIdentity/userAssignedIdentities/{name}` (any case).
fn parse_resource_id(id: &str) -> Option<(gatehouse_proto::TenantId, String)> {
    let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        [subs, tenant, rgs, _, providers, ns, kind, name]
            if subs.eq_ignore_ascii_case("subscriptions")
                && rgs.eq_ignore_ascii_case("resourcegroups")
                && providers.eq_ignore_ascii_case("providers")
                && ns.eq_ignore_ascii_case("Microsoft.ManagedIdentity")
                && kind.eq_ignore_ascii_case("userAssignedIdentities") =>
        {
            Some((gatehouse_proto::TenantId::parse(tenant)?, name.to_string()))
        }
        _ => None,
    }
}

/// Compares `YYYY-MM-DD` versions (a `-preview` suffix is ignored).
fn is_version_at_least(version: &str, oldest: &str) -> bool {
    let date = version.get(..10).unwrap_or_default();
    let well_formed = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    well_formed && date >= oldest
}

fn caller_allowed(policy: IdentityPolicy, peer: SocketAddr) -> Result<(), Refusal> {
    if policy.allow_remote || peer.ip().is_loopback() {
        Ok(())
    } else {
        Err(Refusal::Remote)
    }
}

async fn find(st: &AppState, key: &IdentityKey) -> Result<Option<ManagedIdentity>, Refusal> {
    st.store.find_identity(key).await.map_err(|e| {
        tracing::warn!(error = %e, "the store failed while finding a managed identity");
        Refusal::Token(CoreError::Unavailable)
    })
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Why the listener gives no token: the surface's one mapping to a status and a body.
#[derive(Debug)]
enum Refusal {
    Remote,
    UnknownPath,
    NoMetadataHeader,
    ImdsOff,
    BadQuery(String),
    NoHeader,
    UnknownHeader,
    NoSelector,
    UnknownIdentity,
    Token(CoreError),
}

impl IntoResponse for Refusal {
    /// A body every SDK reads: OAuth's `error`/`error_description` and App Service's
    /// `statusCode`/`message`, with a correlation id.
    fn into_response(self) -> Response {
        let (status, error, description) = match self {
            Self::Remote => (
                StatusCode::FORBIDDEN,
                "access_denied",
                "The managed-identity endpoint answers callers on this machine only (serve --identity-allow-remote).".to_string(),
            ),
            Self::UnknownPath => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Unknown path: the managed-identity endpoints are /msi/token and /metadata/identity/oauth2/token.".into(),
            ),
            Self::NoMetadataHeader => (
                StatusCode::BAD_REQUEST,
                "bad_request_102",
                "Required metadata header not specified".into(),
            ),
            Self::ImdsOff => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The instance-metadata protocol is off on this server (serve --identity-imds turns it on); use IDENTITY_ENDPOINT and IDENTITY_HEADER from `gatehouse identity env`.".into(),
            ),
            Self::BadQuery(m) => (StatusCode::BAD_REQUEST, "invalid_request", m),
            Self::NoHeader => (
                StatusCode::UNAUTHORIZED,
                "unauthorized_client",
                "The X-IDENTITY-HEADER header is required: set IDENTITY_HEADER from `gatehouse identity env`.".into(),
            ),
            Self::UnknownHeader => (
                StatusCode::UNAUTHORIZED,
                "unauthorized_client",
                "The X-IDENTITY-HEADER is not one this server gave out, or its identity was deleted.".into(),
            ),
            Self::NoSelector => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Name the managed identity with client_id, object_id or msi_res_id: Gatehouse has no system-assigned identity.".into(),
            ),
            Self::UnknownIdentity | Self::Token(CoreError::ClientNotFound { .. }) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Identity not found: no managed identity matches the client_id, object_id or resource id given.".into(),
            ),
            Self::Token(CoreError::Unavailable | CoreError::Busy) => {
                let mut r = body(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "The server is temporarily unavailable or at capacity; retry shortly.",
                );
                r.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
                return r;
            }
            Self::Token(e @ (CoreError::ResourceNotFound { .. } | CoreError::AssignmentRequired { .. })) => (
                StatusCode::BAD_REQUEST,
                "invalid_resource",
                format!("AADSTS{}: {}", e.aadsts(), e.message()),
            ),
            Self::Token(e) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("AADSTS{}: {}", e.aadsts(), e.message()),
            ),
        };
        body(status, error, &description)
    }
}

fn body(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({
        "error": error,
        "error_description": description,
        "statusCode": status.as_u16(),
        "message": description,
        "correlationId": crate::metrics::request_id().to_string(),
    });
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_dates() {
        assert!(is_version_at_least("2019-08-01", "2019-08-01"));
        assert!(is_version_at_least("2020-06-01", "2018-02-01"));
        assert!(is_version_at_least("2019-07-01-preview", "2018-02-01"));
        assert!(!is_version_at_least("2017-09-01", "2019-08-01"));
        for bad in ["", "latest", "2019-8-1", "20190801xx", "9999-99-9é"] {
            assert!(!is_version_at_least(bad, "2018-02-01"), "{bad}");
        }
    }

    #[test]
    fn resource_ids_name_a_tenant_and_an_identity() {
        let t = gatehouse_proto::TenantId::new();
        let id = format!("/subscriptions/{t}/resourceGroups/gatehouse/providers/Microsoft.ManagedIdentity/userAssignedIdentities/worker");
        assert_eq!(parse_resource_id(&id), Some((t, "worker".into())));
        assert_eq!(parse_resource_id("/subscriptions/x/resourcegroups/g"), None);
        assert_eq!(parse_resource_id(""), None);
    }

    #[test]
    fn a_query_takes_one_selector_by_any_of_its_names() {
        let q = Query::parse(
            Some("api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net&object_id=abc"),
            "2019-08-01",
        )
        .ok()
        .unwrap();
        assert_eq!(q.resource, "https://vault.azure.net");
        assert_eq!(q.principal_id.as_deref(), Some("abc"));
        for bad in [
            None,
            Some("resource=x"),
            Some("api-version=2017-09-01&resource=x"),
            Some("api-version=2019-08-01"),
            Some("api-version=2019-08-01&resource=x&client_id=a&object_id=b"),
            Some("api-version=2019-08-01&resource=x&resource=y&client_id=a&client_id=b"),
        ] {
            let r = Query::parse(bad, "2019-08-01").err().expect("refused");
            assert_eq!(r.into_response().status(), StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }
}
