//! Management of the directory through Microsoft Graph's model: what `/v1.0` does, as functions of a
//! [`Caller`], the store and the time. Permissions are Graph's application permissions, checked here.

pub mod applications;
pub mod assignments;
pub mod azure_resources;
pub mod bootstrap;
pub mod certificates;
pub mod directory_roles;
pub mod federated;
pub mod grants;
pub mod graph_resource;
pub mod identifier_uris;
pub mod identities;
pub mod logs;
pub mod organization;
pub mod service_principals;
pub mod tenants;
pub mod users;

use crate::store::{Conflict, StoreError};

/// Who is calling the management API: the tenant the token was issued in, the app roles it holds
/// (application permissions) and, for a user's token, the user and the delegated scopes (`scp`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: gatehouse_proto::TenantId,
    pub roles: Vec<String>,
    /// The signed-in user of a delegated token.
    pub user: Option<gatehouse_proto::ObjectId>,
    /// The delegated permissions of a user's token. Each reaches only as far as the user's directory
    /// roles do (`directory_roles`), as in Entra; the user's own profile (`/me`) needs none.
    pub scopes: Vec<String>,
    /// The directory roles the signed-in user holds, read when the request began.
    pub directory_roles: Vec<directory_roles::DirectoryRole>,
    /// The application that holds the token (`azp`/`appid`), named in the audit log.
    pub client: Option<gatehouse_proto::AppId>,
}

/// Graph permissions, by the sets of roles that grant each kind of access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadApplications,
    WriteApplications,
    WriteAssignments,
    /// Delegated permission grants (see `grants`).
    WriteGrants,
    ReadUsers,
    WriteUsers,
    ReadOrganization,
    /// Directory roles and their assignments.
    ReadRoles,
    WriteRoles,
    /// The tenant's authorization policy (user consent).
    ReadPolicies,
    WritePolicies,
    /// The audit and sign-in logs.
    ReadAuditLogs,
}

impl Access {
    fn granted_by(self) -> &'static [&'static str] {
        match self {
            Self::ReadApplications => &[
                "Application.Read.All",
                "Application.ReadWrite.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            ],
            Self::WriteApplications => &["Application.ReadWrite.All"],
            Self::WriteAssignments => &["AppRoleAssignment.ReadWrite.All"],
            Self::WriteGrants => &[
                "DelegatedPermissionGrant.ReadWrite.All",
                "Directory.ReadWrite.All",
                "AppRoleAssignment.ReadWrite.All",
            ],
            Self::ReadUsers => &[
                "User.Read.All",
                "User.ReadWrite.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            ],
            Self::WriteUsers => &["User.ReadWrite.All", "Directory.ReadWrite.All"],
            Self::ReadOrganization => &["Directory.Read.All", "Directory.ReadWrite.All"],
            Self::ReadRoles => &[
                "RoleManagement.Read.Directory",
                "RoleManagement.ReadWrite.Directory",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            ],
            Self::WriteRoles => &["RoleManagement.ReadWrite.Directory"],
            Self::ReadPolicies => &[
                "Policy.Read.All",
                "Policy.ReadWrite.Authorization",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            ],
            Self::WritePolicies => &["Policy.ReadWrite.Authorization"],
            Self::ReadAuditLogs => &["AuditLog.Read.All"],
        }
    }
}

impl Caller {
    /// The same caller allowed to read applications and service principals: reading the objects an
    /// assignment or a grant names is part of the permission to write it.
    pub(crate) fn as_application_reader(&self) -> Caller {
        Caller {
            tenant_id: self.tenant_id,
            roles: vec!["Application.Read.All".into()],
            ..Caller::default()
        }
    }

    /// The caller's tenant as stored (with its verified domains), for checks that guard a write.
    pub(crate) async fn tenant(
        &self,
        store: &dyn crate::store::Store,
    ) -> Result<crate::model::Tenant, AdminError> {
        store
            .get_tenant(self.tenant_id)
            .await?
            .ok_or_else(|| not_found("organization", self.tenant_id))
    }

    /// An application's token needs an application permission (`roles`) that grants `access`. A user's
    /// needs a delegated permission (`scp`) that grants it and a directory role that allows it: a
    /// delegated permission never reaches further than its user could go (Entra's effective permission).
    pub fn require(&self, access: Access) -> Result<(), AdminError> {
        let granted = |held: &[String]| held.iter().any(|r| access.granted_by().contains(&r.as_str()));
        let allowed = match self.user {
            None => granted(&self.roles),
            Some(_) => granted(&self.scopes) && directory_roles::user_may(&self.directory_roles, access),
        };
        match allowed {
            true => Ok(()),
            false => Err(AdminError::Denied),
        }
    }

    /// Whether a user's token holds a delegated permission granting `access`, whatever their roles
    /// (what an owner needs for the objects they own).
    pub(crate) fn holds_scope(&self, access: Access) -> bool {
        self.user.is_some()
            && self
                .scopes
                .iter()
                .any(|s| access.granted_by().contains(&s.as_str()))
    }

    /// The user who may have `access` to what they own with this token, or `Denied`.
    pub(crate) fn owner(&self, access: Access) -> Result<gatehouse_proto::ObjectId, AdminError> {
        match self.user {
            Some(u) if self.holds_scope(access) => Ok(u),
            _ => Err(AdminError::Denied),
        }
    }

    /// Whether this caller may grant `access` to an application for the whole tenant on Microsoft
    /// Graph's application permissions (`graph`), or on any other API's: an application with the
    /// permission to write assignments may; a user only through a role that may ([`DirectoryRole::may_grant`]).
    ///
    /// [`DirectoryRole::may_grant`]: directory_roles::DirectoryRole::may_grant
    pub fn may_grant(&self, graph: bool) -> bool {
        self.user.is_none() || self.directory_roles.iter().any(|r| r.may_grant(graph))
    }
}

/// Every way a management call fails, each mapped once to Graph's error code and status by the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    #[error("Insufficient privileges to complete the operation.")]
    Denied,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// Graph's `HostNameNotOnVerifiedDomain`: an identifier URI the tenant may not claim.
    #[error("Values of identifierUris property must use a verified domain of the organization or its subdomain: '{0}'")]
    HostNameNotOnVerifiedDomain(String),
    #[error("{0}")]
    Conflict(Conflict),
    #[error("The directory is temporarily unavailable.")]
    Unavailable,
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(c) => Self::Conflict(c),
            StoreError::Stale => Self::Conflict(Conflict::Contended),
            StoreError::MissingReference(detail) => {
                tracing::debug!(detail, "a write referenced a missing object");
                Self::BadRequest("A referenced object does not exist.".into())
            }
            StoreError::Unavailable(_) | StoreError::Corrupt(_) => {
                tracing::error!(error = %e, "store failure during a management call");
                Self::Unavailable
            }
        }
    }
}

pub(crate) fn not_found(kind: &str, id: impl std::fmt::Display) -> AdminError {
    AdminError::NotFound(format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present. ({kind})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_only_their_access() {
        let c = Caller {
            roles: vec!["Application.Read.All".into()],
            ..Caller::default()
        };
        assert!(c.require(Access::ReadApplications).is_ok());
        assert_eq!(c.require(Access::WriteApplications), Err(AdminError::Denied));
        assert_eq!(c.require(Access::ReadOrganization), Err(AdminError::Denied));
    }
}
