//! The PostgreSQL store: the same tables, rules and guarantees as the SQLite store, for many
//! app instances and serverless functions sharing one database.
//!
//! Pooler-safe by construction (PgBouncer, Supavisor and Neon's pooler in transaction mode):
//! - every statement is an unnamed one (`query_typed`: Parse/Bind/Execute/Sync in one round
//!   trip), so nothing relies on a prepared statement surviving to the next transaction;
//! - every setting is `SET LOCAL` inside the transaction it is for (`statement_timeout`,
//!   `search_path`), every lock is transaction-scoped (`pg_advisory_xact_lock`); no LISTEN.
//!
//! Concurrency equals SQLite's `BEGIN IMMEDIATE`: each write transaction first takes one
//! transaction-scoped advisory lock per schema (the writer lock), so writes from every process
//! are serialized and each read-decide-write (dedupe, watermarks, coalescing, claims, FIFO per
//! customer and queue, leases) sees the previous writer's commit (READ COMMITTED takes a new
//! snapshot per statement, after the lock). Reads take no lock. A deadlock or serialization
//! failure rolls back and runs the transaction again (a few times), which is why `write` takes
//! an `FnMut`.

mod billing_model;
mod cols;
mod config;
mod copy;
mod deliveries;
mod errors;
mod jobs;
mod literal;
mod migrate;
mod payments;
mod pool;
mod prefetch;
mod prune;
mod queries;
mod stats;
mod store_impl;
mod stripe_state;
mod tls;
mod tx;

pub use config::{PgOptions, SslMode, is_postgres_url};
pub use tx::PgTx;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::deliveries::DeliveryBuffer;
use crate::error::Result;

/// The schema version this build writes (count of files in `migrations/`).
pub const PG_SCHEMA_VERSION: i64 = migrate::MIGRATIONS.len() as i64;

/// First key of the writer lock (`pg_advisory_xact_lock(WRITE_LOCK, hashtext(schema))`).
const WRITE_LOCK: i32 = 0x7462_0001;
/// First key of the migration lock.
const MIGRATE_LOCK: i32 = 0x7462_0002;
/// Runs of one transaction after a deadlock or serialization failure.
const MAX_TRIES: u32 = 5;

