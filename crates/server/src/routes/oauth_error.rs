//! The one mapping from core's protocol errors to HTTP: Entra's JSON error body with its AADSTS code;
//! `invalid_client` is 401 (with `WWW-Authenticate: Basic` when the client used Basic),
//! `temporarily_unavailable` 503 with Retry-After (429 when a rate limit refused it), a body too large
//! 413 or too slow 408, everything else 400.
//! Internal detail goes to the log, never to the client.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_core::CoreError;
use gatehouse_proto::error::{OAuthError, OAuthErrorBody};
use time::OffsetDateTime;
use uuid::Uuid;

pub fn status_of(e: &CoreError) -> StatusCode {
    match e {
        CoreError::BodyTooLarge { .. } => return StatusCode::PAYLOAD_TOO_LARGE,
        CoreError::BodyTimeout => return StatusCode::REQUEST_TIMEOUT,
        CoreError::Throttled { .. } => return StatusCode::TOO_MANY_REQUESTS,
        _ => {}
    }
    match e.oauth_error() {
        OAuthError::InvalidClient => StatusCode::UNAUTHORIZED,
        OAuthError::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        OAuthError::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The correlation id Entra echoes: the client's `client-request-id` when it is a GUID, else this
/// request's id, so that the error body, the sign-in log and the audit log name the same one.
pub fn correlation_id(headers: &HeaderMap) -> Uuid {
    headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok())
        .unwrap_or_else(crate::metrics::request_id)
}

pub fn oauth_error_response(e: &CoreError, headers: &HeaderMap, base_url: &str) -> Response {
    let status = status_of(e);
    let trace_id = crate::metrics::request_id();
    let correlation = correlation_id(headers);
    if status.is_server_error() {
        tracing::warn!(code = e.aadsts(), %trace_id, "protocol request failed on the server side");
    } else {
        tracing::info!(code = e.aadsts(), error = e.oauth_error().as_str(), %trace_id, "protocol request refused");
    }
    let mut body = OAuthErrorBody::new(
        e.oauth_error(),
        e.aadsts(),
        &e.message(),
        correlation,
        trace_id,
        OffsetDateTime::now_utc(),
        base_url,
    );
    body.suberror = e.suberror();
    let mut resp = (status, axum::Json(body)).into_response();
    let h = resp.headers_mut();
    h.insert("cache-control", HeaderValue::from_static("no-store, no-cache"));
    h.insert("pragma", HeaderValue::from_static("no-cache"));
    if let Some(secs) = retry_after(e) {
        h.insert("retry-after", HeaderValue::from(secs));
    }
    // A client that authenticated with HTTP Basic is told the scheme that failed (RFC 6749 §5.2).
    if status == StatusCode::UNAUTHORIZED && used_basic(headers) {
        h.insert("www-authenticate", HeaderValue::from_static("Basic"));
    }
    resp
}

/// The seconds a client should wait before retrying, for the errors that are worth retrying: a
/// rate limit's own wait (rounded up), else one second for an unavailable or busy service.
pub fn retry_after(e: &CoreError) -> Option<u64> {
    match e {
        CoreError::Throttled { retry_after } => {
            Some(retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)).map(|s| s.max(1))
        }
        e if e.oauth_error() == OAuthError::TemporarilyUnavailable => Some(1),
        _ => None,
    }
}

fn used_basic(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_whitespace().next())
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("basic"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every error maps to a status; only availability and internal failures are 5xx.
    #[test]
    fn protocol_errors_are_4xx_except_availability() {
        let all = [
            CoreError::MalformedTenant { tenant: "x".into() },
            CoreError::TenantNotFound { tenant: "x".into() },
            CoreError::TenantMetadataNotFound { tenant: "x".into() },
            CoreError::NoTenantForClientCredentials,
            CoreError::MissingParameter { name: "scope" },
            CoreError::Malformed { detail: "x" },
            CoreError::PostOnly { method: "GET".into() },
            CoreError::UnsupportedGrantType {
                grant_type: "x".into(),
            },
            CoreError::ClientNotFound {
                client_id: "x".into(),
                tenant: "t".into(),
            },
            CoreError::ClientDisabled {
                client_id: "x".into(),
            },
            CoreError::MissingClientCredential,
            CoreError::InvalidClientSecret {
                client_id: "x".into(),
            },
            CoreError::ExpiredClientSecret {
                client_id: "x".into(),
            },
            CoreError::ScopeMissing,
            CoreError::ScopeNotDefault { scope: "x".into() },
            CoreError::ScopeSeveralResources,
            CoreError::ResourceParameterOnV2,
            CoreError::ResourceNotFound {
                resource: "x".into(),
                tenant: "t".into(),
            },
            CoreError::AssignmentRequired {
                client_id: "x".into(),
                resource: "r".into(),
            },
        ];
        for e in &all {
            let s = status_of(e);
            assert!(s.is_client_error(), "{e:?} → {s}");
            let expect_401 = e.oauth_error() == OAuthError::InvalidClient;
            assert_eq!(s == StatusCode::UNAUTHORIZED, expect_401, "{e:?}");
        }
        assert_eq!(
            status_of(&CoreError::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
