//! Client assertions (`private_key_jwt`, RFC 7523, entra-protocol.md §2.3 and §2.4): a JWT the client
//! signs with its certificate's key, or one an external issuer gave it (a federated credential).
//!
//! The key is always one registered for the client, never one the token names (`x5c`, `jwk`, `jku`
//! only ever select among registered keys, RFC 8725 §3.10). What is accepted, as the real clients
//! send it (real-clients.md §10): RS256 with `x5t` or PS256 with `x5t#S256`, thumbprints padded or
//! not, float `exp`/`iat`, no `nbf` or no `iat`; `aud` = this tenant's v2 or v1 token endpoint under its
//! GUID or any of its domains, or (unless the policy is strict) its v2 issuer, as openid-client sends.

use gatehouse_jose::{b64_lenient_decode, ParsedJws, SignatureAlgorithm};
use gatehouse_proto::discovery::v2_issuer;
use gatehouse_proto::graph::FederatedIdentityCredential;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::error::AssertionFailure;
use crate::model::{ApplicationRecord, Tenant};
use crate::{CoreError, Snapshot};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

const ALGORITHMS: [SignatureAlgorithm; 2] = [SignatureAlgorithm::Rs256, SignatureAlgorithm::Ps256];

/// How strictly assertions are judged. Defaults: 60 s of clock skew (so `nbf` 8 s ahead passes and
/// 70 s ahead fails, security-requirements.md §1.5), at most one hour between the start of an
/// assertion's validity and its `exp` (Entra sets no limit; MSAL uses 10 min, azure-identity 30 min),
/// and the compatible audience rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssertionPolicy {
    pub clock_skew: Duration,
    pub max_lifetime: Duration,
    /// Accept only the issuer as `aud` (draft-ietf-oauth-rfc7523bis), not the token endpoint that
    /// Entra documents and every Microsoft client sends.
    pub strict_audience: bool,
}

impl Default for AssertionPolicy {
    fn default() -> Self {
        Self {
            clock_skew: Duration::seconds(60),
            max_lifetime: Duration::hours(1),
            strict_audience: false,
        }
    }
}

/// `aud` as a string or an array of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The claims read from an assertion. A duplicated member is an error, never "last one wins"
/// (RFC 8725 §3.7): serde refuses a repeated field of a struct.
#[derive(Debug, Clone, Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
    jti: Option<String>,
}

/// An assertion whose structure has been read and whose signature is not checked yet. Until it
/// expires it is a bearer credential, so `Debug` shows only who it claims to come from.
#[derive(Clone)]
pub struct ClientAssertion {
    jws: ParsedJws,
    claims: Claims,
}

impl std::fmt::Debug for ClientAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAssertion")
            .field("iss", &self.claims.iss)
            .finish_non_exhaustive()
    }
}

/// What an accepted certificate assertion leaves to do: record its `jti` (durably) before a token is
/// handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayGuard {
    pub client_id: String,
    pub jti: String,
    /// Until when the id must be remembered: `exp` plus the clock skew.
    pub until: OffsetDateTime,
}

fn fail(f: AssertionFailure) -> CoreError {
    CoreError::ClientAssertion(f)
}

impl ClientAssertion {
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        let jws = ParsedJws::parse(raw.trim())
            .map_err(|_| fail(AssertionFailure::Malformed("The token is not a compact JWS.")))?;
        let claims: Claims = serde_json::from_slice(&jws.payload)
            .map_err(|_| fail(AssertionFailure::Malformed("The claims cannot be read.")))?;
        Ok(Self { jws, claims })
    }

    /// `true` when the client signed it itself (`iss` is the client id); otherwise it comes from an
    /// external issuer and is checked against the federated credentials.
    pub fn is_self_issued(&self, client_id: &str) -> bool {
        self.claims.iss.as_deref() == Some(client_id)
    }

    pub fn issuer(&self) -> Option<&str> {
        self.claims.iss.as_deref()
    }

    pub fn key_id(&self) -> Option<&str> {
        self.jws.header.kid.as_deref()
    }

    /// Verifies with an RSA key (`n`, `e`) fetched from an external issuer's JWKS.
    pub fn verify_external(&self, n: &[u8], e: &[u8]) -> Result<(), CoreError> {
        self.jws
            .verify_rsa(n, e, &ALGORITHMS)
            .map_err(|_| fail(AssertionFailure::BadSignature))
    }
}

