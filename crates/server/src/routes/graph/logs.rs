//! `/v1.0/auditLogs/directoryAudits` and `/v1.0/auditLogs/signIns`: the tenant's logs, newest first,
//! with `$top`, `$skiptoken` paging and a `$filter` of comparisons joined by `and`. Unlike the
//! directory's collections (filtered in memory), a log can hold millions of records, so its filter
//! becomes conditions the store runs on indexed columns:
//! - directoryAudits: `activityDateTime` (`eq ge gt le lt`), and `eq` on `id`, `category`,
//!   `activityDisplayName`, `result`, `correlationId`, `initiatedBy/app/appId`, `initiatedBy/user/id`,
//!   `initiatedBy/user/userPrincipalName`;
//! - signIns: `createdDateTime` (`eq ge gt le lt`), and `eq` on `id`, `appId`, `userId`,
//!   `userPrincipalName`, `status/errorCode`, `correlationId`, `ipAddress`.

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_core::admin::logs;
use gatehouse_core::audit::{Comparison, Condition, LogField, LogPosition, LogQuery, LogValue};
use gatehouse_proto::timefmt::{graph_datetime, parse_graph_datetime};
use time::OffsetDateTime;

use super::envelope::{Collection, Entity};
use super::errors::GraphFailure;
use super::extract::GraphCaller;
use super::query::{Page, DEFAULT_PAGE, MAX_PAGE};
use crate::AppState;

const AUDITS: &str = "auditLogs/directoryAudits";
const SIGN_INS: &str = "auditLogs/signIns";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auditLogs/directoryAudits", get(list_audits))
        .route("/auditLogs/directoryAudits/{id}", get(read_audit))
        .route("/auditLogs/signIns", get(list_sign_ins))
        .route("/auditLogs/signIns/{id}", get(read_sign_in))
}

async fn list_audits(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    RawQuery(raw): RawQuery,
) -> Result<Collection, GraphFailure> {
    let options = Options::parse(raw.as_deref(), audit_field)?;
    let page = logs::directory_audits(st.store.as_ref(), &caller, options.query()).await?;
    Ok(options.page(&st, AUDITS, page, |a| (a.activity_date_time, a.id.clone())))
}

async fn read_audit(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    Path(id): Path<String>,
) -> Result<Entity, GraphFailure> {
    let found = logs::directory_audits(st.store.as_ref(), &caller, by_id(&id)).await?;
    let record = found.into_iter().next().ok_or_else(|| not_found(&id))?;
    Ok(Entity::ok(&st, AUDITS, record))
}

async fn list_sign_ins(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    RawQuery(raw): RawQuery,
) -> Result<Collection, GraphFailure> {
    let options = Options::parse(raw.as_deref(), sign_in_field)?;
    let page = logs::sign_ins(st.store.as_ref(), &caller, options.query()).await?;
    Ok(options.page(&st, SIGN_INS, page, |s| (s.created_date_time, s.id.clone())))
}

async fn read_sign_in(
    State(st): State<AppState>,
    GraphCaller(caller): GraphCaller,
    Path(id): Path<String>,
) -> Result<Entity, GraphFailure> {
    let found = logs::sign_ins(st.store.as_ref(), &caller, by_id(&id)).await?;
    let record = found.into_iter().next().ok_or_else(|| not_found(&id))?;
    Ok(Entity::ok(&st, SIGN_INS, record))
}

fn by_id(id: &str) -> LogQuery {
    LogQuery {
        tenant_id: None,
        conditions: vec![Condition {
            field: LogField::Id,
            comparison: Comparison::Eq,
            value: LogValue::Text(id.chars().take(200).collect()),
        }],
        before: None,
        limit: 1,
    }
}

fn not_found(id: &str) -> GraphFailure {
    GraphFailure::Admin(gatehouse_core::admin::AdminError::NotFound(format!(
        "Resource '{}' does not exist or one of its queried reference-property objects are not present.",
        id.chars().take(100).collect::<String>()
    )))
}

/// A filterable property of a log: its column, and whether it is the record's time.
type FieldOf = fn(&str) -> Option<LogField>;

fn audit_field(name: &str) -> Option<LogField> {
    Some(match name.to_ascii_lowercase().as_str() {
        "id" => LogField::Id,
        "activitydatetime" => LogField::Time,
        "category" => LogField::Category,
        "activitydisplayname" => LogField::Activity,
        "result" => LogField::Result,
        "correlationid" => LogField::CorrelationId,
        "initiatedby/app/appid" => LogField::AppId,
        "initiatedby/user/id" => LogField::UserId,
        "initiatedby/user/userprincipalname" => LogField::UserPrincipalName,
        _ => return None,
    })
}

