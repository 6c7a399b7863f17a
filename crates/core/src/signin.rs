//! Checking a user's password, the one step every password sign-in shares (the sign-in page, ROPC):
//! smart lockout first, then the password through a [`Hasher`], then the account's state. Failures are
//! counted in the store per account and per client address, so a lockout holds across restarts and
//! nodes. Time is an argument.
//!
//! By default an unknown user and a wrong password get the same answer (50126) after the same work, so
//! the answer does not reveal whether an account exists; Entra's own 50034 for unknown users is
//! available with [`SignInPolicy::reveal_unknown_users`].

use gatehouse_proto::token::Secret;
use gatehouse_proto::TenantId;
use time::{Duration, OffsetDateTime};

use crate::model::UserRecord;
use crate::passwords::Hasher;
use crate::store::{Store, StoreError};

/// Lockout thresholds and what a failure says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInPolicy {
    /// Failures (per account, and per client address) before a lockout: Entra's smart lockout uses 10.
    pub lockout_threshold: u32,
    /// The first lockout's length (Entra: 60 s); each further failure doubles it, up to 64 times.
    pub lockout_duration: Duration,
    /// Answer an unknown user with 50034 instead of 50126.
    pub reveal_unknown_users: bool,
}

impl Default for SignInPolicy {
    fn default() -> Self {
        Self {
            lockout_threshold: 10,
            lockout_duration: Duration::seconds(60),
            reveal_unknown_users: false,
        }
    }
}

impl SignInPolicy {
    /// Until when `failures` (the last at `last`) lock a key; `None` below the threshold.
    pub fn locked_until(&self, failures: u32, last: OffsetDateTime) -> Option<OffsetDateTime> {
        let over = failures.checked_sub(self.lockout_threshold)?;
        Some(last + self.lockout_duration * (1u32 << over.min(6)))
    }
}

/// Why a password sign-in failed, with Entra's code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// 50126: wrong password, or (by default) no such user.
    #[error("Error validating credentials due to invalid username or password.")]
    InvalidCredentials,
    /// 50034, only with `reveal_unknown_users`.
    #[error("The user account does not exist in this directory.")]
    UnknownUser,
    /// 50053: too many failures for the account or from the address.
    #[error("Your account is locked because you've tried to sign in too many times with an incorrect user ID or password.")]
    Locked { until: OffsetDateTime },
    /// 50057.
    #[error("The user account is disabled.")]
    Disabled,
    /// 50055: the password must be changed before it can be used (forceChangePasswordNextSignIn).
    #[error("The password is expired.")]
    PasswordChangeRequired,
    #[error("The directory is temporarily unavailable.")]
    Unavailable,
}

impl SignInError {
    pub fn aadsts(&self) -> u32 {
        match self {
            Self::InvalidCredentials => 50126,
            Self::UnknownUser => 50034,
            Self::Locked { .. } => 50053,
            Self::Disabled => 50057,
            Self::PasswordChangeRequired => 50055,
            Self::Unavailable => 90033,
        }
    }
}

impl From<StoreError> for SignInError {
    fn from(_: StoreError) -> Self {
        Self::Unavailable
    }
}

/// One password sign-in: who, with what, from where.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub tenant: TenantId,
    pub upn: String,
    pub password: Secret,
    /// The client's address, as the server sees it (failures are counted per address too).
    pub client_address: String,
}

impl Attempt {
    /// The keys failures are counted under.
    fn keys(&self) -> [String; 2] {
        [
            format!("account:{}:{}", self.tenant, self.upn.to_lowercase()),
            format!("address:{}", self.client_address),
        ]
    }
}

/// Checks an attempt at `now`. A locked account or address is refused before the password is
/// checked; a failure is counted on both keys; a success clears the account's count. A user who must
/// change the password is reported after the password is found right (the caller offers the change).
pub async fn authenticate(
    store: &dyn Store,
    hasher: &dyn Hasher,
    policy: &SignInPolicy,
    attempt: Attempt,
    now: OffsetDateTime,
) -> Result<UserRecord, SignInError> {
    let keys = attempt.keys();
    let counts = store.sign_in_failures(&keys).await?;
    for (failures, last) in &counts {
        if let Some(until) = last.and_then(|l| policy.locked_until(*failures, l)) {
            if now < until {
                return Err(SignInError::Locked { until });
            }
        }
    }
    let user = store.find_user_by_upn(attempt.tenant, &attempt.upn).await?;
    let hash = user.as_ref().and_then(|u| u.password.clone());
    if !hasher.verify(hash, attempt.password).await {
        store.record_sign_in_failure(&keys, now).await?;
        return Err(match user {
            None if policy.reveal_unknown_users => SignInError::UnknownUser,
            _ => SignInError::InvalidCredentials,
        });
    }
    let user = user.ok_or(SignInError::InvalidCredentials)?;
    // A write only when there is something to forget: most sign-ins follow no failure.
    if counts.first().is_some_and(|(n, _)| *n > 0) {
        store.clear_sign_in_failures(&keys[0]).await?;
    }
    if !user.user.account_enabled {
        return Err(SignInError::Disabled);
    }
    if user.force_change_password {
        return Err(SignInError::PasswordChangeRequired);
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn lockouts_start_at_the_threshold_and_grow() {
        let p = SignInPolicy::default();
        let t = datetime!(2026-12-01 12:00 UTC);
        assert_eq!(p.locked_until(9, t), None);
        assert_eq!(p.locked_until(10, t), Some(t + Duration::seconds(60)));
        assert_eq!(p.locked_until(11, t), Some(t + Duration::seconds(120)));
        assert_eq!(p.locked_until(12, t), Some(t + Duration::seconds(240)));
        assert_eq!(
            p.locked_until(100, t),
            Some(t + Duration::seconds(60 * 64)),
            "capped"
        );
        assert_eq!(SignInError::Locked { until: t }.aadsts(), 50053);
        assert_eq!(SignInError::InvalidCredentials.aadsts(), 50126);
    }
}
