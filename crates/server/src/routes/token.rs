//! `POST /{tenant}/oauth2/v2.0/token` and the v1 `POST /{tenant}/oauth2/token` (entra-protocol.md §2,
//! §1.12). Reads the form (bounded, one value per parameter) and the HTTP Basic header into core's
//! typed request, runs core's pipeline, commits the single-use records it returns, then answers in
//! Entra's JSON either way.

use std::net::SocketAddr;

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_core::audit::SignInAttempt;
use gatehouse_core::error::AssertionFailure;
use gatehouse_core::flows::{self, Issued, Services, SingleUse, Subject, TokenContext, TokenRequest};
use gatehouse_core::CoreError;
use gatehouse_proto::token::{Secret, TokenForm, TokenResponseV1, TokenResponseV2};
use gatehouse_proto::Version;
use time::OffsetDateTime;

use super::oauth_error::oauth_error_response;
use crate::AppState;

/// Largest token request body accepted (a client assertion with a certificate chain fits easily).
pub const MAX_BODY: usize = 64 * 1024;

pub async fn token_v2_post(st: State<AppState>, tenant: Path<String>, req: Request) -> Response {
    token(st, tenant, req, Version::V2).await
}

pub async fn token_v1_post(st: State<AppState>, tenant: Path<String>, req: Request) -> Response {
    token(st, tenant, req, Version::V1).await
}

async fn token(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
    endpoint: Version,
) -> Response {
    let (parts, body) = req.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let mut seen = Seen::default();
    let address = peer.clone().unwrap_or_default();
    let (resp, outcome) = match issue(&st, &tenant, &parts.headers, peer, body, endpoint, &mut seen).await {
        Ok((resp, subject)) => {
            st.metrics.grant(seen.grant, "issued");
            (resp, Ok(subject))
        }
        Err(e) => {
            st.metrics.grant(seen.grant, e.oauth_error().as_str());
            let resp = oauth_error_response(&e, &parts.headers, &st.base_url);
            (resp, Err((e.aadsts(), e.to_string())))
        }
    };
    st.sign_ins.record(SignInAttempt {
        at: OffsetDateTime::now_utc(),
        correlation_id: super::oauth_error::correlation_id(&parts.headers),
        grant: seen.grant,
        client_id: seen.client_id,
        address,
        username: seen.username,
        tenant,
        outcome,
    });
    cors(&parts.headers, resp)
}

/// What the request said of itself, as far as it was read: the sign-in log's and the metrics' view.
struct Seen {
    grant: &'static str,
    client_id: String,
    username: Option<String>,
}

impl Default for Seen {
    fn default() -> Self {
        Self {
            grant: "unknown",
            client_id: String::new(),
            username: None,
        }
    }
}

/// A browser's cross-origin call (a single-page application redeeming its code): the answer, error or
/// not, is readable by the calling origin. Only SPA codes succeed cross-origin (core checks that).
fn cors(headers: &HeaderMap, mut resp: Response) -> Response {
    if let Some(origin) = headers.get("origin").cloned() {
        let h = resp.headers_mut();
        h.insert("access-control-allow-origin", origin);
        h.insert("vary", HeaderValue::from_static("Origin"));
    }
    resp
}

/// The CORS preflight of a token request.
pub async fn token_preflight(headers: HeaderMap) -> Response {
    let mut resp = cors(&headers, StatusCode::NO_CONTENT.into_response());
    let h = resp.headers_mut();
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        "access-control-allow-headers",
        HeaderValue::from_static(
            "content-type, client-request-id, x-client-sku, x-client-ver, x-client-os, x-client-cpu, \
             x-client-current-telemetry, x-client-last-telemetry, x-app-name, x-app-ver, x-ms-lib-capability",
        ),
    );
    h.insert("access-control-max-age", HeaderValue::from_static("86400"));
    resp
}

async fn issue(
    st: &AppState,
    tenant_raw: &str,
    headers: &HeaderMap,
    peer: Option<String>,
    body: Body,
    endpoint: Version,
    seen: &mut Seen,
) -> Result<(Response, Subject), CoreError> {
    let mut ctx = TokenContext::new(endpoint, tenant_raw, &st.base_url, st.policies)?;
    ctx.client_address = peer.unwrap_or_default();
    ctx.origin = headers
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let form = read_form(headers, body).await?;
    let req = TokenRequest::parse(form, basic_credentials(headers)?)?;
    seen.grant = req.grant_name();
    seen.client_id = req.client_id().chars().take(64).collect();
    seen.username = req.username().map(|u| u.chars().take(256).collect());
    // Before any hashing, signature check or store read: a client over its rate is refused cheaply.
    st.admission.check_client(req.client_id(), &ctx.client_address)?;
    let services = Services {
        issuer_keys: st.federation.as_ref(),
        hasher: &st.passwords,
    };
    let issued = flows::issue(&st.directory, services, req, &ctx, OffsetDateTime::now_utc).await?;
    commit(st, &issued.single_use).await?;
    let subject = issued.subject.clone();
    Ok((respond(endpoint, issued), subject))
}

