//! Keys of the external issuers that federated identity credentials trust, fetched through each
//! issuer's OIDC discovery document and JWKS, and cached per issuer (crates/validate's RemoteKeys:
//! refetched on an unknown `kid`, at most once per cool-down). Only issuers that an application's
//! registered credential names are ever contacted, never one an assertion merely claims.

use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_validate::{KeySource, RemoteKeys};
use tokio::sync::Mutex;

pub struct FederationKeys {
    /// Extra trusted root for issuers on a private CA (another Gatehouse, a test issuer).
    ca_pem: Option<Vec<u8>>,
    issuers: Mutex<HashMap<String, Arc<RemoteKeys>>>,
}

impl FederationKeys {
    pub fn new(ca_pem: Option<Vec<u8>>) -> Self {
        Self {
            ca_pem,
            issuers: Mutex::new(HashMap::new()),
        }
    }

    /// The RSA key (`n`, `e`) that `issuer` publishes under `kid`; `None` if it cannot be had.
    pub async fn rsa_key(&self, issuer: &str, kid: &str) -> Option<(Vec<u8>, Vec<u8>)> {
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

    async fn source(&self, issuer: &str) -> Option<Arc<RemoteKeys>> {
        let mut issuers = self.issuers.lock().await;
        if let Some(s) = issuers.get(issuer) {
            return Some(Arc::clone(s));
        }
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
        let remote = Arc::new(remote);
        issuers.insert(issuer.to_string(), Arc::clone(&remote));
        Some(remote)
    }
}
