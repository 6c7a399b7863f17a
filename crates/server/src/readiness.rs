//! Whether this node should be sent work: a task proves every second that the store answers and takes
//! a write (`Store::ping`), and `/health/ready` reads the last result, so readiness answers in
//! microseconds however busy the node or its store pool is, and turns 503 within about two seconds of
//! the store failing (unreachable, a full disk, a read-only file) and 200 within a second of it
//! recovering.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_core::store::Store;

/// How often the store is proven.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// How long one proof may take before it counts as a failure.
const TIMEOUT: Duration = Duration::from_secs(2);
/// How old the last good proof may be before the node is not ready (a stalled proof, say).
const STALE: Duration = Duration::from_secs(4);

/// The last proof's outcome.
pub struct StoreReadiness {
    start: Instant,
    /// Milliseconds after `start` of the last good proof.
    last_good: AtomicU64,
    failing: AtomicBool,
}

impl StoreReadiness {
    /// Ready until proven otherwise (the store was opened and bootstrapped just before).
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            last_good: AtomicU64::new(0),
            failing: AtomicBool::new(false),
        })
    }

    /// Whether the store answered and took a write within the last few seconds.
    pub fn ready(&self) -> bool {
        // A proof recorded between reading the clock and reading `last_good` is newer than "now":
        // its age is zero, not an underflow.
        let now = self.start.elapsed().as_millis() as u64;
        let age = now.saturating_sub(self.last_good.load(Ordering::Acquire));
        !self.failing.load(Ordering::Acquire) && age <= STALE.as_millis() as u64
    }

    fn record(&self, ok: bool) {
        if ok {
            let now = self.start.elapsed().as_millis() as u64;
            self.last_good.store(now, Ordering::Release);
        }
        let was = self.failing.swap(!ok, Ordering::AcqRel);
        match (was, ok) {
            (false, false) => tracing::error!("the store cannot take a write: this node reports not ready"),
            (true, true) => tracing::info!("the store takes writes again: this node reports ready"),
            _ => {}
        }
    }
}

pub fn spawn(store: Arc<dyn Store>, readiness: Arc<StoreReadiness>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let ok = matches!(tokio::time::timeout(TIMEOUT, store.ping()).await, Ok(Ok(())));
            readiness.record(ok);
            tokio::time::sleep(INTERVAL).await;
        }
    })
}
