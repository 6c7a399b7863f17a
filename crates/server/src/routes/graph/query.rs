//! Graph's OData query options on a collection, parsed once into a typed [`Query`] and applied to the
//! collection's entities as Graph's JSON:
//! - `$filter`: see `filter` (eq, in, startswith, and/or, any()).
//! - `$select`: only the named properties (the context becomes `set(a,b)`).
//! - `$top` (1–999, default 100) with `@odata.nextLink` paging: an opaque `$skiptoken` holds the sort key
//!   of the page's last entity, so a page never repeats or skips an entity that did not change.
//! - `$count=true` (with `ConsistencyLevel: eventual`; silently ignored without it, as Graph does) and
//!   `$orderby=displayName [asc|desc]` (an advanced query in Graph: header and `$count=true`).
//!
//! Anything else (`$search`, `$expand`, `$skip`, `ne`, `not`, other functions) is a 400 that says what is
//! supported. The order is always total: the sort property, then `id`.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_proto::graph::Resource;
use serde_json::{Map, Value};

use super::errors::GraphFailure;
use super::filter::{known, parse_filter, Filter};

/// Graph's default and largest page sizes for directory collections.
pub const DEFAULT_PAGE: usize = 100;
pub const MAX_PAGE: usize = 999;

/// The query options of one request to a collection (or, for `$select`, to one entity).
#[derive(Debug, Clone)]
pub struct Query {
    filter: Option<Filter>,
    select: Option<Vec<String>>,
    descending: bool,
    by_display_name: bool,
    top: usize,
    after: Option<Cursor>,
    count: bool,
    eventual: bool,
    /// The request's path and its options other than `$skiptoken`, for the next page's link.
    path: String,
    carried: Vec<(String, String)>,
}

/// Where the previous page ended: the last entity's sort key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
struct Cursor(String, String);

