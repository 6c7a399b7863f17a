//! Cryptography for Gatehouse as pure functions: RSA signing keys with their self-signed certificates
//! (`kid == x5t`, as Entra publishes them), compact JWS signing and verification (RS256, PS256),
//! certificate thumbprints, and sealing of private keys under a key-encryption key. No I/O.

pub mod cert;
pub mod jws;
pub mod kek;
pub mod key;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

pub use cert::{CertificateError, ClientCertificate};
pub use jws::{JwsError, JwsHeader, ParsedJws, SignatureAlgorithm};
pub use key::{KeyError, SigningKey};

/// base64url without padding (RFC 7515 §2).
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url, tolerating `=` padding (MSAL Python pads its `x5t`, real-clients.md §2.2).
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()
}

/// base64url or standard base64, padded or not: what clients put in thumbprint headers (`x5t`,
/// `x5t#S256`); Microsoft's Rust SDK, for one, sends standard padded base64.
pub fn b64_lenient_decode(s: &str) -> Option<Vec<u8>> {
    let url: String = s
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    URL_SAFE_NO_PAD.decode(url).ok()
}

/// A certificate of an `x5c` header: base64 of its DER (RFC 7515 §4.1.6), or base64 of its PEM text,
/// as some SDKs send it.
pub fn x5c_der(entry: &str) -> Option<Vec<u8>> {
    let bytes = b64std_decode(entry)?;
    match std::str::from_utf8(&bytes) {
        Ok(text) if text.trim_start().starts_with("-----BEGIN") => pem_decode(text, "CERTIFICATE"),
        _ => Some(bytes),
    }
}

/// Standard padded base64, as in `x5c` (entra-protocol.md §1.5).
pub fn b64std(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard base64, ignoring whitespace and line breaks (as in PEM bodies and some `x5c`).
pub fn b64std_decode(s: &str) -> Option<Vec<u8>> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(compact).ok()
}

/// `x5t`: base64url of the SHA-1 of a certificate's DER.
pub fn x5t(cert_der: &[u8]) -> String {
    b64url(&sha1(cert_der))
}

/// SHA-1, only for certificate thumbprints (`x5t`), which Entra and its clients still use.
pub fn sha1(bytes: &[u8]) -> [u8; 20] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes);
    let mut out = [0u8; 20];
    out.copy_from_slice(d.as_ref());
    out
}

/// Upper-case hex, as portals, `az` and AADSTS messages show thumbprints.
pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The DER inside the first PEM block labelled `label` (`CERTIFICATE`, `PRIVATE KEY`).
pub fn pem_decode(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let start = text.find(&begin)? + begin.len();
    let end = start + text[start..].find(&format!("-----END {label}-----"))?;
    b64std_decode(&text[start..end])
}

/// A PEM block: base64 of `der` in 64-character lines between BEGIN and END `label`.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = b64std(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// `x5t#S256`: base64url of the SHA-256 of a certificate's DER.
pub fn x5t_s256(cert_der: &[u8]) -> String {
    b64url(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, cert_der).as_ref())
}

/// SHA-256 of arbitrary bytes.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// HMAC-SHA-256 (RFC 2104) of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    let tag = aws_lc_rs::hmac::sign(&k, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// The system's secure random source failed: nothing random may be made until it works again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system's secure random source failed")]
pub struct RandomUnavailable;

/// A buffer from the system's secure random source; an error, never zeros, if the source fails.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomUnavailable> {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out).map_err(|_| RandomUnavailable)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64url_decoding_accepts_padding() {
        assert_eq!(
            b64url_decode("sGcSZdTcIs58vGNHwndLOzuRIJU="),
            b64url_decode("sGcSZdTcIs58vGNHwndLOzuRIJU")
        );
        assert!(b64url_decode("not base64!").is_none());
    }
}
