//! The Microsoft-Graph-compatible resource every tenant holds: appId 00000003-0000-0000-c000-000000000000,
//! identifier URI https://graph.microsoft.com, and the permissions Gatehouse implements under Microsoft's
//! own ids and names (entra-protocol.md §5.2), so manifests and scripts written for Entra work unchanged.

use gatehouse_proto::graph::{AppRole, PermissionScope, ServicePrincipal};
use gatehouse_proto::{AppId, ObjectId, TenantId, GRAPH_APP_ID, GRAPH_RESOURCE};
use uuid::Uuid;

/// Application permissions (app roles): (value, id, description).
pub const GRAPH_APP_ROLES: &[(&str, &str, &str)] = &[
    (
        "Application.Read.All",
        "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
        "Read all applications",
    ),
    (
        "Application.ReadWrite.All",
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
        "Read and write all applications",
    ),
    (
        "AppRoleAssignment.ReadWrite.All",
        "06b708a9-e830-4db3-a914-8e69da51d44f",
        "Manage app permission grants and app role assignments",
    ),
    (
        "Directory.Read.All",
        "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
        "Read directory data",
    ),
    (
        "Directory.ReadWrite.All",
        "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
        "Read and write directory data",
    ),
    (
        "User.Read.All",
        "df021288-bdef-4463-88db-98f22de89214",
        "Read all users' full profiles",
    ),
    (
        "User.ReadWrite.All",
        "741f803b-c850-494e-b5df-cde7c675a1ca",
        "Read and write all users' full profiles",
    ),
    (
        "Policy.Read.All",
        "246dd0d5-5bd0-4def-940b-0421030a5b68",
        "Read your organization's policies",
    ),
    (
        "Policy.ReadWrite.Authorization",
        "fb221be6-99f2-473f-bd32-01c6a0e9ca3b",
        "Read and write your organization's authorization policy",
    ),
    (
        "RoleManagement.Read.Directory",
        "483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
        "Read all directory RBAC settings",
    ),
    (
        "RoleManagement.ReadWrite.Directory",
        "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8",
        "Read and write all directory RBAC settings",
    ),
    (
        "AuditLog.Read.All",
        "b0afded3-3588-46d8-8b3d-9842eff778da",
        "Read all audit log data",
    ),
    (
        "Group.Read.All",
        "5b567255-7703-4780-807c-7be8301ae99b",
        "Read all groups",
    ),
    (
        "Group.ReadWrite.All",
        "62a82d76-70ea-41e2-9197-370581804d09",
        "Read and write all groups",
    ),
];

