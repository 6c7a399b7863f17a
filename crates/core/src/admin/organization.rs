//! The caller's tenant as Graph's `organization` resource, and its settings as the
//! `authorizationPolicy` (whether users may consent to applications themselves).

use gatehouse_proto::graph::{
    AuthorizationPolicy, AuthorizationPolicyUpdate, DefaultUserRolePermissions, Organization, VerifiedDomain,
};
use gatehouse_proto::UserConsent;

use super::{Access, AdminError, Caller};
use crate::model::Tenant;
use crate::store::Store;

/// The caller's tenant (`tenant`, as the directory holds it) in Graph's shape.
pub fn get(tenant: Option<&Tenant>, caller: &Caller) -> Result<Organization, AdminError> {
    caller.require(Access::ReadOrganization)?;
    let t = tenant.ok_or(AdminError::Unavailable)?;
    Ok(Organization {
        id: t.id,
        deleted_date_time: None,
        created_date_time: t.created,
        display_name: t.display_name.clone(),
        tenant_type: "AAD".into(),
        verified_domains: t
            .domains
            .iter()
            .enumerate()
            .map(|(i, d)| VerifiedDomain {
                capabilities: "None".into(),
                is_default: i == 0,
                is_initial: i == 0,
                name: d.clone(),
                r#type: "Managed".into(),
            })
            .collect(),
    })
}

/// The caller's tenant's authorization policy.
pub fn authorization_policy(
    tenant: Option<&Tenant>,
    caller: &Caller,
) -> Result<AuthorizationPolicy, AdminError> {
    caller.require(Access::ReadPolicies)?;
    let t = tenant.ok_or(AdminError::Unavailable)?;
    let ids = t.user_consent.policy_ids();
    Ok(AuthorizationPolicy {
        id: "authorizationPolicy".into(),
        display_name: "Authorization Policy".into(),
        description: "Used to manage authorization related settings across the company.".into(),
        permission_grant_policy_ids_assigned_to_default_user_role: ids.clone(),
        default_user_role_permissions: DefaultUserRolePermissions {
            permission_grant_policies_assigned: ids,
            allowed_to_create_apps: t.users_can_register_apps,
        },
    })
}

/// Sets whether users may consent themselves, from either spelling of Graph's list (both given must
/// agree; an empty list turns user consent off), and whether users may register applications
/// (`defaultUserRolePermissions.allowedToCreateApps`). Checked whole before anything is written.
pub async fn update_authorization_policy(
    store: &dyn Store,
    caller: &Caller,
    input: AuthorizationPolicyUpdate,
) -> Result<(), AdminError> {
    caller.require(Access::WritePolicies)?;
    let defaults = input.default_user_role_permissions.unwrap_or_default();
    let top = input.permission_grant_policy_ids_assigned_to_default_user_role;
    let ids = match (top, defaults.permission_grant_policies_assigned) {
        (Some(a), Some(b)) if a != b => {
            return Err(AdminError::BadRequest(
                "permissionGrantPolicyIdsAssignedToDefaultUserRole and defaultUserRolePermissions.permissionGrantPoliciesAssigned differ.".into(),
            ))
        }
        (Some(a), _) | (None, Some(a)) => Some(a),
        (None, None) => None,
    };
    let tenant = caller.tenant_id;
    if let Some(allowed) = defaults.allowed_to_create_apps {
        if !store.set_users_can_register_apps(tenant, allowed).await? {
            return Err(AdminError::Unavailable);
        }
    }
    if let Some(ids) = ids {
        if !store
            .set_user_consent(tenant, UserConsent::from_policy_ids(&ids))
            .await?
        {
            return Err(AdminError::Unavailable);
        }
    }
    Ok(())
}
