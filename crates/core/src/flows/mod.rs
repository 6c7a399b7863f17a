//! The token endpoint's pipeline (ARCHITECTURE.md "How a request flows"). The form is parsed once into
//! a [`TokenRequest`], one variant per grant; [`issue`] fetches what needs the network (an external
//! issuer's key) through [`IssuerKeys`], then runs the grant's module, a pure function of the
//! snapshot, the request and the time. The grant returns an [`Issued`]: the token to send and the
//! single-use records the server commits before it answers. No grant writes to the store itself.
//!
//! Adding a grant is one module here and one variant of [`TokenRequest`] (with its arm in
//! [`TokenRequest::parse`] and [`issue`]).

pub mod assertion;
pub mod client_auth;
pub mod client_credentials;
pub mod mint;

use async_trait::async_trait;
use gatehouse_proto::tenant::TenantSegment;
use gatehouse_proto::token::{Secret, TokenForm};
pub use gatehouse_proto::Version;
use time::OffsetDateTime;

use self::assertion::{AssertionPolicy, ReplayGuard};
use self::client_auth::{ClientParameters, PresentedClient};
use self::client_credentials::ClientCredentialsRequest;
use self::mint::MintedToken;
use crate::{CoreError, Directory, Snapshot};

/// Where a request arrived and the server's settings for judging it: the same for every grant.
#[derive(Debug, Clone)]
pub struct TokenContext {
    /// Which token endpoint was called: v1 (`/oauth2/token`) or v2 (`/oauth2/v2.0/token`).
    pub endpoint: Version,
    /// The `{tenant}` path segment, parsed.
    pub tenant: TenantSegment,
    /// The segment as sent, for error messages.
    pub tenant_raw: String,
    /// This server's public URL (the issuer's host).
    pub base_url: String,
    pub assertion_policy: AssertionPolicy,
}

impl TokenContext {
    /// Parses the tenant segment first, as Entra does: a malformed one is refused before the body.
    pub fn new(
        endpoint: Version,
        tenant_raw: &str,
        base_url: &str,
        assertion_policy: AssertionPolicy,
    ) -> Result<Self, CoreError> {
        let tenant =
            TenantSegment::parse(tenant_raw).map_err(|m| CoreError::MalformedTenant { tenant: m.0 })?;
        Ok(Self {
            endpoint,
            tenant,
            tenant_raw: tenant_raw.to_string(),
            base_url: base_url.to_string(),
            assertion_policy,
        })
    }
}

/// A token request, one variant per grant (RFC 6749 §4.4 and Entra's grants, entra-protocol.md §2).
#[derive(Debug, Clone)]
pub enum TokenRequest {
    ClientCredentials(ClientCredentialsRequest),
}

impl TokenRequest {
    /// Reads the form once: the client's authentication (body or HTTP Basic), then the grant and its
    /// parameters.
    pub fn parse(form: TokenForm, basic: Option<(String, Secret)>) -> Result<Self, CoreError> {
        let params = ClientParameters {
            client_id: form.client_id.as_deref(),
            client_secret: form.client_secret.as_ref(),
            client_assertion: form.client_assertion.as_ref(),
            client_assertion_type: form.client_assertion_type.as_deref(),
        };
        let client = PresentedClient::from_request(params, basic)?;
        match form.grant_type.as_deref() {
            None | Some("") => Err(CoreError::MissingParameter { name: "grant_type" }),
            Some("client_credentials") => Ok(Self::ClientCredentials(ClientCredentialsRequest {
                client,
                scope: form.scope,
                resource: form.resource,
            })),
            Some(other) => Err(CoreError::UnsupportedGrantType {
                grant_type: other.chars().take(100).collect(),
            }),
        }
    }

    /// The client every grant authenticates.
    fn client_mut(&mut self) -> &mut PresentedClient {
        match self {
            Self::ClientCredentials(r) => &mut r.client,
        }
    }
}

/// A decided request: the token to send, and what must be durable before it is sent.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: MintedToken,
    /// The resource as the request named it (v1 responses echo it).
    pub resource: String,
    /// Records to commit, in order, before the response leaves (commit, then respond).
    pub single_use: Vec<SingleUse>,
}

/// A record that makes something usable once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SingleUse {
    /// A client assertion's `jti` (OIDC Core §9): recording it fails if it was recorded before.
    AssertionId(ReplayGuard),
}

/// The signing keys of external issuers (federated credentials), which only the server can fetch.
#[async_trait]
pub trait IssuerKeys: Send + Sync {
    /// The RSA key (`n`, `e`) that `issuer` publishes under `kid`; `None` if it cannot be had.
    async fn rsa_key(&self, issuer: &str, kid: &str) -> Option<(Vec<u8>, Vec<u8>)>;
}

/// Runs a token request through its grant. `clock` is read when the decision is made, and again
/// only if the request first waited on an external issuer.
pub async fn issue(
    directory: &Directory,
    issuer_keys: &dyn IssuerKeys,
    mut req: TokenRequest,
    ctx: &TokenContext,
    clock: impl Fn() -> OffsetDateTime,
) -> Result<Issued, CoreError> {
    let mut snap = prefetch(directory, &req, ctx).await?;
    if client_auth::fetch_federated_key(&snap, issuer_keys, req.client_mut()).await {
        // Fetching an external issuer's keys can take a while: decide on fresh entries.
        snap = prefetch(directory, &req, ctx).await?;
    }
    let now = clock();
    match &req {
        TokenRequest::ClientCredentials(r) => client_credentials::issue(&snap, ctx, r, now),
    }
}

/// The entries the request's grant reads, from the node's caches or, on a miss, the store.
async fn prefetch(
    directory: &Directory,
    req: &TokenRequest,
    ctx: &TokenContext,
) -> Result<Snapshot, CoreError> {
    let snap = directory.snapshot()?;
    let filled = match req {
        TokenRequest::ClientCredentials(r) => client_credentials::prefetch(directory, snap, ctx, r).await,
    };
    filled.map_err(|e| {
        // The watcher reports an outage once; a request that meets it answers 503.
        tracing::debug!(error = %e, "the store failed while a token request read the directory");
        CoreError::Unavailable
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> TokenForm {
        TokenForm::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn the_form_is_parsed_once_into_its_grant() {
        let f = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("client_secret", "s"),
            ("scope", "api://x/.default"),
        ]);
        let TokenRequest::ClientCredentials(r) = TokenRequest::parse(f, None).unwrap();
        assert_eq!(
            (r.client.client_id.as_str(), r.scope.as_deref()),
            ("app", Some("api://x/.default"))
        );
        let code = |pairs: &[(&str, &str)]| TokenRequest::parse(form(pairs), None).unwrap_err().aadsts();
        assert_eq!(code(&[("client_id", "app")]), 900144, "no grant_type");
        assert_eq!(code(&[("client_id", "app"), ("grant_type", "magic")]), 70003);
        assert_eq!(
            code(&[("grant_type", "client_credentials")]),
            900144,
            "no client_id"
        );
    }

    #[test]
    fn a_malformed_tenant_is_refused_before_anything_else() {
        let e = TokenContext::new(
            Version::V2,
            "not a tenant!",
            "https://h",
            AssertionPolicy::default(),
        )
        .unwrap_err();
        assert_eq!(e.aadsts(), 900023);
    }
}
