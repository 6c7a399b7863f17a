//! `/v1.0/applications` (entra-protocol.md §5.1): the entity set (with the query options of `query`) and
//! its `/$count`, one application by id or `(appId='…')`, and its `addPassword` / `removePassword`
//! actions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use gatehouse_core::admin::{applications, AdminError};
use gatehouse_proto::graph::User;
use gatehouse_proto::graph::{AddPasswordInput, Application, ApplicationInput, RemovePasswordInput};
use gatehouse_proto::ObjectId;
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
        .route("/applications/{key}/owners", get(owners))
        .route("/applications/{key}/owners/$ref", post(add_owner))
        .route("/applications/{key}/owners/{owner}/$ref", delete(remove_owner))
}

/// `GET /applications/{id}/owners`: the users who own it.
async fn owners(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(key): EntityKey,
    GraphQuery(query, _): GraphQuery<User>,
) -> Result<Collection, GraphFailure> {
    let store = st.store.as_ref();
    let mut users = Vec::new();
    for id in applications::owners(store, &caller, key).await? {
        if let Some(u) = store
            .get_user(caller.tenant_id, id)
            .await
            .map_err(AdminError::from)?
        {
            users.push(u.user);
        }
    }
    Ok(Collection::new(&st, "directoryObjects", &query, users))
}

/// `POST /applications/{id}/owners/$ref` with `{"@odata.id": "…/directoryObjects/{userId}"}`.
async fn add_owner(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(key): EntityKey,
    GraphJson(body): GraphJson<serde_json::Value>,
) -> Result<StatusCode, GraphFailure> {
    let reference = body["@odata.id"].as_str().unwrap_or_default();
    let user = reference
        .rsplit('/')
        .next()
        .and_then(ObjectId::parse)
        .ok_or_else(|| {
            GraphFailure::BadInput(
                "The '@odata.id' must name a directory object: …/directoryObjects/{id}.".into(),
            )
        })?;
    applications::add_owner(st.store.as_ref(), &caller, key, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /applications/{id}/owners/{userId}/$ref`.
async fn remove_owner(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(key): EntityKey,
    axum::extract::Path((_, owner)): axum::extract::Path<(String, String)>,
) -> Result<StatusCode, GraphFailure> {
    let user = ObjectId::parse(&owner).ok_or_else(|| {
        GraphFailure::BadInput(format!(
            "Invalid object identifier '{}'.",
            owner.chars().take(100).collect::<String>()
        ))
    })?;
    applications::remove_owner(st.store.as_ref(), &caller, key, user).await?;
    Ok(StatusCode::NO_CONTENT)
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
