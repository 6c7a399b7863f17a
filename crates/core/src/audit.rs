//! The audit and sign-in logs: how a Graph write is named as an activity, how a record is made from
//! what the request knew and what the write touched, and how the logs are queried.
//!
//! A successful write's `directoryAudit` is written in the write's own transaction (the store adds it
//! at commit from the request's [`AuditDraft`] and the objects the transaction [`Touched`]), so a
//! change is never stored without its record nor a record without its change. A refused write has no
//! transaction: its record is written on its own once the refusal is known. Records hold property
//! names, ids and display names, never values: nothing a caller sends (a password, a key) can reach a
//! log.

use gatehouse_proto::logs::{
    AuditActivityInitiator, DirectoryAudit, KeyValue, ModifiedProperty, SignIn, TargetResource,
};
use gatehouse_proto::TenantId;
use time::OffsetDateTime;
use uuid::Uuid;

/// What the request knows of a write before it runs: who, what, and which properties it sets.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditDraft {
    pub tenant_id: TenantId,
    pub activity: Activity,
    pub correlation_id: Uuid,
    pub initiated_by: AuditActivityInitiator,
    /// The top-level property names of the request's JSON body.
    pub modified_properties: Vec<String>,
    /// The object the URL names, when it names one (`/applications/{id}`).
    pub target: Option<Touched>,
    pub user_agent: Option<String>,
}

/// An object a write transaction changed, as the store saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touched {
    /// Graph's `targetResource.type`: `Application`, `ServicePrincipal`, `User`, `Policy`, `Other`.
    pub kind: &'static str,
    pub id: String,
    pub display_name: Option<String>,
}

impl Touched {
    pub fn new(kind: &'static str, id: impl ToString, display_name: Option<&str>) -> Self {
        Self {
            kind,
            id: id.to_string(),
            display_name: display_name.map(str::to_string),
        }
    }
}

/// A write's activity as Entra names it in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activity {
    pub category: &'static str,
    pub name: &'static str,
    /// `Add`, `Update`, `Delete` or `Assign`.
    pub operation: &'static str,
    /// The type of the object the URL names (`/applications/{id}` → `Application`).
    pub target_kind: &'static str,
}

impl Activity {
    const fn new(
        category: &'static str,
        name: &'static str,
        operation: &'static str,
        kind: &'static str,
    ) -> Self {
        Self {
            category,
            name,
            operation,
            target_kind: kind,
        }
    }

    /// Consent given on the sign-in pages (a user's, or an administrator's for the organisation).
    pub const CONSENT: Activity = Activity::new(
        "ApplicationManagement",
        "Consent to application",
        "Assign",
        "ServicePrincipal",
    );

