//! A managed identity's token (issue #12): what the App Service and instance-metadata protocols hand
//! a process that proved it may use the identity. It is an app-only token, as client credentials give:
//! the resource's app roles assigned to the identity's service principal, in the resource's format
//! (v1 for Azure's resources, `appidacr` "2" as Azure's managed identities have). The server's
//! listener (`server/src/routes/identity.rs`) finds the identity in the store; this decides.

use time::OffsetDateTime;

use super::client_credentials::{app_only, graph_alias};
use super::Issued;
use crate::model::ManagedIdentity;
use crate::{CoreError, Directory, Snapshot};

/// Reads the identity's service principal and roles and the resource into a snapshot, then decides.
pub async fn issue(
    dir: &Directory,
    identity: &ManagedIdentity,
    resource: &str,
    base_url: &str,
    clock: impl Fn() -> OffsetDateTime,
) -> Result<Issued, CoreError> {
    let wanted = graph_alias(resource, base_url).unwrap_or_else(|| resource.to_string());
    let mut snap = dir.snapshot()?;
    let client_id = identity.client_id.to_string();
    super::client_credentials::fill_app_only(dir, &mut snap, identity.tenant_id, &client_id, Some(&wanted))
        .await
        .map_err(CoreError::unavailable)?;
    decide(&snap, identity, wanted, base_url, clock())
}

/// The token, from the snapshot alone.
pub fn decide(
    snap: &Snapshot,
    identity: &ManagedIdentity,
    wanted: String,
    base_url: &str,
    now: OffsetDateTime,
) -> Result<Issued, CoreError> {
    let tenant = snap
        .tenant(identity.tenant_id)
        .ok_or_else(|| CoreError::TenantNotFound {
            tenant: identity.tenant_id.to_string(),
        })?;
    let not_found = || CoreError::ClientNotFound {
        client_id: identity.client_id.to_string(),
        tenant: identity.tenant_id.to_string(),
    };
    let sp = snap
        .service_principal(tenant.id, identity.client_id)
        .ok_or_else(not_found)?;
    if !sp.sp.account_enabled {
        return Err(CoreError::ClientDisabled {
            client_id: identity.client_id.to_string(),
        });
    }
    app_only(snap, tenant, sp, wanted, "2", base_url, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::fixtures::{world, BASE, NOW};
    use crate::model::ServicePrincipalRecord;
    use gatehouse_jose::ParsedJws;
    use gatehouse_proto::token::AccessTokenClaims;
    use gatehouse_proto::{AppId, ObjectId};

    fn identity_in(snap: &mut Snapshot, tenant: gatehouse_proto::TenantId) -> ManagedIdentity {
        let identity = ManagedIdentity {
            tenant_id: tenant,
            principal_id: ObjectId::new(),
            client_id: AppId::new(),
            name: "worker".into(),
            created: NOW,
        };
        let sp = crate::admin::identities::service_principal(&identity);
        snap.add_service_principal(std::sync::Arc::new(ServicePrincipalRecord {
            tenant_id: tenant,
            sp,
        }));
        identity
    }

    #[test]
    fn a_key_vault_token_is_v1_for_the_identity() {
        let (mut snap, out) = world();
        let identity = identity_in(&mut snap, out.tenant_id);
        let issued = decide(&snap, &identity, "https://vault.azure.net".into(), BASE, NOW).unwrap();
        let parsed = ParsedJws::parse(issued.token.access_token.expose()).unwrap();
        let c: AccessTokenClaims = serde_json::from_slice(&parsed.payload).unwrap();
        assert_eq!(c.aud, "https://vault.azure.net");
        assert_eq!(c.ver, "1.0");
        assert_eq!(c.appid.as_deref(), Some(identity.client_id.to_string().as_str()));
        assert_eq!(c.appidacr.as_deref(), Some("2"));
        assert_eq!(c.oid, identity.principal_id.to_string());
        assert_eq!(issued.subject.client_id, identity.client_id);
        assert!(issued.single_use.is_empty());
    }

    #[test]
    fn an_unknown_resource_or_a_deleted_identity_gets_nothing() {
        let (mut snap, out) = world();
        let identity = identity_in(&mut snap, out.tenant_id);
        let e = decide(&snap, &identity, "https://nowhere.example".into(), BASE, NOW).unwrap_err();
        assert_eq!(e.aadsts(), 500011);
        let gone = ManagedIdentity {
            client_id: AppId::new(),
            ..identity
        };
        let e = decide(&snap, &gone, "https://vault.azure.net".into(), BASE, NOW).unwrap_err();
        assert_eq!(e.aadsts(), 700016);
    }
}
