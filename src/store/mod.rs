//! The SQLite store: schema, migrations and every SQL statement tollbooth runs.
//!
//! The engine never writes SQL. It reads and writes billing rows through [`StoreTx`], the seam
//! where a PostgreSQL store (for many app instances on one database) plugs in later; the read
//! side of the portal (`access`, `invoices`, ...) lives in [`queries`].
//!
//! Concurrency: every write runs in `BEGIN IMMEDIATE` (the write lock is taken up front, so two
//! processes never deadlock upgrading a read lock) with a busy timeout; WAL lets readers run
//! beside the writer. Several processes may open one database file.

mod activity;
mod checkpointer;
mod deliveries;
mod jobs;
pub mod queries;
mod rows;
mod stats;

pub use activity::{AuthenticTimes, LivemodeCounts};
pub use checkpointer::{CHECKPOINT_INTERVAL, Checkpointer, REQUEST_PATH_AUTOCHECKPOINT};
pub use deliveries::{Delivery, DeliveryCounts, DeliveryOutcome};
pub use jobs::{ClaimedJob, EnqueuedJob, FailOutcome, Job, JobAttempt, JobFilter, JobState};
pub use stats::KindStats;

use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::billing::{CheckoutRow, SubscriptionView, Watermark};
use crate::error::{Error, ErrorCode, Result};
use crate::event::{CustomerRecord, InvoiceRecord};
use crate::outbox::NewJob;

/// Migrations, in order. `PRAGMA user_version` holds how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_claim_indexes.sql"),
    include_str!("migrations/0003_lean_write_path.sql"),
    include_str!("migrations/0004_job_queues.sql"),
];

/// Most delivery-log rows kept in memory while the store refuses writes.
pub const MAX_BUFFERED_DELIVERIES: usize = 10_000;

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

/// Options for opening a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// A file path, or `:memory:` for a private in-memory database.
    pub path: String,
    /// Commit durability.
    pub durability: Durability,
    /// How long a writer waits for another process's write lock before `STORE_BUSY`.
    pub busy_timeout: Duration,
    /// `PRAGMA wal_autocheckpoint` (pages) on this connection: SQLite's default 1000, or
    /// [`REQUEST_PATH_AUTOCHECKPOINT`] while a [`Checkpointer`] does the work off the request path.
    pub wal_autocheckpoint: i64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            path: ":memory:".into(),
            durability: Durability::Normal,
            busy_timeout: Duration::from_secs(5),
            wal_autocheckpoint: 1000,
        }
    }
}

/// An open SQLite store. Not `Sync`: the engine puts it behind a mutex.
pub struct Store {
    conn: Connection,
    /// Delivery-log rows for duplicate deliveries, written with the next write transaction
    /// (group commit) so that answering a duplicate needs no write of its own.
    pending_log: Vec<Delivery>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.conn.path())
            .finish_non_exhaustive()
    }
}

fn open_error(e: rusqlite::Error) -> Error {
    let err = Error::from(e);
    match err.code() {
        ErrorCode::StoreSqlite => Error::new(ErrorCode::StoreOpenFailed, err.message().to_owned()),
        _ => err,
    }
}

impl Store {
    /// Opens (creating if needed) and migrates a database.
    pub fn open(opts: &StoreOptions) -> Result<Store> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = if opts.path == ":memory:" {
            Connection::open_in_memory()
        } else {
            Connection::open_with_flags(&opts.path, flags)
        }
        .map_err(open_error)?;
        conn.busy_timeout(opts.busy_timeout).map_err(open_error)?;
        conn.set_prepared_statement_cache_capacity(64);
        // WAL is persistent; setting it needs the lock only once per database.
        if opts.path != ":memory:" {
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
        conn.pragma_update(None, "wal_autocheckpoint", opts.wal_autocheckpoint)
            .map_err(open_error)?;
        // 8 MiB of page cache (default 2 MiB): the hot index pages of a store with millions of
        // events stay in memory; a fixed size keeps RSS independent of the store's size.
        conn.pragma_update(None, "cache_size", -8192)
            .map_err(open_error)?;
        let mut store = Store {
            conn,
            pending_log: Vec::new(),
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
    pub fn checkpoint(&self) -> Result<(i64, i64)> {
        Ok(self
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(1)?, r.get(2)?))
            })?)
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction, flushing buffered delivery-log rows in
    /// it. Commits when `f` returns `Ok`, rolls back otherwise (buffered rows stay buffered).
    pub fn write<T>(&mut self, f: impl FnOnce(&mut SqliteTx<'_>) -> Result<T>) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut stx = SqliteTx { tx };
        for d in &self.pending_log {
            stx.log_delivery(d)?;
        }
        let out = f(&mut stx)?;
        stx.tx.commit()?;
        self.pending_log.clear();
        Ok(out)
    }

    /// Whether an event id is already stored (a plain read: no write lock, WAL snapshot).
    pub fn event_exists(&self, id: &str) -> Result<bool> {
        let mut st = self
            .conn
            .prepare_cached("SELECT 1 FROM events WHERE id = ?1")?;
        Ok(st.exists([id])?)
    }

    /// Buffers a delivery-log row (see [`Store::write`]); flushes when the buffer is large or
    /// its oldest row is older than a second, so the log is never more than ~1 s behind.
    ///
    /// Never fails: answering a duplicate must not depend on the log write. When a flush
    /// fails (the store is busy or full) the rows stay buffered for the next write; beyond
    /// [`MAX_BUFFERED_DELIVERIES`] the oldest rows are dropped and counted in the return value.
    pub fn buffer_delivery(&mut self, d: Delivery, now: i64) -> usize {
        self.pending_log.push(d);
        let oldest = self.pending_log.first().map_or(now, |d| d.at);
        if self.pending_log.len() >= 256 || now - oldest >= 1 {
            let _ = self.flush_deliveries();
        }
        let excess = self
            .pending_log
            .len()
            .saturating_sub(MAX_BUFFERED_DELIVERIES);
        self.pending_log.drain(..excess);
        excess
    }

    /// Writes buffered delivery-log rows now.
    pub fn flush_deliveries(&mut self) -> Result<()> {
        if self.pending_log.is_empty() {
            return Ok(());
        }
        self.write(|_| Ok(()))
    }

    /// Calls `f` with the SQL text (as prepared, `?N` parameters unexpanded) of every statement
    /// this connection starts; `None` removes the hook. For the query-plan test and profiling.
    #[doc(hidden)]
    pub fn trace_statements(&self, f: Option<fn(rusqlite::trace::TraceEvent<'_>)>) {
        self.conn
            .trace_v2(rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT, f);
    }

    /// The raw connection, for the read-side queries in this module tree.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Best effort: a failure here only loses duplicate-delivery log rows, never an event.
        let _ = self.flush_deliveries();
    }
}