    /// The activity of a Graph write: its method and path below `/v1.0`, entity sets already in their
    /// canonical case. Paths no write route serves get a generic name, so that a refused attempt at
    /// one is still recorded.
    pub fn of(method: &str, path: &str) -> Self {
        const APPS: &str = "ApplicationManagement";
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (add, delete) = (method == "POST", method == "DELETE");
        let verb = |a, u, d| {
            if add {
                a
            } else if delete {
                d
            } else {
                u
            }
        };
        match segments.as_slice() {
            ["applications"] => Self::new(APPS, "Add application", "Add", "Application"),
            ["applications", _, "addPassword" | "removePassword" | "addKey" | "removeKey"] => Self::new(
                APPS,
                "Update application – Certificates and secrets management ",
                "Update",
                "Application",
            ),
            ["applications", _, "owners", ..] => Self::new(
                APPS,
                verb(
                    "Add owner to application",
                    "Update application",
                    "Remove owner from application",
                ),
                verb("Assign", "Update", "Unassign"),
                "Application",
            ),
            ["applications", _, "federatedIdentityCredentials", ..] => {
                Self::new(APPS, "Update application", "Update", "Application")
            }
            ["applications", ..] => Self::new(
                APPS,
                verb("Add application", "Update application", "Delete application"),
                verb("Add", "Update", "Delete"),
                "Application",
            ),
            ["servicePrincipals"] => Self::new(APPS, "Add service principal", "Add", "ServicePrincipal"),
            ["servicePrincipals", _, "appRoleAssignedTo" | "appRoleAssignments", ..] => Self::new(
                APPS,
                verb(
                    "Add app role assignment to service principal",
                    "Update app role assignment to service principal",
                    "Remove app role assignment from service principal",
                ),
                verb("Assign", "Update", "Unassign"),
                "ServicePrincipal",
            ),
            ["servicePrincipals", ..] => Self::new(
                APPS,
                verb(
                    "Add service principal",
                    "Update service principal",
                    "Remove service principal",
                ),
                verb("Add", "Update", "Delete"),
                "ServicePrincipal",
            ),
            ["oauth2PermissionGrants", ..] => Self::new(
                APPS,
                verb(
                    "Add delegated permission grant",
                    "Update delegated permission grant",
                    "Remove delegated permission grant",
                ),
                verb("Assign", "Update", "Unassign"),
                "ServicePrincipal",
            ),
            ["users", _, "appRoleAssignments", ..] => Self::new(
                "UserManagement",
                verb(
                    "Add app role assignment grant to user",
                    "Update app role assignment grant to user",
                    "Remove app role assignment from user",
                ),
                verb("Assign", "Update", "Unassign"),
                "User",
            ),
            ["users", ..] => Self::new(
                "UserManagement",
                verb("Add user", "Update user", "Delete user"),
                verb("Add", "Update", "Delete"),
                "User",
            ),
            ["roleManagement", ..] => Self::new(
                "RoleManagement",
                verb("Add member to role", "Update role", "Remove member from role"),
                verb("Assign", "Update", "Unassign"),
                "User",
            ),
            ["policies", ..] => Self::new("Policy", "Update authorization policy", "Update", "Policy"),
            _ => Self::new(
                "Other",
                "Update directory",
                verb("Add", "Update", "Delete"),
                "Other",
            ),
        }
    }

    /// The id the URL names (the segment after the entity set), if it names an object.
    pub fn target_in(path: &str) -> Option<String> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match segments.as_slice() {
            ["policies", ..] | ["roleManagement", ..] => None,
            [_, key, ..] if !key.starts_with('$') => Some(key.chars().take(200).collect()),
            _ => None,
        }
    }
}

/// How a write ended, for its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Refused: Graph's error code and HTTP status, e.g. `Authorization_RequestDenied (403)`.
    Failure(String),
}

impl AuditDraft {
    /// The record of this draft's write, with the objects its transaction touched (the URL's object
    /// when the store reported none).
    pub fn finish(&self, touched: &[Touched], outcome: &Outcome, now: OffsetDateTime) -> DirectoryAudit {
        let mut targets: Vec<Touched> = touched.to_vec();
        if targets.is_empty() {
            targets.extend(self.target.clone());
        }
        let properties: Vec<ModifiedProperty> = self
            .modified_properties
            .iter()
            .map(|name| ModifiedProperty {
                display_name: name.clone(),
                old_value: None,
                new_value: None,
            })
            .collect();
        let target_resources = targets
            .into_iter()
            .enumerate()
            .map(|(i, t)| TargetResource {
                id: Some(t.id),
                display_name: t.display_name,
                kind: t.kind.to_string(),
                user_principal_name: None,
                group_type: None,
                // The properties the request set belong to the object it addressed: the first.
                modified_properties: if i == 0 { properties.clone() } else { Vec::new() },
            })
            .collect();
        let (result, result_reason) = match outcome {
            Outcome::Success => ("success", String::new()),
            Outcome::Failure(reason) => ("failure", reason.clone()),
        };
        DirectoryAudit {
            id: format!("Directory_{}", log_id(now)),
            category: self.activity.category.to_string(),
            correlation_id: self.correlation_id.to_string(),
            result: result.to_string(),
            result_reason,
            activity_display_name: self.activity.name.to_string(),
            activity_date_time: now,
            logged_by_service: "Core Directory".to_string(),
            operation_type: self.activity.operation.to_string(),
            initiated_by: self.initiated_by.clone(),
            target_resources,
            additional_details: self
                .user_agent
                .iter()
                .map(|ua| KeyValue {
                    key: "User-Agent".into(),
                    value: ua.chars().take(256).collect(),
                })
                .collect(),
        }
    }
}

