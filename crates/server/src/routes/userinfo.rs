//! OpenID Connect's UserInfo endpoint (OIDC Core §5.3), where Entra's discovery points:
//! `GET|POST /oidc/userinfo` (v2) and `/{tenant}/openid/userinfo` (v1). It takes a user's Microsoft Graph
//! token, as Entra's does, and answers the user's `sub` (the same pairwise value as the ID token the
//! client got), name and mail, to a token granted `openid`. Errors are Graph's, with `WWW-Authenticate`
//! on 401 and 403.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use gatehouse_core::admin::AdminError;
use gatehouse_proto::{ObjectId, TenantId};
use gatehouse_validate::extract::{bearer_token, www_authenticate};
use gatehouse_validate::ValidationError;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::routes::graph::{self, GraphFailure};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oidc/userinfo", get(userinfo).post(userinfo))
        .route("/{tenant}/openid/userinfo", get(userinfo).post(userinfo))
        .layer(middleware::from_fn(graph::render_errors))
}

/// Graph's error shape, and on 403 also RFC 6750's `insufficient_scope` challenge, which OpenID clients
/// read (Graph itself sends none on 403).
async fn userinfo(State(st): State<AppState>, headers: HeaderMap) -> Response {
    match claims_of(&st, &headers).await {
        Ok(body) => body.into_response(),
        Err(GraphFailure::Auth(ValidationError::Forbidden)) => {
            let e = ValidationError::Forbidden;
            let challenge = HeaderValue::from_str(&www_authenticate(&e));
            let mut resp = GraphFailure::Auth(e).into_response();
            if let Ok(v) = challenge {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            resp
        }
        Err(e) => e.into_response(),
    }
}

async fn claims_of(st: &AppState, headers: &HeaderMap) -> Result<Json<Value>, GraphFailure> {
    let token = bearer_token(headers).map_err(GraphFailure::Auth)?;
    let claims = st
        .graph_validator
        .validate(token, OffsetDateTime::now_utc())
        .await
        .map_err(GraphFailure::Auth)?;
    // Only a user's token names a user, and only one granted `openid` may read it (OIDC Core §5.3).
    let openid = claims.scopes().any(|s| s == "openid");
    let (Some(tid), Some(oid), Some(sub), true) = (
        claims.tid.as_deref().and_then(TenantId::parse),
        claims.oid.as_deref().and_then(ObjectId::parse),
        claims.sub.clone(),
        openid,
    ) else {
        return Err(GraphFailure::Auth(ValidationError::Forbidden));
    };
    let user = st
        .store
        .get_user(tid, oid)
        .await
        .map_err(AdminError::from)?
        .ok_or(GraphFailure::Auth(ValidationError::Forbidden))?;
    let u = user.user;
    let mut out = Map::new();
    out.insert("sub".into(), json!(sub));
    out.insert("name".into(), json!(u.display_name));
    if let Some(v) = u.surname {
        out.insert("family_name".into(), json!(v));
    }
    if let Some(v) = u.given_name {
        out.insert("given_name".into(), json!(v));
    }
    if let Some(v) = u.mail {
        out.insert("email".into(), json!(v));
    }
    Ok(Json(Value::Object(out)))
}
