//! Graph's OData envelopes (entra-protocol.md §5): an entity with `@odata.context` ending in `/$entity`,
//! and a page of a collection `{"@odata.context", "@odata.count"?, "value": […], "@odata.nextLink"?}`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_proto::graph::Resource;
use serde::Serialize;
use serde_json::{Map, Value};

use super::query::{Page, Query};
use crate::AppState;

/// One entity (or an action's result) with its `@odata.context`.
pub struct Entity {
    status: StatusCode,
    context: String,
    value: Value,
}

impl Entity {
    /// `200` with the context `{set}/$entity`.
    pub fn ok(st: &AppState, set: &str, value: impl Serialize) -> Self {
        Self::with_context(st, &format!("{set}/$entity"), value)
    }

    /// `200` with only the `$select`ed properties, and the context `{set}(a,b)/$entity`.
    pub fn selected(st: &AppState, set: &str, value: impl Serialize, query: &Query) -> Self {
        let mut e = Self::with_context(st, &format!("{set}{}/$entity", query.context_suffix()), value);
        e.value = query.project(e.value);
        e
    }

    /// `201 Created`, as Graph answers a POST that makes an entity.
    pub fn created(st: &AppState, set: &str, value: impl Serialize) -> Self {
        Self {
            status: StatusCode::CREATED,
            ..Self::ok(st, set, value)
        }
    }

    /// `200` with a context of its own (an action's result type, such as a passwordCredential).
    pub fn with_context(st: &AppState, context: &str, value: impl Serialize) -> Self {
        Self {
            status: StatusCode::OK,
            context: format!("{}/v1.0/$metadata#{context}", st.base_url),
            value: serde_json::to_value(value).unwrap_or(Value::Null),
        }
    }
}

impl IntoResponse for Entity {
    fn into_response(self) -> Response {
        let mut out = Map::new();
        out.insert("@odata.context".into(), Value::String(self.context));
        if let Value::Object(m) = self.value {
            out.extend(m);
        }
        (self.status, Json(Value::Object(out))).into_response()
    }
}

/// One page of a collection of one entity set, after the request's query options.
pub struct Collection {
    context: String,
    page: Page,
    origin: String,
}

impl Collection {
    pub fn new<T: Resource>(
        st: &AppState,
        set: &str,
        query: &Query,
        items: impl IntoIterator<Item = T>,
    ) -> Self {
        Self {
            context: format!("{}/v1.0/$metadata#{set}{}", st.base_url, query.context_suffix()),
            page: query.page(items),
            origin: origin(&st.base_url),
        }
    }

    /// A page made by its own query (the audit logs), under the context `{set}`.
    pub fn of_page(st: &AppState, set: &str, page: Page) -> Self {
        Self {
            context: format!("{}/v1.0/$metadata#{set}", st.base_url),
            page,
            origin: origin(&st.base_url),
        }
    }
}

/// The scheme, host and port of the public URL, to which the request's path is appended.
fn origin(base: &str) -> String {
    url::Url::parse(base)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| base.trim_end_matches('/').to_string())
}

impl IntoResponse for Collection {
    fn into_response(self) -> Response {
        let mut out = Map::new();
        out.insert("@odata.context".into(), Value::String(self.context));
        if let Some(n) = self.page.count {
            out.insert("@odata.count".into(), Value::from(n));
        }
        out.insert("value".into(), Value::Array(self.page.value));
        if let Some(next) = self.page.next {
            out.insert(
                "@odata.nextLink".into(),
                Value::String(format!("{}{next}", self.origin)),
            );
        }
        (StatusCode::OK, Json(Value::Object(out))).into_response()
    }
}

/// The answer to `/$count`: a bare integer as text.
pub fn count(n: usize) -> Response {
    ([(header::CONTENT_TYPE, "text/plain")], n.to_string()).into_response()
}