/// One open write transaction on the SQLite store.
pub struct SqliteTx<'c> {
    tx: rusqlite::Transaction<'c>,
}

/// A raw event to store.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    /// Stripe event id.
    pub id: &'a str,
    /// Stripe event type.
    pub event_type: &'a str,
    /// `event.created`.
    pub created: i64,
    /// `event.livemode`.
    pub livemode: bool,
    /// `event.api_version`.
    pub api_version: Option<&'a str>,
    /// Connect account.
    pub account: Option<&'a str>,
    /// `data.object.id`.
    pub object_id: Option<&'a str>,
    /// The customer the event concerns.
    pub customer_id: Option<&'a str>,
    /// processed | ignored | stale.
    pub outcome: &'a str,
    /// When it was received.
    pub received_at: i64,
    /// The exact bytes Stripe signed.
    pub body: &'a [u8],
}

/// The operations the ingest pipeline needs inside its transaction. Implemented by
/// [`SqliteTx`]; a PostgreSQL store implements the same trait.
pub trait StoreTx {
    /// Whether the event id is stored (inside the write lock: race-free).
    fn event_exists(&mut self, id: &str) -> Result<bool>;
    /// Stores the raw event.
    fn insert_event(&mut self, e: &NewEvent<'_>) -> Result<()>;
    /// A customer's profile (email, name, deleted) and its watermark.
    fn customer(&mut self, id: &str) -> Result<Option<(CustomerRecord, Watermark)>>;
    /// Writes a customer's profile (never touches the user link).
    fn put_customer(&mut self, rec: &CustomerRecord, wm: &Watermark) -> Result<()>;
    /// Links a customer to an app user when `created` is newer than the current link.
    /// Returns whether the link changed.
    fn link_user(&mut self, customer_id: &str, user_id: &str, created: i64) -> Result<bool>;
    /// Fills email / name where the profile has none yet (checkout sessions carry them).
    fn fill_contact(
        &mut self,
        customer_id: &str,
        email: Option<&str>,
        name: Option<&str>,
    ) -> Result<()>;
    /// A subscription and its watermark.
    fn subscription(&mut self, id: &str) -> Result<Option<(SubscriptionView, Watermark)>>;
    /// Writes a subscription.
    fn put_subscription(&mut self, view: &SubscriptionView, wm: &Watermark) -> Result<()>;
    /// All subscriptions of a customer.
    fn customer_subscriptions(&mut self, customer_id: &str) -> Result<Vec<SubscriptionView>>;
    /// An invoice and its watermark.
    fn invoice(&mut self, id: &str) -> Result<Option<(InvoiceRecord, Watermark)>>;
    /// Writes an invoice.
    fn put_invoice(&mut self, rec: &InvoiceRecord, wm: &Watermark) -> Result<()>;
    /// A checkout session and its watermark.
    fn checkout(&mut self, id: &str) -> Result<Option<(CheckoutRow, Watermark)>>;
    /// Writes a checkout session.
    fn put_checkout(&mut self, row: &CheckoutRow, wm: &Watermark) -> Result<()>;
    /// The app user linked to a customer.
    fn customer_user(&mut self, customer_id: &str) -> Result<Option<String>>;
    /// Enqueues a job; `None` when its key already exists (once-jobs) — coalesced jobs update
    /// the due row's payload and return it.
    fn enqueue(
        &mut self,
        job: &NewJob,
        event_id: Option<&str>,
        now: i64,
    ) -> Result<Option<EnqueuedJob>>;
    /// Appends a delivery-log row.
    fn log_delivery(&mut self, d: &Delivery) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_sets_the_connection_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db").to_str().unwrap().to_owned();
        let store = Store::open(&StoreOptions {
            path,
            durability: Durability::Full,
            busy_timeout: Duration::from_millis(1234),
            wal_autocheckpoint: REQUEST_PATH_AUTOCHECKPOINT,
        })
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
}
