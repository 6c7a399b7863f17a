//! Keys of the external issuers that federated identity credentials trust, fetched through each
//! issuer's OIDC discovery document and JWKS, and cached per issuer (crates/validate's RemoteKeys:
//! refetched on an unknown `kid`, at most once per cool-down). Only issuers that an application's
//! registered credential names are ever contacted, never one an assertion merely claims.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_core::flows::IssuerKeys;
use gatehouse_validate::{KeySource, RemoteKeys};
use tokio::sync::Mutex;

/// How long an issuer whose discovery failed is not asked again, so that a registered issuer that is
/// down costs each request a quick refusal rather than a network timeout.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

enum Issuer {
    Ready(Arc<RemoteKeys>),
    Failed(Instant),
}

pub struct FederationKeys {
    /// Extra trusted root for issuers on a private CA (another Gatehouse, a test issuer).
    ca_pem: Option<Vec<u8>>,
    issuers: Mutex<HashMap<String, Issuer>>,
}

#[async_trait]
impl IssuerKeys for FederationKeys {
    async fn rsa_key(&self, issuer: &str, kid: &str) -> Option<(Vec<u8>, Vec<u8>)> {
        let source = self.source(issuer).await?;
        let jwk = match source.key(kid).await {
            Ok(Some(k)) => k,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(issuer, error = %e, "federated issuer's keys could not be fetched");
                return None;
            }
        };
        if jwk.kty != "RSA" {
            return None;
        }
        let n = URL_SAFE_NO_PAD.decode(jwk.n.as_deref()?).ok()?;
        let e = URL_SAFE_NO_PAD.decode(jwk.e.as_deref()?).ok()?;
        Some((n, e))
    }
}

impl FederationKeys {
    pub fn new(ca_pem: Option<Vec<u8>>) -> Self {
        Self {
            ca_pem,
            issuers: Mutex::new(HashMap::new()),
        }
    }

    /// The issuer's cached keys, discovering them first if needed. The lock is not held while the
    /// network is: one slow issuer does not hold up the others.
    async fn source(&self, issuer: &str) -> Option<Arc<RemoteKeys>> {
        match self.issuers.lock().await.get(issuer) {
            Some(Issuer::Ready(s)) => return Some(Arc::clone(s)),
            Some(Issuer::Failed(at)) if at.elapsed() < RETRY_AFTER_FAILURE => return None,
            _ => {}
        }
        let found = self.discover(issuer).await;
        let entry = match &found {
            Some(remote) => Issuer::Ready(Arc::clone(remote)),
            None => Issuer::Failed(Instant::now()),
        };
        self.issuers.lock().await.insert(issuer.to_string(), entry);
        found
    }

    async fn discover(&self, issuer: &str) -> Option<Arc<RemoteKeys>> {
        let remote = match RemoteKeys::discover(issuer, self.ca_pem.as_deref()).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(issuer, error = %e, "federated issuer's discovery document could not be read");
                return None;
            }
        };
        // The document must name the issuer it was fetched for (OpenID Connect Discovery §4.3).
        if remote.issuer() != issuer {
            tracing::warn!(
                issuer,
                named = remote.issuer(),
                "federated issuer's discovery names another issuer"
            );
            return None;
        }
        Some(Arc::new(remote))
    }
}
