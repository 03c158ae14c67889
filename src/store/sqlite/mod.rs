//! The SQLite store: schema, migrations and every SQL statement tollbooth runs on SQLite.
//!
//! Concurrency: every write runs in `BEGIN IMMEDIATE` (the write lock is taken up front, so two
//! processes never deadlock upgrading a read lock) with a busy timeout; WAL lets readers run
//! beside the writer. Several processes may open one database file.

mod activity;
mod billing_model;
mod checkpointer;
mod copy;
mod deliveries;
mod jobs;
mod payments;
mod prune;
mod queries;
mod readers;
mod rows;
mod stats;
mod stripe_sync;
mod throttle;

pub use checkpointer::{
    BUSY_CHECKPOINT_INTERVAL, CHECKPOINT_INTERVAL, Checkpointer, REQUEST_PATH_AUTOCHECKPOINT,
};
pub use prune::restore;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::copy::{Cell, Table};
use super::{Store, StoreTx};
use crate::billing::{CheckoutRow, CustomerRow, PurchaseRecord, SubscriptionView};
use crate::deliveries::{AuthenticTimes, Delivery, DeliveryBuffer, DeliveryCounts, write_buffered};
use crate::error::{Error, ErrorCode, Result};
use crate::event::{EventFilter, EventRow, InvoiceRecord, LivemodeCounts};
use crate::outbox::{
    ClaimRequest, ClaimedJob, FailOutcome, FailedAttempt, Job, JobAttempt, JobFilter, JobThrottle,
    KindStats,
};
use crate::retention::{Cutoffs, Pruned};
use crate::sync_state::{CatalogEntry, SyncCursor, SyncPage};

/// Migrations, in order. `PRAGMA user_version` holds how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_claim_indexes.sql"),
    include_str!("migrations/0003_lean_write_path.sql"),
    include_str!("migrations/0004_job_queues.sql"),
    include_str!("migrations/0005_quarantine.sql"),
    include_str!("migrations/0006_secret_index.sql"),
    include_str!("migrations/0007_delivery_stats.sql"),
    include_str!("migrations/0008_stripe_api.sql"),
    include_str!("migrations/0009_billing_model.sql"),
    include_str!("migrations/0010_payments.sql"),
    include_str!("migrations/0011_trial_end_behavior.sql"),
];

/// The default wait budget ([`SqliteOptions::busy_timeout`]): long enough for a queue of
/// writers (each commit takes milliseconds), short enough that a host's request never hangs.
pub const DEFAULT_WAIT_BUDGET: Duration = Duration::from_secs(2);

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How hard a commit tries to survive power loss (SQLite `PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=NORMAL` in WAL mode: a commit survives a process crash; after a power
    /// loss the last few commits may roll back (Stripe then redelivers them). The default.
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is fsynced before it returns. Survives power loss,
    /// costs an fsync per webhook.
    Full,
}

/// Settings only a SQLite store has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Commit durability (default `synchronous=NORMAL`).
    pub durability: Durability,
    /// The wait budget: the longest any call waits for the store (this process's other
    /// calls and another process's write lock together) before `STORE_BUSY`. Log-only
    /// writes (duplicate and rejection rows) never wait at all. Default 2 s.
    pub busy_timeout: Duration,
    /// Run WAL checkpoints on a background thread (default `true`, file databases only), so
    /// no webhook pays for one. With `false`, SQLite checkpoints inside commits as usual, or
    /// the host calls `Engine::checkpoint` from a worker.
    pub background_checkpoint: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            durability: Durability::Normal,
            busy_timeout: DEFAULT_WAIT_BUDGET,
            background_checkpoint: true,
        }
    }
}

