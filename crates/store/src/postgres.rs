//! PostgreSQL, for operators running several nodes: default durability, statement and pool timeouts so
//! that a stalled database becomes a fast failure (and a 503) rather than a hang.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{ConnectOptions, Pool, Postgres};
use tokio::sync::Notify;

/// The channel every write notifies (delivered at commit), so other nodes reload at once instead of at
/// their next poll.
const CHANNEL: &str = "gatehouse_directory";

pub struct PostgresStore {
    pool: Pool<Postgres>,
    /// Signalled by the listener task on each NOTIFY.
    changed: Arc<Notify>,
    listener: tokio::task::AbortHandle,
}

impl PostgresStore {
    /// Connects and brings the schema up to date (migrations take an advisory lock, so several nodes
    /// starting together migrate once).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let opts: PgConnectOptions = url
            .parse::<PgConnectOptions>()
            .map_err(map_err)?
            .options([("statement_timeout", "5000")])
            .log_statements(tracing::log::LevelFilter::Trace);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(opts)
            .await
            .map_err(map_err)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration: {e}")))?;
        let changed = Arc::new(Notify::new());
        let listener = tokio::spawn(listen(pool.clone(), Arc::clone(&changed))).abort_handle();
        Ok(Self {
            pool,
            changed,
            listener,
        })
    }

    async fn wait_for_change(&self) {
        self.changed.notified().await;
    }

    pub async fn shutdown(&self) {
        self.listener.abort();
        self.pool.close().await;
    }
}

/// Forwards NOTIFYs on [`CHANNEL`] to `changed`. Reconnects after failures; meanwhile the watcher's
/// polling keeps nodes fresh, so a broken listener only costs latency.
async fn listen(pool: Pool<Postgres>, changed: Arc<Notify>) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(error = %e, "change listener cannot connect; polling only for now");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if listener.listen(CHANNEL).await.is_err() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        while listener.recv().await.is_ok() {
            // One permit is kept if the watcher is busy, so a change is never slept through.
            changed.notify_one();
        }
    }
}

// READ COMMITTED would let each statement of a directory load see a different state.
crate::sql::sql_store!(
    PostgresStore,
    Postgres,
    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY",
    Some("SELECT pg_notify('gatehouse_directory', '')")
);
crate::sql_credentials::sql_credential_store!(PostgresStore, Postgres);
