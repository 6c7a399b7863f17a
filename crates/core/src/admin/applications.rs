//! Applications (entra-protocol.md §5.1): create, read, PATCH, delete, and their client secrets through
//! addPassword / removePassword. A secret's value leaves the server once, in the addPassword response.

use gatehouse_proto::graph::{
    AddPasswordInput, ApiApplication, Application, ApplicationInput, PasswordCredential, RedirectUris,
    WebApplication,
};
use gatehouse_proto::{AppId, ObjectId, SignInAudience};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{certificates, identifier_uris, not_found, Access, AdminError, Caller};
use crate::credentials::{generate_secret, hash_secret};
use crate::model::{ApplicationRecord, PasswordSecret};
use crate::redirect_uri::RedirectUri;
use crate::store::{NamePage, Store, StoreError};

/// How often a PATCH re-reads and re-applies itself when other writes to the same application commit
/// between its read and its write. Each round at least one of the competing writers succeeds.
const UPDATE_ATTEMPTS: usize = 32;

/// How a request addresses an application: `/applications/{id}` or `/applications(appId='{appId}')`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppKey {
    Id(ObjectId),
    AppId(AppId),
}

/// A new application with Graph's defaults: single tenant, v1 tokens (`requestedAccessTokenVersion` null).
pub fn new_application(
    display_name: &str,
    publisher_domain: Option<String>,
    now: OffsetDateTime,
) -> Application {
    Application {
        id: ObjectId::new(),
        deleted_date_time: None,
        app_id: AppId::new(),
        application_template_id: None,
        identifier_uris: vec![],
        created_date_time: now,
        description: None,
        display_name: display_name.to_string(),
        is_fallback_public_client: None,
        group_membership_claims: None,
        notes: None,
        publisher_domain,
        sign_in_audience: SignInAudience::AzureADMyOrg,
        tags: vec![],
        api: ApiApplication::default(),
        app_roles: vec![],
        public_client: RedirectUris::default(),
        key_credentials: vec![],
        password_credentials: vec![],
        required_resource_access: vec![],
        spa: RedirectUris::default(),
        web: WebApplication::default(),
    }
}

/// The application a create with `input` would make, or why Graph refuses it: every rule that
/// needs no store (the identifier URIs' domains are checked against the tenant after).
pub fn proposed(
    input: ApplicationInput,
    publisher_domain: Option<String>,
    now: OffsetDateTime,
) -> Result<Application, AdminError> {
    let name = input.display_name.clone().unwrap_or_default();
    if name.trim().is_empty() {
        return Err(AdminError::BadRequest(
            "The property 'displayName' is required.".into(),
        ));
    }
    let mut app = new_application(&name, publisher_domain, now);
    apply(&mut app, input, now)?;
    Ok(app)
}

pub async fn create(
    store: &dyn Store,
    caller: &Caller,
    input: ApplicationInput,
    publisher_domain: Option<String>,
    now: OffsetDateTime,
) -> Result<Application, AdminError> {
    let tenant = caller.tenant(store).await?;
    // Any member may register applications while the tenant allows it (Entra's default).
    let as_member = caller.holds_scope(Access::WriteApplications) && tenant.users_can_register_apps;
    if caller.require(Access::WriteApplications).is_err() && !as_member {
        return Err(AdminError::Denied);
    }
    let app = proposed(input, publisher_domain, now)?;
    identifier_uris::check(&tenant, None, &app)?;
    let record = ApplicationRecord {
        tenant_id: caller.tenant_id,
        app: app.clone(),
        version: 0,
    };
    // Whoever registers it with their own token owns it, as in Entra.
    match caller.user {
        Some(user) => store.insert_owned_application(&record, user).await?,
        None => store.insert_application(&record).await?,
    }
    Ok(with_credentials(app, std::iter::empty()))
}

