//! `gatehouse logs audit` and `gatehouse logs signins`: the audit and sign-in logs, read from the store
//! (like `keys`), newest first, one line per record or `--json` (Graph's records, as
//! `/v1.0/auditLogs` serves them).

use clap::{Args, Subcommand};
use gatehouse_core::audit::{Comparison, Condition, LogField, LogQuery, LogValue};
use gatehouse_proto::logs::{DirectoryAudit, SignIn};
use gatehouse_proto::tenant::TenantSegment;
use gatehouse_proto::timefmt::{graph_datetime, parse_graph_datetime};
use time::OffsetDateTime;

use super::StoreArgs;

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Changes to the directory (every Graph write, and every refused one).
    Audit(LogsArgs),
    /// Token requests, issued and refused.
    Signins(LogsArgs),
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Only records this recent: a duration (`90s`, `15m`, `1h`, `7d`) or a date-time (RFC 3339).
    #[arg(long, value_parser = parse_since)]
    pub since: Option<OffsetDateTime>,
    /// Only this tenant's records (tenant id or verified domain); every tenant's by default.
    #[arg(long)]
    pub tenant: Option<String>,
    /// The most records to print.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub top: u64,
    /// Print Graph's JSON records (one array) instead of one line per record.
    #[arg(long)]
    pub json: bool,
}

fn parse_since(s: &str) -> Result<OffsetDateTime, String> {
    if let Some(t) = parse_graph_datetime(s) {
        return Ok(t);
    }
    let bad = || format!("'{s}' is neither a duration (90s, 15m, 1h, 7d) nor an RFC 3339 date-time");
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let span = match unit {
        "s" => time::Duration::seconds(n),
        "m" => time::Duration::minutes(n),
        "h" => time::Duration::hours(n),
        "d" => time::Duration::days(n),
        _ => return Err(bad()),
    };
    Ok(OffsetDateTime::now_utc() - span)
}

pub async fn run(cmd: LogsCommand) -> Result<(), String> {
    let (args, audit) = match &cmd {
        LogsCommand::Audit(a) => (a, true),
        LogsCommand::Signins(a) => (a, false),
    };
    let store = args.store.open().await?;
    let result = async {
        let tenant_id = match &args.tenant {
            None => None,
            Some(t) => {
                let seg =
                    TenantSegment::parse(t).map_err(|_| format!("'{t}' is not a tenant id or domain"))?;
                let found = match seg {
                    TenantSegment::Id(id) => store.get_tenant(id.into()).await,
                    TenantSegment::Domain(d) => store.find_tenant_by_domain(&d).await,
                    _ => return Err(format!("'{t}' names no one tenant")),
                };
                Some(
                    found
                        .map_err(|e| e.to_string())?
                        .ok_or_else(|| format!("no tenant '{t}'"))?
                        .id,
                )
            }
        };
        let query = LogQuery {
            tenant_id,
            conditions: args
                .since
                .map(|t| Condition {
                    field: LogField::Time,
                    comparison: Comparison::Ge,
                    value: LogValue::Time(t),
                })
                .into_iter()
                .collect(),
            before: None,
            limit: usize::try_from(args.top).unwrap_or(100),
        };
        if audit {
            let rows: Vec<_> = store.audits(&query).await.map_err(|e| e.to_string())?;
            let records: Vec<_> = rows.into_iter().map(|e| e.record).collect();
            output(&records, args.json, audit_line)
        } else {
            let rows: Vec<_> = store.sign_ins(&query).await.map_err(|e| e.to_string())?;
            let records: Vec<_> = rows.into_iter().map(|e| e.record).collect();
            output(&records, args.json, sign_in_line)
        }
    }
    .await;
    store.close().await;
    result
}

fn output<T: serde::Serialize>(records: &[T], json: bool, line: fn(&T) -> String) -> Result<(), String> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(records).map_err(|e| e.to_string())?
        );
    } else {
        for r in records {
            println!("{}", line(r));
        }
    }
    Ok(())
}

/// `time  result  activity  by  targets`.
fn audit_line(a: &DirectoryAudit) -> String {
    let by = match (&a.initiated_by.user, &a.initiated_by.app) {
        (Some(u), _) => u.user_principal_name.clone().or(u.id.clone()),
        (_, Some(app)) => app.display_name.clone().or(app.app_id.clone()),
        _ => None,
    };
    let targets: Vec<String> = a
        .target_resources
        .iter()
        .map(|t| {
            let name = t.display_name.as_deref().or(t.id.as_deref()).unwrap_or("?");
            format!("{} {name}", t.kind)
        })
        .collect();
    let reason = if a.result_reason.is_empty() {
        String::new()
    } else {
        format!(" [{}]", a.result_reason)
    };
    format!(
        "{}  {:<7}  {}  by {}  on {}{reason}",
        graph_datetime(a.activity_date_time),
        a.result,
        a.activity_display_name.trim_end(),
        by.unwrap_or_else(|| "?".into()),
        if targets.is_empty() {
            "-".into()
        } else {
            targets.join(", ")
        },
    )
}

/// `time  status  grant  app  user  address`.
fn sign_in_line(s: &SignIn) -> String {
    let status = match s.status.error_code {
        0 => "success".to_string(),
        code => format!("AADSTS{code}"),
    };
    format!(
        "{}  {:<13}  {:<18}  {}  {}  {}",
        graph_datetime(s.created_date_time),
        status,
        s.client_app_used,
        s.app_display_name.as_deref().unwrap_or(&s.app_id),
        s.user_principal_name.as_deref().unwrap_or("-"),
        s.ip_address.as_deref().unwrap_or("-"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_and_date_times() {
        let now = OffsetDateTime::now_utc();
        let t = parse_since("15m").unwrap();
        assert!((now - t - time::Duration::minutes(15)).abs() < time::Duration::seconds(5));
        assert_eq!(
            parse_since("2026-12-01T00:00:00Z").unwrap(),
            time::macros::datetime!(2026-12-01 00:00 UTC)
        );
        for bad in ["", "15", "m", "15w", "yesterday"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }
}
