//! Users (Graph's `user`, entra-protocol.md §5): created with a password that meets Entra's rule and a
//! principal name in a verified domain of the tenant, listed, read by id or principal name, updated
//! (a new password, a forced change, disabling) and deleted. Passwords are hashed through a
//! [`Hasher`], never on the caller's task.

use gatehouse_proto::graph::{PasswordProfile, User, UserInput};
use gatehouse_proto::token::Secret;
use gatehouse_proto::ObjectId;
use time::OffsetDateTime;

use super::{not_found, Access, AdminError, Caller};
use crate::model::{Tenant, UserRecord};
use crate::passwords::{check_complexity, Hasher};
use crate::store::{NamePage, Store, StoreError};

const UPDATE_ATTEMPTS: usize = 32;

/// How a request addresses a user: `/users/{id}` or `/users/{userPrincipalName}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKey {
    Id(ObjectId),
    PrincipalName(String),
}

impl UserKey {
    /// An object id if the segment is one, else a principal name.
    pub fn parse(raw: &str) -> Self {
        ObjectId::parse(raw)
            .map(Self::Id)
            .unwrap_or_else(|| Self::PrincipalName(raw.to_string()))
    }
}

pub async fn create(
    store: &dyn Store,
    hasher: &dyn Hasher,
    caller: &Caller,
    input: UserInput,
    now: OffsetDateTime,
) -> Result<User, AdminError> {
    caller.require(Access::WriteUsers)?;
    let tenant = caller.tenant(store).await?;
    let required = |v: Option<String>, name: &str| {
        v.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
            AdminError::BadRequest(format!(
                "Invalid value specified for property '{name}' of resource 'User'."
            ))
        })
    };
    let upn = principal_name(
        &tenant,
        &required(input.user_principal_name.clone(), "userPrincipalName")?,
    )?;
    let profile = input.password_profile.clone().ok_or_else(|| {
        AdminError::BadRequest(
            "Invalid value specified for property 'passwordProfile' of resource 'User'.".into(),
        )
    })?;
    let mut user = User {
        id: ObjectId::new(),
        deleted_date_time: None,
        account_enabled: input.account_enabled.unwrap_or(true),
        business_phones: vec![],
        created_date_time: now,
        display_name: required(input.display_name.clone(), "displayName")?,
        given_name: None,
        job_title: None,
        mail: None,
        mail_nickname: mail_nickname(&required(input.mail_nickname.clone(), "mailNickname")?)?,
        mobile_phone: None,
        office_location: None,
        preferred_language: None,
        surname: None,
        user_principal_name: upn,
        user_type: "Member".into(),
    };
    apply_optional(&mut user, &input)?;
    let (password, force) = new_password(hasher, &profile).await?;
    let rec = UserRecord {
        tenant_id: caller.tenant_id,
        user,
        password: Some(password),
        force_change_password: force,
        password_changed: now,
        version: 0,
    };
    store.insert_user(&rec).await?;
    Ok(rec.user)
}

pub async fn list(store: &dyn Store, caller: &Caller) -> Result<Vec<User>, AdminError> {
    caller.require(Access::ReadUsers)?;
    Ok(store
        .list_users(caller.tenant_id)
        .await?
        .into_iter()
        .map(|r| r.user)
        .collect())
}

/// One page of the tenant's users by display name (a prefix of the name or the principal name).
pub async fn page(store: &dyn Store, caller: &Caller, page: &NamePage) -> Result<Vec<User>, AdminError> {
    caller.require(Access::ReadUsers)?;
    Ok(store
        .user_page(caller.tenant_id, page)
        .await?
        .into_iter()
        .map(|r| r.user)
        .collect())
}

pub async fn count(store: &dyn Store, caller: &Caller) -> Result<u64, AdminError> {
    caller.require(Access::ReadUsers)?;
    Ok(store.count_users(caller.tenant_id).await?)
}

pub async fn get(store: &dyn Store, caller: &Caller, key: &UserKey) -> Result<User, AdminError> {
    caller.require(Access::ReadUsers)?;
    Ok(find(store, caller, key).await?.user)
}