/// The tenant's applications; for a member without a role, the ones they own.
pub async fn list(store: &dyn Store, caller: &Caller) -> Result<Vec<Application>, AdminError> {
    let records = match caller.require(Access::ReadApplications) {
        Ok(()) => store.list_applications(caller.tenant_id).await?,
        Err(_) => {
            // A store page holds at most 1,000 rows: more than any one member owns.
            let owned = NamePage {
                owner: Some(caller.owner(Access::ReadApplications)?),
                limit: 1000,
                ..NamePage::default()
            };
            store.application_page(caller.tenant_id, &owned).await?
        }
    };
    let secrets = store.list_tenant_secrets(caller.tenant_id).await?;
    Ok(records
        .into_iter()
        .map(|rec| {
            let id = rec.app.id;
            let own = secrets.iter().filter(move |s| s.application_id == id);
            with_credentials(rec.app, own)
        })
        .collect())
}

/// One page of the tenant's applications by display name (without their secrets): what a list shows.
pub async fn page(
    store: &dyn Store,
    caller: &Caller,
    page: &NamePage,
) -> Result<Vec<Application>, AdminError> {
    let mut page = page.clone();
    if caller.require(Access::ReadApplications).is_err() {
        // A member without a role sees the applications they own.
        page.owner = Some(caller.owner(Access::ReadApplications)?);
    }
    Ok(store
        .application_page(caller.tenant_id, &page)
        .await?
        .into_iter()
        .map(|rec| rec.app)
        .collect())
}

pub async fn count(store: &dyn Store, caller: &Caller) -> Result<u64, AdminError> {
    caller.require(Access::ReadApplications)?;
    Ok(store.count_applications(caller.tenant_id).await?)
}

pub async fn get(store: &dyn Store, caller: &Caller, key: AppKey) -> Result<Application, AdminError> {
    let rec = readable(store, caller, key).await?;
    let secrets = store.list_secrets(rec.app.id).await?;
    Ok(with_credentials(rec.app, secrets.iter()))
}

