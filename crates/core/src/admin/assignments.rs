//! App role assignments (entra-protocol.md §5.3): granting an app role to a service principal (an
//! application permission, allowed member type `Application`: what admin consent writes) or to a user
//! (allowed member type `User`, or the default access role). `roles` in tokens is read from them: an
//! application's own tokens carry its roles, a user's tokens the user's.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use gatehouse_proto::graph::{AppRoleAssignment, AppRoleAssignmentInput};
use gatehouse_proto::ObjectId;
use gatehouse_proto::PrincipalType;
use time::OffsetDateTime;

use super::service_principals;
use super::{Access, AdminError, Caller};
use crate::model::{effective_app_roles, Assignment};
use crate::store::{AssignmentsOf, Store};

/// Which side of the assignment the URL names: `/servicePrincipals/{resource}/appRoleAssignedTo` or
/// `/servicePrincipals/{principal}/appRoleAssignments`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Resource,
    Principal,
}

impl Side {
    fn of(self, id: ObjectId) -> AssignmentsOf {
        match self {
            Self::Resource => AssignmentsOf::Resource(id),
            Self::Principal => AssignmentsOf::Principal(id),
        }
    }
}

/// Graph's assignment id: 32 bytes, base64url; the first 16 are the principal id in .NET byte order.
pub fn assignment_id(principal: ObjectId) -> Result<String, AdminError> {
    let mut bytes = principal.0.to_bytes_le().to_vec();
    let random = gatehouse_jose::random_bytes::<16>().map_err(|_| AdminError::Unavailable)?;
    bytes.extend_from_slice(&random);
    Ok(gatehouse_jose::b64url(&bytes))
}

pub async fn create(
    store: &dyn Store,
    caller: &Caller,
    side: Side,
    url_sp: ObjectId,
    input: AppRoleAssignmentInput,
    now: OffsetDateTime,
) -> Result<AppRoleAssignment, AdminError> {
    caller.require(Access::WriteAssignments)?;
    let expected = match side {
        Side::Resource => input.resource_id,
        Side::Principal => input.principal_id,
    };
    if expected != url_sp {
        return Err(AdminError::BadRequest(
            "The service principal in the URL does not match the request body.".into(),
        ));
    }
    let (principal_type, principal_name) = principal(store, caller, input.principal_id).await?;
    let resource = service_principals::named(store, caller, input.resource_id).await?;
    // Granting an application permission is consent for the tenant: Application and Cloud Application
    // Administrators may not grant Microsoft Graph's.
    let graph = resource.app_id.to_string() == gatehouse_proto::GRAPH_APP_ID;
    if principal_type == PrincipalType::ServicePrincipal && !caller.may_grant(graph) {
        return Err(AdminError::Denied);
    }
    let member = match principal_type {
        PrincipalType::User => "User",
        _ => "Application",
    };
    let default_access = principal_type == PrincipalType::User && input.app_role_id.is_nil();
    let role_ok = default_access
        || effective_app_roles(&resource, None).iter().any(|r| {
            r.id == input.app_role_id && r.is_enabled && r.allowed_member_types.iter().any(|t| t == member)
        });
    if !role_ok {
        return Err(AdminError::BadRequest(format!(
            "Permission being assigned was not found on application '{}': appRoleId {}.",
            resource.app_id, input.app_role_id
        )));
    }
    let a = Assignment {
        id: assignment_id(input.principal_id)?,
        tenant_id: caller.tenant_id,
        principal_id: input.principal_id,
        principal_type,
        resource_id: input.resource_id,
        app_role_id: input.app_role_id,
        created: now,
    };
    store.insert_assignment(&a).await?;
    Ok(to_graph(&a, Some(&principal_name), Some(&resource.display_name)))
}

