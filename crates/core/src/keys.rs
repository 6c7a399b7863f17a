//! The token-signing keys of the cluster. Keys live in the store with their private part sealed under
//! the key-encryption key; every node builds the same [`KeyRing`] from those rows and decides by the
//! clock which key signs, so all nodes sign with one key and publish the same JWKS.
//!
//! A key's life (security-requirements.md §5.7, OIDC Core §10.1.1):
//! 1. **pending**: stored with an activation time in the future; published in JWKS, signs nothing;
//! 2. **active**: the key with the latest activation time that has passed; it signs every token;
//! 3. **retiring**: a newer key has activated; still published for [`RETAIN`], the longest a token it
//!    signed can stay valid, plus clock skew;
//! 4. **retired**: no longer published; the maintenance pass deletes the row.
//!
//! An emergency rotation deletes every other key and activates the new one at once.

use std::collections::HashMap;
use std::sync::Arc;

use gatehouse_jose::kek::Kek;
use gatehouse_jose::SigningKey;
use time::{Duration, OffsetDateTime};

use crate::model::StoredKey;
use crate::store::{KeyStore, Rotation, StoreError};

/// Years a signing certificate is valid; Entra's are about five.
const KEY_YEARS: i64 = 5;

/// How long a key stays published after its successor activates: the validity of the last token it
/// signed (`exp` is now + 3600 s, see flows::mint) plus five minutes of clock skew.
pub const RETAIN: Duration = Duration::seconds(3600 + 300);

