//! OpenID Connect discovery documents in Entra's v2.0 (entra-protocol.md §1.3) and v1 (§1.4) shapes.
//! Field order follows the live captures; serde keeps declaration order.

use serde::Serialize;

/// Whether the document describes one tenant (endpoints carry its GUID) or an alias such as `common`
/// (endpoints keep the alias and the issuer is the `{tenantid}` template).
#[derive(Debug, Clone, Copy)]
pub enum DiscoveryScope<'a> {
    Tenant(&'a str),
    Alias(&'a str),
}

impl DiscoveryScope<'_> {
    fn segment(&self) -> &str {
        match self {
            Self::Tenant(s) | Self::Alias(s) => s,
        }
    }

    fn issuer_tenant(&self) -> &str {
        match self {
            Self::Tenant(s) => s,
            Self::Alias(_) => "{tenantid}",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OpenIdConfigurationV2 {
    pub token_endpoint: String,
    pub token_endpoint_auth_methods_supported: [&'static str; 3],
    pub jwks_uri: String,
    pub response_modes_supported: [&'static str; 3],
    pub subject_types_supported: [&'static str; 1],
    pub id_token_signing_alg_values_supported: [&'static str; 1],
    pub response_types_supported: [&'static str; 3],
    pub code_challenge_methods_supported: [&'static str; 1],
    pub scopes_supported: [&'static str; 4],
    pub issuer: String,
    pub request_uri_parameter_supported: bool,
    /// RFC 9207: every authorization response carries `iss` (Gatehouse's default; Entra does not).
    pub authorization_response_iss_parameter_supported: bool,
    pub userinfo_endpoint: String,
    pub authorization_endpoint: String,
    pub device_authorization_endpoint: String,
    pub http_logout_supported: bool,
    pub frontchannel_logout_supported: bool,
    pub end_session_endpoint: String,
    pub claims_supported: [&'static str; 19],
    pub tenant_region_scope: Option<&'static str>,
    pub cloud_instance_name: &'static str,
    pub cloud_graph_host_name: &'static str,
    pub msgraph_host: &'static str,
    pub rbac_url: &'static str,
}

const AUTH_METHODS: [&str; 3] = ["client_secret_post", "private_key_jwt", "client_secret_basic"];
const RESPONSE_MODES: [&str; 3] = ["query", "fragment", "form_post"];

impl OpenIdConfigurationV2 {
    /// `base` is the public URL of this server without a trailing slash.
    pub fn new(base: &str, scope: DiscoveryScope<'_>) -> Self {
        let t = scope.segment();
        let tenant_specific = matches!(scope, DiscoveryScope::Tenant(_));
        Self {
            token_endpoint: format!("{base}/{t}/oauth2/v2.0/token"),
            token_endpoint_auth_methods_supported: AUTH_METHODS,
            jwks_uri: format!("{base}/{t}/discovery/v2.0/keys"),
            response_modes_supported: RESPONSE_MODES,
            subject_types_supported: ["pairwise"],
            id_token_signing_alg_values_supported: ["RS256"],
            // Only what is served: `id_token token` and `token` (access tokens from /authorize) are not.
            // The implicit and hybrid types need the application to enable ID-token issuance.
            response_types_supported: ["code", "id_token", "code id_token"],
            // Plain is accepted too, as Entra does, but not advertised (RFC 9700 §2.1.1).
            code_challenge_methods_supported: ["S256"],
            scopes_supported: ["openid", "profile", "email", "offline_access"],
            issuer: format!("{base}/{}/v2.0", scope.issuer_tenant()),
            request_uri_parameter_supported: false,
            authorization_response_iss_parameter_supported: true,
            userinfo_endpoint: format!("{base}/oidc/userinfo"),
            authorization_endpoint: format!("{base}/{t}/oauth2/v2.0/authorize"),
            device_authorization_endpoint: format!("{base}/{t}/oauth2/v2.0/devicecode"),
            http_logout_supported: true,
            frontchannel_logout_supported: true,
            end_session_endpoint: format!("{base}/{t}/oauth2/v2.0/logout"),
            claims_supported: [
                "sub",
                "iss",
                "cloud_instance_name",
                "cloud_instance_host_name",
                "cloud_graph_host_name",
                "msgraph_host",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "at_hash",
                "c_hash",
                "email",
            ],
            tenant_region_scope: tenant_specific.then_some("WW"),
            cloud_instance_name: "microsoftonline.com",
            cloud_graph_host_name: "graph.windows.net",
            msgraph_host: "graph.microsoft.com",
            rbac_url: "https://pas.windows.net",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OpenIdConfigurationV1 {
    pub token_endpoint: String,
    pub token_endpoint_auth_methods_supported: [&'static str; 3],
    pub jwks_uri: String,
    pub response_modes_supported: [&'static str; 3],
    pub subject_types_supported: [&'static str; 1],
    pub id_token_signing_alg_values_supported: [&'static str; 1],
    pub response_types_supported: [&'static str; 3],
    pub scopes_supported: [&'static str; 1],
    pub issuer: String,
    pub microsoft_multi_refresh_token: bool,
    pub authorization_endpoint: String,
    pub device_authorization_endpoint: String,
    pub http_logout_supported: bool,
    pub frontchannel_logout_supported: bool,
    pub end_session_endpoint: String,
    pub claims_supported: [&'static str; 17],
    pub userinfo_endpoint: String,
    pub tenant_region_scope: Option<&'static str>,
    pub cloud_instance_name: &'static str,
    pub cloud_graph_host_name: &'static str,
    pub msgraph_host: &'static str,
    pub rbac_url: &'static str,
}

impl OpenIdConfigurationV1 {
    /// `base` is the public URL of this server; v1 issuers are `{base}/{tid}/` style, standing in for
    /// Entra's `https://sts.windows.net/{tid}/` (same trailing slash).
    pub fn new(base: &str, scope: DiscoveryScope<'_>) -> Self {
        let t = scope.segment();
        let tenant_specific = matches!(scope, DiscoveryScope::Tenant(_));
        Self {
            token_endpoint: format!("{base}/{t}/oauth2/token"),
            token_endpoint_auth_methods_supported: AUTH_METHODS,
            jwks_uri: format!("{base}/{t}/discovery/keys"),
            response_modes_supported: RESPONSE_MODES,
            subject_types_supported: ["pairwise"],
            id_token_signing_alg_values_supported: ["RS256"],
            response_types_supported: ["code", "id_token", "code id_token"],
            scopes_supported: ["openid"],
            issuer: v1_issuer(base, scope.issuer_tenant()),
            microsoft_multi_refresh_token: true,
            authorization_endpoint: format!("{base}/{t}/oauth2/authorize"),
            device_authorization_endpoint: format!("{base}/{t}/oauth2/devicecode"),
            http_logout_supported: true,
            frontchannel_logout_supported: true,
            end_session_endpoint: format!("{base}/{t}/oauth2/logout"),
            claims_supported: [
                "sub",
                "iss",
                "cloud_instance_name",
                "cloud_instance_host_name",
                "cloud_graph_host_name",
                "msgraph_host",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "amr",
                "nonce",
                "email",
                "given_name",
                "family_name",
                "nickname",
            ],
            userinfo_endpoint: format!("{base}/{t}/openid/userinfo"),
            tenant_region_scope: tenant_specific.then_some("WW"),
            cloud_instance_name: "microsoftonline.com",
            cloud_graph_host_name: "graph.windows.net",
            msgraph_host: "graph.microsoft.com",
            rbac_url: "https://pas.windows.net",
        }
    }
}

/// The v2 issuer of a tenant: `{base}/{tid}/v2.0`.
pub fn v2_issuer(base: &str, tenant: &str) -> String {
    format!("{base}/{tenant}/v2.0")
}

/// The v1 issuer of a tenant. Entra's is `https://sts.windows.net/{tid}/`, a host Gatehouse cannot serve;
/// Gatehouse keeps the shape (tenant GUID, trailing slash) on its own host.
pub fn v1_issuer(base: &str, tenant: &str) -> String {
    format!("{base}/{tenant}/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_document_uses_the_guid_everywhere() {
        let tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        let d = OpenIdConfigurationV2::new("https://localhost:8443", DiscoveryScope::Tenant(tid));
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["issuer"], format!("https://localhost:8443/{tid}/v2.0"));
        assert_eq!(
            v["token_endpoint"],
            format!("https://localhost:8443/{tid}/oauth2/v2.0/token")
        );
        assert_eq!(v["tenant_region_scope"], "WW");
        let text = serde_json::to_string(&d).unwrap();
        assert!(
            text.starts_with(r#"{"token_endpoint":"#),
            "Entra's key order: {text}"
        );
    }

    #[test]
    fn alias_document_keeps_the_alias_and_templates_the_issuer() {
        let d = OpenIdConfigurationV2::new("https://h", DiscoveryScope::Alias("common"));
        assert_eq!(d.issuer, "https://h/{tenantid}/v2.0");
        assert_eq!(d.jwks_uri, "https://h/common/discovery/v2.0/keys");
        assert!(d.tenant_region_scope.is_none());
        let v1 = OpenIdConfigurationV1::new("https://h", DiscoveryScope::Alias("common"));
        assert_eq!(v1.issuer, "https://h/{tenantid}/");
    }
}