pub async fn update(
    store: &dyn Store,
    caller: &Caller,
    key: AppKey,
    input: ApplicationInput,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    writable(store, caller, key).await?;
    let tenant = caller.tenant(store).await?;
    for _ in 0..UPDATE_ATTEMPTS {
        let mut rec = find(store, caller.tenant_id, key).await?;
        let before = rec.app.clone();
        apply(&mut rec.app, input.clone(), now)?;
        check_role_removals(&before, &rec.app)?;
        identifier_uris::check(&tenant, Some(&before), &rec.app)?;
        match store.update_application(&rec).await {
            Ok(true) => return Ok(()),
            Ok(false) => return Err(not_found("application", rec.app.id)),
            Err(StoreError::Stale) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Stale.into())
}

pub async fn delete(store: &dyn Store, caller: &Caller, key: AppKey) -> Result<(), AdminError> {
    let rec = writable(store, caller, key).await?;
    if !store.delete_application(caller.tenant_id, rec.app.id).await? {
        return Err(not_found("application", rec.app.id));
    }
    Ok(())
}

/// Adds a generated secret; the returned credential is the only place its value ever appears.
pub async fn add_password(
    store: &dyn Store,
    caller: &Caller,
    key: AppKey,
    input: AddPasswordInput,
    now: OffsetDateTime,
) -> Result<PasswordCredential, AdminError> {
    let rec = writable(store, caller, key).await?;
    let (stored, credential) = new_password(rec.app.id, input, now)?;
    store.insert_secret(&stored).await?;
    Ok(credential)
}

/// Builds a secret's stored form and its one-time Graph representation. Default lifetime: two years.
pub fn new_password(
    application_id: ObjectId,
    input: AddPasswordInput,
    now: OffsetDateTime,
) -> Result<(PasswordSecret, PasswordCredential), AdminError> {
    let p = input.password_credential.unwrap_or_default();
    let start = p.start_date_time.unwrap_or(now);
    let end = p.end_date_time.unwrap_or(start + time::Duration::days(730));
    if end <= start {
        return Err(AdminError::BadRequest(
            "endDateTime must be later than startDateTime.".into(),
        ));
    }
    let value = generate_secret().map_err(|_| AdminError::Unavailable)?;
    let hint: String = value.expose().chars().take(3).collect();
    let stored = PasswordSecret {
        key_id: Uuid::new_v4(),
        application_id,
        display_name: p.display_name.clone(),
        hint: hint.clone(),
        hash: hash_secret(value.expose()),
        start,
        end,
    };
    let credential = PasswordCredential {
        custom_key_identifier: None,
        display_name: p.display_name,
        end_date_time: end,
        hint: Some(hint),
        key_id: stored.key_id,
        secret_text: Some(value),
        start_date_time: start,
    };
    Ok((stored, credential))
}

pub async fn remove_password(
    store: &dyn Store,
    caller: &Caller,
    key: AppKey,
    key_id: Uuid,
) -> Result<(), AdminError> {
    let rec = writable(store, caller, key).await?;
    if !store.delete_secret(rec.app.id, key_id).await? {
        return Err(AdminError::BadRequest(format!(
            "No password credential found with keyId {key_id}."
        )));
    }
    Ok(())
}

/// The application `key` names, if the caller may change it: with a permission that writes every
/// application, or as one of its owners holding a delegated permission to write applications (what
/// Entra lets any member do with what they own).
pub(crate) async fn writable(
    store: &dyn Store,
    caller: &Caller,
    key: AppKey,
) -> Result<ApplicationRecord, AdminError> {
    permitted(store, caller, key, Access::WriteApplications).await
}

/// The application `key` names, if the caller may read it: with a permission that reads every
/// application, or as one of its owners.
pub(crate) async fn readable(
    store: &dyn Store,
    caller: &Caller,
    key: AppKey,
) -> Result<ApplicationRecord, AdminError> {
    permitted(store, caller, key, Access::ReadApplications).await
}

async fn permitted(
    store: &dyn Store,
    caller: &Caller,
    key: AppKey,
    access: Access,
) -> Result<ApplicationRecord, AdminError> {
    let owner = match caller.require(access) {
        Ok(()) => None,
        Err(_) => Some(caller.owner(access)?),
    };
    let rec = find(store, caller.tenant_id, key).await?;
    match owner {
        Some(user) if !store.is_owner(rec.app.id, user).await? => Err(AdminError::Denied),
        _ => Ok(rec),
    }
}

/// The owners of an application, for `GET /applications/{id}/owners`.
pub async fn owners(store: &dyn Store, caller: &Caller, key: AppKey) -> Result<Vec<ObjectId>, AdminError> {
    let rec = readable(store, caller, key).await?;
    Ok(store.owners(rec.app.id).await?)
}

/// Adds a user of the tenant as an owner (`POST /applications/{id}/owners/$ref`); an owner may.
pub async fn add_owner(
    store: &dyn Store,
    caller: &Caller,
    key: AppKey,
    user: ObjectId,
) -> Result<(), AdminError> {
    let rec = writable(store, caller, key).await?;
    if store.get_user(caller.tenant_id, user).await?.is_none() {
        return Err(AdminError::BadRequest(format!(
            "'{user}' is not a user of this tenant."
        )));
    }
    match store.add_owner(caller.tenant_id, rec.app.id, user).await? {
        true => Ok(()),
        false => Err(AdminError::BadRequest(
            "One or more added object references already exist for the following modified properties: 'owners'.".into(),
        )),
    }
}

pub async fn remove_owner(
    store: &dyn Store,
    caller: &Caller,
    key: AppKey,
    user: ObjectId,
) -> Result<(), AdminError> {
    let rec = writable(store, caller, key).await?;
    match store.remove_owner(caller.tenant_id, rec.app.id, user).await? {
        true => Ok(()),
        false => Err(not_found("owner", user)),
    }
}

pub(crate) async fn find(
    store: &dyn Store,
    tenant: gatehouse_proto::TenantId,
    key: AppKey,
) -> Result<ApplicationRecord, AdminError> {
    match key {
        AppKey::Id(id) => store
            .get_application(tenant, id)
            .await?
            .ok_or_else(|| not_found("application", id)),
        AppKey::AppId(app_id) => store
            .find_application_by_app_id(tenant, app_id)
            .await?
            .ok_or_else(|| not_found("application", app_id)),
    }
}

/// The Graph view of an application: its secrets' metadata, never their values, and its certificates
/// without their keys.
fn with_credentials<'a>(
    mut app: Application,
    secrets: impl Iterator<Item = &'a PasswordSecret>,
) -> Application {
    certificates::without_keys(&mut app.key_credentials);
    app.password_credentials = secrets
        .map(|s| PasswordCredential {
            custom_key_identifier: None,
            display_name: s.display_name.clone(),
            end_date_time: s.end,
            hint: Some(s.hint.clone()),
            key_id: s.key_id,
            secret_text: None,
            start_date_time: s.start,
        })
        .collect();
    app
}

