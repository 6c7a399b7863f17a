//! The device authorization grant's first half (RFC 8628 §3.1–3.3; entra-protocol.md §1.9): a device
//! asks for a device code and a user code; the user types the user code at `/devicelogin`. User codes
//! are nine letters from twenty consonants (no vowels, so no words; about 39 bits), compared after
//! upper-casing and dropping everything but letters, so `bcdf-ghjk-l` and `BCDFGHJKL` are one code.

use gatehouse_proto::token::Secret;
use gatehouse_proto::AppId;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::authorize::AuthorizePolicy;
use crate::flows::delegated::UserScopes;
use crate::model::{DeviceCode, DeviceState, Tenant};
use crate::{CoreError, Snapshot};

const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
pub const USER_CODE_LEN: usize = 9;

/// What was typed, as stored: upper case, letters only.
pub fn normalize_user_code(typed: &str) -> String {
    typed
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn user_code() -> Result<String, CoreError> {
    let bytes = gatehouse_jose::random_bytes::<USER_CODE_LEN>().map_err(|_| CoreError::Internal)?;
    // 256 is not a multiple of 20: rejection keeps every letter equally likely.
    let mut out = String::with_capacity(USER_CODE_LEN);
    for b in bytes {
        let mut v = b;
        while v >= 240 {
            v = gatehouse_jose::random_bytes::<1>().map_err(|_| CoreError::Internal)?[0];
        }
        out.push(char::from(ALPHABET[usize::from(v % 20)]));
    }
    Ok(out)
}

/// A new device code for `client_id` in `tenant` (the path's, or the application's own for `common`
/// and `organizations`): the record to store, and the device code the device will poll with.
pub fn start(
    snap: &Snapshot,
    tenant: Option<&Tenant>,
    client_id: Option<&str>,
    scope: Option<&str>,
    policy: &AuthorizePolicy,
    now: OffsetDateTime,
) -> Result<(DeviceCode, Secret), CoreError> {
    let client_id = client_id
        .filter(|c| !c.is_empty())
        .ok_or(CoreError::MissingParameter { name: "client_id" })?;
    let not_found = |t: String| CoreError::ClientNotFound {
        client_id: client_id.chars().take(100).collect(),
        tenant: t,
    };
    let name = || {
        tenant
            .map(|t| t.id.to_string())
            .unwrap_or_else(|| "common".into())
    };
    let app_id = AppId::parse(client_id).ok_or_else(|| not_found(name()))?;
    let app = snap.application(app_id).ok_or_else(|| not_found(name()))?;
    let tenant_id = tenant.map(|t| t.id).unwrap_or(app.tenant_id);
    snap.service_principal(tenant_id, app_id)
        .ok_or_else(|| not_found(tenant_id.to_string()))?;
    let scope = scope
        .filter(|s| !s.trim().is_empty())
        .ok_or(CoreError::MissingParameter { name: "scope" })?;
    UserScopes::parse(scope)?;
    let bytes = gatehouse_jose::random_bytes::<32>().map_err(|_| CoreError::Internal)?;
    let device_code = gatehouse_jose::b64url(&bytes);
    let record = DeviceCode {
        device_hash: gatehouse_jose::sha256(device_code.as_bytes()),
        user_code: user_code()?,
        tenant_id,
        client_id: app_id,
        scope: scope.to_string(),
        expires_at: now + policy.device_code_lifetime,
        interval_secs: policy.device_poll_interval.whole_seconds(),
        state: DeviceState::Pending,
        family_id: Uuid::new_v4(),
    };
    Ok((record, Secret::new(device_code)))
}

/// A fresh user code for a record whose code was taken (the store refused it).
pub fn redraw(record: &mut DeviceCode) -> Result<(), CoreError> {
    record.user_code = user_code()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_consonants_and_compare_however_typed() {
        let c = user_code().unwrap();
        assert_eq!(c.len(), USER_CODE_LEN);
        assert!(c.bytes().all(|b| ALPHABET.contains(&b)));
        assert_eq!(normalize_user_code(" bcdf-ghjk l "), "BCDFGHJKL");
        assert_ne!(user_code().unwrap(), c);
    }
}
