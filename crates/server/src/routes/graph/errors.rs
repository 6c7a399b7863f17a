//! The one mapping from management failures to Graph's error envelope and status. A handler returns a
//! [`GraphFailure`]; its response carries the failure to [`render`], the outermost layer of `/v1.0`,
//! which writes the envelope with the request's `client-request-id`.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_core::admin::AdminError;
use gatehouse_core::store::Conflict;
use gatehouse_proto::graph::{GraphErrorBody, GraphErrorDetail, GraphInnerError};
use gatehouse_validate::ValidationError;
use time::OffsetDateTime;
use uuid::Uuid;

/// Why a `/v1.0` request failed.
#[derive(Debug)]
pub enum GraphFailure {
    Auth(ValidationError),
    Admin(AdminError),
    /// The URL names nothing Gatehouse serves.
    NoSuchSegment(String),
    MethodNotAllowed,
    /// The body or query could not be read.
    BadInput(String),
    /// The body is larger than Graph's requests may be.
    TooLarge,
    /// The body paused longer than `--body-timeout`.
    BodyTimeout,
    /// A well-formed query option Gatehouse does not answer (Graph's `Request_UnsupportedQuery`).
    UnsupportedQuery(String),
    /// This node is at capacity for this kind of request (admission control).
    Busy,
}

impl From<AdminError> for GraphFailure {
    fn from(e: AdminError) -> Self {
        Self::Admin(e)
    }
}

/// Graph answers a taken identifier URI or an assignment that exists already as a bad request on the
/// object's property, and a taken key value (a service principal's appId, a credential's name) as 409.
fn conflict_status_code(c: &Conflict) -> (StatusCode, &'static str) {
    match c {
        Conflict::IdentifierUri(_)
        | Conflict::UserPrincipalName(_)
        | Conflict::Assignment
        | Conflict::TooManyFederatedCredentials(_) => (StatusCode::BAD_REQUEST, "Request_BadRequest"),
        Conflict::ServicePrincipal(_)
        | Conflict::PermissionGrant
        | Conflict::FederatedCredentialName(_)
        | Conflict::FederatedCredentialSubject
        | Conflict::Domain(_)
        | Conflict::IdentityName(_)
        | Conflict::RoleAssignment
        | Conflict::Bootstrapped
        | Conflict::Key => (StatusCode::CONFLICT, "Request_MultipleObjectsWithSameKeyValue"),
        Conflict::Contended => (StatusCode::CONFLICT, "Request_ConcurrencyViolation"),
    }
}

impl GraphFailure {
    /// Graph's status and error code for this failure (the audit log's `resultReason`).
    pub fn status_code(&self) -> (StatusCode, &'static str) {
        let (status, code, _) = self.status_code_message();
        (status, code)
    }

