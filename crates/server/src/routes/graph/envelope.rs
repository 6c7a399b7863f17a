//! Graph's OData envelopes (entra-protocol.md §5): an entity with `@odata.context` ending in `/$entity`,
//! and a collection `{"@odata.context", "value": […]}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::AppState;

/// One entity (or an action's result) with its `@odata.context`.
pub struct Entity<T> {
    status: StatusCode,
    context: String,
    value: T,
}

impl<T: Serialize> Entity<T> {
    /// `200` with the context `{set}/$entity`.
    pub fn ok(st: &AppState, set: &str, value: T) -> Self {
        Self::with_context(st, &format!("{set}/$entity"), value)
    }

    /// `201 Created`, as Graph answers a POST that makes an entity.
    pub fn created(st: &AppState, set: &str, value: T) -> Self {
        Self {
            status: StatusCode::CREATED,
            ..Self::ok(st, set, value)
        }
    }

    /// `200` with a context of its own (an action's result type, such as a passwordCredential).
    pub fn with_context(st: &AppState, context: &str, value: T) -> Self {
        Self {
            status: StatusCode::OK,
            context: format!("{}/v1.0/$metadata#{context}", st.base_url),
            value,
        }
    }
}

impl<T: Serialize> IntoResponse for Entity<T> {
    fn into_response(self) -> Response {
        let mut out = Map::new();
        out.insert("@odata.context".into(), Value::String(self.context));
        if let Ok(Value::Object(m)) = serde_json::to_value(&self.value) {
            out.extend(m);
        }
        (self.status, Json(Value::Object(out))).into_response()
    }
}

/// A collection of entities of one entity set.
pub struct Collection<T> {
    context: String,
    items: Vec<T>,
}

impl<T: Serialize> Collection<T> {
    pub fn new(st: &AppState, set: &str, items: impl IntoIterator<Item = T>) -> Self {
        Self {
            context: format!("{}/v1.0/$metadata#{set}", st.base_url),
            items: items.into_iter().collect(),
        }
    }
}

impl<T: Serialize> IntoResponse for Collection<T> {
    fn into_response(self) -> Response {
        let value: Vec<Value> = self
            .items
            .iter()
            .filter_map(|i| serde_json::to_value(i).ok())
            .collect();
        (
            StatusCode::OK,
            Json(json!({"@odata.context": self.context, "value": value})),
        )
            .into_response()
    }
}
