//! Client secrets as Entra makes them (entra-protocol.md §6): 40 characters matching
//! `^[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{34}$`, hint = the first three, stored only as a SHA-256 hash.
//! A fast hash is enough: the value has over 200 bits of entropy, so there is nothing to brute-force,
//! and the token hot path must not pay for a password hash.

use gatehouse_proto::token::Secret;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use gatehouse_jose::RandomUnavailable;

use crate::model::PasswordSecret;

const HEAD: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~.";
const TAIL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~.-";
const DIGITS: &[u8] = b"0123456789";

/// Draws one character of `alphabet` uniformly (rejection sampling over random bytes).
fn pick(alphabet: &[u8]) -> Result<char, RandomUnavailable> {
    let limit = 256 - (256 % alphabet.len());
    loop {
        let [b] = gatehouse_jose::random_bytes::<1>()?;
        if (b as usize) < limit {
            return Ok(alphabet[b as usize % alphabet.len()] as char);
        }
    }
}

/// A fresh client secret value.
pub fn generate_secret() -> Result<Secret, RandomUnavailable> {
    let mut s = String::with_capacity(40);
    for _ in 0..3 {
        s.push(pick(HEAD)?);
    }
    s.push(pick(DIGITS)?);
    s.push_str("Q~");
    for _ in 0..34 {
        s.push(pick(TAIL)?);
    }
    Ok(Secret::new(s))
}

pub fn hash_secret(value: &str) -> [u8; 32] {
    gatehouse_jose::sha256(value.as_bytes())
}

/// The outcome of checking a presented secret against an application's stored secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretCheck {
    Valid,
    Expired,
    Invalid,
}

/// Compares in constant time against every stored secret, so timing does not reveal which one
/// (or how much of one) matched.
pub fn check_secret(presented: &str, stored: &[PasswordSecret], now: OffsetDateTime) -> SecretCheck {
    let h = hash_secret(presented);
    let mut outcome = SecretCheck::Invalid;
    for s in stored {
        if bool::from(s.hash.ct_eq(&h)) {
            if now >= s.start && now < s.end {
                return SecretCheck::Valid;
            }
            if now >= s.end {
                outcome = SecretCheck::Expired;
            }
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use uuid::Uuid;

    fn matches_entra_pattern(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 40
            && b[..3].iter().all(|c| HEAD.contains(c))
            && b[3].is_ascii_digit()
            && &b[4..6] == b"Q~"
            && b[6..].iter().all(|c| TAIL.contains(c))
    }

    #[test]
    fn generated_secrets_follow_entras_pattern_and_differ() {
        let a = generate_secret().unwrap();
        let b = generate_secret().unwrap();
        assert!(matches_entra_pattern(a.expose()), "{}", a.expose());
        assert_ne!(a, b);
    }

    fn stored(value: &str, start: OffsetDateTime, end: OffsetDateTime) -> PasswordSecret {
        PasswordSecret {
            key_id: Uuid::new_v4(),
            application_id: gatehouse_proto::ObjectId::default(),
            display_name: None,
            hint: value[..3].into(),
            hash: hash_secret(value),
            start,
            end,
        }
    }

    #[test]
    fn secrets_are_checked_against_their_validity_window() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let live = stored(
            "live-secret",
            now - time::Duration::DAY,
            now + time::Duration::DAY,
        );
        let old = stored(
            "old-secret",
            now - time::Duration::days(9),
            now - time::Duration::DAY,
        );
        let set = [live, old];
        assert_eq!(check_secret("live-secret", &set, now), SecretCheck::Valid);
        assert_eq!(check_secret("old-secret", &set, now), SecretCheck::Expired);
        assert_eq!(check_secret("guess", &set, now), SecretCheck::Invalid);
        let future = [stored(
            "later",
            now + time::Duration::DAY,
            now + time::Duration::days(2),
        )];
        assert_eq!(check_secret("later", &future, now), SecretCheck::Invalid);
    }
}
