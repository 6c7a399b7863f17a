//! [`SqlStore`]: the pool, what differs per database (set once when it opens), the write transaction
//! every change runs in, and the one conversion from the driver's errors.

use std::sync::Arc;

use gatehouse_core::audit::Touched;
use gatehouse_core::store::{Conflict, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Executor};
use tokio::sync::Notify;

/// A transaction on a pooled connection. Unlike the driver's own, it never hands a connection back
/// to the pool in a state it cannot vouch for: a transaction dropped without a commit (an error on
/// the way, or a failed commit) is rolled back before its connection is reused, and a connection
/// whose rollback fails is closed. (SQLite ends a transaction by itself on some faults, such as a
/// full disk; the driver, not knowing, would then run the next transaction as a savepoint that never
/// ends, holding the write lock, and every later write would fail with "database is locked".)
pub(crate) struct Tx<'a> {
    conn: Option<PoolConnection<Any>>,
    /// A change to the directory ([`SqlStore::begin_write`]): inside a Graph write, it carries the
    /// write's audit record (`logs.rs`).
    directory: bool,
    /// The objects it changed, for that record.
    touched: Vec<Touched>,
    _pool: std::marker::PhantomData<&'a AnyPool>,
}

impl Tx<'_> {
    /// A transaction that writes. SQLite takes its write lock at the start (`BEGIN IMMEDIATE`), waiting
    /// out the busy timeout behind another writer: a transaction that began by reading cannot become a
    /// writer once another connection has committed, and fails at once with "database is locked" (no
    /// wait), which a device's poll (read, then note the poll) met under load as a 503.
    pub(crate) async fn begin(pool: &AnyPool) -> Result<Self, sqlx::Error> {
        Self::start(pool, true).await
    }

    /// A transaction that only reads: one consistent view, no lock held against writers.
    pub(crate) async fn read(pool: &AnyPool) -> Result<Self, sqlx::Error> {
        Self::start(pool, false).await
    }

    async fn start(pool: &AnyPool, writes: bool) -> Result<Self, sqlx::Error> {
        let mut conn = pool.acquire().await?;
        let begin = if writes && conn.backend_name() == <sqlx::Sqlite as sqlx::Database>::NAME {
            "BEGIN IMMEDIATE"
        } else {
            "BEGIN"
        };
        if let Err(e) = conn.execute(begin).await {
            conn.close_on_drop();
            return Err(e);
        }
        Ok(Self {
            conn: Some(conn),
            directory: false,
            touched: Vec::new(),
            _pool: std::marker::PhantomData,
        })
    }

    /// Names an object this transaction changes, for the audit record it may carry.
    pub(crate) fn touch(&mut self, t: Touched) {
        if !self.touched.contains(&t) {
            self.touched.push(t);
        }
    }

    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        let audit = self
            .directory
            .then(|| crate::logs::pending(&self.touched, time::OffsetDateTime::now_utc()))
            .flatten();
        if let Some(entry) = &audit {
            crate::logs::insert_audit(conn, entry)
                .await
                .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        }
        conn.execute("COMMIT").await?;
        if audit.is_some() {
            crate::logs::committed();
        }
        // Committed: the connection goes back to the pool as it is.
        drop(self.conn.take());
        Ok(())
    }

    pub(crate) async fn rollback(mut self) -> Result<(), sqlx::Error> {
        let Some(mut conn) = self.conn.take() else {
            return Ok(());
        };
        let done = conn.execute("ROLLBACK").await;
        if done.is_err() {
            conn.close_on_drop();
        }
        done.map(|_| ())
    }
}

// `conn` is `None` only once `commit` or `rollback` has consumed the transaction, so no borrow of a
// live transaction can find it empty.
#[allow(clippy::expect_used)]
impl std::ops::Deref for Tx<'_> {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        self.conn
            .as_deref()
            .expect("a transaction holds its connection until it ends")
    }
}

#[allow(clippy::expect_used)]
impl std::ops::DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.conn
            .as_deref_mut()
            .expect("a transaction holds its connection until it ends")
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if conn.execute("ROLLBACK").await.is_err() {
                        conn.close_on_drop();
                    }
                });
            }
            Err(_) => conn.close_on_drop(),
        }
    }
}

/// A SQLite file or a PostgreSQL database, behind core's store traits.
pub struct SqlStore {
    pub(crate) pool: AnyPool,
    pub(crate) flavor: Flavor,
    /// Signalled when another node changed the directory (PostgreSQL NOTIFY); never on SQLite.
    pub(crate) changed: Arc<Notify>,
    /// The NOTIFY listener task, stopped on shutdown.
    pub(crate) listener: Option<tokio::task::AbortHandle>,
}

/// The few statements that differ between the databases, chosen when the store opens.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Flavor {
    /// The first statement of a multi-statement read that must see one state of the database.
    pub begin_read: &'static str,
    /// Run in every write transaction to wake other nodes at commit, if the database can.
    pub notify: Option<&'static str>,
    /// Run on graceful shutdown (SQLite checkpoints its WAL into the main file).
    pub on_close: Option<&'static str>,
    /// The rows of a JSON array of arrays bound as `$1`, and how a row's element `i` is read (this,
    /// then `i`): how a whole batch of rows goes in with one bound value (`logs.rs`, `replay.rs`).
    pub json_rows: &'static str,
    pub json_element: &'static str,
}

