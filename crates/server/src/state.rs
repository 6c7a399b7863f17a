//! What every handler shares: the store, this node's directory snapshot, the public URL, readiness.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use gatehouse_core::flows::Policies;
use gatehouse_core::store::Store;
use gatehouse_core::Directory;
use gatehouse_validate::Validator;

use crate::federation::FederationKeys;
use crate::passwords::PasswordPool;
use crate::replay::ReplayLedger;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub directory: Arc<Directory>,
    /// Public base URL, no trailing slash: the host of every issuer and endpoint.
    pub base_url: Arc<str>,
    /// Validates bearer tokens at `/v1.0`.
    pub graph_validator: Arc<Validator>,
    /// Cleared when shutdown begins, so load balancers stop sending work.
    pub accepting: Arc<AtomicBool>,
    /// How client assertions, password sign-ins and a user's tokens are judged.
    pub policies: Policies,
    /// Keys of external issuers trusted by federated identity credentials.
    pub federation: Arc<FederationKeys>,
    /// Records used client-assertion ids, many per commit.
    pub replay: ReplayLedger,
    /// Hashes and checks user passwords off the async runtime.
    pub passwords: PasswordPool,
    /// Seals the portal's session and sign-in cookies.
    pub portal: Arc<crate::routes::portal::PortalSealer>,
    /// Seals the authorization request the sign-in pages carry.
    pub sealer: Arc<crate::routes::signin::FlowSealer>,
    /// The `Strict-Transport-Security` value every response carries, if any (`settings::hsts`).
    pub hsts: Option<Arc<str>>,
    /// How long a request body may pause between its parts (`--body-timeout`).
    pub body_timeout: std::time::Duration,
    /// Whether the store answered and took a write lately (`readiness`).
    pub readiness: Arc<crate::readiness::StoreReadiness>,
    /// Request and grant counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The gates and rate limits every request passes (`admission`).
    pub admission: Arc<crate::admission::Admission>,
    /// Takes every token request for the sign-in log (`sign_in_log`).
    pub sign_ins: crate::sign_in_log::SignInLog,
    /// Whether Graph writes are audited (`--audit-log-days` above 0).
    pub audit: bool,
}

impl AppState {
    pub fn is_accepting(&self) -> bool {
        self.accepting.load(Ordering::Acquire)
    }

    /// Applies this node's own write to its directory at once, so the next request sees it.
    pub async fn refresh(&self) {
        if let Err(e) = self.directory.sync().await {
            tracing::warn!(error = %e, "catching up after a write failed; the watcher will retry");
        }
    }
}
