//! Sealing of private keys at rest under a 256-bit key-encryption key (AES-256-GCM, random 96-bit nonce).
//! The sealed form is `nonce || ciphertext || tag`; the associated data binds it to its key id.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

/// A key-encryption key. `Debug` never prints it.
#[derive(Clone)]
pub struct Kek(LessSafeKeyHolder);

#[derive(Clone)]
struct LessSafeKeyHolder([u8; 32]);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek([redacted])")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KekError {
    #[error("the key-encryption key must be 32 bytes")]
    BadLength,
    #[error("sealed data could not be opened: wrong key-encryption key, or the data was altered")]
    Open,
    #[error(transparent)]
    Random(#[from] crate::RandomUnavailable),
}

impl Kek {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KekError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| KekError::BadLength)?;
        Ok(Self(LessSafeKeyHolder(arr)))
    }

    pub fn generate() -> Result<Self, KekError> {
        Ok(Self(LessSafeKeyHolder(crate::random_bytes::<32>()?)))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0 .0
    }

    fn key(&self) -> Result<LessSafeKey, KekError> {
        UnboundKey::new(&AES_256_GCM, &self.0 .0)
            .map(LessSafeKey::new)
            .map_err(|_| KekError::BadLength)
    }

    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, KekError> {
        let nonce_bytes = crate::random_bytes::<NONCE_LEN>()?;
        let mut buf = plaintext.to_vec();
        self.key()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(context),
                &mut buf,
            )
            .map_err(|_| KekError::Open)?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, KekError> {
        if sealed.len() < NONCE_LEN {
            return Err(KekError::Open);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KekError::Open)?;
        let mut buf = rest.to_vec();
        let plain = self
            .key()?
            .open_in_place(nonce, Aad::from(context), &mut buf)
            .map_err(|_| KekError::Open)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_with_the_same_key_and_context() {
        let kek = Kek::generate().unwrap();
        let sealed = kek.seal(b"private key", b"kid-1").unwrap();
        assert_eq!(kek.open(&sealed, b"kid-1").unwrap(), b"private key");
        assert_eq!(kek.open(&sealed, b"kid-2"), Err(KekError::Open));
        assert_eq!(
            Kek::generate().unwrap().open(&sealed, b"kid-1"),
            Err(KekError::Open)
        );
        let mut tampered = sealed.clone();
        tampered[20] ^= 1;
        assert_eq!(kek.open(&tampered, b"kid-1"), Err(KekError::Open));
    }

    #[test]
    fn debug_output_hides_the_key() {
        let kek = Kek::from_bytes(&[7u8; 32]).unwrap();
        assert_eq!(format!("{kek:?}"), "Kek([redacted])");
    }
}
