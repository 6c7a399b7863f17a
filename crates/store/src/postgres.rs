//! PostgreSQL, for operators running several nodes: default durability, statement and pool timeouts so
//! that a stalled database becomes a fast failure (and a 503) rather than a hang, and LISTEN/NOTIFY so
//! other nodes reload at once instead of at their next poll.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::store::StoreError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::postgres::PgListener;
use sqlx::{ConnectOptions, Executor};
use tokio::sync::Notify;

use crate::db::{map_err, Flavor, SqlStore};

/// The channel every write notifies (delivered at commit).
const CHANNEL: &str = "gatehouse_directory";

impl SqlStore {
    /// Connects and brings the schema up to date (migrations take an advisory lock, so several nodes
    /// starting together migrate once).
    pub async fn postgres(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let opts: AnyConnectOptions = url
            .parse::<AnyConnectOptions>()
            .map_err(map_err)?
            .log_statements(tracing::log::LevelFilter::Trace);
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(3))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("SET statement_timeout = 5000").await?;
                    Ok(())
                })
            })
            .connect_with(opts.clone())
            .await;
        let Ok(pool) = pool else {
            return Err(unreachable(url, &opts).await);
        };
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration: {e}")))?;
        let changed = Arc::new(Notify::new());
        let listener = tokio::spawn(listen(url.to_string(), Arc::clone(&changed))).abort_handle();
        Ok(Self {
            pool,
            flavor: Flavor {
                // READ COMMITTED would let each statement of a directory load see a different state.
                begin_read: "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY",
                notify: Some("SELECT pg_notify('gatehouse_directory', '')"),
                on_close: None,
                json_rows: "json_array_elements($1::json) AS r",
                json_element: "r ->> ",
            },
            changed,
            listener: Some(listener),
        })
    }
}

/// Why PostgreSQL cannot be reached, with its host and port and the driver's own reason (a pool
/// only says that it timed out, so one direct connection is tried for the reason). The URL's
/// password is never part of the message.
async fn unreachable(url: &str, opts: &AnyConnectOptions) -> StoreError {
    let (host, port) = url::Url::parse(url)
        .map(|u| {
            (
                u.host_str().unwrap_or("localhost").to_string(),
                u.port().unwrap_or(5432),
            )
        })
        .unwrap_or_else(|_| ("localhost".into(), 5432));
    let reason = match tokio::time::timeout(Duration::from_secs(3), opts.connect()).await {
        Ok(Ok(_)) => "it accepted a connection only after the pool gave up; try again".to_string(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "no answer within 3 seconds".to_string(),
    };
    StoreError::Unavailable(format!("cannot connect to PostgreSQL at {host}:{port}: {reason}"))
}

/// Forwards NOTIFYs on [`CHANNEL`] to `changed`. Reconnects after failures; meanwhile the watcher's
/// polling keeps nodes fresh, so a broken listener only costs latency.
async fn listen(url: String, changed: Arc<Notify>) {
    loop {
        let mut listener = match PgListener::connect(&url).await {
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
