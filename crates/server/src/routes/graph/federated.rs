//! `/v1.0/applications/{id}/federatedIdentityCredentials` (entra-protocol.md §5.1): an application's
//! federated identity credentials, each addressed by id or by name.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use gatehouse_core::admin::federated;
use gatehouse_proto::graph::{FederatedIdentityCredential, FederatedIdentityCredentialInput};

use super::envelope::{Collection, Entity};
use super::errors::GraphFailure;
use super::extract::{param, EntityKey, GraphCaller, GraphJson};
use super::query::GraphQuery;
use crate::AppState;

const SET: &str = "applications/federatedIdentityCredentials";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/applications/{key}/federatedIdentityCredentials",
            get(list).post(create),
        )
        .route(
            "/applications/{key}/federatedIdentityCredentials/{credential}",
            get(read).patch(update).delete(remove),
        )
}

/// The `{credential}` segment: an id or a name.
fn credential(params: &[(String, String)]) -> &str {
    param(params, "credential")
}

async fn list(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(app): EntityKey,
    GraphQuery(query, _): GraphQuery<FederatedIdentityCredential>,
) -> Result<Collection, GraphFailure> {
    let all = federated::list(st.store.as_ref(), &caller, app).await?;
    Ok(Collection::new(&st, SET, &query, all))
}

async fn create(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(app): EntityKey,
    GraphJson(input): GraphJson<FederatedIdentityCredentialInput>,
) -> Result<Entity, GraphFailure> {
    let fic = federated::create(st.store.as_ref(), &caller, app, input).await?;
    Ok(Entity::created(&st, SET, fic))
}

async fn read(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(app): EntityKey,
    Path(params): Path<Vec<(String, String)>>,
) -> Result<Entity, GraphFailure> {
    let fic = federated::get(st.store.as_ref(), &caller, app, credential(&params)).await?;
    Ok(Entity::ok(&st, SET, fic))
}

async fn update(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(app): EntityKey,
    Path(params): Path<Vec<(String, String)>>,
    GraphJson(input): GraphJson<FederatedIdentityCredentialInput>,
) -> Result<StatusCode, GraphFailure> {
    federated::update(st.store.as_ref(), &caller, app, credential(&params), input).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(app): EntityKey,
    Path(params): Path<Vec<(String, String)>>,
) -> Result<StatusCode, GraphFailure> {
    federated::delete(st.store.as_ref(), &caller, app, credential(&params)).await?;
    Ok(StatusCode::NO_CONTENT)
}
