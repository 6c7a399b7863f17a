//! The caller's tenant as Graph's `organization` resource.

use gatehouse_proto::graph::{Organization, VerifiedDomain};

use super::{Access, AdminError, Caller};
use crate::model::Tenant;

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
