//! Gatehouse's own first-party client: the portal (`/portal/`). Like Microsoft's first-party
//! applications it is in no tenant's directory: the program defines it, it serves every tenant, each
//! tenant has its service principal without storing one, and it is preauthorized for the Microsoft
//! Graph permissions its pages use, so nobody is asked to consent to it. It signs its users in with
//! the authorization-code flow and PKCE like any public client; what each user may then do is Graph's
//! rule, from the token's `scp` and the user's directory roles (`admin::Caller::require`).

use gatehouse_proto::graph::RedirectUris;
use gatehouse_proto::{AppId, ObjectId, SignInAudience, TenantId, GRAPH_APP_ID};

use crate::admin::applications::new_application;
use crate::admin::service_principals::new_service_principal;
use crate::model::{ApplicationRecord, ServicePrincipalRecord};
use crate::snapshot::ClientEntry;

/// The portal's client id, the same on every Gatehouse.
pub const PORTAL_APP_ID: &str = "5c0b7f3e-9f3d-4c55-9a43-6d1f0e2a7b41";
pub const PORTAL_NAME: &str = "Gatehouse portal";
/// Where the portal receives its authorization codes, under the server's public URL.
pub const PORTAL_REDIRECT_PATH: &str = "/portal/signin";

/// The Microsoft Graph delegated permissions the portal is preauthorized for: together, everything its
/// pages do. A user's directory roles decide how much of each they reach.
pub const PORTAL_GRAPH_SCOPES: &[&str] = &[
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "Directory.Read.All",
    "User.ReadWrite.All",
    "AuditLog.Read.All",
    "RoleManagement.Read.Directory",
    "Policy.Read.All",
];

pub fn portal_app_id() -> AppId {
    AppId::parse(PORTAL_APP_ID).unwrap_or_default()
}

/// The portal's application as a node serves it: a public client whose one redirect URI is this
/// server's own `PORTAL_REDIRECT_PATH`, so its codes only ever go back to the server that issued them.
/// Its object id and home are fixed (the nil tenant, which holds nothing).
pub fn portal_client(base_url: &str) -> ClientEntry {
    let mut app = new_application(PORTAL_NAME, None, time::OffsetDateTime::UNIX_EPOCH);
    app.id = ObjectId(uuid::Uuid::from_u128(0x5c0b_7f3e_9f3d_4c55_9a43_6d1f_0e2a_7b40));
    app.app_id = portal_app_id();
    app.sign_in_audience = SignInAudience::AzureADMultipleOrgs;
    app.public_client = RedirectUris {
        redirect_uris: vec![format!("{base_url}{PORTAL_REDIRECT_PATH}")],
    };
    ClientEntry {
        app: ApplicationRecord {
            tenant_id: TenantId::default(),
            app,
            version: 0,
        },
        secrets: vec![],
        certificates: vec![],
        federated: vec![],
    }
}

/// The portal's service principal in `tenant`, as every tenant has it. Its id is derived from the
/// tenant's, so it is the same on every node and every read.
pub fn portal_service_principal(client: &ClientEntry, tenant: TenantId) -> ServicePrincipalRecord {
    let mut sp = new_service_principal(&client.app.app, client.app.tenant_id);
    let id = gatehouse_jose::sha256(format!("gatehouse portal {tenant}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&id[..16]);
    sp.id = ObjectId(uuid::Builder::from_random_bytes(bytes).into_uuid());
    sp.app_owner_organization_id = None;
    ServicePrincipalRecord {
        tenant_id: tenant,
        sp,
    }
}

/// The delegated permissions `client` holds on `resource` without anyone's consent: the portal's on
/// Microsoft Graph; nothing for any other pair.
pub fn preauthorized(client: AppId, resource: AppId) -> &'static [&'static str] {
    let graph = AppId::parse(GRAPH_APP_ID);
    match client == portal_app_id() && Some(resource) == graph {
        true => PORTAL_GRAPH_SCOPES,
        false => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portal_redirects_only_to_its_own_server_and_is_preauthorized_only_on_graph() {
        let c = portal_client("https://id.example");
        assert_eq!(
            c.app.app.public_client.redirect_uris,
            vec!["https://id.example/portal/signin".to_string()]
        );
        assert!(c.app.app.web.redirect_uris.is_empty() && c.app.app.spa.redirect_uris.is_empty());
        let graph = AppId::parse(GRAPH_APP_ID).unwrap();
        assert!(preauthorized(portal_app_id(), graph).contains(&"Application.ReadWrite.All"));
        assert!(preauthorized(AppId::new(), graph).is_empty());
        assert!(preauthorized(portal_app_id(), AppId::new()).is_empty());
        let t = TenantId::new();
        assert_eq!(
            portal_service_principal(&c, t).sp.id,
            portal_service_principal(&c, t).sp.id
        );
        assert_ne!(
            portal_service_principal(&c, t).sp.id,
            portal_service_principal(&c, TenantId::new()).sp.id
        );
    }
}