/// An open PostgreSQL store. `Send + Sync`: each call takes a pooled connection.
pub struct PgStore {
    opts: PgOptions,
    pool: pool::Pool,
    /// `BEGIN ...; SET LOCAL ...` for reads and for writes (the latter takes the writer lock).
    begin_read: String,
    begin_write: String,
    /// `begin_write` that gives up at once when another writer holds the lock.
    begin_try_write: String,
    /// Delivery-log rows of duplicate deliveries, written with the next write transaction.
    pending_log: Mutex<DeliveryBuffer>,
    /// Migrations this open applied (0 when another process had done them).
    applied: usize,
    /// Round trips to the server since open ([`PgStore::round_trips`]).
    trips: AtomicU64,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Parses the URL, connects once (so a wrong password or an unreachable server is an
    /// error at open, not at the first webhook) and brings the schema up to date.
    pub fn open(url: &str) -> Result<PgStore> {
        Self::open_with(PgOptions::parse(url)?)
    }

    /// Opens with parsed options.
    pub fn open_with(opts: PgOptions) -> Result<PgStore> {
        let tls = tls::connector(&opts)?;
        let pool = pool::Pool::new(opts.client.clone(), tls, opts.pool_size, opts.pool_timeout);
        let ms = opts.statement_timeout.as_millis().max(1);
        let schema = &opts.schema;
        let begin_read =
            format!("BEGIN; SET LOCAL statement_timeout = {ms}; SET LOCAL search_path = {schema}");
        let lock = format!("SELECT pg_advisory_xact_lock({WRITE_LOCK}, hashtext('{schema}'))");
        let begin_write = format!("{begin_read}; {lock}");
        // lock_timeout 0 would mean "no limit": 1 ms is "not now" (55P03, `STORE_BUSY`).
        let begin_try_write = format!("{begin_read}; SET LOCAL lock_timeout = 1; {lock}");
        let mut store = PgStore {
            opts,
            pool,
            begin_read,
            begin_write,
            begin_try_write,
            pending_log: Mutex::new(DeliveryBuffer::default()),
            applied: 0,
            trips: AtomicU64::new(0),
        };
        store.applied = migrate::run(&store)?;
        Ok(store)
    }

    /// The parsed options (never shows the password in `Debug`).
    pub fn options(&self) -> &PgOptions {
        &self.opts
    }

    /// How many migrations this open applied (0 when the schema was already current).
    pub fn migrations_applied(&self) -> usize {
        self.applied
    }

    /// Connections open now (idle or in use).
    pub fn open_connections(&self) -> usize {
        self.pool.open_count()
    }

    /// Round trips to the server since open: every statement or simple-protocol batch sent
    /// and answered (`BEGIN ...`, each statement, `COMMIT`), migrations aside. Deterministic
    /// where timings are not, so benchmarks print it per delivery.
    pub fn round_trips(&self) -> u64 {
        self.trips.load(Ordering::Relaxed)
    }

    /// Counts one round trip (called next to each call to the server).
    fn trip(&self) {
        self.trips.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `f` in one transaction: a write transaction (under the writer lock) or a read one.
    /// Commits when `f` returns `Ok`; rolls back and runs `f` again after a deadlock or a
    /// serialization failure; a connection that was lost while idle in the pool is replaced
    /// once per pooled connection before the call fails.
    ///
    /// `begin` is not a round trip of its own: it goes with the transaction's first one
    /// ([`PgTx::new`]). When that first round trip finds the connection dead, nothing can
    /// have committed (no `COMMIT` was in it, or it was the `COMMIT` of a transaction that
    /// read nothing), so `f` runs again on another connection, as a failed `BEGIN` did.
    fn run<T>(&self, begin: &str, mut f: impl FnMut(&mut PgTx<'_>) -> Result<T>) -> Result<T> {
        let mut tries = 0;
        let mut retry = StaleRetry::new(self.opts.pool_size);
        loop {
            let mut conn = self.pool.get()?;
            let mut tx = PgTx::new(conn.client(), &self.trips, begin);
            let out = f(&mut tx);
            let failure = tx.failure();
            let (sent, dropped) = (tx.sent(), tx.dropped());
            // The deferred writes and COMMIT, or ROLLBACK (which drops them unsent).
            let commit = tx.commit_sql();
            self.trip();
            match out {
                Ok(v) => match conn.client().batch_execute(&commit) {
                    Ok(()) => return Ok(v),
                    Err(e) => {
                        let kind = errors::kind(&e);
                        if kind == errors::Kind::Broken {
                            conn.mark_broken();
                            if sent == 0 && retry.again(&conn, e.as_db_error().is_none()) {
                                continue;
                            }
                            return Err(errors::map(&e));
                        }
                        // A failed deferred statement leaves the transaction open and
                        // aborted (a failed COMMIT ended it: ROLLBACK then only warns).
                        self.trip();
                        if conn.client().batch_execute("ROLLBACK").is_err() {
                            conn.mark_broken();
                            return Err(errors::map(&e));
                        }
                        if kind != errors::Kind::Retry || tries + 1 >= MAX_TRIES {
                            return Err(errors::map(&e));
                        }
                    }
                },
                Err(err) => {
                    if failure == Some(errors::Kind::Broken) {
                        conn.mark_broken();
                        if sent == 1 && retry.again(&conn, dropped) {
                            continue;
                        }
                        return Err(err);
                    }
                    if conn.client().batch_execute("ROLLBACK").is_err() {
                        conn.mark_broken();
                        return Err(err);
                    }
                    if failure != Some(errors::Kind::Retry) || tries + 1 >= MAX_TRIES {
                        return Err(err);
                    }
                }
            }
            // A deadlock or serialization failure: back off a little and run it again.
            drop(conn);
            tries += 1;
            std::thread::sleep(Duration::from_millis(2u64 << tries));
        }
    }

    /// Runs `f` in one write transaction under the writer lock, flushing buffered
    /// delivery-log rows in it. `f` may run more than once (see [`PgStore::run`]).
    pub fn write<T>(&self, f: impl FnMut(&mut PgTx<'_>) -> Result<T>) -> Result<T> {
        self.write_after(&self.begin_write, f)
    }

    /// [`PgStore::write`] that gives up at once (`STORE_BUSY`) when another writer holds
    /// the writer lock.
    pub fn try_write<T>(&self, f: impl FnMut(&mut PgTx<'_>) -> Result<T>) -> Result<T> {
        self.write_after(&self.begin_try_write, f)
    }

    fn write_after<T>(
        &self,
        begin: &str,
        mut f: impl FnMut(&mut PgTx<'_>) -> Result<T>,
    ) -> Result<T> {
        let pending = self.pending().take();
        let out = self.run(begin, |tx| {
            crate::deliveries::write_buffered(tx, &pending)?;
            f(tx)
        });
        if out.is_err() && !pending.is_empty() {
            // Not written: keep them (in front of anything buffered meanwhile).
            self.pending().restore(pending);
        }
        out
    }

    /// Runs `f` in a read-only transaction.
    pub(crate) fn read<T>(&self, f: impl FnMut(&mut PgTx<'_>) -> Result<T>) -> Result<T> {
        self.run(&self.begin_read, f)
    }

    pub(super) fn pending(&self) -> std::sync::MutexGuard<'_, DeliveryBuffer> {
        self.pending_log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether an event id is stored (a plain read: no writer lock), in one round trip: the
    /// read transaction's `BEGIN; SET LOCAL ...`, the `SELECT` and `COMMIT` go as one
    /// simple-protocol batch, with the id as an escaped literal. This is the duplicate fast
    /// path and every unique delivery's first step; through [`PgStore::read`] it took three
    /// round trips. Pooler-safe like every read: nothing outlives the transaction.
    pub fn event_exists(&self, id: &str) -> Result<bool> {
        let Some(id_literal) = literal::text(id) else {
            // Not expressible as a literal; the parameterized read reports it.
            return self.read(|tx| crate::store::StoreTx::event_exists(tx, id));
        };
        let sql = format!(
            "{}; SELECT 1 FROM events WHERE id = {id_literal}; COMMIT",
            self.begin_read
        );
        let mut retry = StaleRetry::new(self.opts.pool_size);
        loop {
            let mut conn = self.pool.get()?;
            self.trip();
            let e = match conn.client().simple_query(&sql) {
                Ok(messages) => {
                    return Ok(messages
                        .iter()
                        .any(|m| matches!(m, postgres::SimpleQueryMessage::Row(_))));
                }
                Err(e) => e,
            };
            // A read has no effect: another connection is always safe to try.
            match first_failed(&mut conn, &e, &mut retry) {
                None => continue,
                Some(err) => return Err(err),
            }
        }
    }

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<i64> {
        self.read(|tx| tx.schema_version())
    }

    /// Writes buffered delivery-log rows and closes every pooled connection.
    pub fn close(&self) -> Result<()> {
        let flushed = self.flush_deliveries();
        self.pool.clear();
        flushed
    }

    /// Whether the server reports this store's connections as encrypted (TLS).
    pub fn connection_encrypted(&self) -> Result<bool> {
        self.read(|tx| {
            match tx.row(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )? {
                Some(r) => tx.get(&r, 0),
                None => Ok(false),
            }
        })
    }

    /// Named prepared statements alive on a pooled connection (`pg_prepared_statements`): the
    /// pooler-safety test asserts there are none (every statement is unnamed).
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn named_statements_on_a_connection(&self) -> Result<i64> {
        self.read(
            |tx| match tx.row("SELECT count(*)::int8 FROM pg_prepared_statements", &[])? {
                Some(r) => tx.get(&r, 0),
                None => Ok(0),
            },
        )
    }

    /// The schema name (for tests and the CLI's `status`).
    pub fn schema(&self) -> &str {
        &self.opts.schema
    }
}

/// When a connection fails at the transport level before anything ran on it, whether to try
/// another: one that died idle in our pool (a server restart), up to the pool's size, or once,
/// a new one that a pooler handed a dead server connection (PgBouncer after a restart) and
/// dropped.
struct StaleRetry {
    stale: usize,
    fresh_retried: bool,
    pool_size: usize,
}

impl StaleRetry {
    fn new(pool_size: usize) -> Self {
        StaleRetry {
            stale: 0,
            fresh_retried: false,
            pool_size,
        }
    }

    /// Whether to try another connection after `conn` failed before anything ran on it;
    /// `dropped`: the connection closed without an answer from the server.
    fn again(&mut self, conn: &pool::Conn<'_>, dropped: bool) -> bool {
        if (conn.reused && self.stale <= self.pool_size) || (dropped && !self.fresh_retried) {
            if !conn.reused {
                self.fresh_retried = true;
            }
            self.stale += 1;
            return true;
        }
        false
    }
}

/// After a call's first batch of statements failed on `conn`: `None` to try another
/// connection ([`StaleRetry`]), else the error to return, with the connection dropped (broken)
/// or its aborted transaction rolled back.
fn first_failed(
    conn: &mut pool::Conn<'_>,
    e: &postgres::Error,
    retry: &mut StaleRetry,
) -> Option<crate::error::Error> {
    if errors::kind(e) == errors::Kind::Broken {
        conn.mark_broken();
        if retry.again(conn, e.as_db_error().is_none()) {
            return None;
        }
    } else if conn.client().batch_execute("ROLLBACK").is_err() {
        conn.mark_broken();
    }
    Some(errors::map(e))
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Best effort: a failure only loses duplicate-delivery log rows, never an event.
        let _ = self.flush_deliveries();
    }
}
