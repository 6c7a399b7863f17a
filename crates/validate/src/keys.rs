//! Where verification keys come from: a fixed set ([`StaticKeys`]), or an issuer's JWKS fetched through
//! its discovery document and cached ([`RemoteKeys`]), refetched when a token names an unknown key id,
//! at most once per cool-down so that made-up key ids cannot drive traffic to the issuer.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use gatehouse_proto::jwk::{Jwk, JwkSet};
use tokio::sync::Mutex;

use crate::ValidationError;

pub type KeyFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<Jwk>, ValidationError>> + Send + 'a>>;

/// A source of verification keys by key id.
pub trait KeySource: Send + Sync {
    /// The key with `kid`, refreshing the set if the source can and may.
    fn key<'a>(&'a self, kid: &'a str) -> KeyFuture<'a>;
}

/// A key set held in memory (the server's own keys, or keys a test made); clones share the set.
#[derive(Clone, Default)]
pub struct StaticKeys {
    keys: Arc<RwLock<Vec<Jwk>>>,
}

impl StaticKeys {
    pub fn new(keys: Vec<Jwk>) -> Self {
        Self {
            keys: Arc::new(RwLock::new(keys)),
        }
    }

    /// Replaces the set (a server whose keys rotate).
    pub fn replace(&self, keys: Vec<Jwk>) {
        if let Ok(mut k) = self.keys.write() {
            *k = keys;
        }
    }
}

impl KeySource for StaticKeys {
    fn key<'a>(&'a self, kid: &'a str) -> KeyFuture<'a> {
        let found = self.keys.read().ok().and_then(|k| find(&k, kid));
        Box::pin(async move { Ok(found) })
    }
}

fn find(keys: &[Jwk], kid: &str) -> Option<Jwk> {
    keys.iter()
        .find(|k| k.kid.as_deref() == Some(kid) && k.use_.as_deref().unwrap_or("sig") == "sig")
        .cloned()
}

/// An issuer's JWKS, discovered from its OpenID configuration and cached.
pub struct RemoteKeys {
    client: reqwest::Client,
    issuer: String,
    jwks_uri: String,
    cool_down: Duration,
    state: Mutex<Cached>,
}

struct Cached {
    keys: Vec<Jwk>,
    fetched: Option<Instant>,
}

#[derive(serde::Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

impl RemoteKeys {
    /// Reads `{authority}/.well-known/openid-configuration` (authority such as
    /// `https://host/{tenant}/v2.0`). `ca_pem` adds a trusted root (a local server's CA).
    pub async fn discover(authority: &str, ca_pem: Option<&[u8]>) -> Result<Self, ValidationError> {
        let client = http_client(ca_pem)?;
        let url = format!(
            "{}/.well-known/openid-configuration",
            authority.trim_end_matches('/')
        );
        let d: Discovery = fetch_json(&client, &url).await?;
        Ok(Self::with_client(client, d.issuer, d.jwks_uri))
    }

    /// Uses a known JWKS URL directly.
    pub fn with_client(client: reqwest::Client, issuer: String, jwks_uri: String) -> Self {
        Self {
            client,
            issuer,
            jwks_uri,
            cool_down: Duration::from_secs(30),
            state: Mutex::new(Cached {
                keys: Vec::new(),
                fetched: None,
            }),
        }
    }

    /// Sets the least time between two refetches caused by unknown key ids (default 30 s).
    pub fn cool_down(mut self, d: Duration) -> Self {
        self.cool_down = d;
        self
    }

    /// The issuer the discovery document named.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
}

impl KeySource for RemoteKeys {
    fn key<'a>(&'a self, kid: &'a str) -> KeyFuture<'a> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            if let Some(k) = find(&state.keys, kid) {
                return Ok(Some(k));
            }
            if state.fetched.is_some_and(|t| t.elapsed() < self.cool_down) {
                return Ok(None);
            }
            let set: JwkSet = fetch_json(&self.client, &self.jwks_uri).await?;
            state.keys = set.keys;
            state.fetched = Some(Instant::now());
            Ok(find(&state.keys, kid))
        })
    }
}

fn http_client(ca_pem: Option<&[u8]>) -> Result<reqwest::Client, ValidationError> {
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = ca_pem {
        let cert = reqwest::Certificate::from_pem(pem)
            .map_err(|e| ValidationError::KeysUnavailable(e.to_string()))?;
        b = b.add_root_certificate(cert);
    }
    b.build()
        .map_err(|e| ValidationError::KeysUnavailable(e.to_string()))
}

async fn fetch_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
) -> Result<T, ValidationError> {
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| ValidationError::KeysUnavailable(e.to_string()))?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(ValidationError::KeysUnavailable(format!(
            "{url} answered {}",
            resp.status()
        )));
    }
    resp.json()
        .await
        .map_err(|e| ValidationError::KeysUnavailable(e.to_string()))
}
