//! `/v1.0/users` (entra-protocol.md §5): the entity set (with the query options of `query`) and its
//! `/$count`, and one user by object id or userPrincipalName.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use gatehouse_core::admin::users::{self, UserKey};
use gatehouse_proto::graph::{User, UserInput};
use time::OffsetDateTime;

use super::envelope::{self, Collection, Entity};
use super::errors::GraphFailure;
use super::extract::{GraphCaller, GraphJson};
use super::query::GraphQuery;
use crate::AppState;

const SET: &str = "users";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/$count", get(count))
        .route("/users/{key}", get(read).patch(update).delete(remove))
        .route("/me", get(me))
}

/// `GET /me`: the signed-in user of a delegated token.
async fn me(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphQuery(query, _): GraphQuery<User>,
) -> Result<Entity, GraphFailure> {
    let u = users::me(st.store.as_ref(), &caller).await?;
    Ok(Entity::selected(&st, SET, u, &query))
}

async fn list(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphQuery(query, _): GraphQuery<User>,
) -> Result<Collection, GraphFailure> {
    let all = users::list(st.store.as_ref(), &caller).await?;
    Ok(Collection::new(&st, SET, &query, all))
}

async fn count(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphQuery(query, _): GraphQuery<User>,
) -> Result<Response, GraphFailure> {
    query.require_eventual()?;
    let all = users::list(st.store.as_ref(), &caller).await?;
    Ok(envelope::count(query.count_of(&all)))
}

async fn create(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphJson(input): GraphJson<UserInput>,
) -> Result<Entity, GraphFailure> {
    let now = OffsetDateTime::now_utc();
    let u = users::create(st.store.as_ref(), &st.passwords, &caller, input, now).await?;
    Ok(Entity::created(&st, SET, u))
}

async fn read(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    Path(key): Path<String>,
    GraphQuery(query, _): GraphQuery<User>,
) -> Result<Entity, GraphFailure> {
    let u = users::get(st.store.as_ref(), &caller, &UserKey::parse(&key)).await?;
    Ok(Entity::selected(&st, SET, u, &query))
}

async fn update(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    Path(key): Path<String>,
    GraphJson(input): GraphJson<UserInput>,
) -> Result<StatusCode, GraphFailure> {
    let now = OffsetDateTime::now_utc();
    users::update(
        st.store.as_ref(),
        &st.passwords,
        &caller,
        &UserKey::parse(&key),
        input,
        now,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    Path(key): Path<String>,
) -> Result<StatusCode, GraphFailure> {
    users::delete(st.store.as_ref(), &caller, &UserKey::parse(&key)).await?;
    Ok(StatusCode::NO_CONTENT)
}
