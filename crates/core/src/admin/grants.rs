//! Delegated permission grants (Graph's `oAuth2PermissionGrant`, entra-protocol.md §5): what admin
//! consent to delegated permissions writes, and what `az ad app permission grant` makes. Each grant
//! names a client service principal, a resource service principal and scopes the resource offers.
//!
//! An `AllPrincipals` grant holds for every user of the tenant; a `Principal` grant names one user of
//! the tenant (`principalId`) and goes with that user. Writing a grant needs
//! `AppRoleAssignment.ReadWrite.All` (Microsoft describes it as managing permission grants, and it is
//! what the management application holds) or `DelegatedPermissionGrant.ReadWrite.All` /
//! `Directory.ReadWrite.All`, as in Graph.

use gatehouse_proto::graph::{OAuth2PermissionGrant, OAuth2PermissionGrantInput, ServicePrincipal};
use gatehouse_proto::ObjectId;

use super::service_principals;
use super::{not_found, Access, AdminError, Caller};
use crate::model::{Consent, PermissionGrant};
use crate::store::Store;

/// Graph's grant id: base64url of the client's, the resource's (and for `Principal` the user's) ids
/// in .NET byte order, so one kind of grant per client, resource and principal has one id.
pub fn grant_id(client: ObjectId, resource: ObjectId, consent: Consent) -> String {
    let mut bytes = client.0.to_bytes_le().to_vec();
    bytes.extend_from_slice(&resource.0.to_bytes_le());
    if let Consent::Principal(p) = consent {
        bytes.extend_from_slice(&p.0.to_bytes_le());
    }
    gatehouse_jose::b64url(&bytes)
}

pub async fn create(
    store: &dyn Store,
    caller: &Caller,
    input: OAuth2PermissionGrantInput,
) -> Result<OAuth2PermissionGrant, AdminError> {
    caller.require(Access::WriteGrants)?;
    let consent = match (input.consent_type.as_deref(), input.principal_id) {
        (Some("AllPrincipals"), None) => Consent::AllPrincipals,
        (Some("AllPrincipals"), Some(_)) => {
            return Err(AdminError::BadRequest(
                "principalId must be null when consentType is AllPrincipals.".into(),
            ))
        }
        (Some("Principal"), Some(user)) => {
            if store.get_user(caller.tenant_id, user).await?.is_none() {
                return Err(AdminError::BadRequest(format!(
                    "principalId '{user}' is not a user of this tenant."
                )));
            }
            Consent::Principal(user)
        }
        (Some("Principal"), None) => {
            return Err(AdminError::BadRequest(
                "principalId is required when consentType is Principal.".into(),
            ))
        }
        _ => {
            return Err(AdminError::BadRequest(
                "consentType must be AllPrincipals or Principal.".into(),
            ))
        }
    };
    let _client = service_principals::named(store, caller, input.client_id).await?;
    let resource = service_principals::named(store, caller, input.resource_id).await?;
    let scopes = offered(&resource, input.scope.as_deref().unwrap_or(""))?;
    let g = PermissionGrant {
        id: grant_id(input.client_id, input.resource_id, consent),
        tenant_id: caller.tenant_id,
        client_id: input.client_id,
        resource_id: input.resource_id,
        consent,
        scopes,
    };
    store.insert_grant(&g).await?;
    Ok(to_graph(&g))
}

pub async fn list(store: &dyn Store, caller: &Caller) -> Result<Vec<OAuth2PermissionGrant>, AdminError> {
    require_read(caller)?;
    Ok(store
        .list_grants(caller.tenant_id)
        .await?
        .iter()
        .map(to_graph)
        .collect())
}

pub async fn get(store: &dyn Store, caller: &Caller, id: &str) -> Result<OAuth2PermissionGrant, AdminError> {
    require_read(caller)?;
    find(store, caller, id).await.map(|g| to_graph(&g))
}