/// Checks a self-issued certificate assertion for `app` in `tenant`; on success, the caller must
/// record the returned guard before issuing anything.
pub fn check_certificate(
    snap: &Snapshot,
    app: &ApplicationRecord,
    tenant: &Tenant,
    a: &ClientAssertion,
    base_url: &str,
    policy: &AssertionPolicy,
    now: OffsetDateTime,
) -> Result<ReplayGuard, CoreError> {
    let client_id = app.app.app_id.to_string();
    if a.claims.sub.as_deref() != Some(client_id.as_str()) {
        return Err(fail(AssertionFailure::WrongSubject));
    }
    let h = &a.jws.header;
    let wanted = thumbprints(h);
    if wanted.is_empty() {
        return Err(fail(AssertionFailure::NoThumbprint));
    }
    let cert = snap
        .certificates(app.app.id)
        .iter()
        .find(|c| wanted.iter().any(|t| t.matches(&c.certificate)))
        .ok_or_else(|| {
            fail(AssertionFailure::KeyNotFound {
                thumbprint: wanted[0].display(),
                app_id: client_id.clone(),
            })
        })?;
    if now < cert.start || now > cert.end || !cert.certificate.is_valid_at(now) {
        return Err(fail(AssertionFailure::KeyExpired {
            app_id: client_id.clone(),
        }));
    }
    a.jws
        .verify_rsa(&cert.certificate.n, &cert.certificate.e, &ALGORITHMS)
        .map_err(|e| match e {
            gatehouse_jose::JwsError::AlgorithmNotAllowed => fail(AssertionFailure::Malformed(
                "The algorithm must be RS256 or PS256.",
            )),
            _ => fail(AssertionFailure::BadSignature),
        })?;
    if !audience_ok(&a.claims.aud, &token_audiences(tenant, base_url, policy)) {
        return Err(fail(AssertionFailure::WrongAudience));
    }
    let exp = check_times(&a.claims, policy, now)?;
    let jti = a
        .claims
        .jti
        .clone()
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| {
            fail(AssertionFailure::Malformed(
                "The assertion must carry a jti of at most 256 characters.",
            ))
        })?;
    Ok(ReplayGuard {
        client_id,
        jti,
        until: exp + policy.clock_skew,
    })
}

/// The federated credential of `app` that an external assertion matches on issuer, subject and
/// audience, each checked in turn so that the error names what did not match (§2.4).
pub fn matching_federated_credential<'s>(
    snap: &'s Snapshot,
    app: &ApplicationRecord,
    a: &ClientAssertion,
) -> Result<&'s FederatedIdentityCredential, CoreError> {
    let issuer = a.claims.iss.clone().unwrap_or_default();
    let subject = a.claims.sub.clone().unwrap_or_default();
    let by_issuer: Vec<_> = snap
        .federated_credentials(app.app.id)
        .iter()
        .filter(|f| f.issuer == issuer)
        .collect();
    if by_issuer.is_empty() {
        return Err(fail(AssertionFailure::FederatedIssuer { issuer }));
    }
    let by_subject: Vec<_> = by_issuer.iter().filter(|f| f.subject == subject).collect();
    if by_subject.is_empty() {
        if by_issuer.iter().any(|f| f.subject.eq_ignore_ascii_case(&subject)) {
            return Err(fail(AssertionFailure::FederatedSubjectCase { subject }));
        }
        return Err(fail(AssertionFailure::FederatedSubject { subject }));
    }
    by_subject
        .into_iter()
        .find(|f| {
            f.audiences.first().is_some_and(|want| match &a.claims.aud {
                Some(Audience::One(v)) => v == want,
                Some(Audience::Many(vs)) => vs.contains(want),
                None => false,
            })
        })
        .copied()
        .ok_or_else(|| fail(AssertionFailure::FederatedAudience))
}

/// Checks an external assertion's times (signature and match are checked by the caller).
pub fn check_federated_times(
    a: &ClientAssertion,
    policy: &AssertionPolicy,
    now: OffsetDateTime,
) -> Result<(), CoreError> {
    check_times_within(&a.claims, policy.clock_skew, None, now).map(|_| ())
}

/// A thumbprint the header names: SHA-1 (`x5t`, or the first `x5c` certificate's), SHA-256
/// (`x5t#S256`), or the `kid` if it holds one (openid-client sends only `kid`).
#[derive(Debug, Clone)]
enum Thumbprint {
    Sha1(Vec<u8>),
    Sha256(Vec<u8>),
}