/// A record's id: a version 7 UUID (its millisecond, then randomness), so that ids sort by time: a
/// log's primary key grows at its end instead of at random pages, and also serves pruning by age
/// ([`first_id_at`]), so the log needs no index on time of its own.
fn log_id(at: OffsetDateTime) -> Uuid {
    let nanos = at.unix_timestamp_nanos().max(0);
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(0);
    let sub = u32::try_from(nanos % 1_000_000_000).unwrap_or(0);
    Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, secs, sub))
}

/// The smallest id a record of `kind` made at `at` or later can have: every record with a smaller id
/// (compared as text) was made before `at`'s millisecond.
pub fn first_id_at(kind: LogKind, at: OffsetDateTime) -> String {
    let ms = u64::try_from(at.unix_timestamp_nanos().max(0) / 1_000_000).unwrap_or(0);
    let uuid = format!("{:08x}-{:04x}-7000-8000-000000000000", ms >> 16, ms & 0xffff);
    match kind {
        LogKind::Audit => format!("Directory_{uuid}"),
        LogKind::SignIn => uuid,
    }
}

/// Which log a query or a prune reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    Audit,
    SignIn,
}

/// A property a log query may filter on; each is a column of its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogField {
    Id,
    /// `activityDateTime` or `createdDateTime`.
    Time,
    Category,
    Activity,
    Result,
    CorrelationId,
    /// `initiatedBy/app/appId`, or a sign-in's `appId`.
    AppId,
    /// `initiatedBy/user/id`, or a sign-in's `userId`.
    UserId,
    /// `initiatedBy/user/userPrincipalName`, or a sign-in's `userPrincipalName`.
    UserPrincipalName,
    /// A sign-in's `status/errorCode`.
    ErrorCode,
    IpAddress,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogValue {
    Time(OffsetDateTime),
    /// Compared case-insensitively, as Graph compares strings.
    Text(String),
    Number(i64),
}

/// One condition of a log query; a query's conditions all hold (`and`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub field: LogField,
    pub comparison: Comparison,
    pub value: LogValue,
}

/// A page of a log, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    /// One tenant's records, or every tenant's (the CLI, against the store).
    pub tenant_id: Option<TenantId>,
    pub conditions: Vec<Condition>,
    /// Only records older than this position (the previous page's last), for paging.
    pub before: Option<LogPosition>,
    pub limit: usize,
}

/// Where a record sits in its log's order: its time, then its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPosition {
    pub at: OffsetDateTime,
    pub id: String,
}

/// A sign-in record, with the tenant it belongs to (the log is read per tenant).
#[derive(Debug, Clone, PartialEq)]
pub struct SignInEntry {
    pub tenant_id: TenantId,
    pub record: SignIn,
}

/// An audit record, with its tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub tenant_id: TenantId,
    pub record: DirectoryAudit,
}

/// One token request as the token endpoint saw it: the raw material of a sign-in record, cheap to
/// take on the request's path (names are looked up later, off it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInAttempt {
    pub at: OffsetDateTime,
    pub correlation_id: Uuid,
    /// The grant type, as the sign-in's `clientAppUsed`.
    pub grant: &'static str,
    /// The client id as presented (at most 64 characters; not yet authenticated on failure).
    pub client_id: String,
    pub address: String,
    /// The username a password grant presented.
    pub username: Option<String>,
    /// The `{tenant}` segment of the URL, which files a refusal under a tenant.
    pub tenant: String,
    /// Issued (to whom), or refused (the AADSTS number and its reason).
    pub outcome: Result<crate::flows::Subject, (u32, String)>,
}

/// What the directory knows of an attempt's app, service principal and user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInNames {
    pub app_display_name: Option<String>,
    pub service_principal_id: Option<String>,
    pub user_display_name: Option<String>,
    pub user_principal_name: Option<String>,
}