/// When keys rotate. Both durations are settings; see the README's "Signing keys".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// How long a key signs before its successor takes over.
    pub rotate_every: Duration,
    /// How long a new key is published before it signs: at least the longest JWKS cache of a client
    /// that does not refetch on an unknown `kid`.
    pub prepublish: Duration,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        Self {
            rotate_every: Duration::days(30),
            prepublish: Duration::days(2),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum KeyState {
    Pending,
    Active,
    Retiring,
    Retired,
}

#[derive(Debug, Clone)]
pub struct RingKey {
    pub key: Arc<SigningKey>,
    pub activates: OffsetDateTime,
}

#[derive(Debug, Default)]
pub struct KeyRing {
    /// Every readable key, latest activation first.
    keys: Vec<RingKey>,
    /// Key ids in the store that this node cannot unseal (a different key-encryption key).
    pub unreadable: Vec<String>,
    /// Derived from the key-encryption key, so every node computes the same pairwise `sub`.
    subject_key: [u8; 32],
}

impl KeyRing {
    /// Builds the ring from stored rows, reusing already-unsealed keys of `previous` by kid.
    /// A row that cannot be unsealed (wrong key-encryption key) is skipped and listed in `unreadable`.
    pub fn build(rows: &[StoredKey], kek: &Kek, previous: &KeyRing) -> Self {
        let known: HashMap<&str, &Arc<SigningKey>> =
            previous.keys.iter().map(|k| (k.key.kid(), &k.key)).collect();
        let mut sorted: Vec<&StoredKey> = rows.iter().collect();
        sorted.sort_by(|a, b| b.activates.cmp(&a.activates).then_with(|| a.kid.cmp(&b.kid)));
        let mut keys = Vec::with_capacity(sorted.len());
        let mut unreadable = Vec::new();
        for row in sorted {
            let key = match known.get(row.kid.as_str()) {
                Some(k) => Arc::clone(k),
                None => match unseal(row, kek) {
                    Some(k) => Arc::new(k),
                    None => {
                        unreadable.push(row.kid.clone());
                        continue;
                    }
                },
            };
            keys.push(RingKey {
                key,
                activates: row.activates,
            });
        }
        let subject_key = gatehouse_jose::hmac_sha256(kek.as_bytes(), b"gatehouse pairwise subject v1");
        Self {
            keys,
            unreadable,
            subject_key,
        }
    }

    /// The claims of a token this cluster signed with a key it still publishes (expired or not: an
    /// `id_token_hint` may be old); `None` for anything else.
    pub fn verify_own(&self, token: &str, now: OffsetDateTime) -> Option<serde_json::Value> {
        let jws = gatehouse_jose::ParsedJws::parse(token).ok()?;
        let kid = jws.header.kid.as_deref()?;
        let key = self.published(now).find(|k| k.kid() == kid)?;
        let cert = gatehouse_jose::ClientCertificate::parse(key.certificate_der()).ok()?;
        jws.verify_rsa(&cert.n, &cert.e, &[gatehouse_jose::SignatureAlgorithm::Rs256])
            .ok()?;
        serde_json::from_slice(&jws.payload).ok()
    }

    /// A user's `sub` for one application (OIDC Core §8.1, pairwise, as Entra's): 43 base64url
    /// characters that no other application sees and that cannot be computed without the key.
    pub fn pairwise_subject(&self, tenant: &str, user: &str, app_id: &str) -> String {
        let input = format!("{tenant}|{user}|{app_id}");
        gatehouse_jose::b64url(&gatehouse_jose::hmac_sha256(&self.subject_key, input.as_bytes()))
    }

    /// The key that signs at `now`: the latest whose activation has passed.
    pub fn signing_key(&self, now: OffsetDateTime) -> Option<&Arc<SigningKey>> {
        self.keys.iter().find(|k| k.activates <= now).map(|k| &k.key)
    }

    /// Each key with its state at `now`, latest activation first.
    pub fn states(&self, now: OffsetDateTime) -> impl Iterator<Item = (&RingKey, KeyState)> {
        // The successor's activation time of each key: the previous entry in this newest-first list.
        let successors = std::iter::once(None).chain(self.keys.iter().map(|k| Some(k.activates)));
        let mut seen_active = false;
        self.keys.iter().zip(successors).map(move |(k, next)| {
            let state = if k.activates > now {
                KeyState::Pending
            } else if !seen_active {
                seen_active = true;
                KeyState::Active
            } else {
                match next {
                    Some(t) if t > now - RETAIN => KeyState::Retiring,
                    _ => KeyState::Retired,
                }
            };
            (k, state)
        })
    }

    /// The keys JWKS publishes at `now`: pending, active and retiring.
    pub fn published(&self, now: OffsetDateTime) -> impl Iterator<Item = &Arc<SigningKey>> {
        self.states(now)
            .filter(|(_, s)| *s != KeyState::Retired)
            .map(|(k, _)| &k.key)
    }
}

fn unseal(row: &StoredKey, kek: &Kek) -> Option<SigningKey> {
    let pkcs8 = kek.open(&row.sealed_private_key, row.kid.as_bytes()).ok()?;
    SigningKey::from_parts(&pkcs8, row.certificate_der.clone())
        .ok()
        .filter(|k| k.kid() == row.kid)
}

/// Makes a new signing key, activating at `activates`, and its stored form (private key sealed,
/// bound to its kid).
pub fn new_stored_key(
    kek: &Kek,
    now: OffsetDateTime,
    activates: OffsetDateTime,
) -> Result<StoredKey, StoreError> {
    let key = SigningKey::generate("Gatehouse token signing", now - Duration::DAY, KEY_YEARS)
        .map_err(|e| StoreError::Corrupt(format!("key generation: {e}")))?;
    let sealed = kek
        .seal(key.private_pkcs8(), key.kid().as_bytes())
        .map_err(|e| StoreError::Corrupt(format!("sealing: {e}")))?;
    Ok(StoredKey {
        kid: key.kid().to_string(),
        sealed_private_key: sealed,
        certificate_der: key.certificate_der().to_vec(),
        created: now,
        activates,
    })
}

/// Adds a signing key that is active at once (the first key of an empty store).
pub async fn add_signing_key(
    store: &dyn KeyStore,
    kek: &Kek,
    now: OffsetDateTime,
) -> Result<String, StoreError> {
    let row = new_stored_key(kek, now, now)?;
    store.insert_key(&row).await?;
    Ok(row.kid)
}

/// Starts a rotation now: a new key published at once and signing after `prepublish`, unless one is
/// already pending (then that one's kid). An emergency rotation signs with the new key at once and
/// drops every other key.
pub async fn rotate(
    store: &dyn KeyStore,
    kek: &Kek,
    policy: &RotationPolicy,
    emergency: bool,
    now: OffsetDateTime,
) -> Result<(String, Rotation), StoreError> {
    let activates = if emergency { now } else { now + policy.prepublish };
    let row = new_stored_key(kek, now, activates)?;
    let outcome = store.rotate_keys(&row, now, emergency).await?;
    let kid = match &outcome {
        Rotation::Added => row.kid,
        Rotation::AlreadyPending(k) => k.clone(),
    };
    Ok((kid, outcome))
}

/// What the scheduled maintenance pass should do at `now`, decided from the ring alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maintenance {
    /// The active key has signed long enough and no successor is pending.
    pub rotate: bool,
    /// Keys no longer published, to delete.
    pub retired: Vec<String>,
}

