//! The SQLite (embedded default) and PostgreSQL implementations of core's store traits.
//!
//! There is one implementation, [`SqlStore`], over sqlx's `Any` driver: every statement is written once,
//! in plain functions, one module per aggregate (`tenants.rs`, `applications.rs`, …), and runs on
//! either database. What differs between the two is set up once when the store opens (`sqlite.rs`,
//! `postgres.rs`): connection settings, migrations, the isolation of a consistent read, and change
//! notifications. No call site branches on the database.
//!
//! Every write transaction starts by bumping the revision row, which takes the write lock first
//! (SQLite's `BEGIN IMMEDIATE` effect, one writer at a time on PostgreSQL) and tells every node's
//! directory watcher that something changed. Placeholders appear in ascending order in every
//! statement, because SQLite numbers `$N` parameters by first appearance.

mod applications;
mod assignments;
mod changes;
mod codec;
mod db;
mod device_codes;
mod directory;
mod directory_roles;
mod federated;
mod grants;
mod identities;
mod keys;
pub mod logs;
mod names;
mod postgres;
mod refresh;
mod replay;
mod secrets;
mod service_principals;
mod sessions;
mod sign_in;
mod sqlite;
mod tenants;
pub mod testing;
mod users;

pub use db::SqlStore;

use gatehouse_core::store::{Store, StoreError};

/// Opens the store a URL names: `postgres://…` or `sqlite:PATH` / a plain path.
pub async fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Box::new(SqlStore::postgres(url).await?))
    } else if url.contains("://") && !url.starts_with("sqlite://") {
        Err(StoreError::Unavailable(format!(
            "'{url}' is neither a PostgreSQL URL nor a SQLite path"
        )))
    } else {
        let path = url.strip_prefix("sqlite:").unwrap_or(url);
        Ok(Box::new(SqlStore::sqlite(std::path::Path::new(path)).await?))
    }
}
