//! `/v1.0/applications` (entra-protocol.md §5.1): the entity set (with the query options of `query`) and
//! its `/$count`, one application by id or `(appId='…')`, and its `addPassword` / `removePassword`
//! actions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use gatehouse_core::admin::applications;
use gatehouse_proto::graph::{AddPasswordInput, Application, ApplicationInput, RemovePasswordInput};
use time::OffsetDateTime;

use super::envelope::{self, Collection, Entity};
use super::errors::GraphFailure;
use super::extract::{EntityKey, GraphCaller, GraphJson};
use super::query::GraphQuery;
use crate::AppState;

const SET: &str = "applications";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/applications", get(list).post(create))
        .route("/applications/$count", get(count))
        .route("/applications/{key}", get(read).patch(update).delete(remove))
        .route("/applications/{key}/addPassword", post(add_password))
        .route("/applications/{key}/removePassword", post(remove_password))
}

async fn list(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphQuery(query, _): GraphQuery<Application>,
) -> Result<Collection, GraphFailure> {
    let apps = applications::list(st.store.as_ref(), &caller).await?;
    Ok(Collection::new(&st, SET, &query, apps))
}

async fn count(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphQuery(query, _): GraphQuery<Application>,
) -> Result<Response, GraphFailure> {
    query.require_eventual()?;
    let apps = applications::list(st.store.as_ref(), &caller).await?;
    Ok(envelope::count(query.count_of(&apps)))
}

async fn create(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphJson(input): GraphJson<ApplicationInput>,
) -> Result<Entity, GraphFailure> {
    let publisher = st
        .directory
        .tenants()
        .get(caller.tenant_id)
        .and_then(|t| t.domains.first().cloned());
    let now = OffsetDateTime::now_utc();
    let app = applications::create(st.store.as_ref(), &caller, input, publisher, now).await?;
    Ok(Entity::created(&st, SET, app))
}

async fn read(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(key): EntityKey,
    GraphQuery(query, _): GraphQuery<Application>,
) -> Result<Entity, GraphFailure> {
    let app = applications::get(st.store.as_ref(), &caller, key).await?;
    Ok(Entity::selected(&st, SET, app, &query))
}

async fn update(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(key): EntityKey,
    GraphJson(input): GraphJson<ApplicationInput>,
) -> Result<StatusCode, GraphFailure> {
    applications::update(st.store.as_ref(), &caller, key, input, OffsetDateTime::now_utc()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(key): EntityKey,
) -> Result<StatusCode, GraphFailure> {
    applications::delete(st.store.as_ref(), &caller, key).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn add_password(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(key): EntityKey,
    GraphJson(input): GraphJson<AddPasswordInput>,
) -> Result<Entity, GraphFailure> {
    let now = OffsetDateTime::now_utc();
    let cred = applications::add_password(st.store.as_ref(), &caller, key, input, now).await?;
    Ok(Entity::with_context(
        &st,
        "microsoft.graph.passwordCredential",
        cred,
    ))
}

async fn remove_password(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(key): EntityKey,
    GraphJson(input): GraphJson<RemovePasswordInput>,
) -> Result<StatusCode, GraphFailure> {
    applications::remove_password(st.store.as_ref(), &caller, key, input.key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
