//! `/v1.0/organization` (entra-protocol.md §5.4): the caller's tenant, as a one-item collection; and
//! `/v1.0/policies/authorizationPolicy`: its user consent setting, read and patched.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use gatehouse_core::admin::{organization, AdminError};
use gatehouse_proto::graph::{AuthorizationPolicy, AuthorizationPolicyUpdate, Organization};

use super::envelope::{Collection, Entity};
use super::errors::GraphFailure;
use super::extract::{GraphCaller, GraphJson};
use super::query::GraphQuery;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/organization", get(read)).route(
        "/policies/authorizationPolicy",
        get(read_policy).patch(update_policy),
    )
}

async fn read_policy(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphQuery(query, _): GraphQuery<AuthorizationPolicy>,
) -> Result<Entity, GraphFailure> {
    st.directory.fresh().map_err(|_| AdminError::Unavailable)?;
    let policy = organization::authorization_policy(st.directory.tenants().get(caller.tenant_id), &caller)?;
    Ok(Entity::selected(
        &st,
        "policies/authorizationPolicy",
        policy,
        &query,
    ))
}

async fn update_policy(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphJson(input): GraphJson<AuthorizationPolicyUpdate>,
) -> Result<StatusCode, GraphFailure> {
    organization::update_authorization_policy(st.store.as_ref(), &caller, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn read(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    GraphQuery(query, _): GraphQuery<Organization>,
) -> Result<Collection, GraphFailure> {
    st.directory.fresh().map_err(|_| AdminError::Unavailable)?;
    let org = organization::get(st.directory.tenants().get(caller.tenant_id), &caller)?;
    Ok(Collection::new(&st, "organization", &query, [org]))
}
