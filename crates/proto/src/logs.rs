//! Microsoft Graph's audit log resources under `/v1.0/auditLogs`: `directoryAudit` (who changed what in
//! the directory) and `signIn` (every token issued or refused). Property names and order follow Graph's
//! JSON. Gatehouse records modified properties by name only (`oldValue`/`newValue` are always null), so
//! that no secret, password or token can reach a log.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::graph::Resource;
use crate::timefmt::graph_datetime_serde;

/// `directoryAudit`: one change to the directory, or one refused attempt at one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryAudit {
    pub id: String,
    pub category: String,
    pub correlation_id: String,
    /// `success` or `failure`.
    pub result: String,
    /// Why a failure failed (Graph's error code and message); empty on success.
    pub result_reason: String,
    pub activity_display_name: String,
    #[serde(with = "graph_datetime_serde")]
    pub activity_date_time: OffsetDateTime,
    pub logged_by_service: String,
    /// `Add`, `Update`, `Delete` or `Assign`.
    pub operation_type: String,
    pub initiated_by: AuditActivityInitiator,
    pub target_resources: Vec<TargetResource>,
    pub additional_details: Vec<KeyValue>,
}

/// `auditActivityInitiator`: the app (application permissions) or the user (delegated) that acted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditActivityInitiator {
    pub app: Option<AppIdentity>,
    pub user: Option<UserIdentity>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppIdentity {
    pub app_id: Option<String>,
    pub display_name: Option<String>,
    pub service_principal_id: Option<String>,
    pub service_principal_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub ip_address: Option<String>,
    pub user_principal_name: Option<String>,
}

/// `targetResource`: an object the activity changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetResource {
    pub id: Option<String>,
    pub display_name: Option<String>,
    /// `Application`, `ServicePrincipal`, `User`, `Policy`, `Other`, ….
    #[serde(rename = "type")]
    pub kind: String,
    pub user_principal_name: Option<String>,
    pub group_type: Option<String>,
    pub modified_properties: Vec<ModifiedProperty>,
}

/// `modifiedProperty`: a property the activity set, by name only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifiedProperty {
    pub display_name: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// `signIn`: one token request, issued or refused. Service principal sign-ins (client credentials)
/// carry `servicePrincipalId` and no user, as Graph's beta `signIn` does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignIn {
    pub id: String,
    #[serde(with = "graph_datetime_serde")]
    pub created_date_time: OffsetDateTime,
    pub user_display_name: Option<String>,
    pub user_principal_name: Option<String>,
    pub user_id: Option<String>,
    pub app_id: String,
    pub app_display_name: Option<String>,
    pub service_principal_id: Option<String>,
    pub ip_address: Option<String>,
    /// How the client asked: the grant type (`client_credentials`, `authorization_code`, …).
    pub client_app_used: String,
    pub correlation_id: String,
    pub conditional_access_status: String,
    pub is_interactive: bool,
    pub resource_display_name: Option<String>,
    pub resource_id: Option<String>,
    pub status: SignInStatus,
}

/// `signInStatus`: `errorCode` 0 is success; otherwise the AADSTS number and its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInStatus {
    pub error_code: i64,
    pub failure_reason: Option<String>,
    pub additional_details: Option<String>,
}

impl Resource for DirectoryAudit {
    const TYPE: &'static str = "#microsoft.graph.directoryAudit";
    const PROPERTIES: &'static [&'static str] = &[
        "id",
        "category",
        "correlationId",
        "result",
        "resultReason",
        "activityDisplayName",
        "activityDateTime",
        "loggedByService",
        "operationType",
        "initiatedBy",
        "targetResources",
        "additionalDetails",
    ];
}

impl Resource for SignIn {
    const TYPE: &'static str = "#microsoft.graph.signIn";
    const PROPERTIES: &'static [&'static str] = &[
        "id",
        "createdDateTime",
        "userDisplayName",
        "userPrincipalName",
        "userId",
        "appId",
        "appDisplayName",
        "servicePrincipalId",
        "ipAddress",
        "clientAppUsed",
        "correlationId",
        "conditionalAccessStatus",
        "isInteractive",
        "resourceDisplayName",
        "resourceId",
        "status",
    ];
}
