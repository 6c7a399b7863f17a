//! The sign-in log's writer. The token endpoint hands each attempt over without waiting
//! ([`SignInLog::record`]); one task per node looks up the names it needs (from the directory's
//! caches) and stores every attempt waiting in one statement, so issuing a token never waits on the
//! log. An attempt whose tenant is unknown (a refusal at `/common` or a tenant that does not exist) has
//! no log to go to and is not recorded. If the writer falls behind by more than [`QUEUE`] attempts,
//! the newest are dropped and counted (`gatehouse_sign_in_log_dropped_total`), never queued without
//! bound.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gatehouse_core::audit::{SignInAttempt, SignInEntry, SignInNames};
use gatehouse_core::Directory;
use gatehouse_proto::tenant::TenantSegment;
use gatehouse_proto::{AppId, TenantId};
use tokio::sync::mpsc;

/// Attempts waiting for the writer, at most.
pub const QUEUE: usize = 8192;
/// Most attempts in one statement.
const MAX_BATCH: usize = 500;

#[derive(Clone)]
pub struct SignInLog {
    tx: Option<mpsc::Sender<SignInAttempt>>,
    dropped: Arc<AtomicU64>,
}

impl SignInLog {
    /// The writer, or a log that records nothing when `enabled` is false (`--sign-in-log-days 0`).
    pub fn spawn(directory: Arc<Directory>, enabled: bool) -> Self {
        let dropped = Arc::new(AtomicU64::new(0));
        if !enabled {
            return Self { tx: None, dropped };
        }
        let (tx, mut rx) = mpsc::channel::<SignInAttempt>(QUEUE);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let mut entries = Vec::with_capacity(batch.len());
                for attempt in batch.drain(..) {
                    if let Some(entry) = entry(&directory, attempt).await {
                        entries.push(entry);
                    }
                }
                if let Err(e) = directory.store().record_sign_ins(&entries).await {
                    tracing::warn!(error = %e, lost = entries.len(), "could not record sign-ins");
                }
            }
        });
        Self {
            tx: Some(tx),
            dropped,
        }
    }

    /// Hands an attempt to the writer; never waits.
    pub fn record(&self, attempt: SignInAttempt) {
        if let Some(tx) = &self.tx {
            if tx.try_send(attempt).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Attempts dropped because the writer was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The attempt as a record of its tenant's log, with the names the directory knows.
async fn entry(directory: &Directory, attempt: SignInAttempt) -> Option<SignInEntry> {
    let tenant_id = match &attempt.outcome {
        Ok(s) => s.tenant_id,
        Err(_) => tenant_of(directory, &attempt)?,
    };
    let mut names = SignInNames::default();
    if let Some(app_id) = AppId::parse(&attempt.client_id) {
        if let Ok(Some(sp)) = directory.service_principal(tenant_id, app_id).await {
            names.app_display_name = Some(sp.sp.display_name.clone());
            names.service_principal_id = Some(sp.sp.id.to_string());
        }
    }
    if let Some(user_id) = attempt.outcome.as_ref().ok().and_then(|s| s.user_id) {
        if let Ok(Some(u)) = directory.store().get_user(tenant_id, user_id).await {
            names.user_display_name = Some(u.user.display_name);
            names.user_principal_name = Some(u.user.user_principal_name);
        }
    }
    Some(SignInEntry {
        tenant_id,
        record: attempt.record(names),
    })
}

/// The tenant a refusal belongs to: the one the `{tenant}` segment names, or at `/organizations` the
/// one holding the domain of a password grant's username.
fn tenant_of(directory: &Directory, attempt: &SignInAttempt) -> Option<TenantId> {
    let tenants = directory.tenants();
    let seg = TenantSegment::parse(&attempt.tenant).ok()?;
    let by_name = || attempt.username.as_deref().and_then(|u| tenants.of_user(u));
    tenants.resolve(&seg).or_else(by_name).map(|t| t.id)
}
