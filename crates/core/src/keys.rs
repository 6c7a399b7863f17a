//! The token-signing keys of the cluster. Keys live in the store with their private part sealed under
//! the key-encryption key; every node builds the same [`KeyRing`] from those rows, so they all sign with
//! the same key and publish the same JWKS. (Scheduled rotation arrives with issue #3.)

use std::collections::HashMap;
use std::sync::Arc;

use gatehouse_jose::kek::Kek;
use gatehouse_jose::SigningKey;
use time::OffsetDateTime;

use crate::model::StoredKey;
use crate::store::{KeyStore, StoreError};

/// Years a signing certificate is valid; Entra's are about five.
const KEY_YEARS: i64 = 5;

#[derive(Debug, Default)]
pub struct KeyRing {
    /// Every key published in JWKS, newest first.
    pub published: Vec<Arc<SigningKey>>,
    /// Key ids in the store that this node cannot unseal (a different key-encryption key).
    pub unreadable: Vec<String>,
}

impl KeyRing {
    /// Builds the ring from stored rows, reusing already-unsealed keys of `previous` by kid.
    /// A row that cannot be unsealed (wrong key-encryption key) is skipped and listed in `unreadable`.
    pub fn build(rows: &[StoredKey], kek: &Kek, previous: &KeyRing) -> Self {
        let known: HashMap<&str, &Arc<SigningKey>> =
            previous.published.iter().map(|k| (k.kid(), k)).collect();
        let mut sorted: Vec<&StoredKey> = rows.iter().collect();
        sorted.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.kid.cmp(&b.kid)));
        let mut published = Vec::with_capacity(sorted.len());
        let mut unreadable = Vec::new();
        for row in sorted {
            if let Some(k) = known.get(row.kid.as_str()) {
                published.push(Arc::clone(k));
                continue;
            }
            match unseal(row, kek) {
                Some(k) => published.push(Arc::new(k)),
                None => unreadable.push(row.kid.clone()),
            }
        }
        Self {
            published,
            unreadable,
        }
    }

    /// The key that signs now: the newest.
    pub fn signing_key(&self) -> Option<&Arc<SigningKey>> {
        self.published.first()
    }
}

fn unseal(row: &StoredKey, kek: &Kek) -> Option<SigningKey> {
    let pkcs8 = kek.open(&row.sealed_private_key, row.kid.as_bytes()).ok()?;
    SigningKey::from_parts(&pkcs8, row.certificate_der.clone())
        .ok()
        .filter(|k| k.kid() == row.kid)
}

/// Makes a new signing key and its stored form (private key sealed, bound to its kid).
pub fn new_stored_key(kek: &Kek, now: OffsetDateTime) -> Result<StoredKey, StoreError> {
    let key = SigningKey::generate("Gatehouse token signing", now - time::Duration::DAY, KEY_YEARS)
        .map_err(|e| StoreError::Corrupt(format!("key generation: {e}")))?;
    let sealed = kek
        .seal(key.private_pkcs8(), key.kid().as_bytes())
        .map_err(|e| StoreError::Corrupt(format!("sealing: {e}")))?;
    Ok(StoredKey {
        kid: key.kid().to_string(),
        sealed_private_key: sealed,
        certificate_der: key.certificate_der().to_vec(),
        created: now,
    })
}

/// Adds a signing key to the store.
pub async fn add_signing_key(
    store: &dyn KeyStore,
    kek: &Kek,
    now: OffsetDateTime,
) -> Result<String, StoreError> {
    let row = new_stored_key(kek, now)?;
    store.insert_key(&row).await?;
    Ok(row.kid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_readable_key_signs_and_unreadable_rows_are_reported() {
        let kek = Kek::generate();
        let now = OffsetDateTime::now_utc();
        let old = new_stored_key(&kek, now - time::Duration::HOUR).unwrap();
        let new = new_stored_key(&kek, now).unwrap();
        let foreign = new_stored_key(&Kek::generate(), now + time::Duration::HOUR).unwrap();
        let ring = KeyRing::build(
            &[old.clone(), new.clone(), foreign.clone()],
            &kek,
            &KeyRing::default(),
        );
        assert_eq!(ring.signing_key().unwrap().kid(), new.kid);
        assert_eq!(ring.published.len(), 2);
        assert_eq!(ring.unreadable, vec![foreign.kid]);
        let again = KeyRing::build(&[old, new], &kek, &ring);
        assert!(
            Arc::ptr_eq(&again.published[0], &ring.published[0]),
            "unsealed keys are reused"
        );
    }
}
