//! The embedded default: one SQLite file in WAL mode with `synchronous=FULL` (a committed change
//! survives power loss, security-requirements.md §5.2), foreign keys on, a busy timeout, mode 0600.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::store::StoreError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{ConnectOptions, Executor};
use tokio::sync::Notify;

use crate::db::{map_err, Flavor, SqlStore};

/// Every connection gets these, before any statement of ours.
const PRAGMAS: [&str; 4] = [
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 5000",
];

impl SqlStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn sqlite(path: &Path) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Unavailable(format!("{}: {e}", dir.display())))?;
            writable(dir)?;
        }
        let absolute = std::path::absolute(path)
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.display())))?;
        let mut url = url::Url::from_file_path(&absolute)
            .map_err(|_| StoreError::Unavailable(format!("{}: not a usable path", path.display())))?;
        url.set_query(Some("mode=rwc"));
        let url = format!("sqlite://{}", &url[url::Position::BeforePath..]);
        let opts: AnyConnectOptions = url
            .parse::<AnyConnectOptions>()
            .map_err(map_err)?
            .log_statements(tracing::log::LevelFilter::Trace);
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    for pragma in PRAGMAS {
                        conn.execute(pragma).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .map_err(map_err)?;
        restrict_permissions(path);
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration: {e}")))?;
        Ok(Self {
            pool,
            flavor: Flavor {
                // A read transaction in SQLite is already a consistent snapshot.
                begin_read: "SELECT 1",
                // Other processes' writes are seen by polling the revision only.
                notify: None,
                on_close: Some("PRAGMA wal_checkpoint(TRUNCATE)"),
                json_rows: "json_each($1)",
                json_element: "value ->> ",
            },
            changed: Arc::new(Notify::new()),
            listener: None,
        })
    }
}

/// SQLite writes its journal beside the file, so the folder must take writes. Said at once, in words,
/// rather than after the pool's connect timeout as "unable to open database file".
fn writable(dir: &Path) -> Result<(), StoreError> {
    let probe = dir.join(".gatehouse-write-check");
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| {
            StoreError::Unavailable(format!(
                "{}: the data folder cannot be written ({e}); the database and its journal live there",
                dir.display()
            ))
        })
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