impl SqlStore {
    /// Starts a write transaction and takes the write lock by bumping the revision.
    pub(crate) async fn begin_write(&self) -> Result<Tx<'_>, StoreError> {
        let mut tx = Tx::begin(&self.pool).await.map_err(map_err)?;
        tx.directory = true;
        sqlx::query("UPDATE revision SET value = value + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if let Some(sql) = self.flavor.notify {
            sqlx::query(sql).execute(&mut *tx).await.map_err(map_err)?;
        }
        Ok(tx)
    }

    /// Runs one statement that changes something of the application with object id `application` (a
    /// secret, a federated credential) in a write transaction, and records the change; returns the rows
    /// it affected.
    pub(crate) async fn write_for_application(
        &self,
        application: gatehouse_proto::ObjectId,
        sql: &str,
        args: &[String],
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        tx.touch(Touched::new("Application", application, None));
        crate::changes::record_application_object(&mut tx, application).await?;
        let mut q = sqlx::query(sql);
        for a in args {
            q = q.bind(a.clone());
        }
        let n = q.execute(&mut *tx).await.map_err(map_err)?.rows_affected();
        tx.commit().await.map_err(map_err)?;
        Ok(n)
    }

    /// The one row `sql` selects by (`$1` = key, `$2` = tenant), if any.
    pub(crate) async fn select_by_key(
        &self,
        sql: &str,
        key: impl std::fmt::Display,
        tenant: gatehouse_proto::TenantId,
    ) -> Result<Option<sqlx::any::AnyRow>, StoreError> {
        sqlx::query(sql)
            .bind(key.to_string())
            .bind(tenant.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)
    }

    /// Flushes and closes the pool, and stops the change listener.
    pub async fn shutdown(&self) {
        if let Some(l) = &self.listener {
            l.abort();
        }
        if let Some(sql) = self.flavor.on_close {
            let _ = sqlx::query(sql).execute(&self.pool).await;
        }
        self.pool.close().await;
    }
}

/// The rows of `select` (`SELECT … FROM …`): those `filter` keeps (a condition on `$1`, and its value)
/// or all of them, in the order `order_by` gives.
pub(crate) async fn select_rows(
    conn: &mut sqlx::AnyConnection,
    select: &str,
    filter: Option<(&str, String)>,
    order_by: &str,
) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
    match filter {
        Some((condition, value)) => {
            sqlx::query(&format!("{select} WHERE {condition} ORDER BY {order_by}"))
                .bind(value)
                .fetch_all(conn)
                .await
        }
        None => {
            sqlx::query(&format!("{select} ORDER BY {order_by}"))
                .fetch_all(conn)
                .await
        }
    }
    .map_err(map_err)
}

/// One page of a tenant's rows of `table` in name order (its `name_key` column, then `id`), as `page`
/// asks: an index range over (tenant_id, name_key, id). `select` names the columns; `searched` the
/// lower-cased columns the page's prefix is matched against; `owner`, for applications only, keeps
/// those the user owns (the page's own `owner` is not read here).
pub(crate) async fn name_page(
    conn: &mut sqlx::AnyConnection,
    select: &str,
    searched: &[&str],
    tenant: gatehouse_proto::TenantId,
    page: &gatehouse_core::store::NamePage,
    owner: Option<gatehouse_proto::ObjectId>,
) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
    let pattern = match page.prefix.as_deref().map(gatehouse_core::store::name_key) {
        Some(p) if !p.is_empty() => {
            let escaped: String = p
                .chars()
                .flat_map(|c| match c {
                    '!' | '%' | '_' => vec!['!', c],
                    c => vec![c],
                })
                .collect();
            format!("{escaped}%")
        }
        _ => String::new(),
    };
    let (after_name, after_id) = page
        .after
        .as_ref()
        .map(|(n, id)| (n.clone(), id.to_string()))
        .unwrap_or_default();
    let owned = match owner {
        Some(_) => " AND id IN (SELECT application_id FROM application_owners WHERE user_id = $5)",
        None => "",
    };
    let search: String = searched
        .iter()
        .map(|column| format!(" OR {column} LIKE $2 ESCAPE '!'"))
        .collect();
    let sql = format!(
        "{select} WHERE tenant_id = $1 AND ($2 = ''{search}) \
         AND (name_key > $3 OR (name_key = $3 AND id > $4)){owned} ORDER BY name_key, id LIMIT {}",
        page.limit.min(1000)
    );
    let mut query = sqlx::query(&sql)
        .bind(tenant.to_string())
        .bind(pattern)
        .bind(after_name)
        .bind(after_id);
    if let Some(owner) = owner {
        query = query.bind(owner.to_string());
    }
    query.fetch_all(conn).await.map_err(map_err)
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
