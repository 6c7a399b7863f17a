//! Directory roles: Entra's built-in administrator roles, held by users of a tenant (Graph's
//! `unifiedRoleAssignment` at directory scope `/`, under `/roleManagement/directory`). Gatehouse knows
//! the four that decide who may grant consent for the whole tenant; a tenant's first user holds Global
//! Administrator. Reading needs `RoleManagement.Read.Directory` (or `Directory.Read.All`), writing
//! `RoleManagement.ReadWrite.Directory`, as in Graph.

use gatehouse_proto::graph::{UnifiedRoleAssignment, UnifiedRoleAssignmentInput, UnifiedRoleDefinition};
use gatehouse_proto::{ObjectId, TenantId};
use uuid::Uuid;

use super::{not_found, Access, AdminError, Caller};
use crate::model::DirectoryRoleAssignment;
use crate::store::Store;

/// A built-in directory role, by Microsoft's template id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryRole {
    GlobalAdministrator,
    PrivilegedRoleAdministrator,
    ApplicationAdministrator,
    CloudApplicationAdministrator,
}

impl DirectoryRole {
    pub const ALL: [Self; 4] = [
        Self::GlobalAdministrator,
        Self::PrivilegedRoleAdministrator,
        Self::ApplicationAdministrator,
        Self::CloudApplicationAdministrator,
    ];

    pub fn template_id(self) -> Uuid {
        let id = match self {
            Self::GlobalAdministrator => "62e90394-69f5-4237-9190-012177145e10",
            Self::PrivilegedRoleAdministrator => "e8611ab8-c189-46e8-94e1-60213ab1f814",
            Self::ApplicationAdministrator => "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
            Self::CloudApplicationAdministrator => "158c047a-c907-4556-b7ef-446551a6b5f7",
        };
        Uuid::parse_str(id).unwrap_or_default()
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Self::GlobalAdministrator => "Global Administrator",
            Self::PrivilegedRoleAdministrator => "Privileged Role Administrator",
            Self::ApplicationAdministrator => "Application Administrator",
            Self::CloudApplicationAdministrator => "Cloud Application Administrator",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Self::GlobalAdministrator => "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
            Self::PrivilegedRoleAdministrator => "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.",
            Self::ApplicationAdministrator => "Can create and manage all aspects of app registrations and enterprise apps.",
            Self::CloudApplicationAdministrator => "Can create and manage all aspects of app registrations and enterprise apps except App Proxy.",
        }
    }

    pub fn from_id(id: Uuid) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.template_id() == id)
    }

    /// Whether this role may grant consent for the whole tenant: Global and Privileged Role
    /// Administrators to anything; Application and Cloud Application Administrators to everything but
    /// Microsoft Graph's application permissions (`graph_app_permissions`).
    pub fn may_grant(self, graph_app_permissions: bool) -> bool {
        match self {
            Self::GlobalAdministrator | Self::PrivilegedRoleAdministrator => true,
            Self::ApplicationAdministrator | Self::CloudApplicationAdministrator => !graph_app_permissions,
        }
    }

    fn definition(self) -> UnifiedRoleDefinition {
        let id = self.template_id().to_string();
        UnifiedRoleDefinition {
            id: id.clone(),
            description: self.description().into(),
            display_name: self.display_name().into(),
            is_built_in: true,
            is_enabled: true,
            template_id: id,
        }
    }
}

/// Whether a user holding `roles` may do what `access` names (with a delegated permission that grants
/// it). Every member may read the organization and other users, as Entra's default user permissions
/// allow; Global Administrators may do anything; Application and Cloud Application Administrators
/// manage applications, service principals, their assignments and consent, and read the logs;
/// Privileged Role Administrators manage roles, consent and the consent policy.
pub fn user_may(roles: &[DirectoryRole], access: Access) -> bool {
    use Access::*;
    let member = matches!(access, ReadUsers | ReadOrganization);
    member
        || roles.iter().any(|role| match role {
            DirectoryRole::GlobalAdministrator => true,
            DirectoryRole::ApplicationAdministrator | DirectoryRole::CloudApplicationAdministrator => {
                matches!(
                    access,
                    ReadApplications
                        | WriteApplications
                        | WriteAssignments
                        | WriteGrants
                        | ReadRoles
                        | ReadPolicies
                        | ReadAuditLogs
                )
            }
            DirectoryRole::PrivilegedRoleAdministrator => matches!(
                access,
                ReadApplications
                    | WriteAssignments
                    | WriteGrants
                    | ReadRoles
                    | WriteRoles
                    | ReadPolicies
                    | WritePolicies
            ),
        })
}

