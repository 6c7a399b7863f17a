//! `/v1.0/servicePrincipals` (entra-protocol.md §5.2): the entity set (with the query options of
//! `query`) and its `/$count`, and one service principal by id or `(appId='…')`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use gatehouse_core::admin::service_principals;
use gatehouse_proto::graph::{ServicePrincipal, ServicePrincipalInput, ServicePrincipalUpdate};

use super::envelope::{self, Collection, Entity};
use super::errors::GraphFailure;
use super::extract::{EntityKey, GraphCaller, GraphJson};
use super::query::GraphQuery;
use crate::AppState;

const SET: &str = "servicePrincipals";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/servicePrincipals", get(list).post(create))
        .route("/servicePrincipals/$count", get(count))
        .route("/servicePrincipals/{key}", get(read).patch(update).delete(remove))
}

async fn list(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphQuery(query, _): GraphQuery<ServicePrincipal>,
) -> Result<Collection, GraphFailure> {
    let sps = service_principals::list(st.store.as_ref(), &caller, None).await?;
    Ok(Collection::new(&st, SET, &query, sps))
}

async fn count(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphQuery(query, _): GraphQuery<ServicePrincipal>,
) -> Result<Response, GraphFailure> {
    query.require_eventual()?;
    let sps = service_principals::list(st.store.as_ref(), &caller, None).await?;
    Ok(envelope::count(query.count_of(&sps)))
}

async fn create(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphJson(input): GraphJson<ServicePrincipalInput>,
) -> Result<Entity, GraphFailure> {
    let sp = service_principals::create(st.store.as_ref(), &caller, input).await?;
    Ok(Entity::created(&st, SET, sp))
}

async fn read(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(key): EntityKey,
    GraphQuery(query, _): GraphQuery<ServicePrincipal>,
) -> Result<Entity, GraphFailure> {
    let sp = service_principals::get(st.store.as_ref(), &caller, key).await?;
    Ok(Entity::selected(&st, SET, sp, &query))
}

async fn update(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(key): EntityKey,
    GraphJson(input): GraphJson<ServicePrincipalUpdate>,
) -> Result<StatusCode, GraphFailure> {
    service_principals::update(st.store.as_ref(), &caller, key, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(key): EntityKey,
) -> Result<StatusCode, GraphFailure> {
    service_principals::delete(st.store.as_ref(), &caller, key).await?;
    Ok(StatusCode::NO_CONTENT)
}