/// Delegated permissions (scopes): (value, id, type, what Microsoft's consent pages call it).
pub const GRAPH_SCOPES: &[(&str, &str, &str, &str)] = &[
    (
        "User.Read",
        "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
        "User",
        "Sign in and read user profile",
    ),
    (
        "User.ReadBasic.All",
        "b340eb25-3456-403f-be2f-af7a0d370277",
        "User",
        "Read all users' basic profiles",
    ),
    (
        "User.Read.All",
        "a154be20-db9c-4678-8ab7-66f6cc099a59",
        "Admin",
        "Read all users' full profiles",
    ),
    (
        "User.ReadWrite.All",
        "204e0828-b5ca-4ad8-b9f3-f32a958e7cc4",
        "Admin",
        "Read and write all users' full profiles",
    ),
    (
        "Directory.Read.All",
        "06da0dbc-49e2-44d2-8312-53f166ab848a",
        "Admin",
        "Read directory data",
    ),
    (
        "Application.Read.All",
        "c79f8feb-a9db-4090-85f9-90d820caa0eb",
        "Admin",
        "Read applications",
    ),
    (
        "Application.ReadWrite.All",
        "bdfbf15f-ee85-4955-8675-146e8e5296b5",
        "Admin",
        "Read and write all applications",
    ),
    (
        "AuditLog.Read.All",
        "e4c9e354-4dc5-45b8-9e7c-e1393b0b1a20",
        "Admin",
        "Read audit log data",
    ),
    (
        "Directory.ReadWrite.All",
        "c5366453-9fb0-48a5-a156-24f0c49a4b84",
        "Admin",
        "Read and write directory data",
    ),
    (
        "AppRoleAssignment.ReadWrite.All",
        "84bccea3-f856-4a8a-967b-dbe0a3d53a64",
        "Admin",
        "Manage app permission grants and app role assignments",
    ),
    (
        "DelegatedPermissionGrant.ReadWrite.All",
        "41ce6ca6-6826-4807-84f1-1c82854f7ee5",
        "Admin",
        "Manage all delegated permission grants",
    ),
    (
        "RoleManagement.Read.Directory",
        "741c54c3-0c1e-44a1-818b-3f97ab4e8c83",
        "Admin",
        "Read your company's directory access settings",
    ),
    (
        "Policy.Read.All",
        "572fea84-0151-49b2-9301-11cb16974376",
        "Admin",
        "Read your organization's policies",
    ),
    (
        "openid",
        "37f7f235-527c-4136-accd-4a02d197296e",
        "User",
        "Sign users in",
    ),
    (
        "profile",
        "14dad69e-099b-42c9-810b-d002981feec1",
        "User",
        "View users' basic profile",
    ),
    (
        "email",
        "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
        "User",
        "View users' email address",
    ),
    (
        "offline_access",
        "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
        "User",
        "Maintain access to data you have given it access to",
    ),
];

/// The id of a Graph app role by value; `None` for a value Gatehouse does not implement.
pub fn graph_role_id(value: &str) -> Option<Uuid> {
    GRAPH_APP_ROLES
        .iter()
        .find(|(v, _, _)| *v == value)
        .and_then(|(_, id, _)| Uuid::parse_str(id).ok())
}

/// Microsoft Graph's service principal names, as Entra lists them. Every one is held by Graph in every
/// tenant, so no application can claim one (migration 0003 claims them in tenants made before it).
pub const GRAPH_NAMES: &[&str] = &[
    GRAPH_APP_ID,
    GRAPH_RESOURCE,
    "https://graph.microsoft.com/",
    "https://canary.graph.microsoft.com",
    "https://canary.graph.microsoft.com/",
    "https://graph.microsoft.us",
    "https://graph.microsoft.us/",
    "https://dod-graph.microsoft.us",
    "https://dod-graph.microsoft.us/",
    "https://ags.windows.net",
    "00000003-0000-0000-c000-000000000000/ags.windows.net",
];

/// Whether `app_id` is one of Microsoft's resources every tenant holds (Graph, or one of Azure's).
pub fn is_microsofts(app_id: AppId) -> bool {
    Some(app_id) == AppId::parse(GRAPH_APP_ID) || super::azure_resources::azure_resource(app_id).is_some()
}

/// A service principal as the store keeps it: Microsoft's without the permissions [`current`] puts
/// back when it is read (they are the program's), which keeps several kilobytes a tenant out of the
/// store; any other as it is.
pub fn stored(sp: &ServicePrincipal) -> std::borrow::Cow<'_, ServicePrincipal> {
    if !is_microsofts(sp.app_id) {
        return std::borrow::Cow::Borrowed(sp);
    }
    let mut skeleton = sp.clone();
    skeleton.app_roles.clear();
    skeleton.oauth2_permission_scopes.clear();
    std::borrow::Cow::Owned(skeleton)
}

/// Microsoft's service principals as stored (Graph's and Azure's resources), with the permissions this
/// version of Gatehouse offers: they are the program's, not data, so a tenant made by an earlier
/// version gets the current list when one is read. Any other service principal is returned as it is.
pub fn current(mut sp: ServicePrincipal) -> ServicePrincipal {
    if let Some(azure) = super::azure_resources::azure_resource(sp.app_id) {
        return azure.refresh(sp);
    }
    if Some(sp.app_id) == AppId::parse(GRAPH_APP_ID) {
        let fresh = graph_service_principal(sp.id, sp.app_owner_organization_id.unwrap_or_default());
        sp.oauth2_permission_scopes = fresh.oauth2_permission_scopes;
        sp.app_roles = fresh.app_roles;
    }
    sp
}