/// The directory roles a user holds.
pub async fn roles_of(
    store: &dyn Store,
    tenant: TenantId,
    user: ObjectId,
) -> Result<Vec<DirectoryRole>, AdminError> {
    Ok(store
        .list_role_assignments(tenant, Some(user))
        .await?
        .into_iter()
        .filter_map(|a| DirectoryRole::from_id(a.role_id))
        .collect())
}

/// A new assignment of `role` to `user` (the tenant's first user's Global Administrator, say).
pub fn new_assignment(tenant: TenantId, user: ObjectId, role: DirectoryRole) -> DirectoryRoleAssignment {
    DirectoryRoleAssignment {
        id: assignment_id(user, role),
        tenant_id: tenant,
        principal_id: user,
        role_id: role.template_id(),
    }
}

/// One id per user and role: base64url of both ids in .NET byte order, as Graph's ids look.
fn assignment_id(user: ObjectId, role: DirectoryRole) -> String {
    let mut bytes = role.template_id().to_bytes_le().to_vec();
    bytes.extend_from_slice(&user.0.to_bytes_le());
    gatehouse_jose::b64url(&bytes)
}

pub fn definitions(caller: &Caller) -> Result<Vec<UnifiedRoleDefinition>, AdminError> {
    caller.require(Access::ReadRoles)?;
    Ok(DirectoryRole::ALL
        .into_iter()
        .map(DirectoryRole::definition)
        .collect())
}

pub async fn create(
    store: &dyn Store,
    caller: &Caller,
    input: UnifiedRoleAssignmentInput,
) -> Result<UnifiedRoleAssignment, AdminError> {
    caller.require(Access::WriteRoles)?;
    let role = Uuid::parse_str(&input.role_definition_id)
        .ok()
        .and_then(DirectoryRole::from_id)
        .ok_or_else(|| {
            AdminError::BadRequest(format!(
                "'{}' is not the id of a role definition.",
                input.role_definition_id.chars().take(100).collect::<String>()
            ))
        })?;
    if input.directory_scope_id.as_deref().is_some_and(|s| s != "/") {
        return Err(AdminError::BadRequest(
            "Only the directory scope '/' is supported.".into(),
        ));
    }
    if store
        .get_user(caller.tenant_id, input.principal_id)
        .await?
        .is_none()
    {
        return Err(AdminError::BadRequest(format!(
            "principalId '{}' is not a user of this tenant.",
            input.principal_id
        )));
    }
    let a = new_assignment(caller.tenant_id, input.principal_id, role);
    store.insert_role_assignment(&a).await?;
    Ok(to_graph(&a))
}

pub async fn list(store: &dyn Store, caller: &Caller) -> Result<Vec<UnifiedRoleAssignment>, AdminError> {
    caller.require(Access::ReadRoles)?;
    Ok(store
        .list_role_assignments(caller.tenant_id, None)
        .await?
        .iter()
        .map(to_graph)
        .collect())
}

pub async fn get(store: &dyn Store, caller: &Caller, id: &str) -> Result<UnifiedRoleAssignment, AdminError> {
    list(store, caller)
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| not_found("unifiedRoleAssignment", id))
}

pub async fn delete(store: &dyn Store, caller: &Caller, id: &str) -> Result<(), AdminError> {
    caller.require(Access::WriteRoles)?;
    match store.delete_role_assignment(caller.tenant_id, id).await? {
        true => Ok(()),
        false => Err(not_found("unifiedRoleAssignment", id)),
    }
}

fn to_graph(a: &DirectoryRoleAssignment) -> UnifiedRoleAssignment {
    UnifiedRoleAssignment {
        id: a.id.clone(),
        principal_id: a.principal_id,
        role_definition_id: a.role_id.to_string(),
        directory_scope_id: "/".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_administrators_may_not_grant_graphs_application_permissions() {
        use DirectoryRole::*;
        for role in DirectoryRole::ALL {
            assert!(role.may_grant(false), "{role:?} grants delegated permissions");
            assert_eq!(
                role.may_grant(true),
                matches!(role, GlobalAdministrator | PrivilegedRoleAdministrator),
                "{role:?} and Graph's application permissions"
            );
            assert_eq!(DirectoryRole::from_id(role.template_id()), Some(role));
        }
    }
}