fn sign_in_field(name: &str) -> Option<LogField> {
    Some(match name.to_ascii_lowercase().as_str() {
        "id" => LogField::Id,
        "createddatetime" => LogField::Time,
        "appid" => LogField::AppId,
        "userid" => LogField::UserId,
        "userprincipalname" => LogField::UserPrincipalName,
        "status/errorcode" => LogField::ErrorCode,
        "correlationid" => LogField::CorrelationId,
        "ipaddress" => LogField::IpAddress,
        _ => return None,
    })
}

/// The query options of a request to a log.
struct Options {
    filter: Option<String>,
    conditions: Vec<Condition>,
    top: usize,
    before: Option<LogPosition>,
}

impl Options {
    fn parse(raw: Option<&str>, field: FieldOf) -> Result<Self, GraphFailure> {
        let mut o = Options {
            filter: None,
            conditions: Vec::new(),
            top: DEFAULT_PAGE,
            before: None,
        };
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            match k.to_ascii_lowercase().trim_start_matches('$') {
                "filter" => {
                    o.conditions = parse_filter(&v, field)?;
                    o.filter = Some(v.into_owned());
                }
                "top" => {
                    o.top = match v.trim().parse::<usize>() {
                        Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
                        _ => {
                            return Err(GraphFailure::BadInput(format!(
                                "Invalid page size specified: '{v}'. Must be between 1 and {MAX_PAGE} inclusive."
                            )))
                        }
                    }
                }
                "skiptoken" => o.before = Some(decode_position(&v)?),
                other => {
                    return Err(GraphFailure::UnsupportedQuery(format!(
                        "The query option '${}' is not supported on the audit logs; use $filter, $top and the @odata.nextLink.",
                        other.chars().take(40).collect::<String>()
                    )))
                }
            }
        }
        Ok(o)
    }

    /// The store query: one record more than a page, to learn whether another page follows.
    fn query(&self) -> LogQuery {
        LogQuery {
            tenant_id: None,
            conditions: self.conditions.clone(),
            before: self.before.clone(),
            limit: self.top + 1,
        }
    }

    fn page<T: serde::Serialize>(
        &self,
        st: &AppState,
        set: &str,
        mut records: Vec<T>,
        position: impl Fn(&T) -> (OffsetDateTime, String),
    ) -> Collection {
        let more = records.len() > self.top;
        records.truncate(self.top);
        let next = match (more, records.last()) {
            (true, Some(last)) => {
                let (at, id) = position(last);
                let mut q = url::form_urlencoded::Serializer::new(String::new());
                if let Some(f) = &self.filter {
                    q.append_pair("$filter", f);
                }
                q.append_pair("$top", &self.top.to_string());
                q.append_pair("$skiptoken", &encode_position(at, &id));
                Some(format!("/v1.0/{set}?{}", q.finish()))
            }
            _ => None,
        };
        let value = records
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or_default())
            .collect();
        Collection::of_page(
            st,
            set,
            Page {
                value,
                count: None,
                next,
            },
        )
    }
}

pub(crate) fn encode_position(at: OffsetDateTime, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", graph_datetime(at)))
}

pub(crate) fn decode_position(token: &str) -> Result<LogPosition, GraphFailure> {
    let bad = || {
        GraphFailure::BadInput("The $skiptoken is not valid: use the @odata.nextLink as it was given.".into())
    };
    let text = URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let (at, id) = text.split_once('|').ok_or_else(bad)?;
    Ok(LogPosition {
        at: parse_graph_datetime(at).ok_or_else(bad)?,
        id: id.to_string(),
    })
}

