//! Keeps this node's directory in step with the store: reads the change feed every 250 ms, and at once
//! when the store signals a change (PostgreSQL NOTIFY), and drops what another node or an offline
//! command changed; changes are in force everywhere within a second. While the store does not answer,
//! the directory goes stale and decisions fail closed.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::store::Store;
use gatehouse_core::Directory;

pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

pub fn spawn(store: Arc<dyn Store>, directory: Arc<Directory>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            tokio::select! {
                () = tokio::time::sleep(POLL_INTERVAL) => {}
                () = store.changed() => {}
            }
            match directory.sync().await {
                Ok(moved) => {
                    if failing {
                        tracing::info!("the store answers again");
                    }
                    if moved {
                        tracing::debug!(position = directory.position(), "directory caught up");
                    }
                    failing = false;
                }
                Err(e) => {
                    if !failing {
                        tracing::error!(error = %e, "the store does not answer; failing closed until it does");
                    }
                    failing = true;
                }
            }
        }
    })
}