/// Applies the writable properties of `input`, validating each as Graph does.
fn apply(app: &mut Application, input: ApplicationInput, now: OffsetDateTime) -> Result<(), AdminError> {
    if input.password_credentials.is_some() {
        return Err(AdminError::BadRequest(
            "Property 'passwordCredentials' is read-only here; use addPassword.".into(),
        ));
    }
    if let Some(keys) = input.key_credentials {
        app.key_credentials = certificates::replace(&app.key_credentials, keys, now)?;
    }
    if let Some(n) = input.display_name {
        if n.trim().is_empty() || n.chars().count() > 256 {
            return Err(AdminError::BadRequest(
                "displayName must be 1 to 256 characters.".into(),
            ));
        }
        app.display_name = n;
    }
    if let Some(a) = input.sign_in_audience {
        app.sign_in_audience = SignInAudience::parse(&a)
            .ok_or_else(|| AdminError::BadRequest(format!("'{a}' is not a valid signInAudience.")))?;
    }
    if let Some(uris) = input.identifier_uris {
        app.identifier_uris = uris;
    }
    if let Some(api) = input.api {
        if !matches!(api.requested_access_token_version, None | Some(1) | Some(2)) {
            return Err(AdminError::BadRequest(
                "requestedAccessTokenVersion must be null, 1 or 2.".into(),
            ));
        }
        app.api = api;
    }
    if let Some(roles) = input.app_roles {
        check_app_roles(&roles)?;
        app.app_roles = roles;
    }
    for uris in [
        input.public_client.as_ref().map(|p| &p.redirect_uris),
        input.spa.as_ref().map(|s| &s.redirect_uris),
    ]
    .into_iter()
    .flatten()
    .chain(input.web.as_ref().map(|w| &w.redirect_uris))
    {
        for u in uris {
            RedirectUri::parse(u).map_err(|e| AdminError::BadRequest(e.to_string()))?;
        }
    }
    if let Some(w) = &input.web {
        let home = w
            .home_page_url
            .as_deref()
            .map(crate::redirect_uri::check_home_page);
        let logout = w.logout_url.as_deref().map(crate::redirect_uri::check_logout_url);
        for checked in [home, logout].into_iter().flatten() {
            checked.map_err(|e| AdminError::BadRequest(e.to_string()))?;
        }
    }
    if let Some(p) = input.public_client {
        app.public_client = p;
    }
    if let Some(s) = input.spa {
        app.spa = s;
    }
    if let Some(w) = input.web {
        app.web = w;
    }
    if let Some(r) = input.required_resource_access {
        app.required_resource_access = r;
    }
    if let Some(t) = input.tags {
        app.tags = t;
    }
    if let Some(d) = input.description {
        app.description = d;
    }
    if let Some(n) = input.notes {
        app.notes = n;
    }
    if let Some(f) = input.is_fallback_public_client {
        app.is_fallback_public_client = f;
    }
    if let Some(g) = input.group_membership_claims {
        app.group_membership_claims = g;
    }
    // Graph's limits on the free-text properties (a megabyte of notes is not a note).
    for (name, value) in [("notes", &app.notes), ("description", &app.description)] {
        if value.as_ref().is_some_and(|v| v.chars().count() > 1024) {
            return Err(AdminError::BadRequest(format!(
                "The value of {name} can be at most 1024 characters long."
            )));
        }
    }
    Ok(())
}

