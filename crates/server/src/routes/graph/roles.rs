//! `/v1.0/roleManagement/directory`: the built-in directory roles (`roleDefinitions`) and who holds
//! them (`roleAssignments`, listed with the query options of `query`: `$filter=principalId eq '…'`),
//! made, read and deleted (see `core::admin::directory_roles`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use gatehouse_core::admin::directory_roles;
use gatehouse_proto::graph::{UnifiedRoleAssignment, UnifiedRoleAssignmentInput, UnifiedRoleDefinition};

use super::envelope::{Collection, Entity};
use super::errors::GraphFailure;
use super::extract::{GraphCaller, GraphJson};
use super::query::GraphQuery;
use crate::AppState;

const ASSIGNMENTS: &str = "roleManagement/directory/roleAssignments";
const DEFINITIONS: &str = "roleManagement/directory/roleDefinitions";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/roleManagement/directory/roleAssignments",
            get(list).post(create),
        )
        .route(
            "/roleManagement/directory/roleAssignments/{id}",
            get(read).delete(remove),
        )
        .route("/roleManagement/directory/roleDefinitions", get(definitions))
}

async fn definitions(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphQuery(query, _): GraphQuery<UnifiedRoleDefinition>,
) -> Result<Collection, GraphFailure> {
    let all = directory_roles::definitions(&caller)?;
    Ok(Collection::new(&st, DEFINITIONS, &query, all))
}

async fn list(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphQuery(query, _): GraphQuery<UnifiedRoleAssignment>,
) -> Result<Collection, GraphFailure> {
    let all = directory_roles::list(st.store.as_ref(), &caller).await?;
    Ok(Collection::new(&st, ASSIGNMENTS, &query, all))
}

async fn create(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphJson(input): GraphJson<UnifiedRoleAssignmentInput>,
) -> Result<Entity, GraphFailure> {
    let a = directory_roles::create(st.store.as_ref(), &caller, input).await?;
    Ok(Entity::created(&st, ASSIGNMENTS, a))
}

async fn read(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    Path(id): Path<String>,
    GraphQuery(query, _): GraphQuery<UnifiedRoleAssignment>,
) -> Result<Entity, GraphFailure> {
    let a = directory_roles::get(st.store.as_ref(), &caller, &id).await?;
    Ok(Entity::selected(&st, ASSIGNMENTS, a, &query))
}

async fn remove(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, GraphFailure> {
    directory_roles::delete(st.store.as_ref(), &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
