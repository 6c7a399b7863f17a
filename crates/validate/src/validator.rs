//! The validation steps, in order. Secure defaults: RS256 only, 5-minute skew at most (default 60 s),
//! `exp` required, issuer and audience required.

use std::sync::Arc;

use gatehouse_jose::{b64url_decode, ParsedJws, SignatureAlgorithm};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::KeySource;

/// How the `iss` claim is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerPolicy {
    /// Exactly one of these issuers (single-tenant APIs: the tenant's v2 and/or v1 issuer).
    Exact(Vec<String>),
    /// Multi-tenant APIs: templates containing `{tenantid}`, filled with the token's `tid`, which must be
    /// a GUID (entra-protocol.md §3.7). Optionally only these tenants.
    Template {
        templates: Vec<String>,
        tenants: Option<Vec<String>>,
    },
}

/// What the caller must hold beyond a valid token; failing it is a 403.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// At least one of these app roles (`roles` claim).
    AnyRole(Vec<String>),
    /// At least one of these delegated scopes (`scp` claim).
    AnyScope(Vec<String>),
    /// Either of the above (APIs that serve both daemons and users).
    AnyRoleOrScope(Vec<String>, Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's algorithm is not accepted")]
    Algorithm,
    #[error("the token's signing key is not known")]
    UnknownKey,
    #[error("the signature is invalid")]
    Signature,
    #[error("the issuer is not accepted")]
    Issuer,
    #[error("the audience is not accepted")]
    Audience,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not yet valid")]
    NotYetValid,
    #[error("the token lacks the required role or scope")]
    Forbidden,
    #[error("signing keys could not be fetched: {0}")]
    KeysUnavailable(String),
}

impl ValidationError {
    /// 403 when the token is valid but not permitted, 401 otherwise (RFC 6750 §3.1).
    pub fn status(&self) -> u16 {
        match self {
            Self::Forbidden => 403,
            _ => 401,
        }
    }

    /// The RFC 6750 `error` value for `WWW-Authenticate`.
    pub fn bearer_error(&self) -> Option<&'static str> {
        match self {
            Self::Missing => None,
            Self::Forbidden => Some("insufficient_scope"),
            _ => Some("invalid_token"),
        }
    }
}

/// The claims a resource server acts on; everything else stays in `extra`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub exp: f64,
    #[serde(default)]
    pub nbf: Option<f64>,
    #[serde(default)]
    pub tid: Option<String>,
    #[serde(default)]
    pub oid: Option<String>,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub scp: Option<String>,
    #[serde(default)]
    pub ver: Option<String>,
    #[serde(default)]
    pub azp: Option<String>,
    #[serde(default)]
    pub appid: Option<String>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Claims {
    /// The calling application: `azp` (v2) or `appid` (v1).
    pub fn client_id(&self) -> Option<&str> {
        self.azp.as_deref().or(self.appid.as_deref())
    }

    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scp.as_deref().unwrap_or("").split_ascii_whitespace()
    }
}

pub struct Validator {
    issuers: IssuerPolicy,
    audiences: Vec<String>,
    keys: Arc<dyn KeySource>,
    leeway_secs: i64,
    requirement: Option<Requirement>,
}

impl Validator {
    /// A validator for one issuer and the API's audiences (its appId and/or identifier URIs).
    pub fn new(issuer: String, audiences: Vec<String>, keys: impl KeySource + 'static) -> Self {
        Self::with_policy(IssuerPolicy::Exact(vec![issuer]), audiences, Arc::new(keys))
    }

    pub fn with_policy(issuers: IssuerPolicy, audiences: Vec<String>, keys: Arc<dyn KeySource>) -> Self {
        Self {
            issuers,
            audiences,
            keys,
            leeway_secs: 60,
            requirement: None,
        }
    }

    /// Clock skew tolerated on `exp` and `nbf`, capped at five minutes.
    pub fn leeway(mut self, secs: i64) -> Self {
        self.leeway_secs = secs.clamp(0, 300);
        self
    }

    pub fn require(mut self, r: Requirement) -> Self {
        self.requirement = Some(r);
        self
    }

    /// Validates `token` at time `now`.
    pub async fn validate(&self, token: &str, now: OffsetDateTime) -> Result<Claims, ValidationError> {
        let claims = self.authenticate(token, now).await?;
        self.authorize(&claims)?;
        Ok(claims)
    }

