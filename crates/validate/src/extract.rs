//! An axum extractor: `Authenticated` validates the `Authorization: Bearer` token of a request with the
//! `Arc<Validator>` in the router's state, and rejects with 401/403 and a `WWW-Authenticate` header.
//! Tokens are read from the header only, never from the query (security-requirements.md §1.9).

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::{Claims, ValidationError, Validator};

/// The claims of a request's valid bearer token.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Claims);

/// Why a request was turned away.
#[derive(Debug, Clone)]
pub struct Rejection(pub ValidationError);

/// The token of an `Authorization: Bearer …` header (scheme matched without case).
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, ValidationError> {
    let value = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ValidationError::Missing)?;
    let (scheme, token) = value.split_once(' ').ok_or(ValidationError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ValidationError::Malformed);
    }
    Ok(token.trim())
}

/// The `WWW-Authenticate` value for a rejection (RFC 6750 §3).
pub fn www_authenticate(e: &ValidationError) -> String {
    match e.bearer_error() {
        None => "Bearer".to_string(),
        Some(code) => format!("Bearer error=\"{code}\", error_description=\"{e}\""),
    }
}

impl<S> FromRequestParts<S> for Authenticated
where
    Arc<Validator>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let validator = Arc::<Validator>::from_ref(state);
        let token = bearer_token(&parts.headers).map_err(Rejection)?;
        let claims = validator
            .validate(token, time::OffsetDateTime::now_utc())
            .await
            .map_err(Rejection)?;
        Ok(Self(claims))
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::UNAUTHORIZED);
        let mut resp = (status, self.0.to_string()).into_response();
        if let Ok(v) = HeaderValue::from_str(&www_authenticate(&self.0)) {
            resp.headers_mut().insert(WWW_AUTHENTICATE, v);
        }
        resp
    }
}
