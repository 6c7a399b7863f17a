//! App role assignments of a service principal (entra-protocol.md §5.3), from either side:
//! `appRoleAssignedTo` (the resource's) and `appRoleAssignments` (the principal's).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::Router;
use gatehouse_core::admin::assignments::{self, Side};
use gatehouse_proto::graph::{AppRoleAssignment, AppRoleAssignmentInput};

use super::envelope::{Collection, Entity};
use super::errors::GraphFailure;
use super::extract::{param, path_params, EntityKey, GraphCaller, GraphJson};
use super::query::GraphQuery;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/servicePrincipals/{key}/{nav}", get(list).post(create))
        .route("/servicePrincipals/{key}/{nav}/{assignment}", delete(remove))
}

/// The `{nav}` segment: which side of the assignments (any other navigation property is not served).
struct Nav(Side);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Nav {
    type Rejection = GraphFailure;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        match param(&path_params(parts).await?, "nav") {
            "appRoleAssignedTo" => Ok(Self(Side::Resource)),
            "appRoleAssignments" => Ok(Self(Side::Principal)),
            other => Err(GraphFailure::NoSuchSegment(other.chars().take(100).collect())),
        }
    }
}

/// The entity set a side's assignments belong to, for `@odata.context`.
fn set(sp: gatehouse_proto::ObjectId, side: Side) -> String {
    let nav = match side {
        Side::Resource => "appRoleAssignedTo",
        Side::Principal => "appRoleAssignments",
    };
    format!("servicePrincipals('{sp}')/{nav}")
}

async fn list(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    key: EntityKey,
    Nav(side): Nav,
    GraphQuery(query, _): GraphQuery<AppRoleAssignment>,
) -> Result<Collection, GraphFailure> {
    let sp = key.object_id()?;
    let all = assignments::list(st.store.as_ref(), &caller, side, sp).await?;
    Ok(Collection::new(&st, &set(sp, side), &query, all))
}

async fn create(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    key: EntityKey,
    Nav(side): Nav,
    GraphJson(input): GraphJson<AppRoleAssignmentInput>,
) -> Result<Entity, GraphFailure> {
    let sp = key.object_id()?;
    let now = time::OffsetDateTime::now_utc();
    let a = assignments::create(st.store.as_ref(), &caller, side, sp, input, now).await?;
    Ok(Entity::created(&st, &set(sp, side), a))
}

async fn remove(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    key: EntityKey,
    Nav(side): Nav,
    Path(params): Path<Vec<(String, String)>>,
) -> Result<StatusCode, GraphFailure> {
    let sp = key.object_id()?;
    assignments::delete(st.store.as_ref(), &caller, side, sp, param(&params, "assignment")).await?;
    Ok(StatusCode::NO_CONTENT)
}
