//! The OAuth error body of Entra's protocol endpoints (entra-protocol.md §2.10) and the `error` values
//! it uses. Which AADSTS code goes with which failure is decided in `gatehouse-core`.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// The `error` member: RFC 6749 §5.2 values plus Entra's own (entra-protocol.md §2.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthError {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    InvalidResource,
    InvalidTenant,
    TemporarilyUnavailable,
    ServerError,
    /// Authorization responses only.
    UnsupportedResponseType,
    LoginRequired,
    ConsentRequired,
    AccessDenied,
    /// Device flow (RFC 8628 §3.5).
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
    AuthorizationDeclined,
}

impl OAuthError {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidResource => "invalid_resource",
            Self::InvalidTenant => "invalid_tenant",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::ServerError => "server_error",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::AccessDenied => "access_denied",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
            Self::AuthorizationDeclined => "authorization_declined",
        }
    }
}

/// `{"error","error_description","error_codes","timestamp","trace_id","correlation_id","error_uri"}`.
#[derive(Debug, Clone, Serialize)]
pub struct OAuthErrorBody {
    pub error: &'static str,
    pub error_description: String,
    pub error_codes: Vec<u32>,
    pub timestamp: String,
    pub trace_id: String,
    pub correlation_id: String,
    pub error_uri: String,
    /// Entra's finer reason (`consent_required`, `bad_token`, …), which MSAL maps to "sign in again".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suberror: Option<&'static str>,
}

impl OAuthErrorBody {
    /// Builds the body as Entra does: the description is `AADSTS{code}: {message}` followed by the
    /// trace trailer; `error_uri` points at this server's `/error?code=` page.
    pub fn new(
        error: OAuthError,
        code: u32,
        message: &str,
        correlation_id: Uuid,
        trace_id: Uuid,
        now: OffsetDateTime,
        base_url: &str,
    ) -> Self {
        let timestamp = crate::timefmt::error_timestamp(now);
        Self {
            error: error.as_str(),
            error_description: format!(
                "AADSTS{code}: {message} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}"
            ),
            error_codes: vec![code],
            timestamp,
            trace_id: trace_id.to_string(),
            correlation_id: correlation_id.to_string(),
            error_uri: format!("{}/error?code={code}", base_url.trim_end_matches('/')),
            suberror: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn body_has_entra_shape() {
        let id = Uuid::nil();
        let body = OAuthErrorBody::new(
            OAuthError::InvalidScope,
            70011,
            "The provided value for the input parameter 'scope' isn't valid.",
            id,
            id,
            datetime!(2016-01-09 02:02:12 UTC),
            "https://localhost:8443/",
        );
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(v["error"], "invalid_scope");
        assert_eq!(v["error_codes"], serde_json::json!([70011]));
        assert!(v["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS70011: The provided"));
        assert_eq!(v["timestamp"], "2016-01-09 02:02:12Z");
        assert_eq!(v["error_uri"], "https://localhost:8443/error?code=70011");
    }
}