/// What kind of principal `id` is in the caller's tenant, and its name: a user or a service principal.
async fn principal(
    store: &dyn Store,
    caller: &Caller,
    id: ObjectId,
) -> Result<(PrincipalType, String), AdminError> {
    if let Some(u) = store.get_user(caller.tenant_id, id).await? {
        return Ok((PrincipalType::User, u.user.display_name));
    }
    let sp = service_principals::named(store, caller, id).await?;
    Ok((PrincipalType::ServicePrincipal, sp.display_name))
}

pub async fn list(
    store: &dyn Store,
    caller: &Caller,
    side: Side,
    sp: ObjectId,
) -> Result<Vec<AppRoleAssignment>, AdminError> {
    caller
        .require(Access::ReadApplications)
        .or_else(|_| caller.require(Access::WriteAssignments))?;
    match side {
        Side::Resource => drop(service_principals::named(store, caller, sp).await?),
        Side::Principal => drop(principal(store, caller, sp).await?),
    }
    let mine = store.list_assignments_of(caller.tenant_id, side.of(sp)).await?;
    let names = names(store, caller, &mine).await?;
    let name = |id: ObjectId| names.get(&id).map(String::as_str);
    Ok(mine
        .iter()
        .map(|a| to_graph(a, name(a.principal_id), name(a.resource_id)))
        .collect())
}

/// The display names of the principals and resources `assignments` name: a few read by key, many in
/// one read of the tenant's service principals (a resource's many holders), users always by key.
async fn names(
    store: &dyn Store,
    caller: &Caller,
    assignments: &[Assignment],
) -> Result<HashMap<ObjectId, String>, AdminError> {
    let mut names = HashMap::new();
    let mut sps = BTreeSet::new();
    for a in assignments {
        sps.insert(a.resource_id);
        if a.principal_type == PrincipalType::User {
            if let Entry::Vacant(e) = names.entry(a.principal_id) {
                if let Some(u) = store.get_user(caller.tenant_id, a.principal_id).await? {
                    e.insert(u.user.display_name);
                }
            }
        } else {
            sps.insert(a.principal_id);
        }
    }
    if sps.len() > BY_KEY {
        for s in store.list_service_principals(caller.tenant_id).await? {
            if sps.contains(&s.sp.id) {
                names.insert(s.sp.id, s.sp.display_name);
            }
        }
    } else {
        for id in sps {
            if let Some(s) = store.get_service_principal(caller.tenant_id, id).await? {
                names.insert(id, s.sp.display_name);
            }
        }
    }
    Ok(names)
}

/// Up to this many service principals are read one by one.
const BY_KEY: usize = 16;

pub async fn delete(
    store: &dyn Store,
    caller: &Caller,
    side: Side,
    sp: ObjectId,
    id: &str,
) -> Result<(), AdminError> {
    caller.require(Access::WriteAssignments)?;
    let found = store
        .list_assignments_of(caller.tenant_id, side.of(sp))
        .await?
        .into_iter()
        .find(|a| a.id == id);
    let Some(a) = found else {
        return Err(super::not_found("appRoleAssignment", id));
    };
    store.delete_assignment(caller.tenant_id, &a.id).await?;
    Ok(())
}

fn to_graph(a: &Assignment, principal: Option<&str>, resource: Option<&str>) -> AppRoleAssignment {
    AppRoleAssignment {
        id: a.id.clone(),
        deleted_date_time: None,
        app_role_id: a.app_role_id,
        created_date_time: a.created,
        principal_display_name: principal.map(str::to_string),
        principal_id: a.principal_id,
        principal_type: a.principal_type,
        resource_display_name: resource.map(str::to_string),
        resource_id: a.resource_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_ids_start_with_the_principal_in_dotnet_byte_order() {
        let p = ObjectId::parse("33ad69f9-da99-4bed-acd0-3f24235cb296").unwrap();
        let id = assignment_id(p).unwrap();
        assert_eq!(id.len(), 43);
        assert!(id.starts_with("-WmtM5na7Uus0D8kI1yyl"), "{id}");
    }
}
