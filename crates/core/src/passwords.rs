//! User passwords: Entra's complexity rule, and Argon2id hashes (RFC 9106) with OWASP's parameters
//! (19 MiB, 2 passes, 1 lane). Hashing is CPU-bound and slow on purpose, so callers run it through a
//! [`Hasher`] that keeps it off the async runtime (the server's is a bounded blocking pool).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash as Phc, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use gatehouse_proto::token::Secret;

use crate::admin::AdminError;

/// Argon2id memory in KiB, passes and lanes.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const PASSES: u32 = 2;
pub const LANES: u32 = 1;

/// A stored password hash (a PHC string: algorithm, parameters, salt and hash). Its Debug form hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(…)")
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with a fresh salt (blocking: call it through a [`Hasher`]).
pub fn hash_blocking(password: &Secret) -> Result<PasswordHash, AdminError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| PasswordHash(h.to_string()))
        .map_err(|_| AdminError::Unavailable)
}

/// Whether the password matches (blocking). With no hash (an unknown user, or one without a password)
/// it hashes against a fixed dummy, so the answer costs the same either way.
pub fn verify_blocking(hash: Option<&PasswordHash>, password: &Secret) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = || {
        DUMMY.get_or_init(|| {
            hash_blocking(&Secret::new("no such user, no such password"))
                .map(|h| h.0)
                .unwrap_or_default()
        })
    };
    let stored = match hash {
        Some(h) => h.0.as_str(),
        None => dummy().as_str(),
    };
    let Ok(parsed) = Phc::new(stored) else {
        return false;
    };
    let ok = argon2()
        .verify_password(password.expose().as_bytes(), &parsed)
        .is_ok();
    ok && hash.is_some()
}

/// Runs password hashing somewhere that may block.
#[async_trait]
pub trait Hasher: Send + Sync {
    async fn hash(&self, password: Secret) -> Result<PasswordHash, AdminError>;
    async fn verify(&self, hash: Option<PasswordHash>, password: Secret) -> bool;
}

/// Entra's password rule for cloud users: 8 to 256 characters, and at least three of lower case, upper
/// case, digits and symbols. The message is Graph's, with the rule spelled out.
pub fn check_complexity(password: &str) -> Result<(), AdminError> {
    let len = password.chars().count();
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if (8..=256).contains(&len) && classes.iter().filter(|c| **c).count() >= 3 {
        Ok(())
    } else {
        Err(AdminError::BadRequest(
            "The specified password does not comply with password complexity requirements. Please provide a different password. (8 to 256 characters, with three of: lower case, upper case, digits, symbols.)".into(),
        ))
    }
}

/// A generated password that meets the rule: 20 characters from each class in turn, then shuffled
/// by the random bytes themselves.
pub fn generate() -> Result<Secret, AdminError> {
    const SETS: [&[u8]; 4] = [
        b"abcdefghijkmnopqrstuvwxyz",
        b"ABCDEFGHJKLMNPQRSTUVWXYZ",
        b"23456789",
        b"!#%+-.=?@^_~",
    ];
    let random = gatehouse_jose::random_bytes::<20>().map_err(|_| AdminError::Unavailable)?;
    let mut chars: Vec<char> = random
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let set = SETS[i % SETS.len()];
            set[*b as usize % set.len()] as char
        })
        .collect();
    // A Fisher-Yates pass keyed by the same bytes keeps every class present.
    for i in (1..chars.len()).rev() {
        chars.swap(i, random[i] as usize % (i + 1));
    }
    Ok(Secret::new(chars.into_iter().collect::<String>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complexity_follows_entra() {
        for ok in ["Passw0rd", "pass word 1", "PÄSSwörd!"] {
            assert!(check_complexity(ok).is_ok(), "{ok}");
        }
        for bad in [
            "Short1!",
            "alllowercase",
            "ALLUPPER123",
            "lower1234567",
            &"Aa1".repeat(90),
        ] {
            assert!(check_complexity(bad).is_err(), "{bad}");
        }
        let g = generate().unwrap();
        assert!(check_complexity(g.expose()).is_ok());
        assert_ne!(g.expose(), generate().unwrap().expose());
    }

    #[test]
    fn hashes_verify_only_their_password_and_hide_in_debug() {
        let pw = Secret::new("Correct-horse-1".to_string());
        let h = hash_blocking(&pw).unwrap();
        assert!(h.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_ne!(h, hash_blocking(&pw).unwrap(), "salted");
        assert!(verify_blocking(Some(&h), &pw));
        assert!(!verify_blocking(Some(&h), &Secret::new("wrong".to_string())));
        assert!(
            !verify_blocking(None, &pw),
            "no user, no match (after the same work)"
        );
        assert_eq!(format!("{h:?}"), "PasswordHash(…)");
    }
}
