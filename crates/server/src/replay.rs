//! Group commit for used client-assertion ids. Every accepted certificate assertion must be recorded
//! durably before its token leaves (commit-then-respond), and with SQLite's `synchronous=FULL` each
//! commit is an fsync. One writer task per node takes every id waiting when the previous commit ends
//! and records them in one transaction, so the fsync is shared by all requests in flight.

use gatehouse_core::flows::assertion::ReplayGuard;
use gatehouse_core::store::{Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most ids in one transaction.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<bool, StoreError>>;

#[derive(Clone)]
pub struct ReplayLedger {
    tx: mpsc::Sender<(ReplayGuard, Reply)>,
}

impl ReplayLedger {
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let (tx, mut rx) = mpsc::channel::<(ReplayGuard, Reply)>(4 * MAX_BATCH);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(p) => batch.push(p),
                        Err(_) => break,
                    }
                }
                let rows: Vec<_> = batch
                    .iter()
                    .map(|(g, _)| (g.client_id.clone(), g.jti.clone(), g.until))
                    .collect();
                let result = store.record_assertions(&rows).await;
                for (i, (_, reply)) in batch.into_iter().enumerate() {
                    let answer = match &result {
                        Ok(fresh) => Ok(fresh.get(i).copied().unwrap_or(false)),
                        Err(e) => Err(e.clone()),
                    };
                    let _ = reply.send(answer);
                }
            }
        });
        Self { tx }
    }

    /// `true` if this is the id's first use; it is then committed to the store.
    pub async fn record(&self, guard: ReplayGuard) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        let closed = || StoreError::Unavailable("the replay ledger has stopped".into());
        self.tx.send((guard, reply)).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}
