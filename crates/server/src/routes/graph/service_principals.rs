//! `/v1.0/servicePrincipals` (entra-protocol.md §5.2): the entity set (with `$filter=appId eq '…'`) and
//! one service principal by id or `(appId='…')`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use gatehouse_core::admin::service_principals;
use gatehouse_proto::graph::{ServicePrincipal, ServicePrincipalInput};

use super::envelope::{Collection, Entity};
use super::errors::GraphFailure;
use super::extract::{EntityKey, GraphCaller, GraphJson, ODataQuery};
use crate::AppState;

const SET: &str = "servicePrincipals";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/servicePrincipals", get(list).post(create))
        .route("/servicePrincipals/{key}", get(read).delete(remove))
}

async fn list(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    query: ODataQuery,
) -> Result<Collection<ServicePrincipal>, GraphFailure> {
    let sps = service_principals::list(st.store.as_ref(), &caller, None).await?;
    let shown = sps
        .into_iter()
        .filter(|s| query.matches(&s.app_id, &s.display_name));
    Ok(Collection::new(&st, SET, shown))
}

async fn create(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphJson(input): GraphJson<ServicePrincipalInput>,
) -> Result<Entity<ServicePrincipal>, GraphFailure> {
    let sp = service_principals::create(st.store.as_ref(), &caller, input).await?;
    Ok(Entity::created(&st, SET, sp))
}

async fn read(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(key): EntityKey,
) -> Result<Entity<ServicePrincipal>, GraphFailure> {
    let sp = service_principals::get(st.store.as_ref(), &caller, key).await?;
    Ok(Entity::ok(&st, SET, sp))
}

async fn remove(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    EntityKey(key): EntityKey,
) -> Result<StatusCode, GraphFailure> {
    service_principals::delete(st.store.as_ref(), &caller, key).await?;
    Ok(StatusCode::NO_CONTENT)
}
