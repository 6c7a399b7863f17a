//! RSA signing keys. Each key carries a self-signed certificate so that its JWK has `x5c`, and its key
//! id is the certificate's SHA-1 thumbprint, so `kid == x5t` as in Entra's JWKS (entra-protocol.md §1.5).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair, RsaKeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256};
use gatehouse_proto::jwk::Jwk;
use rcgen::{CertificateParams, DistinguishedName, DnType, PKCS_RSA_SHA256};
use time::OffsetDateTime;

use crate::{b64std, b64url, x5t, SignatureAlgorithm};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("RSA key generation failed")]
    Generate,
    #[error("the private key is not a valid PKCS#8 RSA key")]
    BadPrivateKey,
    #[error("the certificate could not be made: {0}")]
    Certificate(String),
    #[error("signing failed")]
    Sign,
}

/// A private RSA key with its certificate. `Debug` shows only the key id.
pub struct SigningKey {
    pair: RsaKeyPair,
    pkcs8: Vec<u8>,
    cert_der: Vec<u8>,
    kid: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a 2048-bit key and a self-signed certificate valid from `not_before` for `years`.
    pub fn generate(common_name: &str, not_before: OffsetDateTime, years: i64) -> Result<Self, KeyError> {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
        let pkcs8 = pair.as_der().map_err(|_| KeyError::Generate)?.as_ref().to_vec();
        let cert_der = self_signed_certificate(&pkcs8, common_name, not_before, years)?;
        Self::from_parts(&pkcs8, cert_der)
    }

    /// Rebuilds a key from its PKCS#8 DER and certificate DER (as kept in the store).
    pub fn from_parts(pkcs8: &[u8], cert_der: Vec<u8>) -> Result<Self, KeyError> {
        let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| KeyError::BadPrivateKey)?;
        Ok(Self {
            pair,
            pkcs8: pkcs8.to_vec(),
            kid: x5t(&cert_der),
            cert_der,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The PKCS#8 DER of the private key, for sealing under the key-encryption key.
    pub fn private_pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// RS256 signature of `message`.
    pub fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.sign(SignatureAlgorithm::Rs256, message)
    }

    /// RS256 or PS256 signature of `message`.
    pub fn sign(&self, alg: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let padding: &'static dyn aws_lc_rs::signature::RsaEncoding = match alg {
            SignatureAlgorithm::Rs256 => &RSA_PKCS1_SHA256,
            SignatureAlgorithm::Ps256 => &RSA_PSS_SHA256,
        };
        self.pair
            .sign(padding, &rng, message, &mut sig)
            .map_err(|_| KeyError::Sign)?;
        Ok(sig)
    }

    /// The public JWK in Entra's shape; `issuer` is the issuer (or `{tenantid}` template) it vouches for.
    pub fn public_jwk(&self, issuer: Option<String>) -> Jwk {
        let public = self.pair.public_key();
        let comps: PublicKeyComponents<Vec<u8>> = public.into();
        Jwk {
            kty: "RSA".into(),
            use_: Some("sig".into()),
            kid: Some(self.kid.clone()),
            x5t: Some(self.kid.clone()),
            alg: None,
            n: Some(b64url(&comps.n)),
            e: Some(b64url(&comps.e)),
            x5c: vec![b64std(&self.cert_der)],
            cloud_instance_name: Some("microsoftonline.com".into()),
            issuer,
        }
    }
}

fn self_signed_certificate(
    pkcs8: &[u8],
    common_name: &str,
    not_before: OffsetDateTime,
    years: i64,
) -> Result<Vec<u8>, KeyError> {
    let der = rustls_pki_types_pkcs8(pkcs8);
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &PKCS_RSA_SHA256)
        .map_err(|e| KeyError::Certificate(e.to_string()))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    params.not_before = not_before;
    params.not_after = not_before + time::Duration::days(365 * years);
    let cert = params
        .self_signed(&key)
        .map_err(|e| KeyError::Certificate(e.to_string()))?;
    Ok(cert.der().to_vec())
}

fn rustls_pki_types_pkcs8(pkcs8: &[u8]) -> rustls_pki_types::PrivatePkcs8KeyDer<'static> {
    rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kid_is_the_sha1_thumbprint_of_the_certificate_and_survives_a_round_trip() {
        let key = SigningKey::generate("test", OffsetDateTime::now_utc(), 1).unwrap();
        assert_eq!(key.kid().len(), 27);
        let again = SigningKey::from_parts(key.private_pkcs8(), key.certificate_der().to_vec()).unwrap();
        assert_eq!(again.kid(), key.kid());
        let jwk = key.public_jwk(None);
        assert_eq!(jwk.kid, jwk.x5t);
        assert_eq!(jwk.e.as_deref(), Some("AQAB"));
        assert!(jwk.alg.is_none());
        assert!(!format!("{key:?}").contains("pkcs8"));
    }
}
