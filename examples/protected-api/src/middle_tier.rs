//! A middle tier: an API that users call with a token for it, and that calls the sample API on their
//! behalf (the on-behalf-of flow, entra-protocol.md §2.7). `GET /me/summary` validates the caller's
//! token (this API's audience, the `access_as_user` scope), exchanges it at the token endpoint with
//! this API's own secret for a token to the downstream API, calls the downstream `/me/reports` with
//! it, and returns what came back. An exchange the identity platform refuses (no consent for the
//! downstream scope, say) is a 502 carrying its error, for the caller to act on.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_validate::extract::{bearer_token, Rejection};
use gatehouse_validate::{IssuerPolicy, KeySource, Requirement, Validator};
use serde_json::{json, Value};

use crate::SCOPE;

/// How the middle tier reaches the downstream API.
#[derive(Clone)]
pub struct Downstream {
    /// The tenant's token endpoint (`…/{tenant}/oauth2/v2.0/token`).
    pub token_endpoint: String,
    /// The middle tier's own application (client) id and secret.
    pub client_id: String,
    pub client_secret: String,
    /// The downstream permission to ask for, e.g. `api://reports/access_as_user`.
    pub scope: String,
    /// The downstream route to call, e.g. `http://127.0.0.1:5000/me/reports`.
    pub url: String,
    pub http: reqwest::Client,
}

struct MiddleTier {
    users: Validator,
    downstream: Downstream,
}

/// The middle tier's routes: `issuers` and `audiences` are its own (as for [`crate::router`]).
pub fn router(
    keys: Arc<dyn KeySource>,
    issuers: IssuerPolicy,
    audiences: Vec<String>,
    downstream: Downstream,
) -> Router {
    let users =
        Validator::with_policy(issuers, audiences, keys).require(Requirement::AnyScope(vec![SCOPE.into()]));
    Router::new()
        .route("/me/summary", get(summary))
        .with_state(Arc::new(MiddleTier { users, downstream }))
}

async fn summary(State(mt): State<Arc<MiddleTier>>, headers: HeaderMap) -> Result<Json<Value>, Response> {
    let token = bearer_token(&headers).map_err(|e| Rejection(e).into_response())?;
    let caller = mt
        .users
        .validate(token, time::OffsetDateTime::now_utc())
        .await
        .map_err(|e| Rejection(e).into_response())?;
    let d = &mt.downstream;
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("client_id", d.client_id.as_str()),
        ("client_secret", d.client_secret.as_str()),
        ("assertion", token),
        ("scope", d.scope.as_str()),
        ("requested_token_use", "on_behalf_of"),
    ];
    let exchanged: Value = d
        .http
        .post(&d.token_endpoint)
        .form(&form)
        .send()
        .await
        .map_err(bad_gateway)?
        .json()
        .await
        .map_err(bad_gateway)?;
    let Some(downstream_token) = exchanged["access_token"].as_str() else {
        let refused =
            json!({"error": exchanged["error"], "error_description": exchanged["error_description"]});
        return Err((StatusCode::BAD_GATEWAY, Json(refused)).into_response());
    };
    let response = d
        .http
        .get(&d.url)
        .bearer_auth(downstream_token)
        .send()
        .await
        .map_err(bad_gateway)?;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    Ok(Json(
        json!({"user": caller.oid, "downstream": {"status": status, "body": body}}),
    ))
}

fn bad_gateway(e: reqwest::Error) -> Response {
    (
        StatusCode::BAD_GATEWAY,
        format!("the downstream call failed: {e}"),
    )
        .into_response()
}