impl Query {
    /// Parses the raw query string; `eventual` is whether the request carried `ConsistencyLevel:
    /// eventual`; `properties` are the entity type's.
    pub fn parse(
        path: &str,
        raw: Option<&str>,
        eventual: bool,
        properties: &[&str],
    ) -> Result<Self, GraphFailure> {
        let mut q = Query {
            filter: None,
            select: None,
            descending: false,
            by_display_name: false,
            top: DEFAULT_PAGE,
            after: None,
            count: false,
            eventual,
            path: path.to_string(),
            carried: Vec::new(),
        };
        let mut order_by = None;
        for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            let (name, value) = (name.into_owned(), value.into_owned());
            match name.as_str() {
                "$filter" => q.filter = Some(parse_filter(&value, properties)?),
                "$select" => q.select = Some(parse_select(&value, properties)?),
                "$top" => q.top = parse_top(&value)?,
                "$count" => q.count = parse_count(&value)?,
                "$orderby" => order_by = Some(value.clone()),
                "$skiptoken" => {
                    q.after = Some(Cursor::decode(&value)?);
                    continue;
                }
                other if other.starts_with('$') => {
                    return Err(GraphFailure::UnsupportedQuery(format!(
                        "The query option '{other}' is not supported. Gatehouse answers $filter, $select, $top, $count and $orderby=displayName."
                    )))
                }
                _ => {}
            }
            q.carried.push((name, value));
        }
        if let Some(order) = order_by {
            if !(q.eventual && q.count) {
                return Err(GraphFailure::UnsupportedQuery(
                    "Sorting not supported for current query. $orderby is an advanced query: send the header ConsistencyLevel: eventual and $count=true.".into(),
                ));
            }
            q.descending = parse_order_by(&order)?;
            q.by_display_name = true;
        }
        Ok(q)
    }

    /// Whether `@odata.count` is wanted (and allowed).
    fn counted(&self) -> bool {
        self.count && self.eventual
    }

    /// Whether the request may use `/$count`.
    pub fn require_eventual(&self) -> Result<(), GraphFailure> {
        if self.eventual {
            Ok(())
        } else {
            Err(GraphFailure::BadInput(
                "$count is not currently supported. Send the header ConsistencyLevel: eventual.".into(),
            ))
        }
    }

    /// The number of entities that pass the filter, for `/$count`.
    pub fn count_of<T: Resource>(&self, items: &[T]) -> usize {
        items
            .iter()
            .filter_map(|i| serde_json::to_value(i).ok())
            .filter(|v| self.admits(v))
            .count()
    }

    fn admits(&self, entity: &Value) -> bool {
        self.filter.as_ref().is_none_or(|f| f.eval(entity, None))
    }

    /// The sort key of an entity: (lower-cased display name or "", id).
    fn key(&self, entity: &Value) -> Cursor {
        let text = |name: &str| entity.get(name).and_then(Value::as_str).unwrap_or("").to_string();
        let primary = if self.by_display_name {
            text("displayName").to_lowercase()
        } else {
            String::new()
        };
        Cursor(primary, text("id").to_lowercase())
    }

    /// Applies filter, order, paging and projection to a whole collection.
    pub fn page<T: Resource>(&self, items: impl IntoIterator<Item = T>) -> Page {
        let mut rows: Vec<(Cursor, Value)> = items
            .into_iter()
            .filter_map(|i| serde_json::to_value(i).ok())
            .filter(|v| self.admits(v))
            .map(|v| (self.key(&v), v))
            .collect();
        let count = (self.counted() && self.after.is_none()).then_some(rows.len());
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        if self.descending {
            rows.reverse();
        }
        let start = match &self.after {
            None => 0,
            Some(c) => rows
                .iter()
                .position(|(k, _)| if self.descending { k < c } else { k > c })
                .unwrap_or(rows.len()),
        };
        let end = (start + self.top).min(rows.len());
        let next = (end < rows.len()).then(|| self.next_link(&rows[end - 1].0));
        let value = rows.drain(start..end).map(|(_, v)| self.project(v)).collect();
        Page { value, count, next }
    }

    /// An entity with only the `$select`ed properties (all of them without `$select`).
    pub fn project(&self, entity: Value) -> Value {
        match (&self.select, entity) {
            (Some(names), Value::Object(mut all)) => {
                let mut kept = Map::new();
                for n in names {
                    if let Some(v) = all.remove(n) {
                        kept.insert(n.clone(), v);
                    }
                }
                Value::Object(kept)
            }
            (_, v) => v,
        }
    }

    /// The `@odata.context` suffix for `$select`: `(a,b)`.
    pub fn context_suffix(&self) -> String {
        self.select
            .as_ref()
            .map(|s| format!("({})", s.join(",")))
            .unwrap_or_default()
    }

    fn next_link(&self, last: &Cursor) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.carried {
            s.append_pair(k, v);
        }
        s.append_pair("$skiptoken", &last.encode());
        format!("{}?{}", self.path, s.finish())
    }
}

/// One page of a collection, ready for the envelope.
pub struct Page {
    pub value: Vec<Value>,
    pub count: Option<usize>,
    /// The next page's path and query (the envelope makes it absolute).
    pub next: Option<String>,
}

impl Cursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(token: &str) -> Result<Self, GraphFailure> {
        URL_SAFE_NO_PAD
            .decode(token.trim())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                GraphFailure::BadInput(
                    "The $skiptoken is not valid: use the @odata.nextLink as it was given.".into(),
                )
            })
    }
}

fn parse_top(v: &str) -> Result<usize, GraphFailure> {
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        _ => Err(GraphFailure::BadInput(format!(
            "Invalid page size specified: '{v}'. Must be between 1 and {MAX_PAGE} inclusive."
        ))),
    }
}

fn parse_count(v: &str) -> Result<bool, GraphFailure> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(GraphFailure::BadInput(format!(
            "Invalid $count value '{v}': use true or false."
        ))),
    }
}

/// `displayName`, `displayName asc` or `displayName desc`; true when descending.
fn parse_order_by(v: &str) -> Result<bool, GraphFailure> {
    let mut words = v.split_whitespace();
    let (prop, dir) = (words.next().unwrap_or(""), words.next());
    if !prop.eq_ignore_ascii_case("displayName") || words.next().is_some() {
        return Err(GraphFailure::UnsupportedQuery(format!(
            "Unsupported sort property '{v}'. Gatehouse sorts by displayName (asc or desc)."
        )));
    }
    match dir.map(str::to_ascii_lowercase).as_deref() {
        None | Some("asc") => Ok(false),
        Some("desc") => Ok(true),
        Some(d) => Err(GraphFailure::BadInput(format!(
            "Invalid sort direction '{d}': use asc or desc."
        ))),
    }
}

