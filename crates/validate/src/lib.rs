//! Validation of Entra-style access tokens for resource servers (APIs), as the identity platform's guides
//! list it: signature from the issuer's JWKS, issuer (exact, or the `{tenantid}` template of multi-tenant
//! APIs), audience, lifetime with a small skew, and the required app roles or delegated scopes.
//! Failures are typed: [`ValidationError::status`] says 401 (no valid token) or 403 (valid token,
//! missing permission). Depends on `gatehouse-proto` and `gatehouse-jose` only, plus an HTTP client.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use gatehouse_validate::{RemoteKeys, Requirement, Validator};
//! let keys = RemoteKeys::discover("https://localhost:8443/<tenant-id>/v2.0", None).await?;
//! let validator = Validator::new(keys.issuer().to_string(), vec!["api://my-api".into()], keys)
//!     .require(Requirement::AnyRole(vec!["Reports.Read".into()]));
//! let claims = validator.validate("eyJ0…", time::OffsetDateTime::now_utc()).await?;
//! # Ok(()) }
//! ```

mod keys;
mod validator;

#[cfg(feature = "axum")]
pub mod extract;

pub use keys::{KeyFuture, KeySource, RemoteKeys, StaticKeys};
pub use validator::{Claims, IssuerPolicy, Requirement, ValidationError, Validator};
