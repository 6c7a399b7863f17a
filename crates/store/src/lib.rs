//! SQLite (the embedded default) and PostgreSQL implementations of core's store traits.
//!
//! Both run the same portable SQL, expanded per backend by [`sql_store!`], so the two cannot drift;
//! what differs (connection setup, migrations, read isolation) is in `sqlite.rs` and `postgres.rs`.
//! Every write transaction starts by bumping the revision row, which takes the write lock first
//! (SQLite's `BEGIN IMMEDIATE` effect, one writer at a time on PostgreSQL) and tells every node's
//! directory watcher that something changed. Placeholders appear in ascending order in every
//! statement, because SQLite numbers `$N` parameters by first appearance.

mod codec;
mod postgres;
mod sql;
mod sql_credentials;
mod sqlite;
pub mod testing;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use gatehouse_core::store::{Conflict, Store, StoreError};

/// Opens the store a URL names: `postgres://…` or `sqlite:PATH` / a plain path.
pub async fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Box::new(PostgresStore::connect(url).await?))
    } else {
        let path = url.strip_prefix("sqlite:").unwrap_or(url);
        Ok(Box::new(SqliteStore::open(std::path::Path::new(path)).await?))
    }
}

/// Maps a database error onto the store's error kinds: the one conversion from the driver's error.
/// Constraint violations are the caller's doing; everything else means the database is not answering
/// as it should, and callers fail closed. The database's own words go to the log, never further.
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) => match db.kind() {
            sqlx::error::ErrorKind::UniqueViolation => {
                tracing::debug!(detail = db.message(), "unique constraint");
                StoreError::Conflict(Conflict::Key)
            }
            sqlx::error::ErrorKind::ForeignKeyViolation => {
                StoreError::MissingReference(db.message().to_string())
            }
            _ => StoreError::Unavailable(db.message().to_string()),
        },
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::ColumnNotFound(_) => {
            StoreError::Corrupt(e.to_string())
        }
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// [`map_err`], naming the uniqueness rule the statement guards when it is a unique violation.
pub(crate) fn conflict_as(e: sqlx::Error, rule: impl FnOnce() -> Conflict) -> StoreError {
    match map_err(e) {
        StoreError::Conflict(Conflict::Key) => StoreError::Conflict(rule()),
        other => other,
    }
}