impl Thumbprint {
    fn matches(&self, c: &gatehouse_jose::ClientCertificate) -> bool {
        match self {
            Self::Sha1(t) => t.as_slice() == c.sha1.as_slice(),
            Self::Sha256(t) => t.as_slice() == c.sha256.as_slice(),
        }
    }

    fn display(&self) -> String {
        match self {
            Self::Sha1(t) | Self::Sha256(t) => gatehouse_jose::hex_upper(t),
        }
    }
}

fn thumbprints(h: &gatehouse_jose::JwsHeader) -> Vec<Thumbprint> {
    let mut out = Vec::new();
    let by_len = |bytes: Vec<u8>| match bytes.len() {
        20 => Some(Thumbprint::Sha1(bytes)),
        32 => Some(Thumbprint::Sha256(bytes)),
        _ => None,
    };
    if let Some(t) = h
        .x5t_s256
        .as_deref()
        .and_then(b64_lenient_decode)
        .and_then(by_len)
    {
        out.push(t);
    }
    if let Some(t) = h.x5t.as_deref().and_then(b64_lenient_decode).and_then(by_len) {
        out.push(t);
    }
    if let Some(kid) = h.kid.as_deref() {
        if let Some(t) = hex_bytes(kid)
            .or_else(|| b64_lenient_decode(kid))
            .and_then(by_len)
        {
            out.push(t);
        }
    }
    if out.is_empty() {
        let first = h.x5c.as_ref().and_then(|c| c.first());
        if let Some(der) = first.and_then(|c| gatehouse_jose::x5c_der(c)) {
            out.push(Thumbprint::Sha1(gatehouse_jose::sha1(&der).to_vec()));
        }
    }
    out
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    if s.len() != 40 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..20)
        .map(|i| u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok())
        .collect()
}

/// The audiences a certificate assertion may name for `tenant`, lower-cased.
fn token_audiences(tenant: &Tenant, base_url: &str, policy: &AssertionPolicy) -> Vec<String> {
    let base = base_url.trim_end_matches('/');
    let issuer = v2_issuer(base, &tenant.id.to_string()).to_ascii_lowercase();
    if policy.strict_audience {
        return vec![issuer];
    }
    let mut out = vec![issuer];
    let segments = std::iter::once(tenant.id.to_string()).chain(tenant.domains.iter().cloned());
    for seg in segments {
        out.push(format!("{base}/{seg}/oauth2/v2.0/token").to_ascii_lowercase());
        out.push(format!("{base}/{seg}/oauth2/token").to_ascii_lowercase());
    }
    out
}

/// Every member of `aud` must be expected (an array with a foreign member is refused).
fn audience_ok(aud: &Option<Audience>, expected: &[String]) -> bool {
    let ok = |v: &str| {
        let v = v.trim_end_matches('/').to_ascii_lowercase();
        expected
            .iter()
            .any(|e| e.trim_end_matches('/').eq_ignore_ascii_case(&v))
    };
    match aud {
        Some(Audience::One(v)) => ok(v),
        Some(Audience::Many(vs)) => !vs.is_empty() && vs.iter().all(|v| ok(v)),
        None => false,
    }
}