    /// Steps 1–7: everything that makes the token trustworthy (failures are 401).
    pub async fn authenticate(&self, token: &str, now: OffsetDateTime) -> Result<Claims, ValidationError> {
        // 1. Compact JWS, bounded in size.
        let jws = ParsedJws::parse(token).map_err(|_| ValidationError::Malformed)?;
        // 2. The algorithm comes from our allow-list, never from the header alone (RFC 8725 §3.1).
        if SignatureAlgorithm::from_header(&jws.header.alg) != Some(SignatureAlgorithm::Rs256) {
            return Err(ValidationError::Algorithm);
        }
        // 3. The key named by `kid` (Entra: `kid == x5t`), from the issuer's published set only.
        let kid = jws
            .header
            .kid
            .as_deref()
            .or(jws.header.x5t.as_deref())
            .ok_or(ValidationError::UnknownKey)?;
        let jwk = self.keys.key(kid).await?.ok_or(ValidationError::UnknownKey)?;
        if jwk.kty != "RSA" || jwk.alg.as_deref().is_some_and(|a| a != "RS256") {
            return Err(ValidationError::UnknownKey);
        }
        // 4. Signature.
        let n = jwk
            .n
            .as_deref()
            .and_then(b64url_decode)
            .ok_or(ValidationError::UnknownKey)?;
        let e = jwk
            .e
            .as_deref()
            .and_then(b64url_decode)
            .ok_or(ValidationError::UnknownKey)?;
        jws.verify_rsa(&n, &e, &[SignatureAlgorithm::Rs256])
            .map_err(|_| ValidationError::Signature)?;
        let claims: Claims = serde_json::from_slice(&jws.payload).map_err(|_| ValidationError::Malformed)?;
        // 5. Issuer, and the key's own issuer where the key names one (entra-protocol.md §1.5).
        self.check_issuer(&claims)?;
        if let Some(key_iss) = &jwk.issuer {
            let tid = claims.tid.as_deref().unwrap_or("");
            if key_iss.replace("{tenantid}", tid) != claims.iss {
                return Err(ValidationError::Issuer);
            }
        }
        // 6. Audience.
        if !self.audiences.iter().any(|a| a == &claims.aud) {
            return Err(ValidationError::Audience);
        }
        // 7. Lifetime.
        let now = now.unix_timestamp() as f64;
        let leeway = self.leeway_secs as f64;
        if now >= claims.exp + leeway {
            return Err(ValidationError::Expired);
        }
        if claims.nbf.is_some_and(|nbf| now + leeway < nbf) {
            return Err(ValidationError::NotYetValid);
        }
        Ok(claims)
    }

    /// Step 8: the required role or scope (failure is 403).
    pub fn authorize(&self, claims: &Claims) -> Result<(), ValidationError> {
        let has_role = |want: &[String]| claims.roles.iter().any(|r| want.contains(r));
        let has_scope = |want: &[String]| claims.scopes().any(|s| want.iter().any(|w| w == s));
        let ok = match &self.requirement {
            None => true,
            Some(Requirement::AnyRole(r)) => has_role(r),
            Some(Requirement::AnyScope(s)) => has_scope(s),
            Some(Requirement::AnyRoleOrScope(r, s)) => has_role(r) || has_scope(s),
        };
        if ok {
            Ok(())
        } else {
            Err(ValidationError::Forbidden)
        }
    }

    fn check_issuer(&self, claims: &Claims) -> Result<(), ValidationError> {
        match &self.issuers {
            IssuerPolicy::Exact(list) => list.iter().any(|i| i == &claims.iss).then_some(()),
            IssuerPolicy::Template { templates, tenants } => {
                let tid = claims.tid.as_deref().ok_or(ValidationError::Issuer)?;
                let is_guid = tid.len() == 36 && uuid_like(tid);
                let allowed = tenants
                    .as_ref()
                    .is_none_or(|t| t.iter().any(|x| x.eq_ignore_ascii_case(tid)));
                (is_guid
                    && allowed
                    && templates
                        .iter()
                        .any(|t| t.replace("{tenantid}", tid) == claims.iss))
                .then_some(())
            }
        }
        .ok_or(ValidationError::Issuer)
    }
}

fn uuid_like(s: &str) -> bool {
    s.char_indices().all(|(i, c)| {
        if matches!(i, 8 | 13 | 18 | 23) {
            c == '-'
        } else {
            c.is_ascii_hexdigit()
        }
    })
}
