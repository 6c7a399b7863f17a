//! Turning decided claims into signed tokens, with Entra's timestamps: `iat = nbf = now − 300 s`,
//! `exp = iat + 3900 s`, and `expires_in = 3599` in the response (entra-protocol.md §3.6).

use gatehouse_jose::jws::{sign_rs256, JwsHeader};
use gatehouse_proto::token::{AccessTokenClaims, Secret};
use time::OffsetDateTime;

use crate::{CoreError, Snapshot};

pub const BACKDATE_SECS: i64 = 300;
pub const LIFETIME_SECS: i64 = 3900;
pub const EXPIRES_IN: u64 = 3599;

/// A signed access token and the figures its response reports.
#[derive(Debug, Clone)]
pub struct MintedToken {
    pub access_token: Secret,
    pub expires_in: u64,
    pub not_before: i64,
    pub expires_on: i64,
}

/// The issuer of a token in `format` for tenant `tid`.
pub fn issuer(format: gatehouse_proto::Version, base_url: &str, tid: &str) -> String {
    match format {
        gatehouse_proto::Version::V2 => gatehouse_proto::discovery::v2_issuer(base_url, tid),
        gatehouse_proto::Version::V1 => gatehouse_proto::discovery::v1_issuer(base_url, tid),
    }
}

/// The (iat/nbf, exp) pair for a token issued at `now`.
pub fn lifetime(now: OffsetDateTime) -> (i64, i64) {
    let iat = now.unix_timestamp() - BACKDATE_SECS;
    (iat, iat + LIFETIME_SECS)
}

/// 16 random bytes as 22 base64url characters, like Entra's `uti`.
pub fn token_id() -> Result<String, CoreError> {
    let bytes = gatehouse_jose::random_bytes::<16>().map_err(|_| CoreError::Internal)?;
    Ok(gatehouse_jose::b64url(&bytes))
}

/// Signs an access token's `claims` with the cluster's current key.
pub fn sign(
    snap: &Snapshot,
    claims: &AccessTokenClaims,
    format: gatehouse_proto::Version,
    now: OffsetDateTime,
) -> Result<MintedToken, CoreError> {
    Ok(MintedToken {
        access_token: sign_jwt(snap, claims, format, now)?,
        expires_in: EXPIRES_IN,
        not_before: claims.nbf,
        expires_on: claims.exp,
    })
}

/// Signs any token's claims (access or ID token) with the cluster's current key. v1 tokens carry
/// `x5t` beside `kid` (§1.5).
pub fn sign_jwt(
    snap: &Snapshot,
    claims: &impl serde::Serialize,
    format: gatehouse_proto::Version,
    now: OffsetDateTime,
) -> Result<Secret, CoreError> {
    let key = snap.keys.signing_key(now).ok_or(CoreError::Internal)?;
    let header = JwsHeader {
        typ: Some("JWT".into()),
        kid: Some(key.kid().into()),
        x5t: (format == gatehouse_proto::Version::V1).then(|| key.kid().into()),
        ..JwsHeader::default()
    };
    sign_rs256(key, header, claims)
        .map(Secret::new)
        .map_err(|_| CoreError::Internal)
}
