//! The sign-in log's writer. The token endpoint hands each attempt over without waiting
//! ([`SignInLog::record`]); one task per node gathers them for up to [`GATHER`], looks up the names
//! it needs (from the directory's caches) and stores them in one statement, so issuing a token never
//! waits on the log and the log costs a commit a fifth of a second, not one per request. An attempt whose tenant is unknown (a refusal at `/common` or a tenant that does not exist) has
//! no log to go to and is not recorded. If the writer falls behind by more than [`QUEUE`] attempts,
//! the newest are dropped and counted (`gatehouse_sign_in_log_dropped_total`), never queued without
//! bound.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gatehouse_core::audit::{SignInAttempt, SignInEntry, SignInNames};
use gatehouse_core::Directory;
use gatehouse_proto::tenant::TenantSegment;
use gatehouse_proto::{AppId, TenantId};
use tokio::sync::{mpsc, oneshot};

/// Attempts waiting for the writer, at most.
pub const QUEUE: usize = 8192;
/// How long the writer gathers attempts after the first of a batch: a commit (and its fsync) a
/// fifth of a second at most, however fast tokens are issued, instead of one per few requests.
const GATHER: std::time::Duration = std::time::Duration::from_millis(200);

#[derive(Clone)]
pub struct SignInLog {
    tx: Option<mpsc::Sender<Message>>,
    dropped: Arc<AtomicU64>,
}

enum Message {
    Attempt(Box<SignInAttempt>),
    /// Store everything before this now, then answer (a node draining before it stops).
    Flush(oneshot::Sender<()>),
}

impl SignInLog {
    /// The writer, or a log that records nothing when `enabled` is false (`--sign-in-log-days 0`).
    pub fn spawn(directory: Arc<Directory>, enabled: bool) -> Self {
        let dropped = Arc::new(AtomicU64::new(0));
        if !enabled {
            return Self { tx: None, dropped };
        }
        let (tx, mut rx) = mpsc::channel::<Message>(QUEUE);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(QUEUE);
            while rx.recv_many(&mut batch, QUEUE).await > 0 {
                // Gather what comes in the next moment too: one commit for all of it.
                if !batch.iter().any(|m| matches!(m, Message::Flush(_))) {
                    tokio::time::sleep(GATHER).await;
                }
                while batch.len() < QUEUE {
                    match rx.try_recv() {
                        Ok(m) => batch.push(m),
                        Err(_) => break,
                    }
                }
                let mut entries = Vec::with_capacity(batch.len());
                let mut flushed = Vec::new();
                for m in batch.drain(..) {
                    match m {
                        Message::Attempt(a) => entries.extend(entry(&directory, *a).await),
                        Message::Flush(done) => flushed.push(done),
                    }
                }
                if let Err(e) = directory.store().record_sign_ins(&entries).await {
                    tracing::warn!(error = %e, lost = entries.len(), "could not record sign-ins");
                }
                for done in flushed {
                    let _ = done.send(());
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
            if tx.try_send(Message::Attempt(Box::new(attempt))).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Stores every attempt handed over so far (for at most five seconds): the last step of a drain.
    pub async fn flush(&self) {
        let Some(tx) = &self.tx else { return };
        let (done, stored) = oneshot::channel();
        let flush = async {
            if tx.send(Message::Flush(done)).await.is_ok() {
                let _ = stored.await;
            }
        };
        if tokio::time::timeout(std::time::Duration::from_secs(5), flush)
            .await
            .is_err()
        {
            tracing::warn!("the sign-in log did not finish storing before shutdown");
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
