//! `--output` (`-o`) for the az-style commands, as az prints: `json` (the default, indented), `table`
//! (a header, a rule and one row per object, with the columns that identify it) and `tsv` (the same
//! columns, tab-separated, no header), so scripts can read one value with `-o tsv`.

use clap::{Args, ValueEnum};
use serde_json::Value;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    #[default]
    Json,
    Table,
    Tsv,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format: json, table or tsv.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = Format::Json)]
    pub output: Format,
}

/// The columns a table shows, in this order, when an object has them (as az's table transformers
/// pick the identifying ones); an object with none of them shows all its scalar properties.
const COLUMNS: &[&str] = &[
    "displayName",
    "userPrincipalName",
    "name",
    "id",
    "appId",
    "keyId",
    "hint",
    "type",
    "kid",
    "state",
    "activatesAt",
    "tenantId",
    "tenant",
    "password",
    "resourceAppId",
    "issuer",
    "subject",
    "signInAudience",
    "startDateTime",
    "endDateTime",
    "createdDateTime",
];

/// Renders a command's result; `None` when there is nothing to print.
pub fn render(value: &Value, format: Format) -> Option<String> {
    if value.is_null() {
        return None;
    }
    if format == Format::Json {
        return serde_json::to_string_pretty(value).ok();
    }
    let rows: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let columns = columns(&rows);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| columns.iter().map(|c| cell(r, c)).collect())
        .collect();
    let mut out = String::new();
    if format == Format::Tsv {
        for row in &cells {
            out.push_str(&row.join("\t"));
            out.push('\n');
        }
        return Some(out.trim_end().to_string());
    }
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([title(c).len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: Vec<String>| {
        values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    out.push_str(&line(columns.iter().map(|c| title(c)).collect()));
    out.push('\n');
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for row in cells {
        out.push('\n');
        out.push_str(&line(row));
    }
    Some(out)
}

fn columns(rows: &[&Value]) -> Vec<String> {
    let Some(Value::Object(first)) = rows.first() else {
        return vec![String::new()];
    };
    let known: Vec<String> = COLUMNS
        .iter()
        .filter(|c| first.contains_key(**c))
        .map(|c| c.to_string())
        .collect();
    if !known.is_empty() {
        return known;
    }
    first
        .iter()
        .filter(|(_, v)| !v.is_object() && !v.is_array())
        .map(|(k, _)| k.clone())
        .collect()
}

fn cell(row: &Value, column: &str) -> String {
    let v = if column.is_empty() { row } else { &row[column] };
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(|i| cell(i, "")).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// `displayName` → `DisplayName`, as az titles its columns.
fn title(column: &str) -> String {
    let mut c = column.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_and_tsv_show_the_identifying_columns() {
        let apps = json!([
            {"displayName": "Reports API", "appId": "a1", "id": "o1", "web": {"redirectUris": []}},
            {"displayName": "Daemon", "appId": "a2", "id": "o2", "web": {"redirectUris": []}}
        ]);
        assert_eq!(
            render(&apps, Format::Table).unwrap(),
            "DisplayName  Id  AppId\n-----------  --  -----\nReports API  o1  a1\nDaemon       o2  a2"
        );
        assert_eq!(
            render(&apps, Format::Tsv).unwrap(),
            "Reports API\to1\ta1\nDaemon\to2\ta2"
        );
        assert_eq!(render(&json!("just text"), Format::Tsv).unwrap(), "just text");
        assert_eq!(render(&Value::Null, Format::Table), None);
        assert!(render(&apps, Format::Json).unwrap().starts_with("[\n  {"));
    }
}
