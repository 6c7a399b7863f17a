//! The Microsoft-Graph-compatible management API under `/v1.0` (entra-protocol.md §5). Only Gatehouse
//! access tokens for Microsoft Graph are accepted, validated by `gatehouse-validate`; the caller's
//! tenant is the token's `tid` and its permissions are the token's `roles`.

mod dispatch;
mod errors;
pub mod keys;
pub mod path;

use axum::routing::{any, MethodRouter};

use crate::AppState;

pub use errors::GraphFailure;

pub fn routes() -> MethodRouter<AppState> {
    any(dispatch::dispatch)
}
