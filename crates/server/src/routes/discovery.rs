//! OpenID discovery (v2 and v1) and the JWKS, for a tenant GUID, a verified domain, or an alias
//! (entra-protocol.md §1.3–§1.5). Public material: served from the last known snapshot even while the
//! store is down (security-requirements.md §5.4).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::CoreError;
use gatehouse_proto::discovery::{
    v1_issuer, v2_issuer, DiscoveryScope, OpenIdConfigurationV1, OpenIdConfigurationV2,
};
use gatehouse_proto::jwk::JwkSet;
use gatehouse_proto::tenant::TenantSegment;

use gatehouse_proto::Version;

use super::oauth_error::oauth_error_response;
use crate::AppState;

/// The tenant GUID (as text) or alias a discovery request names.
fn scope_of(st: &AppState, raw: &str, version: Version) -> Result<(String, bool), CoreError> {
    let seg = TenantSegment::parse(raw).map_err(|m| CoreError::MalformedTenant { tenant: m.0 })?;
    let not_found = || CoreError::TenantMetadataNotFound {
        tenant: raw.chars().take(256).collect(),
    };
    if let Some(alias) = seg.alias_name() {
        // v1 has no `organizations` (entra-protocol.md §1.1).
        if version == Version::V1 && seg == TenantSegment::Organizations {
            return Err(not_found());
        }
        return Ok((alias.to_string(), true));
    }
    let tenants = st.directory.tenants();
    let tenant = tenants.resolve(&seg).ok_or_else(not_found)?;
    Ok((tenant.id.to_string(), false))
}

fn public(resp: impl IntoResponse) -> Response {
    let mut resp = resp.into_response();
    let h = resp.headers_mut();
    h.insert(
        "cache-control",
        HeaderValue::from_static("max-age=86400, private"),
    );
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, OPTIONS"),
    );
    resp
}

pub async fn v2_get(State(st): State<AppState>, Path(tenant): Path<String>, headers: HeaderMap) -> Response {
    document(&st, &tenant, &headers, Version::V2)
}

pub async fn v1_get(State(st): State<AppState>, Path(tenant): Path<String>, headers: HeaderMap) -> Response {
    document(&st, &tenant, &headers, Version::V1)
}

fn document(st: &AppState, tenant: &str, headers: &HeaderMap, version: Version) -> Response {
    let (t, alias) = match scope_of(st, tenant, version) {
        Ok(s) => s,
        Err(e) => return oauth_error_response(&e, headers, &st.base_url),
    };
    let scope = if alias {
        DiscoveryScope::Alias(&t)
    } else {
        DiscoveryScope::Tenant(&t)
    };
    match version {
        Version::V2 => {
            let mut doc = OpenIdConfigurationV2::new(&st.base_url, scope);
            doc.authorization_response_iss_parameter_supported = st.policies.authorize.response_iss;
            public(Json(doc))
        }
        Version::V1 => public(Json(OpenIdConfigurationV1::new(&st.base_url, scope))),
    }
}

pub async fn keys_v2_get(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    keys(&st, &tenant, &headers, Version::V2)
}

pub async fn keys_v1_get(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    keys(&st, &tenant, &headers, Version::V1)
}

/// The published keys; each names the issuer it signs for (the `{tenantid}` template on aliases).
fn keys(st: &AppState, tenant: &str, headers: &HeaderMap, version: Version) -> Response {
    let (t, alias) = match scope_of(st, tenant, version) {
        Ok(s) => s,
        Err(e) => return oauth_error_response(&e, headers, &st.base_url),
    };
    let tid = if alias { "{tenantid}" } else { t.as_str() };
    let issuer = match version {
        Version::V2 => v2_issuer(&st.base_url, tid),
        Version::V1 => v1_issuer(&st.base_url, tid),
    };
    let keys = st
        .directory
        .keys()
        .published(time::OffsetDateTime::now_utc())
        .map(|k| k.public_jwk(Some(issuer.clone())))
        .collect();
    public(Json(JwkSet { keys }))
}

/// `GET /common/userrealm/{username}?api-version=1.0` (entra-protocol.md §1.11): whether the name's
/// domain is one of this server's tenants. MSAL Python asks before a password sign-in; every Gatehouse
/// domain is "Managed" (never "Federated", which would send MSAL to WS-Trust). It names domains only, so
/// it reveals no account.
pub async fn userrealm_get(State(st): State<AppState>, Path(username): Path<String>) -> Response {
    let domain = username.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    let known = TenantSegment::parse(domain)
        .ok()
        .filter(|s| matches!(s, TenantSegment::Domain(_)))
        .and_then(|s| st.directory.tenants().resolve(&s).map(|_| ()))
        .is_some();
    let body = if known {
        serde_json::json!({
            "ver": "1.0",
            "account_type": "Managed",
            "domain_name": domain.to_ascii_lowercase(),
            "cloud_instance_name": "microsoftonline.com",
            "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        })
    } else {
        serde_json::json!({"ver": "1.0", "account_type": "Unknown", "cloud_instance_name": "microsoftonline.com"})
    };
    public(Json(body))
}
