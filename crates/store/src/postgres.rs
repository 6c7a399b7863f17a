//! PostgreSQL, for operators running several nodes: default durability, statement and pool timeouts so
//! that a stalled database becomes a fast failure (and a 503) rather than a hang.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Pool, Postgres};

pub struct PostgresStore {
    pool: Pool<Postgres>,
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
        Ok(Self { pool })
    }

    pub async fn shutdown(&self) {
        self.pool.close().await;
    }
}

// READ COMMITTED would let each statement of a directory load see a different state.
crate::sql::sql_store!(
    PostgresStore,
    Postgres,
    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"
);