/// The SQLite store: one connection behind a mutex (SQLite serializes writers anyway), the
/// buffered delivery-log rows beside it (so buffering never waits for the connection), and
/// the background checkpoint thread for file databases.
pub struct SqliteStore {
    db: Arc<parking_lot::Mutex<SqliteDb>>,
    pending: Arc<Mutex<DeliveryBuffer>>,
    /// [`SqliteOptions::busy_timeout`].
    budget: Duration,
    checkpointer: Mutex<Option<Checkpointer>>,
    /// Connections for the duplicate check (file databases), so it never waits for a write.
    readers: Option<readers::Readers>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path` (`:memory:` for a
    /// private in-memory one), and starts the checkpoint thread when asked to.
    pub(crate) fn open(path: &str, opts: &SqliteOptions) -> Result<SqliteStore> {
        if opts.busy_timeout.as_millis() > i32::MAX as u128 {
            return Err(Error::new(
                ErrorCode::ConfigInvalid,
                "busy_timeout must be at most 2147483647 ms",
            ));
        }
        let background = opts.background_checkpoint && path != ":memory:";
        let pending = Arc::new(Mutex::new(DeliveryBuffer::default()));
        let db = SqliteDb::open(
            path,
            opts,
            pending.clone(),
            if background {
                REQUEST_PATH_AUTOCHECKPOINT
            } else {
                1000
            },
        )?;
        let db = Arc::new(parking_lot::Mutex::new(db));
        let checkpointer = if background {
            let weak = Arc::downgrade(&db);
            let catch_up: checkpointer::CatchUp = Box::new(move || {
                if let Some(db) = weak.upgrade() {
                    // The frames the background round left (committed while it ran), copied
                    // between two write transactions, so the next one restarts the log. Best
                    // effort, like the round: a failure leaves the log to the next round.
                    let _ = db.lock().checkpoint();
                }
            });
            Some(
                Checkpointer::start(
                    path,
                    CHECKPOINT_INTERVAL,
                    BUSY_CHECKPOINT_INTERVAL,
                    Some(catch_up),
                )
                .map_err(|e| {
                    Error::new(
                        ErrorCode::StoreOpenFailed,
                        format!("checkpoint thread: {e}"),
                    )
                })?,
            )
        } else {
            None
        };
        Ok(SqliteStore {
            db,
            pending,
            budget: opts.busy_timeout,
            checkpointer: Mutex::new(checkpointer),
            readers: readers::Readers::new(path, opts.busy_timeout),
        })
    }

    /// Runs `f` with the connection, waiting at most the budget in all: for this process's
    /// other calls, then (what is left of it) for another process's write lock. A panic while
    /// holding the lock cannot leave SQLite half-written (the transaction rolls back on
    /// drop), and parking_lot's mutex does not poison.
    fn db<T>(&self, f: impl FnOnce(&mut SqliteDb) -> Result<T>) -> Result<T> {
        let started = Instant::now();
        let mut db = self
            .db
            .try_lock_for(self.budget)
            .ok_or_else(|| busy(self.budget))?;
        db.set_wait(self.budget.saturating_sub(started.elapsed()))?;
        f(&mut db)
    }

    /// Runs `f` with the connection only if nothing holds it or the write lock now:
    /// `STORE_BUSY` at once otherwise. For log-only writes, which must never wait.
    fn db_now<T>(&self, f: impl FnOnce(&mut SqliteDb) -> Result<T>) -> Result<T> {
        let mut db = self.db.try_lock().ok_or_else(|| busy(Duration::ZERO))?;
        db.set_wait(Duration::ZERO)?;
        f(&mut db)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, DeliveryBuffer> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `STORE_BUSY` after waiting `waited` (a fixed message: nothing of the call's input).
fn busy(waited: Duration) -> Error {
    Error::new(
        ErrorCode::StoreBusy,
        format!(
            "the store stayed locked for the whole wait budget ({} ms)",
            waited.as_millis()
        ),
    )
}

/// The connection. Not `Sync`: [`SqliteStore`] puts it behind a mutex.
pub(crate) struct SqliteDb {
    conn: Connection,
    /// Delivery-log rows for duplicate deliveries, written with the next write transaction
    /// (group commit) so that answering a duplicate needs no write of its own. Shared with
    /// [`SqliteStore`], which buffers into it without taking the connection.
    pending_log: Arc<Mutex<DeliveryBuffer>>,
    /// The busy timeout set on the connection now.
    wait: Duration,
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb")
            .field("path", &self.conn.path())
            .finish_non_exhaustive()
    }
}

fn open_error(e: rusqlite::Error) -> Error {
    let err = Error::from(e);
    match err.code() {
        ErrorCode::StoreError => Error::new(ErrorCode::StoreOpenFailed, err.message().to_owned()),
        _ => err,
    }
}

impl SqliteDb {
    /// Opens (creating if needed) and migrates a database.
    fn open(
        path: &str,
        opts: &SqliteOptions,
        pending_log: Arc<Mutex<DeliveryBuffer>>,
        wal_autocheckpoint: i64,
    ) -> Result<SqliteDb> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = if path == ":memory:" {
            Connection::open_in_memory()
        } else {
            Connection::open_with_flags(path, flags)
        }
        .map_err(open_error)?;
        conn.busy_timeout(opts.busy_timeout).map_err(open_error)?;
        conn.set_prepared_statement_cache_capacity(64);
        // WAL is persistent; setting it needs the lock only once per database.
        if path != ":memory:" {
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(open_error)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(Error::new(
                    ErrorCode::StoreOpenFailed,
                    format!("journal_mode is {mode}, WAL required"),
                ));
            }
        }
        let sync = match opts.durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", sync)
            .map_err(open_error)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_error)?;
        conn.pragma_update(None, "wal_autocheckpoint", wal_autocheckpoint)
            .map_err(open_error)?;
        // 8 MiB of page cache (default 2 MiB): the hot index pages of a store with millions of
        // events stay in memory; a fixed size keeps RSS independent of the store's size.
        conn.pragma_update(None, "cache_size", -8192)
            .map_err(open_error)?;
        let mut store = SqliteDb {
            conn,
            pending_log,
            wait: opts.busy_timeout,
        };
        store.migrate()?;
        Ok(store)
    }

    /// Brings the schema to [`SCHEMA_VERSION`]; refuses a database from a newer build.
    fn migrate(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(Error::new(
                ErrorCode::StoreSchemaTooNew,
                format!(
                    "database schema v{version} is newer than this build's v{SCHEMA_VERSION}; upgrade tollbooth"
                ),
            ));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Runs a PASSIVE WAL checkpoint now (for hosts that turn the background thread off).
    /// Returns `(wal_frames, frames_checkpointed)`.
    pub(crate) fn checkpoint(&self) -> Result<(i64, i64)> {
        Ok(self
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(1)?, r.get(2)?))
            })?)
    }

    /// The schema version recorded in the file.
    pub(crate) fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Sets how long the next statements wait for another process's write lock.
    fn set_wait(&mut self, wait: Duration) -> Result<()> {
        // Whole milliseconds (SQLite's unit), so an uncontended call finds it unchanged.
        let wait = Duration::from_millis(wait.as_millis() as u64);
        if wait != self.wait {
            self.conn.busy_timeout(wait)?;
            self.wait = wait;
        }
        Ok(())
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction, flushing buffered delivery-log rows in
    /// it. Commits when `f` returns `Ok`, rolls back otherwise (buffered rows stay buffered).
    pub(crate) fn write<T>(&mut self, f: impl FnOnce(&mut SqliteTx<'_>) -> Result<T>) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut stx = SqliteTx { tx };
        let log = self
            .pending_log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let out = write_buffered(&mut stx, &log)
            .and_then(|()| f(&mut stx))
            .and_then(|v| Ok(stx.tx.commit().map(|()| v)?));
        if out.is_err() && !log.is_empty() {
            self.pending_log
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .restore(log);
        }
        out
    }

    /// Whether an event id is already stored (a plain read: no write lock, WAL snapshot).
    pub(crate) fn event_exists(&self, id: &str) -> Result<bool> {
        let mut st = self
            .conn
            .prepare_cached("SELECT 1 FROM events WHERE id = ?1")?;
        Ok(st.exists([id])?)
    }

    /// Writes buffered delivery-log rows now (nothing when none wait).
    pub(crate) fn flush_deliveries(&mut self) -> Result<()> {
        let empty = self
            .pending_log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty();
        if empty {
            return Ok(());
        }
        self.write(|_| Ok(()))
    }

    /// Calls `f` with the SQL text (as prepared, `?N` parameters unexpanded) of every statement
    /// this connection starts; `None` removes the hook. For the query-plan test.
    #[cfg(feature = "testing")]
    fn trace_statements(&self, f: Option<fn(rusqlite::trace::TraceEvent<'_>)>) {
        self.conn
            .trace_v2(rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT, f);
    }

    /// The raw connection, for the read-side queries in this module tree.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The raw connection, for [`SqliteDb::copy_in`]'s own transaction.
    fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

impl Drop for SqliteDb {
    fn drop(&mut self) {
        // Best effort: a failure here only loses duplicate-delivery log rows, never an event.
        let _ = self.flush_deliveries();
    }
}

impl Store for SqliteStore {
    fn write(&self, f: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>) -> Result<()> {
        self.db(|db| db.write(|tx| f(tx)))
    }
    fn event_exists(&self, id: &str) -> Result<bool> {
        match &self.readers {
            Some(r) => r.event_exists(id),
            None => self.db(|db| db.event_exists(id)),
        }
    }
    fn log_delivery_now(&self, d: &Delivery) -> Result<()> {
        self.db(|db| db.log_delivery_now(d))
    }
    fn try_write(&self, f: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>) -> Result<()> {
        self.db_now(|db| db.write(|tx| f(tx)))
    }
    fn buffer_delivery(&self, d: Delivery, now: i64) -> usize {
        let (due, before) = {
            let mut pending = self.pending();
            let before = pending.folded();
            (pending.push(d, now), before)
        };
        if due {
            // Never waits: when the store is busy the rows stay buffered (bounded).
            let _ = self.db_now(|db| db.flush_deliveries());
        }
        (self.pending().folded() - before) as usize
    }
    fn flush_deliveries(&self) -> Result<()> {
        self.db(|db| db.flush_deliveries())
    }
    fn try_flush_deliveries(&self) -> Result<()> {
        self.db_now(|db| db.flush_deliveries())
    }
    fn delivery_rows_folded(&self) -> u64 {
        self.pending().folded()
    }
    fn customer(&self, id: &str) -> Result<Option<CustomerRow>> {
        self.db(|db| db.customer(id))
    }
    fn customer_for_user(&self, user_id: &str) -> Result<Option<CustomerRow>> {
        self.db(|db| db.customer_for_user(user_id))
    }
    fn customer_for_email(&self, email: &str) -> Result<Option<CustomerRow>> {
        self.db(|db| db.customer_for_email(email))
    }
    fn customer_for_user_in(&self, account: &str, user_id: &str) -> Result<Option<CustomerRow>> {
        self.db(|db| db.customer_for_user_in(account, user_id))
    }
    fn subscriptions(&self, customer_id: &str) -> Result<Vec<SubscriptionView>> {
        self.db(|db| db.subscriptions(customer_id))
    }
    fn invoices(&self, customer_id: &str) -> Result<Vec<InvoiceRecord>> {
        self.db(|db| db.invoices(customer_id))
    }
    fn checkout(&self, id: &str) -> Result<Option<CheckoutRow>> {
        self.db(|db| db.checkout(id))
    }
    fn purchases(
        &self,
        customer_id: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<Vec<PurchaseRecord>> {
        self.db(|db| db.purchases(customer_id, user_id))
    }
    fn features(&self, customer_id: &str) -> Result<Vec<String>> {
        self.db(|db| db.features(customer_id))
    }
    fn events(&self, filter: &EventFilter) -> Result<Vec<EventRow>> {
        self.db(|db| db.events(filter))
    }
    fn event_body(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.db(|db| db.event_body(id))
    }
    fn quarantined_count(&self) -> Result<u64> {
        self.db(|db| db.quarantined_count())
    }
    fn payment_actions(&self, customer_id: &str) -> Result<Vec<crate::billing::PaymentAction>> {
        self.db(|db| db.payment_actions(customer_id))
    }
    fn jobs(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        self.db(|db| db.jobs(filter))
    }
    fn job(&self, id: i64) -> Result<Job> {
        self.db(|db| db.job(id))
    }
    fn job_attempts(&self, id: i64) -> Result<Vec<JobAttempt>> {
        self.db(|db| db.job_attempts(id))
    }
    fn claim(&self, request: &ClaimRequest<'_>, now: i64) -> Result<Vec<ClaimedJob>> {
        self.db(|db| db.claim(request, now))
    }
    fn complete(&self, id: i64, lease_token: i64, now: i64) -> Result<()> {
        self.db(|db| db.complete(id, lease_token, now))
    }
    fn fail(&self, attempt: &FailedAttempt<'_>, now: i64) -> Result<FailOutcome> {
        self.db(|db| db.fail(attempt, now))
    }
    fn replay(&self, id: i64, now: i64) -> Result<i64> {
        self.db(|db| db.replay(id, now))
    }
    fn set_job_throttle(&self, kind: &str, throttle: &JobThrottle) -> Result<()> {
        self.db(|db| db.set_job_throttle(kind, throttle))
    }
    fn remove_job_throttle(&self, kind: &str) -> Result<bool> {
        self.db(|db| db.remove_job_throttle(kind))
    }
    fn job_throttles(&self) -> Result<Vec<(String, JobThrottle)>> {
        self.db(|db| db.job_throttles())
    }
    fn sync_cursor(&self, stream: &str) -> Result<Option<SyncCursor>> {
        self.db(|db| db.sync_cursor(stream))
    }
    fn sync_cursors(&self) -> Result<Vec<SyncCursor>> {
        self.db(|db| db.sync_cursors())
    }
    fn start_sync_cursor(&self, stream: &str, scope: &str, now: i64) -> Result<()> {
        self.db(|db| db.start_sync_cursor(stream, scope, now))
    }
    fn advance_sync_cursor(&self, stream: &str, page: &SyncPage<'_>, now: i64) -> Result<()> {
        self.db(|db| db.advance_sync_cursor(stream, page, now))
    }
    fn complete_sync_cursor(&self, stream: &str, now: i64) -> Result<()> {
        self.db(|db| db.complete_sync_cursor(stream, now))
    }
    fn put_catalog_entry(&self, entry: &CatalogEntry) -> Result<bool> {
        self.db(|db| db.put_catalog_entry(entry))
    }
    fn catalog(&self, object: Option<&str>) -> Result<Vec<CatalogEntry>> {
        self.db(|db| db.catalog(object))
    }
    fn last_event_created(&self) -> Result<Option<i64>> {
        self.db(|db| db.last_event_created())
    }
    fn delivery_counts(&self, since: i64) -> Result<DeliveryCounts> {
        self.db(|db| db.delivery_counts(since))
    }
    fn recent_deliveries(&self, limit: u32) -> Result<Vec<Delivery>> {
        self.db(|db| db.recent_deliveries(limit))
    }
    fn queue_stats(&self, now: i64, since: i64) -> Result<Vec<KindStats>> {
        self.db(|db| db.queue_stats(now, since))
    }
    fn schema_version(&self) -> Result<i64> {
        self.db(|db| db.schema_version())
    }
    fn authentic_delivery_times(&self, scan: u32) -> Result<AuthenticTimes> {
        self.db(|db| db.authentic_delivery_times(scan))
    }
    fn livemode_counts(&self, limit: u32) -> Result<Option<LivemodeCounts>> {
        self.db(|db| db.livemode_counts(limit)).map(Some)
    }
    fn checkpoint(&self) -> Result<(i64, i64)> {
        self.db(|db| db.checkpoint())
    }
    fn prune(&self, cutoffs: &Cutoffs, batch: u32) -> Result<Pruned> {
        self.db(|db| db.prune(cutoffs, batch))
    }
    fn backup(&self, path: &std::path::Path) -> Result<()> {
        self.db(|db| db.backup(path))
    }
    fn copy_out(
        &self,
        table: &Table,
        after: Option<&[Cell]>,
        limit: u32,
    ) -> Result<Vec<Vec<Cell>>> {
        self.db(|db| db.copy_out(table, after, limit))
    }
    fn copy_in(&self, table: &Table, rows: &[Vec<Cell>]) -> Result<u64> {
        self.db(|db| db.copy_in(table, rows))
    }
    fn close(&self) -> Result<()> {
        // Stop the checkpoint thread first (it joins), then flush the buffered log rows.
        drop(
            self.checkpointer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
        self.db(|db| db.flush_deliveries())
    }
    #[cfg(feature = "testing")]
    fn testing(&self) -> &dyn super::testing::StoreHooks {
        self
    }
}

#[cfg(feature = "testing")]
impl super::testing::StoreHooks for SqliteStore {
    fn set_pragma(&self, pragma: &str, value: i64) -> Result<()> {
        self.db(|db| Ok(db.conn().pragma_update(None, pragma, value)?))
    }
    fn trace_statements(&self, f: Option<fn(rusqlite::trace::TraceEvent<'_>)>) {
        let _ = self.db(|db| {
            db.trace_statements(f);
            Ok(())
        });
    }
}

/// A column whose text no longer names a known value: surfaced as `STORE_CORRUPT` (see the
/// `From<rusqlite::Error>` conversion), never read as some default.
fn corrupt(column: usize, e: Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
}

/// One open write transaction on the SQLite store.
pub(crate) struct SqliteTx<'c> {
    tx: rusqlite::Transaction<'c>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_sets_the_connection_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db").to_str().unwrap().to_owned();
        let opts = SqliteOptions {
            durability: Durability::Full,
            busy_timeout: Duration::from_millis(1234),
            background_checkpoint: true,
        };
        let store = SqliteDb::open(
            &path,
            &opts,
            Default::default(),
            REQUEST_PATH_AUTOCHECKPOINT,
        )
        .unwrap();
        let get = |p: &str| -> i64 {
            store
                .conn()
                .query_row(&format!("PRAGMA {p}"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(get("wal_autocheckpoint"), REQUEST_PATH_AUTOCHECKPOINT);
        assert_eq!(get("cache_size"), -8192);
        assert_eq!(get("synchronous"), 2, "FULL");
        assert_eq!(get("busy_timeout"), 1234);
        assert_eq!(get("user_version"), SCHEMA_VERSION);
        let mode: String = store
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_busy_timeout_sqlite_cannot_hold_is_a_config_error_not_a_panic() {
        let opts = SqliteOptions {
            busy_timeout: Duration::from_millis(1 << 31),
            ..SqliteOptions::default()
        };
        let err = SqliteStore::open(":memory:", &opts).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigInvalid);
    }
}