/// The delegated scopes that let a user read their own profile (`GET /me`).
const READ_SELF: &[&str] = &[
    "User.Read",
    "User.ReadWrite",
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

/// `GET /me`: the signed-in user of a delegated token. An app-only token has no user (Graph's 400).
pub async fn me(store: &dyn Store, caller: &Caller) -> Result<User, AdminError> {
    let Some(id) = caller.user else {
        return Err(AdminError::BadRequest(
            "/me request is only valid with delegated authentication flow.".into(),
        ));
    };
    if !caller
        .scopes
        .iter()
        .any(|s| READ_SELF.iter().any(|r| r.eq_ignore_ascii_case(s)))
    {
        return Err(AdminError::Denied);
    }
    store
        .get_user(caller.tenant_id, id)
        .await?
        .map(|u| u.user)
        .ok_or_else(|| not_found("user", id))
}

pub async fn update(
    store: &dyn Store,
    hasher: &dyn Hasher,
    caller: &Caller,
    key: &UserKey,
    input: UserInput,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    caller.require(Access::WriteUsers)?;
    let tenant = caller.tenant(store).await?;
    // Hash once, outside the retry loop: a retry must not cost another Argon2id run.
    let password = match &input.password_profile {
        Some(p) if p.password.is_some() => Some(new_password(hasher, p).await?),
        _ => None,
    };
    for _ in 0..UPDATE_ATTEMPTS {
        let mut rec = find(store, caller, key).await?;
        let u = &mut rec.user;
        if let Some(v) = &input.display_name {
            u.display_name = non_empty(v, "displayName")?;
        }
        if let Some(v) = &input.mail_nickname {
            u.mail_nickname = mail_nickname(v)?;
        }
        if let Some(v) = &input.user_principal_name {
            u.user_principal_name = principal_name(&tenant, v)?;
        }
        if let Some(v) = input.account_enabled {
            u.account_enabled = v;
        }
        apply_optional(u, &input)?;
        match (&password, &input.password_profile) {
            (Some((hash, force)), _) => {
                rec.password = Some(hash.clone());
                rec.force_change_password = *force;
                rec.password_changed = now;
            }
            (None, Some(p)) => {
                if let Some(force) = p.force_change_password_next_sign_in {
                    rec.force_change_password = force;
                }
            }
            (None, None) => {}
        }
        match store.update_user(&rec).await {
            Ok(true) => return Ok(()),
            Ok(false) => return Err(not_found("user", rec.user.id)),
            Err(StoreError::Stale) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Stale.into())
}

/// A user's own password change on the sign-in pages (after proving the current one): Entra's rule,
/// then the new hash; the user need not change it again. Refresh tokens issued before end with it.
pub async fn change_own_password(
    store: &dyn Store,
    hasher: &dyn Hasher,
    tenant: gatehouse_proto::TenantId,
    user: ObjectId,
    new: Secret,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    check_complexity(new.expose())?;
    let hash = hasher.hash(new).await?;
    for _ in 0..UPDATE_ATTEMPTS {
        let mut rec = store
            .get_user(tenant, user)
            .await?
            .ok_or_else(|| not_found("user", user))?;
        rec.password = Some(hash.clone());
        rec.force_change_password = false;
        rec.password_changed = now;
        match store.update_user(&rec).await {
            Ok(true) => return Ok(()),
            Ok(false) => return Err(not_found("user", user)),
            Err(StoreError::Stale) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Stale.into())
}

pub async fn delete(store: &dyn Store, caller: &Caller, key: &UserKey) -> Result<(), AdminError> {
    caller.require(Access::WriteUsers)?;
    let rec = find(store, caller, key).await?;
    if !store.delete_user(caller.tenant_id, rec.user.id).await? {
        return Err(not_found("user", rec.user.id));
    }
    Ok(())
}

async fn find(store: &dyn Store, caller: &Caller, key: &UserKey) -> Result<UserRecord, AdminError> {
    let found = match key {
        UserKey::Id(id) => store.get_user(caller.tenant_id, *id).await?,
        UserKey::PrincipalName(upn) => store.find_user_by_upn(caller.tenant_id, upn).await?,
    };
    found.ok_or_else(|| {
        let shown = match key {
            UserKey::Id(id) => id.to_string(),
            UserKey::PrincipalName(upn) => upn.chars().take(256).collect(),
        };
        not_found("user", shown)
    })
}

/// Checks the password against Entra's rule and hashes it; with whether it must be changed.
async fn new_password(
    hasher: &dyn Hasher,
    p: &PasswordProfile,
) -> Result<(crate::passwords::PasswordHash, bool), AdminError> {
    let password = p.password.clone().ok_or_else(|| {
        AdminError::BadRequest(
            "Invalid value specified for property 'passwordProfile' of resource 'User': it needs a password."
                .into(),
        )
    })?;
    check_complexity(password.expose())?;
    let force = p.force_change_password_next_sign_in.unwrap_or(true)
        || p.force_change_password_next_sign_in_with_mfa.unwrap_or(false);
    Ok((hasher.hash(password).await?, force))
}

/// `alias@domain` with a domain the tenant verified (any case), as Entra requires; kept as given.
fn principal_name(tenant: &Tenant, upn: &str) -> Result<String, AdminError> {
    let upn = upn.trim();
    let (alias, domain) = upn.rsplit_once('@').unwrap_or((upn, ""));
    let alias_ok = !alias.is_empty()
        && alias.len() <= 64
        && !alias.starts_with('.')
        && !alias.ends_with('.')
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "'.-_!#^~".contains(c));
    if !alias_ok {
        return Err(AdminError::BadRequest(format!(
            "Invalid value specified for property 'userPrincipalName' of resource 'User': '{upn}' is not alias@domain."
        )));
    }
    if !tenant.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
        return Err(AdminError::BadRequest(format!(
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization: {}.",
            tenant.domains.join(", ")
        )));
    }
    Ok(upn.to_string())
}

fn mail_nickname(v: &str) -> Result<String, AdminError> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_graphic() && !"@()\\[]\";:<>,".contains(c));
    if ok {
        Ok(v.to_string())
    } else {
        Err(AdminError::BadRequest(
            "Invalid value specified for property 'mailNickname' of resource 'User'.".into(),
        ))
    }
}

fn non_empty(v: &str, name: &str) -> Result<String, AdminError> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > 256 {
        return Err(AdminError::BadRequest(format!(
            "Invalid value specified for property '{name}' of resource 'User'."
        )));
    }
    Ok(v.to_string())
}

/// The optional profile properties a create or PATCH may set (null clears them).
fn apply_optional(u: &mut User, input: &UserInput) -> Result<(), AdminError> {
    for (slot, value) in [
        (&mut u.given_name, &input.given_name),
        (&mut u.surname, &input.surname),
        (&mut u.job_title, &input.job_title),
        (&mut u.mail, &input.mail),
        (&mut u.mobile_phone, &input.mobile_phone),
        (&mut u.office_location, &input.office_location),
        (&mut u.preferred_language, &input.preferred_language),
    ] {
        if let Some(v) = value {
            if v.as_ref().is_some_and(|s| s.chars().count() > 256) {
                return Err(AdminError::BadRequest(
                    "A property of the user is longer than 256 characters.".into(),
                ));
            }
            *slot = v.clone();
        }
    }
    if let Some(p) = &input.business_phones {
        u.business_phones = p.clone();
    }
    Ok(())
}