/// `$filter`: comparisons joined by `and`; anything else is Graph's `Request_UnsupportedQuery`.
fn parse_filter(text: &str, field: FieldOf) -> Result<Vec<Condition>, GraphFailure> {
    if text.len() > 4096 {
        return Err(GraphFailure::BadInput("The $filter is too long.".into()));
    }
    let unsupported = |what: &str| {
        GraphFailure::UnsupportedQuery(format!(
            "Unsupported filter '{}': the audit logs take comparisons joined by 'and'.",
            what.chars().take(200).collect::<String>()
        ))
    };
    let mut out = Vec::new();
    for clause in split_and(text) {
        let clause = clause.trim();
        let mut words = clause.splitn(3, ' ');
        let (Some(name), Some(op), Some(value)) = (words.next(), words.next(), words.next()) else {
            return Err(unsupported(clause));
        };
        let f = field(name).ok_or_else(|| {
            GraphFailure::BadInput(format!(
                "Could not find a property named '{}' on this type.",
                name.chars().take(100).collect::<String>()
            ))
        })?;
        let comparison = match op.to_ascii_lowercase().as_str() {
            "eq" => Comparison::Eq,
            "ge" => Comparison::Ge,
            "gt" => Comparison::Gt,
            "le" => Comparison::Le,
            "lt" => Comparison::Lt,
            _ => return Err(unsupported(clause)),
        };
        let value = value.trim();
        let quoted = string_literal(value);
        let value = match f {
            LogField::Time => LogValue::Time(
                parse_graph_datetime(quoted.as_deref().unwrap_or(value))
                    .ok_or_else(|| GraphFailure::BadInput(format!("'{value}' is not a date-time.")))?,
            ),
            _ if comparison != Comparison::Eq => return Err(unsupported(clause)),
            LogField::ErrorCode => LogValue::Number(
                value
                    .parse()
                    .map_err(|_| GraphFailure::BadInput(format!("'{value}' is not a number.")))?,
            ),
            _ => LogValue::Text(
                quoted
                    .ok_or_else(|| GraphFailure::BadInput(format!("'{value}' must be a quoted string.")))?,
            ),
        };
        out.push(Condition {
            field: f,
            comparison,
            value,
        });
    }
    Ok(out)
}

/// The text of `'…'` (with `''` for a quote), if `value` is exactly one such literal.
fn string_literal(value: &str) -> Option<String> {
    let mut chars = value.strip_prefix('\'')?.chars().peekable();
    let mut out = String::new();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
            } else {
                return chars.next().is_none().then_some(out);
            }
        }
        out.push(c);
    }
    None
}

/// The clauses of `a and b and c`, splitting only outside quoted strings.
fn split_and(text: &str) -> Vec<String> {
    let mut clauses = vec![String::new()];
    let mut quoted = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\'' {
            quoted = !quoted;
        }
        // `get`, not indexing: five bytes on may fall inside a character.
        if !quoted && rest.get(..5).is_some_and(|w| w.eq_ignore_ascii_case(" and ")) {
            clauses.push(String::new());
            rest = &rest[5..];
            continue;
        }
        if let Some(last) = clauses.last_mut() {
            last.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    clauses
}

/// Parses a query string as both logs would (the OData fuzz target's entry).
pub(super) fn fuzz(raw: &str) {
    let _ = Options::parse(Some(raw), audit_field);
    let _ = Options::parse(Some(raw), sign_in_field);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_in_any_script_is_split_and_refused_without_a_panic() {
        for text in [
            "abcdé",
            "é and é",
            "category eq 'é' and result eq 'ß'",
            "ééé andé",
        ] {
            let _ = parse_filter(text, audit_field);
        }
        let c = parse_filter("category eq 'é' and result eq 'ß'", audit_field).unwrap();
        assert_eq!(c[0].value, LogValue::Text("é".into()));
    }

    #[test]
    fn filters_become_conditions() {
        let c = parse_filter(
            "activityDateTime ge 2026-01-01T00:00:00Z and category eq 'ApplicationManagement' and initiatedBy/app/appId eq 'it''s'",
            audit_field,
        )
        .unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].comparison, Comparison::Ge);
        assert_eq!(c[2].value, LogValue::Text("it's".into()));
        let quoted_and = parse_filter("activityDisplayName eq 'a and b'", audit_field).unwrap();
        assert_eq!(quoted_and[0].value, LogValue::Text("a and b".into()));
        assert!(matches!(
            parse_filter("status/errorCode eq 7000215", sign_in_field).unwrap()[0].value,
            LogValue::Number(7000215)
        ));
    }

    #[test]
    fn other_filters_are_refused_in_graphs_words() {
        for bad in [
            "category ne 'x'",
            "category ge 'x'",
            "startswith(category,'x')",
            "category eq 'a' or category eq 'b'",
        ] {
            assert!(
                matches!(
                    parse_filter(bad, audit_field),
                    Err(GraphFailure::UnsupportedQuery(_) | GraphFailure::BadInput(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_filter("colour eq 'red'", audit_field),
            Err(GraphFailure::BadInput(_))
        ));
        assert!(parse_filter("activityDateTime ge yesterday", audit_field).is_err());
    }

    #[test]
    fn positions_round_trip_and_garbage_is_refused() {
        let at = time::macros::datetime!(2026-12-02 10:00:00.1234567 UTC);
        let p = decode_position(&encode_position(at, "Directory_x")).unwrap();
        assert_eq!((p.at, p.id.as_str()), (at, "Directory_x"));
        assert!(decode_position("!!").is_err());
        assert!(decode_position(&URL_SAFE_NO_PAD.encode("no-separator")).is_err());
    }
}
