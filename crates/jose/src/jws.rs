//! Compact JWS (RFC 7515) with an algorithm allow-list fixed by the verifier, never by the header
//! (RFC 8725 §3.1). Parsing is bounded: oversized tokens and wrong segment counts are refused before any
//! JSON is read (RFC 8725 §3.10, the "many dots" advisories).

use aws_lc_rs::signature::{self, RsaPublicKeyComponents};
use serde::{Deserialize, Serialize};

use crate::{b64url, b64url_decode};

/// Longest compact JWS accepted anywhere (headers with a certificate chain fit well within this).
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    Rs256,
    Ps256,
}

impl SignatureAlgorithm {
    pub fn from_header(alg: &str) -> Option<Self> {
        match alg {
            "RS256" => Some(Self::Rs256),
            "PS256" => Some(Self::Ps256),
            _ => None,
        }
    }
}

/// The JOSE header members Gatehouse reads or writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JwsHeader {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    pub alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5t: Option<String>,
    #[serde(rename = "x5t#S256", default, skip_serializing_if = "Option::is_none")]
    pub x5t_s256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("the token is not a compact JWS")]
    Malformed,
    #[error("the token is larger than {MAX_TOKEN_LEN} bytes")]
    TooLarge,
    #[error("the algorithm is not allowed")]
    AlgorithmNotAllowed,
    #[error("the signature does not verify")]
    BadSignature,
}

/// A split and decoded compact JWS whose signature has not been checked yet.
#[derive(Debug, Clone)]
pub struct ParsedJws {
    pub header: JwsHeader,
    pub payload: Vec<u8>,
    signing_input: String,
    signature: Vec<u8>,
}

impl ParsedJws {
    pub fn parse(token: &str) -> Result<Self, JwsError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwsError::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Malformed);
        };
        let header_bytes = b64url_decode(h).ok_or(JwsError::Malformed)?;
        let header: JwsHeader = serde_json::from_slice(&header_bytes).map_err(|_| JwsError::Malformed)?;
        let payload = b64url_decode(p).ok_or(JwsError::Malformed)?;
        let signature = b64url_decode(s).ok_or(JwsError::Malformed)?;
        Ok(Self {
            header,
            payload,
            signing_input: format!("{h}.{p}"),
            signature,
        })
    }

    /// Verifies the signature with an RSA public key given as JWK `n`/`e` bytes, accepting only the
    /// algorithms in `allowed`. The header's `alg` selects among them; it can never widen the list.
    pub fn verify_rsa(&self, n: &[u8], e: &[u8], allowed: &[SignatureAlgorithm]) -> Result<(), JwsError> {
        let alg = SignatureAlgorithm::from_header(&self.header.alg)
            .filter(|a| allowed.contains(a))
            .ok_or(JwsError::AlgorithmNotAllowed)?;
        let params = match alg {
            SignatureAlgorithm::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            SignatureAlgorithm::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
        };
        let key = RsaPublicKeyComponents {
            n: strip_leading_zeros(n),
            e: strip_leading_zeros(e),
        };
        key.verify(params, self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| JwsError::BadSignature)
    }
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[first..]
}

/// Signs `claims` as an RS256 compact JWS with `header` (whose `alg` is set to RS256).
pub fn sign_rs256<C: Serialize>(
    key: &crate::SigningKey,
    header: JwsHeader,
    claims: &C,
) -> Result<String, crate::KeyError> {
    sign(key, SignatureAlgorithm::Rs256, header, claims)
}

/// Signs `claims` as a compact JWS with `alg` and `header` (whose `alg` is set to match).
pub fn sign<C: Serialize>(
    key: &crate::SigningKey,
    alg: SignatureAlgorithm,
    mut header: JwsHeader,
    claims: &C,
) -> Result<String, crate::KeyError> {
    header.alg = match alg {
        SignatureAlgorithm::Rs256 => "RS256",
        SignatureAlgorithm::Ps256 => "PS256",
    }
    .into();
    let h = serde_json::to_vec(&header).map_err(|_| crate::KeyError::Sign)?;
    let p = serde_json::to_vec(claims).map_err(|_| crate::KeyError::Sign)?;
    let mut out = String::with_capacity((h.len() + p.len()) * 4 / 3 + 360);
    out.push_str(&b64url(&h));
    out.push('.');
    out.push_str(&b64url(&p));
    let sig = key.sign(alg, out.as_bytes())?;
    out.push('.');
    out.push_str(&b64url(&sig));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SigningKey;
    use time::OffsetDateTime;

    fn key() -> SigningKey {
        SigningKey::generate("t", OffsetDateTime::now_utc(), 1).unwrap()
    }

    fn ne(k: &SigningKey) -> (Vec<u8>, Vec<u8>) {
        let jwk = k.public_jwk(None);
        (
            b64url_decode(&jwk.n.unwrap()).unwrap(),
            b64url_decode(&jwk.e.unwrap()).unwrap(),
        )
    }

    #[test]
    fn signed_tokens_verify_and_tampering_is_caught() {
        let k = key();
        let t = sign_rs256(
            &k,
            JwsHeader {
                kid: Some(k.kid().into()),
                ..Default::default()
            },
            &serde_json::json!({"a":1}),
        )
        .unwrap();
        let (n, e) = ne(&k);
        let parsed = ParsedJws::parse(&t).unwrap();
        assert_eq!(parsed.header.kid.as_deref(), Some(k.kid()));
        parsed.verify_rsa(&n, &e, &[SignatureAlgorithm::Rs256]).unwrap();

        let mut bad = t.clone().into_bytes();
        let last = bad.len() - 3;
        bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap();
        assert_eq!(
            ParsedJws::parse(&bad)
                .unwrap()
                .verify_rsa(&n, &e, &[SignatureAlgorithm::Rs256]),
            Err(JwsError::BadSignature)
        );
        assert_eq!(
            ParsedJws::parse(&t)
                .unwrap()
                .verify_rsa(&n, &e, &[SignatureAlgorithm::Ps256]),
            Err(JwsError::AlgorithmNotAllowed)
        );
    }

    #[test]
    fn none_and_hmac_algorithms_are_never_accepted() {
        let k = key();
        let (n, e) = ne(&k);
        for alg in ["none", "None", "HS256"] {
            let h = b64url(format!(r#"{{"alg":"{alg}"}}"#).as_bytes());
            let t = format!("{h}.{}.", b64url(b"{}"));
            let p = ParsedJws::parse(&t).unwrap();
            assert_eq!(
                p.verify_rsa(&n, &e, &[SignatureAlgorithm::Rs256, SignatureAlgorithm::Ps256]),
                Err(JwsError::AlgorithmNotAllowed)
            );
        }
    }

    #[test]
    fn malformed_and_oversized_tokens_are_refused_before_parsing() {
        assert_eq!(
            ParsedJws::parse(&".".repeat(100_000)).unwrap_err(),
            JwsError::TooLarge
        );
        assert_eq!(ParsedJws::parse("a.b").unwrap_err(), JwsError::Malformed);
        assert_eq!(ParsedJws::parse("a.b.c.d").unwrap_err(), JwsError::Malformed);
        assert_eq!(ParsedJws::parse("e30.e30.!!").unwrap_err(), JwsError::Malformed);
    }
}