/// Makes the single-use records durable, in order, before the token leaves (commit, then respond).
async fn commit(st: &AppState, records: &[SingleUse]) -> Result<(), CoreError> {
    for r in records {
        match r {
            SingleUse::AssertionId(guard) => {
                let fresh = st
                    .replay
                    .record(guard.clone())
                    .await
                    .map_err(CoreError::unavailable)?;
                if !fresh {
                    return Err(CoreError::ClientAssertion(AssertionFailure::Replayed));
                }
            }
            SingleUse::NewRefreshFamily(first) => {
                let (family, token) = first.as_ref();
                st.store
                    .insert_refresh_family(family, token)
                    .await
                    .map_err(CoreError::unavailable)?;
            }
            SingleUse::RedeemCode(hash) => {
                let first = st
                    .store
                    .redeem_code(hash, OffsetDateTime::now_utc())
                    .await
                    .map_err(CoreError::unavailable)?;
                if !first {
                    tracing::warn!(
                        "an authorization code was redeemed twice: what it issued first is revoked"
                    );
                    return Err(CoreError::CodeRedeemed);
                }
            }
            SingleUse::RedeemDeviceCode(hash) => {
                let first = st
                    .store
                    .redeem_device_code(hash)
                    .await
                    .map_err(CoreError::unavailable)?;
                if !first {
                    return Err(CoreError::CodeRedeemed);
                }
            }
            SingleUse::RotateRefresh { old, new, grace_from } => {
                let rotated = st
                    .store
                    .rotate_refresh_token(old, new, *grace_from)
                    .await
                    .map_err(CoreError::unavailable)?;
                if !rotated {
                    tracing::warn!(family = %new.family_id, "a rotated refresh token was presented again: its family is revoked");
                    return Err(CoreError::RefreshTokenRevoked);
                }
            }
        }
    }
    Ok(())
}

/// The token response in the endpoint's dialect (entra-protocol.md §2.1: v1 has string numbers and
/// echoes the resource).
fn respond(endpoint: Version, issued: Issued) -> Response {
    let t = issued.token;
    match endpoint {
        Version::V2 => no_store(Json(TokenResponseV2 {
            token_type: "Bearer",
            scope: issued.scope,
            expires_in: t.expires_in,
            ext_expires_in: t.expires_in,
            access_token: t.access_token,
            user: issued.user,
        })),
        Version::V1 => no_store(Json(TokenResponseV1 {
            token_type: "Bearer",
            scope: issued.scope,
            expires_in: t.expires_in.to_string(),
            ext_expires_in: t.expires_in.to_string(),
            expires_on: t.expires_on.to_string(),
            not_before: t.not_before.to_string(),
            resource: issued.resource,
            access_token: t.access_token,
            user: issued.user,
        })),
    }
}

/// Any other method on a token endpoint: Entra's AADSTS900561, in its JSON shape.
pub async fn token_wrong_method(
    State(st): State<AppState>,
    method: axum::http::Method,
    headers: HeaderMap,
) -> Response {
    oauth_error_response(
        &CoreError::PostOnly {
            method: method.to_string(),
        },
        &headers,
        &st.base_url,
    )
}

/// The form body: `application/x-www-form-urlencoded` (any charset parameter), at most [`MAX_BODY`].
async fn read_form(headers: &HeaderMap, body: Body) -> Result<TokenForm, CoreError> {
    let ctype = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ctype.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(CoreError::Malformed {
            detail: "the body must be application/x-www-form-urlencoded",
        });
    }
    let bytes = to_bytes(body, MAX_BODY)
        .await
        .map_err(|e| match super::body_timed_out(&e) {
            true => CoreError::BodyTimeout,
            false => CoreError::BodyTooLarge { limit: MAX_BODY },
        })?;
    let pairs = url::form_urlencoded::parse(&bytes).into_owned().collect();
    TokenForm::from_pairs(pairs).map_err(|_| CoreError::Malformed {
        detail: "a parameter was sent more than once",
    })
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1), if present.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, Secret)>, CoreError> {
    let Some(value) = headers.get("authorization") else {
        return Ok(None);
    };
    let bad = || CoreError::Malformed {
        detail: "the Authorization header is not valid Basic credentials",
    };
    let value = value.to_str().map_err(|_| bad())?;
    let (scheme, rest) = value.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let (id, secret) = (
        form_unescape(id).ok_or_else(bad)?,
        form_unescape(secret).ok_or_else(bad)?,
    );
    Ok(Some((id, Secret::new(secret))))
}

/// application/x-www-form-urlencoded decoding of one value: `+` is a space, then percent-escapes.
fn form_unescape(s: &str) -> Option<String> {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// Token responses must not be cached (RFC 6749 §5.1).
fn no_store(body: impl IntoResponse) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert("cache-control", HeaderValue::from_static("no-store, no-cache"));
    h.insert("pragma", HeaderValue::from_static("no-cache"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_url_decoded() {
        let mut h = HeaderMap::new();
        let raw = STANDARD.encode("app%2Dclient%2Did:s3%2Bcret%3A%26+x");
        h.insert("authorization", format!("Basic {raw}").parse().unwrap());
        let (id, secret) = basic_credentials(&h).unwrap().unwrap();
        assert_eq!(id, "app-client-id");
        assert_eq!(secret.expose(), "s3+cret:& x");
        h.insert("authorization", "Bearer x".parse().unwrap());
        assert!(basic_credentials(&h).is_err());
    }
}