pub fn maintenance(ring: &KeyRing, policy: &RotationPolicy, now: OffsetDateTime) -> Maintenance {
    let mut pending = false;
    let mut active_since = None;
    let mut retired = Vec::new();
    for (k, state) in ring.states(now) {
        match state {
            KeyState::Pending => pending = true,
            KeyState::Active => active_since = Some(k.activates),
            KeyState::Retiring => {}
            KeyState::Retired => retired.push(k.key.kid().to_string()),
        }
    }
    let due = active_since.is_some_and(|t| t + policy.rotate_every - policy.prepublish <= now);
    Maintenance {
        rotate: due && !pending,
        retired,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(rows: &[StoredKey], kek: &Kek) -> KeyRing {
        KeyRing::build(rows, kek, &KeyRing::default())
    }

    #[test]
    fn the_latest_activated_key_signs_and_unreadable_rows_are_reported() {
        let kek = Kek::generate().unwrap();
        let now = OffsetDateTime::now_utc();
        let old = new_stored_key(&kek, now, now - Duration::HOUR).unwrap();
        let new = new_stored_key(&kek, now, now).unwrap();
        let foreign = new_stored_key(&Kek::generate().unwrap(), now, now + Duration::HOUR).unwrap();
        let r = ring(&[old.clone(), new.clone(), foreign.clone()], &kek);
        assert_eq!(r.signing_key(now).unwrap().kid(), new.kid);
        assert_eq!(r.published(now).count(), 2);
        assert_eq!(r.unreadable, vec![foreign.kid]);
        let again = KeyRing::build(&[old, new], &kek, &r);
        assert!(
            Arc::ptr_eq(again.signing_key(now).unwrap(), r.signing_key(now).unwrap()),
            "unsealed keys are reused"
        );
    }

    #[test]
    fn a_key_is_published_before_it_signs_and_after_it_stops() {
        let kek = Kek::generate().unwrap();
        let t0 = OffsetDateTime::now_utc();
        let policy = RotationPolicy {
            rotate_every: Duration::days(30),
            prepublish: Duration::days(2),
        };
        let first = new_stored_key(&kek, t0, t0).unwrap();
        let r = ring(std::slice::from_ref(&first), &kek);
        assert!(!maintenance(&r, &policy, t0 + Duration::days(27)).rotate);
        assert!(maintenance(&r, &policy, t0 + Duration::days(28)).rotate);

        let t1 = t0 + Duration::days(28);
        let second = new_stored_key(&kek, t1, t1 + policy.prepublish).unwrap();
        let r = ring(&[first.clone(), second.clone()], &kek);
        let kids = |at| r.published(at).map(|k| k.kid().to_string()).collect::<Vec<_>>();
        // Pre-publication: both published, the old key still signs, and no second rotation starts.
        assert_eq!(kids(t1), vec![second.kid.clone(), first.kid.clone()]);
        assert_eq!(r.signing_key(t1).unwrap().kid(), first.kid);
        assert!(!maintenance(&r, &policy, t1 + Duration::DAY).rotate);
        // Activation: the new key signs; the old stays published for RETAIN, then is retired.
        let t2 = t1 + policy.prepublish;
        assert_eq!(r.signing_key(t2).unwrap().kid(), second.kid);
        assert_eq!(kids(t2 + RETAIN - Duration::SECOND).len(), 2);
        assert_eq!(kids(t2 + RETAIN), vec![second.kid.clone()]);
        assert_eq!(
            maintenance(&r, &policy, t2 + RETAIN).retired,
            vec![first.kid.clone()]
        );
        // Exactly one key is active at any instant.
        for h in 0..24 * 40 {
            let at = t0 + Duration::hours(h);
            let active = r.states(at).filter(|(_, s)| *s == KeyState::Active).count();
            assert_eq!(active, 1, "at hour {h}");
        }
    }
}
