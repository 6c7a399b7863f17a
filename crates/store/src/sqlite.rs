//! The embedded default: one SQLite file in WAL mode with `synchronous=FULL` (a committed change
//! survives power loss, security-requirements.md §5.2), foreign keys on, a busy timeout, mode 0600.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};

pub struct SqliteStore {
    pool: Pool<Sqlite>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Unavailable(format!("{}: {e}", dir.display())))?;
        }
        let opts = SqliteConnectOptions::from_str("sqlite://")
            .map_err(map_err)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(opts)
            .await
            .map_err(map_err)?;
        restrict_permissions(path);
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration: {e}")))?;
        Ok(Self { pool })
    }

    /// Other processes' writes are seen by polling the revision only.
    async fn wait_for_change(&self) {
        std::future::pending::<()>().await
    }

    /// Checkpoints the WAL into the main file (on graceful shutdown) and closes the pool.
    pub async fn shutdown(&self) {
        let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await;
        self.pool.close().await;
    }
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        tracing::warn!(path = %path.display(), error = %e, "could not restrict the database file to mode 0600");
    }
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) {}

// A read transaction in SQLite is already a consistent snapshot.
crate::sql::sql_store!(SqliteStore, Sqlite, "SELECT 1", None);
crate::sql_credentials::sql_credential_store!(SqliteStore, Sqlite);
