//! `/v1.0/organization` (entra-protocol.md §5.4): the caller's tenant, as a one-item collection.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use gatehouse_core::admin::{organization, AdminError};
use gatehouse_proto::graph::Organization;

use super::envelope::Collection;
use super::errors::GraphFailure;
use super::extract::GraphCaller;
use super::query::GraphQuery;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/organization", get(read))
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
