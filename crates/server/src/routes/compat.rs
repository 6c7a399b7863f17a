//! The small compatibility layer the az CLI needs beyond Entra's dialect when a registered cloud points
//! its resource manager at Gatehouse (see the README, "The az CLI"): `az login --allow-no-subscriptions` lists
//! subscriptions (and, without `--tenant`, tenants) before it signs in. Gatehouse has no subscriptions,
//! so the list is empty; tenants are the caller's own. Both need a valid token, as the resource manager
//! does (a token for this server's URL is a Graph token; see `graph_alias` in core).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{middleware, Json, Router};
use serde_json::{json, Value};

use crate::routes::graph::{self, GraphFailure};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/subscriptions", get(subscriptions_get))
        .route("/tenants", get(tenants_get))
        .layer(middleware::from_fn(graph::render_errors))
}

/// `GET /subscriptions?api-version=…`: none.
async fn subscriptions_get(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, GraphFailure> {
    graph::caller(&st, &headers).await?;
    Ok(Json(json!({"value": []})))
}

/// `GET /tenants?api-version=…`: the caller's tenant.
async fn tenants_get(State(st): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, GraphFailure> {
    let caller = graph::caller(&st, &headers).await?;
    let tid = caller.tenant_id.to_string();
    Ok(Json(json!({"value": [{
        "id": format!("/tenants/{tid}"),
        "tenantId": tid,
        "tenantCategory": "Home",
    }]})))
}