fn parse_select(v: &str, properties: &[&str]) -> Result<Vec<String>, GraphFailure> {
    let mut names = Vec::new();
    for raw in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let name = known(raw, properties)?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        return Err(GraphFailure::BadInput("$select names no property.".into()));
    }
    Ok(names)
}

/// The query of a request to a collection of `T`.
pub struct GraphQuery<T>(pub Query, pub std::marker::PhantomData<T>);

impl<S: Send + Sync, T: Resource> FromRequestParts<S> for GraphQuery<T> {
    type Rejection = GraphFailure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let OriginalUri(uri) = OriginalUri::from_request_parts(parts, state)
            .await
            .unwrap_or(OriginalUri(parts.uri.clone()));
        let eventual = parts
            .headers
            .get("consistencylevel")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"));
        Query::parse(uri.path(), uri.query(), eventual, T::PROPERTIES)
            .map(|q| Self(q, std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PROPS: &[&str] = &["id", "displayName"];

    fn items(n: usize) -> Vec<Value> {
        (0..n)
            .map(|i| json!({"id": format!("{i:03}"), "displayName": format!("app {}", n - i)}))
            .collect()
    }

    struct Item(Value);
    impl serde::Serialize for Item {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            self.0.serialize(s)
        }
    }
    impl Resource for Item {
        const TYPE: &'static str = "test";
        const PROPERTIES: &'static [&'static str] = PROPS;
    }

    fn all_pages(query: &str, eventual: bool, data: &[Value]) -> Vec<Vec<Value>> {
        let mut pages = Vec::new();
        let mut raw = query.to_string();
        loop {
            let q = Query::parse("/v1.0/applications", Some(&raw), eventual, PROPS).unwrap();
            let page = q.page(data.iter().cloned().map(Item));
            pages.push(page.value);
            match page.next {
                Some(next) => raw = next.split_once('?').unwrap().1.to_string(),
                None => return pages,
            }
        }
    }

    #[test]
    fn pages_cover_every_entity_once_in_a_stable_order() {
        let data = items(7);
        let pages = all_pages("%24top=3&%24select=id", false, &data);
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
        let ids: Vec<_> = pages
            .concat()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, ["000", "001", "002", "003", "004", "005", "006"]);
        assert_eq!(
            pages[0][0],
            json!({"id": "000"}),
            "$select keeps only what it names"
        );

        let sorted = all_pages("$top=2&$count=true&$orderby=displayName desc", true, &data);
        let names: Vec<_> = sorted
            .concat()
            .iter()
            .map(|v| v["displayName"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            ["app 7", "app 6", "app 5", "app 4", "app 3", "app 2", "app 1"]
        );
    }

    #[test]
    fn count_and_order_follow_graphs_advanced_query_rules() {
        let data = items(5);
        let q = Query::parse(
            "/x",
            Some("$count=true&$filter=startswith(displayName,'app')"),
            true,
            PROPS,
        )
        .unwrap();
        assert_eq!(q.page(data.iter().cloned().map(Item)).count, Some(5));
        let q = Query::parse("/x", Some("$count=true"), false, PROPS).unwrap();
        assert_eq!(
            q.page(data.iter().cloned().map(Item)).count,
            None,
            "ignored without the header"
        );
        assert!(Query::parse("/x", Some("$orderby=displayName"), false, PROPS).is_err());
        assert!(Query::parse("/x", Some("$orderby=id&$count=true"), true, PROPS).is_err());
        for bad in [
            "$top=0",
            "$top=1000",
            "$top=x",
            "$skiptoken=zz",
            "$search=x",
            "$expand=owners",
            "$select=colour",
        ] {
            assert!(Query::parse("/x", Some(bad), true, PROPS).is_err(), "{bad}");
        }
    }
}
