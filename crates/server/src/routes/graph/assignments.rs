//! App role assignments (entra-protocol.md §5.3), from either side: a service principal's
//! `appRoleAssignedTo` (the resource's) and `appRoleAssignments` (the principal's), and a user's
//! `appRoleAssignments` (`/users/{id or userPrincipalName}/appRoleAssignments`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::Router;
use gatehouse_core::admin::assignments::{self, Side};
use gatehouse_core::admin::users::{self, UserKey};
use gatehouse_proto::graph::{AppRoleAssignment, AppRoleAssignmentInput};
use gatehouse_proto::ObjectId;

use super::envelope::{Collection, Entity};
use super::errors::GraphFailure;
use super::extract::{param, path_params, EntityKey, GraphCaller, GraphJson};
use super::query::GraphQuery;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/servicePrincipals/{key}/{nav}", get(list).post(create))
        .route("/servicePrincipals/{key}/{nav}/{assignment}", delete(remove))
        .route(
            "/users/{key}/appRoleAssignments",
            get(list_of_user).post(create_for_user),
        )
        .route(
            "/users/{key}/appRoleAssignments/{assignment}",
            delete(remove_of_user),
        )
}

/// The user a `/users/{key}/…` path names (object id or principal name), by object id.
async fn user_id(
    st: &AppState,
    caller: &gatehouse_core::admin::Caller,
    key: &str,
) -> Result<ObjectId, GraphFailure> {
    let user = users::get(st.store.as_ref(), caller, &UserKey::parse(key)).await?;
    Ok(user.id)
}

fn user_set(user: ObjectId) -> String {
    format!("users('{user}')/appRoleAssignments")
}

async fn list_of_user(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    Path(key): Path<String>,
    GraphQuery(query, _): GraphQuery<AppRoleAssignment>,
) -> Result<Collection, GraphFailure> {
    let user = user_id(&st, &caller, &key).await?;
    let all = assignments::list(st.store.as_ref(), &caller, Side::Principal, user).await?;
    Ok(Collection::new(&st, &user_set(user), &query, all))
}

async fn create_for_user(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    Path(key): Path<String>,
    GraphJson(input): GraphJson<AppRoleAssignmentInput>,
) -> Result<Entity, GraphFailure> {
    let user = user_id(&st, &caller, &key).await?;
    let now = time::OffsetDateTime::now_utc();
    let a = assignments::create(st.store.as_ref(), &caller, Side::Principal, user, input, now).await?;
    Ok(Entity::created(&st, &user_set(user), a))
}

async fn remove_of_user(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    Path((key, assignment)): Path<(String, String)>,
) -> Result<StatusCode, GraphFailure> {
    let user = user_id(&st, &caller, &key).await?;
    assignments::delete(st.store.as_ref(), &caller, Side::Principal, user, &assignment).await?;
    Ok(StatusCode::NO_CONTENT)
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
