//! Graph's OData query options on a collection, parsed once into a typed [`Query`] and applied to the
//! collection's entities as Graph's JSON:
//! - `$filter`: `eq`, `in (…)`, `startswith(p,'x')`, `and`, `or`, parentheses, and the lambda
//!   `coll/any(x:x eq '…')` (what the az CLI sends for `identifierUris` and `servicePrincipalNames`).
//!   Strings compare case-insensitively, as the directory does.
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

/// Graph's default and largest page sizes for directory collections.
pub const DEFAULT_PAGE: usize = 100;
pub const MAX_PAGE: usize = 999;
/// A filter longer than this is refused before it is parsed.
const MAX_FILTER_LEN: usize = 4096;
/// Nesting deeper than this (parentheses, lambdas) is refused.
const MAX_DEPTH: usize = 16;

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

#[derive(Debug, Clone, PartialEq)]
enum Filter {
    Eq(Operand, Literal),
    In(Operand, Vec<Literal>),
    StartsWith(Operand, String),
    Any {
        collection: Vec<String>,
        var: String,
        inner: Box<Filter>,
    },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

/// What a comparison reads: a property path of the entity, or (inside a lambda) of the element.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Property(Vec<String>),
    Element(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    String(String),
    Bool(bool),
    Null,
}

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

/// The property's own spelling, matched case-insensitively as Graph does.
fn known(name: &str, properties: &[&str]) -> Result<String, GraphFailure> {
    properties
        .iter()
        .find(|p| p.eq_ignore_ascii_case(name))
        .map(|p| p.to_string())
        .ok_or_else(|| {
            GraphFailure::BadInput(format!(
                "Could not find a property named '{}' on this type.",
                name.chars().take(100).collect::<String>()
            ))
        })
}

impl Filter {
    fn eval(&self, entity: &Value, element: Option<&Value>) -> bool {
        match self {
            Filter::Eq(op, lit) => op.read(entity, element).is_some_and(|v| lit.matches(v)),
            Filter::In(op, lits) => op
                .read(entity, element)
                .is_some_and(|v| lits.iter().any(|l| l.matches(v))),
            Filter::StartsWith(op, prefix) => op
                .read(entity, element)
                .and_then(Value::as_str)
                .is_some_and(|s| s.to_lowercase().starts_with(&prefix.to_lowercase())),
            Filter::Any {
                collection, inner, ..
            } => walk(entity, collection)
                .and_then(Value::as_array)
                .is_some_and(|items| items.iter().any(|item| inner.eval(entity, Some(item)))),
            Filter::And(a, b) => a.eval(entity, element) && b.eval(entity, element),
            Filter::Or(a, b) => a.eval(entity, element) || b.eval(entity, element),
        }
    }
}

impl Operand {
    fn read<'a>(&self, entity: &'a Value, element: Option<&'a Value>) -> Option<&'a Value> {
        match self {
            Operand::Property(path) => walk(entity, path),
            Operand::Element(path) => walk(element?, path),
        }
    }
}

fn walk<'a>(mut v: &'a Value, path: &[String]) -> Option<&'a Value> {
    for seg in path {
        v = v.get(seg)?;
    }
    Some(v)
}

impl Literal {
    fn matches(&self, v: &Value) -> bool {
        match (self, v) {
            (Literal::String(a), Value::String(b)) => a.to_lowercase() == b.to_lowercase(),
            (Literal::Bool(a), Value::Bool(b)) => a == b,
            (Literal::Null, Value::Null) => true,
            _ => false,
        }
    }
}

// ---- the $filter grammar ----
//
//   or    := and ('or' and)*
//   and   := prim ('and' prim)*
//   prim  := '(' or ')'
//          | 'startswith' '(' operand ',' string ')'
//          | path '/any' '(' var ':' or ')'
//          | operand 'eq' literal
//          | operand 'in' '(' literal (',' literal)* ')'

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Open,
    Close,
    Comma,
    Colon,
}

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' | ':' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    ',' => Token::Comma,
                    _ => Token::Colon,
                });
            }
            '\'' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            text.push('\'');
                        }
                        Some('\'') => break,
                        Some(ch) => text.push(ch),
                        None => return Err("a string is not closed with '".into()),
                    }
                }
                out.push(Token::Str(text));
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-' | '@') => {
                let mut word = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_alphanumeric() || matches!(ch, '_' | '/' | '.' | '-' | '@') {
                        word.push(ch);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(word));
            }
            other => return Err(format!("unexpected '{other}'")),
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    properties: &'a [&'a str],
    /// The lambda variable in scope, if any.
    var: Option<String>,
    depth: usize,
}

