//! Client certificates (an application's keyCredentials): parsing a certificate a caller uploads, its
//! thumbprints, and its RSA public key for verifying the client assertions it signs.

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::{hex_upper, pem_decode, sha1, sha256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("the key is not an X.509 certificate in PEM or DER")]
    Unreadable,
    #[error("the certificate's key is not an RSA key of at least 2048 bits")]
    NotRsa2048,
}

/// A parsed certificate: what a token endpoint needs to find it by thumbprint and verify with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    pub der: Vec<u8>,
    pub sha1: [u8; 20],
    pub sha256: [u8; 32],
    /// RSA modulus and exponent, big-endian.
    pub n: Vec<u8>,
    pub e: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// The subject as Graph shows it in `displayName`, e.g. `CN=daemon`.
    pub subject: String,
}

impl ClientCertificate {
    /// Reads a certificate from DER, or from PEM text (the first `CERTIFICATE` block).
    pub fn parse(bytes: &[u8]) -> Result<Self, CertificateError> {
        let der = if bytes.windows(10).any(|w| w == b"-----BEGIN") {
            std::str::from_utf8(bytes)
                .ok()
                .and_then(|t| pem_decode(t, "CERTIFICATE"))
                .ok_or(CertificateError::Unreadable)?
        } else {
            bytes.to_vec()
        };
        let (rest, cert) = X509Certificate::from_der(&der).map_err(|_| CertificateError::Unreadable)?;
        if !rest.is_empty() {
            return Err(CertificateError::Unreadable);
        }
        let (n, e) = match cert.public_key().parsed() {
            Ok(PublicKey::RSA(k)) => (trim(k.modulus).to_vec(), trim(k.exponent).to_vec()),
            _ => return Err(CertificateError::NotRsa2048),
        };
        if n.len() < 256 {
            return Err(CertificateError::NotRsa2048);
        }
        let validity = cert.validity();
        let subject = cert.subject().to_string();
        Ok(Self {
            sha256: sha256(&der),
            sha1: sha1(&der),
            n,
            e,
            not_before: validity.not_before.to_datetime(),
            not_after: validity.not_after.to_datetime(),
            subject,
            der,
        })
    }

    /// The SHA-1 thumbprint in upper-case hex, as portals and `az` show it.
    pub fn thumbprint_hex(&self) -> String {
        hex_upper(&self.sha1)
    }

    pub fn is_valid_at(&self, now: OffsetDateTime) -> bool {
        self.not_before <= now && now <= self.not_after
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[first..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{b64url, pem_encode, SigningKey};

    #[test]
    fn reads_der_and_pem_and_reports_both_thumbprints() {
        let now = OffsetDateTime::now_utc();
        let key = SigningKey::generate("daemon", now, 1).unwrap();
        let der = key.certificate_der().to_vec();
        let pem = pem_encode("CERTIFICATE", &der);
        let a = ClientCertificate::parse(&der).unwrap();
        let b = ClientCertificate::parse(pem.as_bytes()).unwrap();
        assert_eq!(a, b);
        assert_eq!(b64url(&a.sha1), key.kid());
        assert_eq!(b64url(&a.sha256), crate::x5t_s256(&der));
        assert_eq!(a.thumbprint_hex().len(), 40);
        assert_eq!(a.subject, "CN=daemon");
        assert!(a.is_valid_at(now + time::Duration::DAY));
        assert!(!a.is_valid_at(now + time::Duration::days(400)));
        assert_eq!(
            ClientCertificate::parse(b"nonsense"),
            Err(CertificateError::Unreadable)
        );
    }
}
