//! Sign-in logs and Audit logs: the tenant's records, newest first, filtered by date, application and
//! status, a page at a time. Read with the store's indexed conditions through the same core operations
//! as `/v1.0/auditLogs`, so they need the same permission (`AuditLog.Read.All` and a role that reads
//! logs).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use gatehouse_core::admin::logs;
use gatehouse_core::audit::{Comparison, Condition, LogField, LogQuery, LogValue};
use serde::Deserialize;
use time::OffsetDateTime;

use super::shared::{failed, paged, PAGE};
use super::views::Chrome;
use super::Portal;
use crate::routes::graph::logs::{decode_position, encode_position};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/signIns", get(sign_ins))
        .route("/portal/auditLogs", get(audits))
}

const PERIODS: [(&str, &str); 4] = [
    ("1", "Last 24 hours"),
    ("7", "Last 7 days"),
    ("30", "Last 1 month"),
    ("all", "All"),
];

const STATUSES: [(&str, &str); 3] = [("all", "All"), ("success", "Success"), ("failure", "Failure")];

#[derive(Template)]
#[template(path = "portal/logs.html")]
struct Logs<'a> {
    c: Chrome<'a>,
    title: &'static str,
    action: &'static str,
    periods: [(&'static str, &'static str); 4],
    statuses: [(&'static str, &'static str); 3],
    days: String,
    app: String,
    status: String,
    headings: &'static [&'static str],
    rows: Vec<Vec<String>>,
    next: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct Filters {
    days: Option<String>,
    app: Option<String>,
    status: Option<String>,
    before: Option<String>,
}

impl Filters {
    /// The query the filters make: the period, the application, the page; `status` is the log's own.
    fn query(&self, now: OffsetDateTime) -> LogQuery {
        let mut conditions = Vec::new();
        let days: Option<i64> = self.days.as_deref().unwrap_or("1").parse().ok();
        if let Some(d) = days {
            conditions.push(Condition {
                field: LogField::Time,
                comparison: Comparison::Ge,
                value: LogValue::Time(now - time::Duration::days(d)),
            });
        }
        if let Some(app) = self.app.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            conditions.push(Condition {
                field: LogField::AppId,
                comparison: Comparison::Eq,
                value: LogValue::Text(app.to_string()),
            });
        }
        LogQuery {
            tenant_id: None,
            conditions,
            before: self.before.as_deref().and_then(|b| decode_position(b).ok()),
            limit: PAGE + 1,
        }
    }

    fn page<'a>(
        &self,
        p: &'a Portal,
        section: &'static str,
        title: &'static str,
        action: &'static str,
    ) -> Logs<'a> {
        Logs {
            c: p.chrome(section),
            title,
            action,
            periods: PERIODS,
            statuses: STATUSES,
            days: self.days.clone().unwrap_or_else(|| "1".into()),
            app: self.app.clone().unwrap_or_default(),
            status: self.status.clone().unwrap_or_else(|| "all".into()),
            headings: &[],
            rows: vec![],
            next: None,
            error: None,
        }
    }
}

fn when(t: OffsetDateTime) -> String {
    gatehouse_proto::timefmt::error_timestamp(t)
}

async fn sign_ins(State(st): State<AppState>, p: Portal, Query(f): Query<Filters>) -> Response {
    let mut query = f.query(OffsetDateTime::now_utc());
    match f.status.as_deref() {
        Some("success") => query.conditions.push(Condition {
            field: LogField::ErrorCode,
            comparison: Comparison::Eq,
            value: LogValue::Number(0),
        }),
        Some("failure") => query.conditions.push(Condition {
            field: LogField::ErrorCode,
            comparison: Comparison::Gt,
            value: LogValue::Number(0),
        }),
        _ => {}
    }
    let records = match logs::sign_ins(st.store.as_ref(), &p.caller, query).await {
        Ok(r) => r,
        Err(e) => return failed(&p, &e),
    };
    let (records, next) = paged(records, |r| encode_position(r.created_date_time, &r.id));
    let mut page = f.page(&p, "signins", "Sign-in logs", "/portal/signIns");
    page.headings = &[
        "Date",
        "User",
        "Application",
        "Status",
        "IP address",
        "Resource",
        "Client app",
        "Correlation ID",
    ];
    page.rows = records
        .into_iter()
        .map(|r| {
            let status = match r.status.error_code {
                0 => "Success".to_string(),
                code => format!("Failure ({code})"),
            };
            vec![
                when(r.created_date_time),
                r.user_principal_name.unwrap_or_default(),
                r.app_display_name.unwrap_or(r.app_id),
                status,
                r.ip_address.unwrap_or_default(),
                r.resource_display_name.unwrap_or_default(),
                r.client_app_used,
                r.correlation_id,
            ]
        })
        .collect();
    page.next = next;
    p.render(&page)
}

async fn audits(State(st): State<AppState>, p: Portal, Query(f): Query<Filters>) -> Response {
    let mut query = f.query(OffsetDateTime::now_utc());
    if let Some(result) = f
        .status
        .as_deref()
        .filter(|s| matches!(*s, "success" | "failure"))
    {
        query.conditions.push(Condition {
            field: LogField::Result,
            comparison: Comparison::Eq,
            value: LogValue::Text(result.to_string()),
        });
    }
    let records = match logs::directory_audits(st.store.as_ref(), &p.caller, query).await {
        Ok(r) => r,
        Err(e) => return failed(&p, &e),
    };
    let (records, next) = paged(records, |r| encode_position(r.activity_date_time, &r.id));
    let mut page = f.page(&p, "audits", "Audit logs", "/portal/auditLogs");
    page.headings = &[
        "Date",
        "Service",
        "Category",
        "Activity",
        "Status",
        "Status reason",
        "Target(s)",
        "Initiated by (actor)",
    ];
    page.rows = records
        .into_iter()
        .map(|r| {
            let targets: Vec<String> = r
                .target_resources
                .iter()
                .map(|t| {
                    t.display_name
                        .clone()
                        .unwrap_or_else(|| t.id.clone().unwrap_or_default())
                })
                .collect();
            let actor = match (&r.initiated_by.user, &r.initiated_by.app) {
                (Some(u), _) => u.user_principal_name.clone().unwrap_or_default(),
                (None, Some(a)) => a
                    .display_name
                    .clone()
                    .or_else(|| a.app_id.clone())
                    .unwrap_or_default(),
                _ => String::new(),
            };
            vec![
                when(r.activity_date_time),
                r.logged_by_service,
                r.category,
                r.activity_display_name,
                r.result,
                r.result_reason,
                targets.join(", "),
                actor,
            ]
        })
        .collect();
    page.next = next;
    p.render(&page)
}