fn check_app_roles(roles: &[gatehouse_proto::graph::AppRole]) -> Result<(), AdminError> {
    let mut ids = std::collections::HashSet::new();
    let mut values = std::collections::HashSet::new();
    for r in roles {
        if !ids.insert(r.id) {
            return Err(AdminError::BadRequest(format!(
                "App role id {} is used more than once.",
                r.id
            )));
        }
        if let Some(v) = &r.value {
            let ok =
                !v.is_empty() && v.len() <= 120 && !v.chars().any(char::is_whitespace) && !v.starts_with('.');
            if !ok || !values.insert(v.clone()) {
                return Err(AdminError::BadRequest(format!(
                    "App role value '{v}' is invalid or duplicated."
                )));
            }
        }
        if r.allowed_member_types.is_empty()
            || r.allowed_member_types
                .iter()
                .any(|t| t != "User" && t != "Application")
        {
            return Err(AdminError::BadRequest(
                "allowedMemberTypes must hold 'User' and/or 'Application'.".into(),
            ));
        }
    }
    Ok(())
}

/// Graph refuses to remove an app role that is still enabled: it must be disabled first.
fn check_role_removals(before: &Application, after: &Application) -> Result<(), AdminError> {
    for old in before.app_roles.iter().filter(|r| r.is_enabled) {
        if !after.app_roles.iter().any(|r| r.id == old.id) {
            return Err(AdminError::BadRequest(
                "CannotDeleteOrUpdateEnabledEntitlement: an app role must be disabled before it is deleted."
                    .into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_proto::graph::AppRole;

    fn role(value: &str, enabled: bool) -> AppRole {
        AppRole {
            allowed_member_types: vec!["Application".into()],
            description: None,
            display_name: None,
            id: Uuid::new_v4(),
            is_enabled: enabled,
            origin: None,
            value: Some(value.into()),
        }
    }

    #[test]
    fn redirect_uris_are_checked_when_set() {
        let mut app = new_application("a", None, OffsetDateTime::now_utc());
        let input = |uri: &str| ApplicationInput {
            web: Some(WebApplication {
                redirect_uris: vec![uri.into()],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(apply(
            &mut app,
            input("https://app.example.com/cb"),
            OffsetDateTime::now_utc()
        )
        .is_ok());
        assert_eq!(
            apply(
                &mut app,
                input("http://app.example.com/cb"),
                OffsetDateTime::now_utc()
            ),
            Err(AdminError::BadRequest(
                "'http://app.example.com/cb' is not a valid redirect URI.".into()
            ))
        );
    }

    #[test]
    fn app_roles_need_unique_ids_and_values() {
        let a = role("Read", true);
        let mut b = role("Read", true);
        assert!(check_app_roles(&[a.clone(), b.clone()]).is_err());
        b.value = Some("Write".into());
        assert!(check_app_roles(&[a.clone(), b]).is_ok());
        assert!(check_app_roles(&[role("has space", true)]).is_err());
    }

    #[test]
    fn enabled_roles_cannot_be_removed_but_disabled_ones_can() {
        let now = OffsetDateTime::now_utc();
        let mut before = new_application("a", None, now);
        before.app_roles = vec![role("Read", true)];
        let mut after = before.clone();
        after.app_roles.clear();
        assert!(check_role_removals(&before, &after).is_err());
        before.app_roles[0].is_enabled = false;
        assert!(check_role_removals(&before, &after).is_ok());
    }

    #[test]
    fn unknown_audiences_are_refused() {
        let mut app = new_application("a", None, OffsetDateTime::now_utc());
        let bad = ApplicationInput {
            sign_in_audience: Some("Everyone".into()),
            ..Default::default()
        };
        assert!(apply(&mut app, bad, OffsetDateTime::now_utc()).is_err());
    }
}
