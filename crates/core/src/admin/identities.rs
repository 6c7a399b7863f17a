//! User-assigned managed identities (issue #12): the operator's operations behind `gatehouse identity
//! …`. In Azure an identity is a resource made through Resource Manager, not Graph; here it is made with
//! the store's credentials, like a tenant. It is a service principal of type `ManagedIdentity` with no
//! application: Graph lists it, app roles can be assigned to it, and it cannot use the token endpoint
//! (it has no credential there). It gets tokens only from the managed-identity listener, with a header
//! secret that [`header`] hands out.

use gatehouse_proto::graph::ServicePrincipal;
use gatehouse_proto::token::Secret;
use gatehouse_proto::{AppId, ObjectId};
use time::OffsetDateTime;

use super::tenants;
use super::AdminError;
use crate::model::{IdentityKey, ManagedIdentity, ServicePrincipalRecord};
use crate::store::Store;

/// How many header secrets an identity keeps: each `identity env` adds one, the oldest beyond this go.
pub const HEADERS_KEPT: usize = 10;

/// The tenant `named` names (a GUID or a verified domain) or, when none is named, the store's only one.
async fn tenant_of(store: &dyn Store, named: Option<&str>) -> Result<crate::model::Tenant, AdminError> {
    if let Some(t) = named {
        return tenants::find(store, t).await;
    }
    let mut all = store.list_tenants().await?;
    match all.len() {
        1 => Ok(all.remove(0)),
        n => Err(AdminError::BadRequest(format!(
            "The store holds {n} tenants: name one with --tenant (its id or a verified domain)."
        ))),
    }
}

/// Creates an identity named `name` in the tenant `tenant` names (or the store's only tenant).
pub async fn create(
    store: &dyn Store,
    tenant: Option<&str>,
    name: &str,
    now: OffsetDateTime,
) -> Result<ManagedIdentity, AdminError> {
    let tenant = tenant_of(store, tenant).await?;
    let identity = ManagedIdentity {
        tenant_id: tenant.id,
        principal_id: ObjectId::new(),
        client_id: AppId::new(),
        name: valid_name(name)?,
        created: now,
    };
    let sp = ServicePrincipalRecord {
        tenant_id: tenant.id,
        sp: service_principal(&identity),
    };
    store.insert_identity(&identity, &sp).await?;
    Ok(identity)
}

/// The identities of the tenant named, or of every tenant.
pub async fn list(store: &dyn Store, tenant: Option<&str>) -> Result<Vec<ManagedIdentity>, AdminError> {
    let tenant = match tenant {
        Some(t) => Some(tenants::find(store, t).await?.id),
        None => None,
    };
    Ok(store.list_identities(tenant).await?)
}

/// The identity `name` (any case) of the tenant named (or the store's only tenant).
pub async fn show(
    store: &dyn Store,
    tenant: Option<&str>,
    name: &str,
) -> Result<ManagedIdentity, AdminError> {
    let tenant = tenant_of(store, tenant).await?;
    store
        .find_identity(&IdentityKey::Name(tenant.id, name.to_string()))
        .await?
        .ok_or_else(|| {
            AdminError::NotFound(format!(
                "No managed identity named '{name}' in tenant {}.",
                tenant.id
            ))
        })
}

/// Deletes the identity and its service principal, assignments and header secrets. Every node refuses
/// it tokens as soon as this returns: the listener reads identities from the store, not a cache.
pub async fn delete(
    store: &dyn Store,
    tenant: Option<&str>,
    name: &str,
) -> Result<ManagedIdentity, AdminError> {
    let identity = show(store, tenant, name).await?;
    store
        .delete_service_principal(identity.tenant_id, identity.principal_id)
        .await?;
    Ok(identity)
}

/// A new header secret for the identity (`IDENTITY_HEADER`), shown once and stored as its SHA-256. The
/// identity keeps its newest [`HEADERS_KEPT`], so processes given earlier ones go on working.
pub async fn header(
    store: &dyn Store,
    identity: &ManagedIdentity,
    now: OffsetDateTime,
) -> Result<Secret, AdminError> {
    let bytes = gatehouse_jose::random_bytes::<32>().map_err(|_| AdminError::Unavailable)?;
    let secret = Secret::new(gatehouse_jose::b64url(&bytes));
    let hash = header_hash(secret.expose());
    if !store
        .add_identity_header(identity.principal_id, &hash, now, HEADERS_KEPT)
        .await?
    {
        return Err(AdminError::NotFound(format!(
            "The managed identity '{}' was deleted.",
            identity.name
        )));
    }
    Ok(secret)
}

/// How a header secret is looked up: its SHA-256 (it has 256 bits of entropy; no slow hash needed).
pub fn header_hash(value: &str) -> [u8; 32] {
    gatehouse_jose::sha256(value.as_bytes())
}

/// Azure's rule for an identity's name: 3 to 128 letters, digits, hyphens and underscores, starting
/// with a letter or digit.
fn valid_name(name: &str) -> Result<String, AdminError> {
    let ok = (3..=128).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(name.to_string())
    } else {
        Err(AdminError::BadRequest(format!(
            "'{name}' is not a valid identity name: use 3 to 128 letters, digits, '-' and '_', starting with a letter or digit."
        )))
    }
}

/// The identity's service principal, as Entra shows a user-assigned identity's.
pub(crate) fn service_principal(identity: &ManagedIdentity) -> ServicePrincipal {
    ServicePrincipal {
        id: identity.principal_id,
        deleted_date_time: None,
        account_enabled: true,
        alternative_names: vec!["isExplicit=True".into(), identity.resource_id()],
        app_display_name: None,
        app_id: identity.client_id,
        app_owner_organization_id: None,
        app_role_assignment_required: false,
        display_name: identity.name.clone(),
        homepage: None,
        logout_url: None,
        reply_urls: vec![],
        service_principal_names: vec![identity.client_id.to_string()],
        service_principal_type: "ManagedIdentity".into(),
        sign_in_audience: None,
        tags: vec![],
        app_roles: vec![],
        key_credentials: vec![],
        oauth2_permission_scopes: vec![],
        password_credentials: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_azures_rule() {
        for good in ["app", "my-identity_2", "A1b", &"x".repeat(128)] {
            assert!(valid_name(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "-abc",
            "_abc",
            "has space",
            "dot.ted",
            "é-accent",
            &"x".repeat(129),
            "",
        ] {
            assert!(valid_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_service_principal_is_a_managed_identity_named_by_its_resource_id() {
        let identity = ManagedIdentity {
            tenant_id: gatehouse_proto::TenantId::new(),
            principal_id: ObjectId::new(),
            client_id: AppId::new(),
            name: "worker".into(),
            created: OffsetDateTime::UNIX_EPOCH,
        };
        let sp = service_principal(&identity);
        assert_eq!(sp.service_principal_type, "ManagedIdentity");
        assert_eq!(sp.id, identity.principal_id);
        assert_eq!(sp.app_id, identity.client_id);
        assert!(sp.alternative_names[1].ends_with("/userAssignedIdentities/worker"));
        // It claims no resource name: only its appId, which names it already.
        let rec = ServicePrincipalRecord {
            tenant_id: identity.tenant_id,
            sp,
        };
        assert!(rec.claimed_names().is_empty());
    }
}
