//! `$filter`, parsed into a [`Filter`] against the entity type's properties and evaluated on the
//! entity's Graph JSON: `eq`, `in (…)`, `startswith(p,'x')`, `and`, `or`, parentheses, and the lambda
//! `coll/any(x:x eq '…')` (what the az CLI sends for `identifierUris` and `servicePrincipalNames`).
//! Strings compare case-insensitively, as the directory does. `ne`, `not`, `all()` and other functions
//! are Graph's `Request_UnsupportedQuery`; text that does not parse is `Request_BadRequest`.

use serde_json::Value;

use super::errors::GraphFailure;

/// A filter longer than this is refused before it is parsed.
const MAX_FILTER_LEN: usize = 4096;
/// Nesting deeper than this (parentheses, lambdas) is refused.
const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Filter {
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
pub(super) enum Operand {
    Property(Vec<String>),
    Element(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Literal {
    String(String),
    Bool(bool),
    Null,
}

/// The property's own spelling, matched case-insensitively as Graph does.
pub(super) fn known(name: &str, properties: &[&str]) -> Result<String, GraphFailure> {
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
    pub(super) fn eval(&self, entity: &Value, element: Option<&Value>) -> bool {
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
pub(super) fn parse_filter(text: &str, properties: &[&str]) -> Result<Filter, GraphFailure> {
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
}