impl SignInAttempt {
    pub fn record(&self, names: SignInNames) -> SignIn {
        use gatehouse_proto::logs::SignInStatus;
        let (app_id, user_id, resource, status) = match &self.outcome {
            // Issued: the client authenticated, so its appId is known for sure.
            Ok(s) => (
                s.client_id.to_string(),
                s.user_id.map(|u| u.to_string()),
                Some((s.resource_id.to_string(), s.resource_name.clone())),
                SignInStatus {
                    error_code: 0,
                    failure_reason: None,
                    additional_details: None,
                },
            ),
            Err((code, reason)) => (
                self.client_id.clone(),
                None,
                None,
                SignInStatus {
                    error_code: i64::from(*code),
                    failure_reason: Some(reason.chars().take(512).collect()),
                    additional_details: None,
                },
            ),
        };
        let (resource_id, resource_display_name) = resource.unzip();
        SignIn {
            id: log_id(self.at).to_string(),
            created_date_time: self.at,
            user_display_name: names.user_display_name,
            user_principal_name: names.user_principal_name.or_else(|| self.username.clone()),
            user_id,
            app_id,
            app_display_name: names.app_display_name,
            service_principal_id: names.service_principal_id,
            ip_address: Some(self.address.clone()).filter(|a| !a.is_empty()),
            client_app_used: self.grant.to_string(),
            correlation_id: self.correlation_id.to_string(),
            conditional_access_status: "notApplied".into(),
            is_interactive: false,
            resource_display_name,
            resource_id,
            status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_writes_are_named_as_entra_names_them() {
        let a = |m, p| Activity::of(m, p).name;
        assert_eq!(a("POST", "/applications"), "Add application");
        assert_eq!(a("PATCH", "/applications/x"), "Update application");
        assert_eq!(a("DELETE", "/applications/x"), "Delete application");
        assert!(a("POST", "/applications/x/addPassword").contains("Certificates and secrets"));
        assert_eq!(a("POST", "/servicePrincipals"), "Add service principal");
        assert_eq!(
            a("POST", "/servicePrincipals/x/appRoleAssignedTo"),
            "Add app role assignment to service principal"
        );
        assert_eq!(a("DELETE", "/users/x"), "Delete user");
        assert_eq!(Activity::of("POST", "/users").category, "UserManagement");
        assert_eq!(
            Activity::of("PATCH", "/policies/authorizationPolicy").category,
            "Policy"
        );
        assert_eq!(Activity::of("POST", "/nothing/here").category, "Other");
    }

    #[test]
    fn the_url_names_the_target_unless_it_is_a_collection() {
        assert_eq!(Activity::target_in("/applications/abc"), Some("abc".into()));
        assert_eq!(
            Activity::target_in("/applications/abc/addPassword"),
            Some("abc".into())
        );
        assert_eq!(Activity::target_in("/applications"), None);
        assert_eq!(Activity::target_in("/applications/$count"), None);
        assert_eq!(Activity::target_in("/policies/authorizationPolicy"), None);
    }

    #[test]
    fn ids_sort_by_time_and_the_first_id_of_a_moment_bounds_them() {
        let t = time::macros::datetime!(2026-12-02 10:00:00.123 UTC);
        let later = t + time::Duration::milliseconds(1);
        for _ in 0..100 {
            let (a, b) = (log_id(t).to_string(), log_id(later).to_string());
            assert!(a < b);
            assert!(first_id_at(LogKind::SignIn, t) <= a);
            assert!(first_id_at(LogKind::SignIn, later) > a);
            assert!(first_id_at(LogKind::SignIn, later) <= b);
        }
        let audit = format!("Directory_{}", log_id(t));
        assert!(first_id_at(LogKind::Audit, t) <= audit && audit < first_id_at(LogKind::Audit, later));
    }

    #[test]
    fn a_record_names_properties_never_values() {
        let draft = AuditDraft {
            tenant_id: TenantId::new(),
            activity: Activity::of("PATCH", "/users/u"),
            correlation_id: Uuid::new_v4(),
            initiated_by: AuditActivityInitiator::default(),
            modified_properties: vec!["passwordProfile".into()],
            target: Some(Touched::new("User", "u", None)),
            user_agent: None,
        };
        let r = draft.finish(&[], &Outcome::Success, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(r.result, "success");
        assert_eq!(r.target_resources.len(), 1);
        let p = &r.target_resources[0].modified_properties[0];
        assert_eq!(
            (p.display_name.as_str(), &p.old_value, &p.new_value),
            ("passwordProfile", &None, &None)
        );
        let failed = draft.finish(
            &[],
            &Outcome::Failure("Request_BadRequest (400)".into()),
            OffsetDateTime::UNIX_EPOCH,
        );
        assert_eq!(failed.result, "failure");
    }
}