/// Replaces the grant's scopes (each one the resource offers).
pub async fn update(store: &dyn Store, caller: &Caller, id: &str, scope: &str) -> Result<(), AdminError> {
    caller.require(Access::WriteGrants)?;
    let g = find(store, caller, id).await?;
    let resource = service_principals::named(store, caller, g.resource_id).await?;
    let scopes = offered(&resource, scope)?;
    if !store
        .update_grant_scopes(caller.tenant_id, &g.id, &scopes)
        .await?
    {
        return Err(not_found("oAuth2PermissionGrant", id));
    }
    Ok(())
}

pub async fn delete(store: &dyn Store, caller: &Caller, id: &str) -> Result<(), AdminError> {
    caller.require(Access::WriteGrants)?;
    if !store.delete_grant(caller.tenant_id, id).await? {
        return Err(not_found("oAuth2PermissionGrant", id));
    }
    Ok(())
}

async fn find(store: &dyn Store, caller: &Caller, id: &str) -> Result<PermissionGrant, AdminError> {
    store
        .list_grants(caller.tenant_id)
        .await?
        .into_iter()
        .find(|g| g.id == id)
        .ok_or_else(|| not_found("oAuth2PermissionGrant", id))
}

/// The space-separated scope values, each an enabled delegated permission of the resource, in the
/// resource's own spelling, without repeats.
fn offered(resource: &ServicePrincipal, scope: &str) -> Result<Vec<String>, AdminError> {
    let mut out: Vec<String> = Vec::new();
    for wanted in scope.split_whitespace() {
        let found = resource
            .oauth2_permission_scopes
            .iter()
            .find(|s| s.is_enabled && s.value.eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                let names: Vec<&str> = resource
                    .oauth2_permission_scopes
                    .iter()
                    .filter(|s| s.is_enabled)
                    .map(|s| s.value.as_str())
                    .collect();
                AdminError::BadRequest(format!(
                    "'{wanted}' is not a delegated permission of '{}' ({}); it offers: {}.",
                    resource.display_name,
                    resource.app_id,
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ))
            })?;
        if !out.contains(&found.value) {
            out.push(found.value.clone());
        }
    }
    Ok(out)
}

fn require_read(caller: &Caller) -> Result<(), AdminError> {
    caller
        .require(Access::ReadApplications)
        .or_else(|_| caller.require(Access::WriteGrants))
}

fn to_graph(g: &PermissionGrant) -> OAuth2PermissionGrant {
    OAuth2PermissionGrant {
        id: g.id.clone(),
        client_id: g.client_id,
        consent_type: g.consent.kind().to_string(),
        principal_id: g.consent.principal(),
        resource_id: g.resource_id,
        scope: g.scopes.join(" "),
    }
}

/// Records consent from a consent page: the grant of kind `consent` (a user's `Principal` grant, or an
/// administrator's `AllPrincipals` one) for the client on the resource gains `scopes` (made if there is
/// none). Two consents at once both land: a lost insert race is retried as an update.
pub async fn record_consent(
    store: &dyn Store,
    tenant: gatehouse_proto::TenantId,
    client: ObjectId,
    resource: ObjectId,
    consent: Consent,
    scopes: &[String],
) -> Result<(), AdminError> {
    for _ in 0..3 {
        match store
            .find_grant(tenant, client, resource, consent.principal())
            .await?
        {
            Some(g) => {
                let mut all = g.scopes.clone();
                for s in scopes {
                    if !all.iter().any(|a| a.eq_ignore_ascii_case(s)) {
                        all.push(s.clone());
                    }
                }
                store.update_grant_scopes(tenant, &g.id, &all).await?;
                return Ok(());
            }
            None => {
                let g = PermissionGrant {
                    id: grant_id(client, resource, consent),
                    tenant_id: tenant,
                    client_id: client,
                    resource_id: resource,
                    consent,
                    scopes: scopes.to_vec(),
                };
                match store.insert_grant(&g).await {
                    Ok(()) => return Ok(()),
                    Err(crate::store::StoreError::Conflict(_)) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Err(AdminError::Unavailable)
}
