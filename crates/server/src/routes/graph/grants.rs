//! `/v1.0/oauth2PermissionGrants`: delegated permission grants (see `core::admin::grants`), listed with
//! the query options of `query` (az filters by `clientId eq '…'`), made, read, re-scoped and deleted.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use gatehouse_core::admin::grants;
use gatehouse_proto::graph::{
    OAuth2PermissionGrant, OAuth2PermissionGrantInput, OAuth2PermissionGrantUpdate,
};

use super::envelope::{Collection, Entity};
use super::errors::GraphFailure;
use super::extract::{GraphCaller, GraphJson};
use super::query::GraphQuery;
use crate::AppState;

const SET: &str = "oauth2PermissionGrants";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth2PermissionGrants", get(list).post(create))
        .route(
            "/oauth2PermissionGrants/{id}",
            get(read).patch(update).delete(remove),
        )
}

async fn list(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphQuery(query, _): GraphQuery<OAuth2PermissionGrant>,
) -> Result<Collection, GraphFailure> {
    let all = grants::list(st.store.as_ref(), &caller).await?;
    Ok(Collection::new(&st, SET, &query, all))
}

async fn create(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphJson(input): GraphJson<OAuth2PermissionGrantInput>,
) -> Result<Entity, GraphFailure> {
    let g = grants::create(st.store.as_ref(), &caller, input).await?;
    Ok(Entity::created(&st, SET, g))
}

async fn read(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    Path(id): Path<String>,
    GraphQuery(query, _): GraphQuery<OAuth2PermissionGrant>,
) -> Result<Entity, GraphFailure> {
    let g = grants::get(st.store.as_ref(), &caller, &id).await?;
    Ok(Entity::selected(&st, SET, g, &query))
}

async fn update(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    Path(id): Path<String>,
    GraphJson(input): GraphJson<OAuth2PermissionGrantUpdate>,
) -> Result<StatusCode, GraphFailure> {
    grants::update(st.store.as_ref(), &caller, &id, &input.scope).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, GraphFailure> {
    grants::delete(st.store.as_ref(), &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
