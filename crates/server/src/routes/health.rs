//! Liveness, readiness (200 only while the store answers and takes writes, and the node is not
//! draining), and the page `error_uri` points to.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::AppState;

pub async fn live_get() -> impl IntoResponse {
    (StatusCode::OK, "live")
}

/// Reads the last proof of the store (`readiness`): never waits on the store itself.
pub async fn ready_get(State(st): State<AppState>) -> impl IntoResponse {
    if !st.is_accepting() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining");
    }
    match st.readiness.ready() {
        true => (StatusCode::OK, "ready"),
        false => (
            StatusCode::SERVICE_UNAVAILABLE,
            "store unavailable or not writable",
        ),
    }
}

#[derive(serde::Deserialize)]
pub struct ErrorQuery {
    code: Option<u32>,
}

pub async fn error_page_get(Query(q): Query<ErrorQuery>) -> impl IntoResponse {
    match q.code {
        Some(c) => format!("AADSTS{c}: see the error_description of the response that linked here."),
        None => "Gatehouse error lookup: add ?code=NNNN.".into(),
    }
}