fn check_times(
    c: &Claims,
    policy: &AssertionPolicy,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, CoreError> {
    check_times_within(c, policy.clock_skew, Some(policy.max_lifetime), now)
}

fn check_times_within(
    c: &Claims,
    skew: Duration,
    max_lifetime: Option<Duration>,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, CoreError> {
    let at = |v: f64| {
        if v.is_finite() {
            OffsetDateTime::from_unix_timestamp(v.floor() as i64).ok()
        } else {
            None
        }
    };
    let bad = |d: &'static str| fail(AssertionFailure::OutsideTimeRange(d));
    let exp = c
        .exp
        .map(|v| at(v).ok_or_else(|| bad("The exp claim is not a valid time.")))
        .transpose()?
        .ok_or_else(|| bad("The assertion has no exp claim."))?;
    let nbf = c.nbf.and_then(at);
    let iat = c.iat.and_then(at);
    if exp + skew < now {
        return Err(bad("The assertion has expired."));
    }
    if nbf.is_some_and(|t| t - skew > now) {
        return Err(bad("The assertion is not valid yet (nbf)."));
    }
    if iat.is_some_and(|t| t - skew > now) {
        return Err(bad("The assertion was issued in the future (iat)."));
    }
    if let Some(max) = max_lifetime {
        let start = nbf.or(iat).unwrap_or(now).min(now);
        if exp - start > max + skew {
            return Err(bad("The assertion's lifetime is longer than allowed."));
        }
    }
    Ok(exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(v: serde_json::Value) -> Claims {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn times_follow_the_policy() {
        let now = OffsetDateTime::now_utc();
        let t = now.unix_timestamp();
        let tf = t as f64;
        let p = AssertionPolicy::default();
        let ok = |v| check_times(&claims(v), &p, now).is_ok();
        assert!(
            ok(serde_json::json!({"exp": tf + 600.5, "iat": tf + 0.25})),
            "floats"
        );
        assert!(ok(serde_json::json!({"exp": t + 1800, "nbf": t})), "no iat");
        assert!(ok(serde_json::json!({"exp": t + 600, "nbf": t + 8})), "8 s ahead");
        assert!(
            !ok(serde_json::json!({"exp": t + 600, "nbf": t + 70})),
            "70 s ahead"
        );
        assert!(!ok(serde_json::json!({"exp": t - 300})), "expired");
        assert!(!ok(serde_json::json!({"iat": t})), "no exp");
        assert!(!ok(serde_json::json!({"exp": t + 86400 * 365})), "a year");
        assert!(!ok(serde_json::json!({"exp": f64::MAX})), "absurd");
    }

    #[test]
    fn audiences_refuse_foreign_members_and_duplicated_claims_are_refused() {
        let e = vec!["https://h/t/oauth2/v2.0/token".to_string()];
        let aud = |v| claims(serde_json::json!({ "aud": v })).aud;
        assert!(audience_ok(
            &aud(serde_json::json!("https://H/t/oauth2/v2.0/token")),
            &e
        ));
        assert!(audience_ok(
            &aud(serde_json::json!(["https://h/t/oauth2/v2.0/token"])),
            &e
        ));
        assert!(!audience_ok(
            &aud(serde_json::json!([
                "https://h/t/oauth2/v2.0/token",
                "https://evil"
            ])),
            &e
        ));
        assert!(!audience_ok(&aud(serde_json::json!([])), &e));
        let dup = br#"{"aud":"https://evil","aud":"https://h/t/oauth2/v2.0/token"}"#;
        assert!(serde_json::from_slice::<Claims>(dup).is_err());
    }

    #[test]
    fn thumbprints_are_read_from_every_header_form() {
        let sha1 = [7u8; 20];
        let h = gatehouse_jose::JwsHeader {
            alg: "RS256".into(),
            x5t: Some(format!("{}=", gatehouse_jose::b64url(&sha1))),
            ..Default::default()
        };
        assert!(matches!(&thumbprints(&h)[..], [Thumbprint::Sha1(t)] if t == &sha1));
        let h = gatehouse_jose::JwsHeader {
            alg: "RS256".into(),
            kid: Some("07".repeat(20)),
            ..Default::default()
        };
        assert!(matches!(&thumbprints(&h)[..], [Thumbprint::Sha1(t)] if t == &sha1));
        let h = gatehouse_jose::JwsHeader {
            alg: "RS256".into(),
            kid: Some("some-key".into()),
            ..Default::default()
        };
        assert!(thumbprints(&h).is_empty());
        // Standard base64 with padding, as Microsoft's Rust SDK sends it: '+' and '/' included.
        let awkward = [0xfbu8; 20];
        let std = gatehouse_jose::b64std(&awkward);
        assert!(std.contains('+') || std.contains('/'));
        let h = gatehouse_jose::JwsHeader {
            alg: "RS256".into(),
            x5t: Some(std),
            ..Default::default()
        };
        assert!(matches!(&thumbprints(&h)[..], [Thumbprint::Sha1(t)] if t == &awkward));
    }

    #[test]
    fn x5c_entries_may_be_der_or_pem_text() {
        let key = gatehouse_jose::SigningKey::generate("k", time::OffsetDateTime::now_utc(), 1).unwrap();
        let der = key.certificate_der().to_vec();
        let as_der = gatehouse_jose::b64std(&der);
        let as_pem = gatehouse_jose::b64std(gatehouse_jose::pem_encode("CERTIFICATE", &der).as_bytes());
        for entry in [as_der, as_pem] {
            let h = gatehouse_jose::JwsHeader {
                alg: "RS256".into(),
                x5c: Some(vec![entry]),
                ..Default::default()
            };
            let sha1 = gatehouse_jose::sha1(&der).to_vec();
            assert!(matches!(&thumbprints(&h)[..], [Thumbprint::Sha1(t)] if *t == sha1));
        }
    }
}
