//! A sample API protected by `gatehouse-validate`, as an API registered in Gatehouse (or Entra) would be:
//! `GET /reports` for daemons holding the `Reports.Read` app role, `GET /me/reports` for users whose
//! token carries the `access_as_user` delegated scope. No token, or a bad one, is 401 with
//! `WWW-Authenticate: Bearer …`; a good token without the permission is 403.
//!
//! [`middle_tier`] is an API in front of it that calls it on the user's behalf (on-behalf-of).

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_validate::extract::{bearer_token, Rejection};
use gatehouse_validate::{Claims, IssuerPolicy, KeySource, Requirement, Validator};
use serde_json::{json, Value};

pub mod middle_tier;

/// The app role daemons need for `/reports`.
pub const ROLE: &str = "Reports.Read";
/// The delegated scope users' tokens need for `/me/reports`.
pub const SCOPE: &str = "access_as_user";

struct Api {
    daemons: Validator,
    users: Validator,
}

/// The issuers to accept, from the authority's discovery document: exactly its issuer for one tenant;
/// for a multi-tenant authority (`organizations`, whose issuer is the `{tenantid}` template) that
/// template filled with each token's `tid`, from any tenant or only from `tenants`.
pub fn issuers(issuer: &str, tenants: Vec<String>) -> IssuerPolicy {
    match issuer.contains("{tenantid}") {
        false => IssuerPolicy::Exact(vec![issuer.to_string()]),
        true => IssuerPolicy::Template {
            templates: vec![issuer.to_string()],
            tenants: (!tenants.is_empty()).then_some(tenants),
        },
    }
}

/// The API's routes. `issuers` says whose tokens count ([`issuers`]), `audiences` are the API's appId
/// and identifier URIs (v2 tokens name the appId, v1 tokens the identifier URI asked for).
pub fn router(keys: Arc<dyn KeySource>, issuers: IssuerPolicy, audiences: Vec<String>) -> Router {
    let validator =
        |r: Requirement| Validator::with_policy(issuers.clone(), audiences.clone(), keys.clone()).require(r);
    let api = Arc::new(Api {
        daemons: validator(Requirement::AnyRole(vec![ROLE.into()])),
        users: validator(Requirement::AnyScope(vec![SCOPE.into()])),
    });
    Router::new()
        .route("/reports", get(reports))
        .route("/me/reports", get(my_reports))
        .with_state(api)
}

async fn caller(v: &Validator, headers: &HeaderMap) -> Result<Claims, Rejection> {
    let token = bearer_token(headers).map_err(Rejection)?;
    v.validate(token, time::OffsetDateTime::now_utc())
        .await
        .map_err(Rejection)
}

async fn reports(State(api): State<Arc<Api>>, headers: HeaderMap) -> Result<Json<Value>, Rejection> {
    let c = caller(&api.daemons, &headers).await?;
    Ok(Json(
        json!({"reports": ["daily", "weekly"], "client": c.client_id()}),
    ))
}

async fn my_reports(State(api): State<Arc<Api>>, headers: HeaderMap) -> Result<Json<Value>, Rejection> {
    let c = caller(&api.users, &headers).await?;
    Ok(Json(
        json!({"reports": ["mine"], "user": c.oid, "client": c.client_id()}),
    ))
}
