//! Federated identity credentials (workload identity federation, entra-protocol.md §2.4, §5.1): an
//! application trusts tokens that an external OIDC issuer gives one subject for one audience.
//! Addressed by id or by name, as Graph allows.

use gatehouse_proto::graph::{FederatedIdentityCredential, FederatedIdentityCredentialInput};
use uuid::Uuid;

use super::applications::{readable, writable, AppKey};
use super::{not_found, AdminError, Caller};
use crate::model::FederatedCredentialRecord;
use crate::store::{Store, StoreError};

/// The audience Entra recommends and defaults to.
pub const DEFAULT_AUDIENCE: &str = "api://AzureADTokenExchange";
/// Graph's limit per application.
pub const MAX_PER_APPLICATION: usize = 20;
/// As for applications (see `applications::UPDATE_ATTEMPTS`).
const UPDATE_ATTEMPTS: usize = 32;

pub async fn create(
    store: &dyn Store,
    caller: &Caller,
    app: AppKey,
    input: FederatedIdentityCredentialInput,
) -> Result<FederatedIdentityCredential, AdminError> {
    let rec = writable(store, caller, app).await?;
    let mut fic = FederatedIdentityCredential {
        id: Uuid::new_v4(),
        name: String::new(),
        issuer: String::new(),
        subject: String::new(),
        description: None,
        audiences: vec![DEFAULT_AUDIENCE.into()],
    };
    let name = input.name.clone().unwrap_or_default();
    check_name(&name)?;
    fic.name = name;
    apply(&mut fic, input)?;
    let rec = FederatedCredentialRecord {
        application_id: rec.app.id,
        credential: fic.clone(),
    };
    store.insert_federated(&rec, MAX_PER_APPLICATION).await?;
    Ok(fic)
}

pub async fn list(
    store: &dyn Store,
    caller: &Caller,
    app: AppKey,
) -> Result<Vec<FederatedIdentityCredential>, AdminError> {
    let rec = readable(store, caller, app).await?;
    Ok(store
        .list_federated(rec.app.id)
        .await?
        .into_iter()
        .map(|r| r.credential)
        .collect())
}

pub async fn get(
    store: &dyn Store,
    caller: &Caller,
    app: AppKey,
    id_or_name: &str,
) -> Result<FederatedIdentityCredential, AdminError> {
    let rec = readable(store, caller, app).await?;
    Ok(lookup(store, rec.app.id, id_or_name).await?.credential)
}

/// PATCH: `name` is immutable, as in Graph. Applied over what was read; if another write changed the
/// credential meanwhile, read and apply again.
pub async fn update(
    store: &dyn Store,
    caller: &Caller,
    app: AppKey,
    id_or_name: &str,
    input: FederatedIdentityCredentialInput,
) -> Result<(), AdminError> {
    let rec = writable(store, caller, app).await?;
    for _ in 0..UPDATE_ATTEMPTS {
        let mut fic = lookup(store, rec.app.id, id_or_name).await?;
        let read = fic.credential.clone();
        if input.name.as_ref().is_some_and(|n| *n != fic.credential.name) {
            return Err(AdminError::BadRequest(
                "The name of a federated identity credential cannot be changed.".into(),
            ));
        }
        apply(&mut fic.credential, input.clone())?;
        match store.update_federated(&fic, &read).await {
            Ok(true) => return Ok(()),
            Ok(false) => return Err(not_found("federatedIdentityCredential", id_or_name)),
            Err(StoreError::Stale) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Stale.into())
}

pub async fn delete(
    store: &dyn Store,
    caller: &Caller,
    app: AppKey,
    id_or_name: &str,
) -> Result<(), AdminError> {
    let rec = writable(store, caller, app).await?;
    let fic = lookup(store, rec.app.id, id_or_name).await?;
    if !store.delete_federated(rec.app.id, fic.credential.id).await? {
        return Err(not_found("federatedIdentityCredential", id_or_name));
    }
    Ok(())
}

async fn lookup(
    store: &dyn Store,
    application_id: gatehouse_proto::ObjectId,
    id_or_name: &str,
) -> Result<FederatedCredentialRecord, AdminError> {
    store
        .list_federated(application_id)
        .await?
        .into_iter()
        .find(|r| {
            r.credential.id.to_string().eq_ignore_ascii_case(id_or_name) || r.credential.name == id_or_name
        })
        .ok_or_else(|| not_found("federatedIdentityCredential", id_or_name))
}

fn apply(
    fic: &mut FederatedIdentityCredential,
    input: FederatedIdentityCredentialInput,
) -> Result<(), AdminError> {
    if let Some(issuer) = input.issuer {
        let ok = url::Url::parse(&issuer).is_ok_and(|u| u.scheme() == "https") && issuer.len() <= 600;
        if !ok {
            return Err(AdminError::BadRequest(format!(
                "Issuer '{issuer}' must be an https URL of at most 600 characters."
            )));
        }
        fic.issuer = issuer;
    }
    if let Some(subject) = input.subject {
        fic.subject = subject;
    }
    if let Some(d) = input.description {
        fic.description = d;
    }
    if let Some(a) = input.audiences {
        fic.audiences = a;
    }
    if fic.issuer.is_empty() || fic.subject.is_empty() {
        return Err(AdminError::BadRequest(
            "A federated identity credential needs an issuer and a subject.".into(),
        ));
    }
    if fic.subject.len() > 600 {
        return Err(AdminError::BadRequest(
            "The subject is longer than 600 characters.".into(),
        ));
    }
    if fic.audiences.len() != 1 || fic.audiences[0].is_empty() || fic.audiences[0].len() > 600 {
        return Err(AdminError::BadRequest(
            "audiences must hold exactly one value of at most 600 characters.".into(),
        ));
    }
    Ok(())
}

/// Names are 3 to 120 URL-friendly characters.
fn check_name(name: &str) -> Result<(), AdminError> {
    let friendly = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if (3..=120).contains(&name.len()) && friendly {
        Ok(())
    } else {
        Err(AdminError::BadRequest(format!(
            "Name '{name}' must be 3 to 120 characters: letters, digits, '-', '_' or '.'."
        )))
    }
}