/// Parses a `$filter` expression against the entity type's properties.
fn parse_filter(text: &str, properties: &[&str]) -> Result<Filter, GraphFailure> {
    let invalid = |why: String| GraphFailure::BadInput(format!("Invalid filter clause: {why}."));
    if text.len() > MAX_FILTER_LEN {
        return Err(invalid(format!("longer than {MAX_FILTER_LEN} characters")));
    }
    let tokens = tokenize(text).map_err(invalid)?;
    let mut p = Parser {
        tokens,
        at: 0,
        properties,
        var: None,
        depth: 0,
    };
    let f = p.or()?;
    match p.peek() {
        None => Ok(f),
        Some(t) => Err(invalid(format!("unexpected {t:?} after a complete expression"))),
    }
}

fn unsupported(what: &str) -> GraphFailure {
    GraphFailure::UnsupportedQuery(format!(
        "Unsupported Query: {what}. Gatehouse filters with eq, in, startswith, and, or, and any() over a collection."
    ))
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn expect(&mut self, want: Token) -> Result<(), GraphFailure> {
        match self.next() {
            Some(t) if t == want => Ok(()),
            got => Err(GraphFailure::BadInput(format!(
                "Invalid filter clause: expected {want:?}, found {got:?}."
            ))),
        }
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Filter, GraphFailure> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(GraphFailure::BadInput(
                "Invalid filter clause: nested too deeply.".into(),
            ));
        }
        let mut left = self.and()?;
        while self.keyword("or") {
            self.next();
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, GraphFailure> {
        let mut left = self.primary()?;
        while self.keyword("and") {
            self.next();
            left = Filter::And(Box::new(left), Box::new(self.primary()?));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Filter, GraphFailure> {
        match self.next() {
            Some(Token::Open) => {
                let f = self.or()?;
                self.expect(Token::Close)?;
                Ok(f)
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("startswith") => {
                self.expect(Token::Open)?;
                let op = match self.next() {
                    Some(Token::Word(p)) => self.operand(&p)?,
                    got => {
                        return Err(GraphFailure::BadInput(format!(
                            "Invalid filter clause: startswith needs a property, found {got:?}."
                        )))
                    }
                };
                self.expect(Token::Comma)?;
                let prefix = match self.next() {
                    Some(Token::Str(s)) => s,
                    got => {
                        return Err(GraphFailure::BadInput(format!(
                            "Invalid filter clause: startswith needs a string, found {got:?}."
                        )))
                    }
                };
                self.expect(Token::Close)?;
                Ok(Filter::StartsWith(op, prefix))
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("not") => Err(unsupported("not")),
            Some(Token::Word(w)) => {
                if let Some((coll, lambda)) = w.rsplit_once('/') {
                    if lambda.eq_ignore_ascii_case("any") {
                        return self.any(coll);
                    }
                    if lambda.eq_ignore_ascii_case("all") {
                        return Err(unsupported("all()"));
                    }
                }
                let op = self.operand(&w)?;
                match self.next() {
                    Some(Token::Word(o)) if o.eq_ignore_ascii_case("eq") => {
                        Ok(Filter::Eq(op, self.literal()?))
                    }
                    Some(Token::Word(o)) if o.eq_ignore_ascii_case("in") => {
                        self.expect(Token::Open)?;
                        let mut lits = vec![self.literal()?];
                        while self.peek() == Some(&Token::Comma) {
                            self.next();
                            lits.push(self.literal()?);
                        }
                        self.expect(Token::Close)?;
                        Ok(Filter::In(op, lits))
                    }
                    Some(Token::Word(o)) => Err(unsupported(&format!("the operator '{o}'"))),
                    got => Err(GraphFailure::BadInput(format!(
                        "Invalid filter clause: expected an operator after '{w}', found {got:?}."
                    ))),
                }
            }
            got => Err(GraphFailure::BadInput(format!(
                "Invalid filter clause: unexpected {got:?}."
            ))),
        }
    }

    /// `coll/any(x: …)`, with `x` in scope inside.
    fn any(&mut self, collection: &str) -> Result<Filter, GraphFailure> {
        if self.var.is_some() {
            return Err(unsupported("a lambda inside a lambda"));
        }
        let collection = self.path(collection)?;
        self.expect(Token::Open)?;
        let var = match self.next() {
            Some(Token::Word(v)) if !v.contains('/') => v,
            got => {
                return Err(GraphFailure::BadInput(format!(
                    "Invalid filter clause: any() needs a variable, found {got:?}."
                )))
            }
        };
        self.expect(Token::Colon)?;
        self.var = Some(var.clone());
        let inner = self.or();
        self.var = None;
        let inner = inner?;
        self.expect(Token::Close)?;
        Ok(Filter::Any {
            collection,
            var,
            inner: Box::new(inner),
        })
    }

    /// A property path of the entity, or the lambda variable (and a path below it).
    fn operand(&self, word: &str) -> Result<Operand, GraphFailure> {
        if let Some(var) = &self.var {
            let mut segs = word.split('/');
            if segs.next() == Some(var.as_str()) {
                return Ok(Operand::Element(segs.map(str::to_string).collect()));
            }
        }
        self.path(word).map(Operand::Property)
    }

    fn path(&self, word: &str) -> Result<Vec<String>, GraphFailure> {
        let mut segs = word.split('/');
        let first = known(segs.next().unwrap_or(""), self.properties)?;
        Ok(std::iter::once(first).chain(segs.map(str::to_string)).collect())
    }

    fn literal(&mut self) -> Result<Literal, GraphFailure> {
        match self.next() {
            Some(Token::Str(s)) => Ok(Literal::String(s)),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => Ok(Literal::Bool(true)),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => Ok(Literal::Bool(false)),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => Ok(Literal::Null),
            got => Err(GraphFailure::BadInput(format!(
                "Invalid filter clause: expected a value ('text', true, false or null), found {got:?}."
            ))),
        }
    }
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

    const PROPS: &[&str] = &[
        "id",
        "displayName",
        "appId",
        "identifierUris",
        "accountEnabled",
        "web",
    ];

    fn filter(f: &str) -> Result<Filter, GraphFailure> {
        parse_filter(f, PROPS)
    }

    fn admits(f: &str, v: &Value) -> bool {
        filter(f).unwrap().eval(v, None)
    }

    #[test]
    fn filters_read_what_sdks_and_az_send() {
        let app = json!({"id":"1","displayName":"Payroll API","appId":"A-1","identifierUris":["api://Payroll"],
            "accountEnabled":true,"web":{"redirectUris":["https://x/cb"]}});
        assert!(admits("displayName eq 'payroll api'", &app));
        assert!(admits("startswith(displayName,'Pay')", &app));
        assert!(admits("identifierUris/any(s:s eq 'api://payroll')", &app));
        assert!(admits("identifierUris/any(s: startswith(s, 'api://'))", &app));
        assert!(admits("web/redirectUris/any(u:u eq 'https://x/cb')", &app));
        assert!(admits(
            "appId eq 'a-1' and (displayName eq 'x' or accountEnabled eq true)",
            &app
        ));
        assert!(admits("appId in ('b', 'A-1')", &app));
        assert!(!admits("startswith(displayName,'API')", &app));
        assert!(!admits("identifierUris/any(s:s eq 'api://other')", &app));
        assert!(admits("displayName eq 'O''Brien' or id eq '1'", &app));
        assert!(!admits("displayName eq null", &app));
    }

    #[test]
    fn filters_refuse_what_is_not_served_with_a_reason() {
        for (f, unsupported) in [
            ("displayName ne 'x'", true),
            ("not(displayName eq 'x')", true),
            ("identifierUris/all(s:s eq 'x')", true),
            ("colour eq 'red'", false),
            ("displayName eq", false),
            ("displayName eq 'x", false),
            ("startswith(displayName)", false),
            ("displayName eq 'x' extra", false),
            ("((((((((((((((((((displayName eq 'x'))))))))))))))))))", false),
        ] {
            match filter(f) {
                Err(GraphFailure::UnsupportedQuery(_)) => assert!(unsupported, "{f}"),
                Err(GraphFailure::BadInput(_)) => assert!(!unsupported, "{f}"),
                other => panic!("{f}: {other:?}"),
            }
        }
    }

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