pub fn graph_service_principal(id: ObjectId, tenant_id: TenantId) -> ServicePrincipal {
    let app_id = AppId::parse(GRAPH_APP_ID).unwrap_or_default();
    ServicePrincipal {
        id,
        deleted_date_time: None,
        account_enabled: true,
        alternative_names: vec![],
        app_display_name: Some("Microsoft Graph".into()),
        app_id,
        app_owner_organization_id: Some(tenant_id),
        app_role_assignment_required: false,
        display_name: "Microsoft Graph".into(),
        homepage: None,
        logout_url: None,
        reply_urls: vec![],
        service_principal_names: GRAPH_NAMES.iter().map(|n| n.to_string()).collect(),
        service_principal_type: "Application".into(),
        sign_in_audience: Some(gatehouse_proto::SignInAudience::AzureADMultipleOrgs),
        tags: vec![],
        app_roles: GRAPH_APP_ROLES
            .iter()
            .map(|(value, id, desc)| AppRole {
                allowed_member_types: vec!["Application".into()],
                description: Some(format!("Allows the app to {}.", desc.to_lowercase())),
                display_name: Some(desc.to_string()),
                id: Uuid::parse_str(id).unwrap_or_default(),
                is_enabled: true,
                origin: Some("Application".into()),
                value: Some(value.to_string()),
            })
            .collect(),
        key_credentials: vec![],
        oauth2_permission_scopes: GRAPH_SCOPES
            .iter()
            .map(|(value, id, kind, text)| microsoft_scope(value, id, kind, text))
            .collect(),
        password_credentials: vec![],
    }
}

/// One of Microsoft's delegated permissions, as its resource offers it: `kind` is who may consent
/// ("User" or "Admin"), `text` what the consent page calls it.
pub(crate) fn microsoft_scope(value: &str, id: &str, kind: &str, text: &str) -> PermissionScope {
    PermissionScope {
        id: Uuid::parse_str(id).unwrap_or_default(),
        value: value.to_string(),
        r#type: kind.to_string(),
        admin_consent_display_name: Some(text.to_string()),
        admin_consent_description: None,
        user_consent_display_name: Some(text.to_string()),
        user_consent_description: None,
        is_enabled: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_graph_principal_reads_with_this_versions_permissions_and_others_as_stored() {
        let tenant = TenantId::new();
        let mut old = graph_service_principal(ObjectId::new(), tenant);
        old.oauth2_permission_scopes.truncate(1);
        old.app_roles.clear();
        let now = current(old.clone());
        assert_eq!(now.oauth2_permission_scopes.len(), GRAPH_SCOPES.len());
        assert_eq!(now.app_roles.len(), GRAPH_APP_ROLES.len());
        assert_eq!((now.id, &now.display_name), (old.id, &old.display_name));
        let scope = |v: &str| {
            now.oauth2_permission_scopes
                .iter()
                .find(|s| s.value == v)
                .map(|s| s.id.to_string())
        };
        assert_eq!(
            scope("Directory.Read.All").as_deref(),
            Some("06da0dbc-49e2-44d2-8312-53f166ab848a")
        );
        let mut other = old;
        other.app_id = AppId::new();
        assert_eq!(current(other.clone()), other);
    }

    #[test]
    fn every_graph_id_parses_and_roles_are_found_by_value() {
        for id in GRAPH_APP_ROLES
            .iter()
            .map(|r| r.1)
            .chain(GRAPH_SCOPES.iter().map(|s| s.1))
        {
            assert!(Uuid::parse_str(id).is_ok(), "{id}");
        }
        assert_eq!(
            graph_role_id("Application.ReadWrite.All"),
            Uuid::parse_str("1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9").ok()
        );
        assert_eq!(graph_role_id("Mail.Send"), None);
    }
}