    fn status_code_message(&self) -> (StatusCode, &'static str, String) {
        match self {
            Self::Auth(e) if e.status() == 403 => (
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.".into(),
            ),
            Self::Auth(ValidationError::Missing) => (
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token is empty.".into(),
            ),
            Self::Auth(e) => (
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                format!("Access token validation failure: {e}."),
            ),
            Self::Admin(AdminError::Denied) => (
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                AdminError::Denied.to_string(),
            ),
            Self::Admin(AdminError::NotFound(m)) => {
                (StatusCode::NOT_FOUND, "Request_ResourceNotFound", m.clone())
            }
            Self::Admin(AdminError::BadRequest(m)) => {
                (StatusCode::BAD_REQUEST, "Request_BadRequest", m.clone())
            }
            Self::Admin(e @ AdminError::HostNameNotOnVerifiedDomain(_)) => (
                StatusCode::BAD_REQUEST,
                "HostNameNotOnVerifiedDomain",
                e.to_string(),
            ),
            Self::Admin(AdminError::Conflict(c)) => {
                let (status, code) = conflict_status_code(c);
                (status, code, c.to_string())
            }
            Self::Admin(AdminError::Unavailable) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                AdminError::Unavailable.to_string(),
            ),
            Self::NoSuchSegment(s) => (
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                format!("Resource not found for the segment '{s}'."),
            ),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "Request_BadRequest",
                "The method is not allowed on this resource.".into(),
            ),
            Self::BadInput(m) => (StatusCode::BAD_REQUEST, "Request_BadRequest", m.clone()),
            Self::BodyTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "Request_Timeout",
                "The request body did not arrive in time.".into(),
            ),
            Self::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request_EntityTooLarge",
                "The request body is too large.".into(),
            ),
            Self::UnsupportedQuery(m) => (StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", m.clone()),
            Self::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "The service is busy. Retry the request after the time in Retry-After.".into(),
            ),
        }
    }

    /// Graph's envelope for this failure, carrying the request's `client-request-id`.
    pub fn render(self, headers: &HeaderMap) -> Response {
        let (status, code, message) = self.status_code_message();
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v).ok())
            .unwrap_or_else(Uuid::new_v4);
        let body = GraphErrorBody {
            error: GraphErrorDetail {
                code,
                message,
                inner_error: GraphInnerError {
                    date: gatehouse_proto::timefmt::graph_datetime(OffsetDateTime::now_utc()),
                    request_id: crate::metrics::request_id().to_string(),
                    client_request_id: client_request_id.to_string(),
                },
            },
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if let Self::Auth(e) = &self {
            if status == StatusCode::UNAUTHORIZED {
                if let Ok(v) = HeaderValue::from_str(&gatehouse_validate::extract::www_authenticate(e)) {
                    resp.headers_mut().insert("www-authenticate", v);
                }
            }
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from_static("1"));
        }
        resp
    }
}

/// A failure on its way to [`render`].
#[derive(Clone)]
struct Pending(std::sync::Arc<std::sync::Mutex<Option<GraphFailure>>>);

impl IntoResponse for GraphFailure {
    fn into_response(self) -> Response {
        let mut resp = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        resp.extensions_mut()
            .insert(Pending(std::sync::Arc::new(std::sync::Mutex::new(Some(self)))));
        resp
    }
}

/// The status and Graph error code of a failure on its way to [`render`], if the response is one.
pub fn failure_of(resp: &Response) -> Option<(StatusCode, &'static str)> {
    let pending = resp.extensions().get::<Pending>()?;
    let failure = pending.0.lock().ok()?;
    let (status, code, _) = failure.as_ref()?.status_code_message();
    Some((status, code))
}

/// Writes every failure of the requests it wraps in Graph's envelope.
pub async fn render(req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let mut resp = next.run(req).await;
    let failure = resp
        .extensions_mut()
        .remove::<Pending>()
        .and_then(|p| p.0.lock().ok().and_then(|mut f| f.take()));
    match failure {
        Some(f) => {
            // A challenge the handler chose (UserInfo's insufficient_scope) survives the rendering.
            let challenge = resp.headers().get(axum::http::header::WWW_AUTHENTICATE).cloned();
            let mut out = f.render(&headers);
            if let Some(v) = challenge {
                out.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, v);
            }
            out
        }
        None => resp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_failures_are_401_or_403_and_admin_failures_map_by_kind() {
        let s = |f: GraphFailure| f.status_code_message().0;
        assert_eq!(
            s(GraphFailure::Auth(ValidationError::Expired)),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            s(GraphFailure::Auth(ValidationError::Forbidden)),
            StatusCode::FORBIDDEN
        );
        assert_eq!(s(GraphFailure::Admin(AdminError::Denied)), StatusCode::FORBIDDEN);
        assert_eq!(
            s(GraphFailure::Admin(AdminError::NotFound("x".into()))),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            s(GraphFailure::Admin(AdminError::BadRequest("x".into()))),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            s(GraphFailure::Admin(AdminError::Conflict(
                Conflict::IdentifierUri("x".into())
            ))),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            s(GraphFailure::Admin(AdminError::Conflict(
                Conflict::ServicePrincipal(gatehouse_proto::AppId::default())
            ))),
            StatusCode::CONFLICT
        );
        assert_eq!(
            s(GraphFailure::Admin(AdminError::HostNameNotOnVerifiedDomain(
                "x".into()
            ))),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            s(GraphFailure::Admin(AdminError::Unavailable)),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
