//! The store seam: everything the engine asks of a database, and nothing more.
//!
//! [`Store`] is the one trait a backend implements: the write transaction (through
//! [`StoreTx`], which the ingest pipeline runs against), the portal's reads, the job queue's
//! claim / complete / fail / replay, and the durable figures metrics need. The engine holds a
//! `Box<dyn Store>` chosen at open time from the database string, so a binding (Node, C, CLI)
//! keeps one concrete `Engine` type whichever database a deployment uses; the cost of dynamic
//! dispatch is nothing next to a transaction.
//!
//! Policy never lives here. Domain types and rules belong to the modules that own them
//! ([`crate::outbox`] for jobs and the retry rule, [`crate::deliveries`] for the delivery log,
//! [`crate::billing`] for rows and watermarks); a backend writes SQL and calls those pure
//! functions, so a second backend never copies a decision.
//!
//! Each method takes `&self`: a backend does its own locking (SQLite: one connection behind a
//! mutex, writes serialized by `BEGIN IMMEDIATE`; a network database: a pool).

pub mod copy;
mod json_cols;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sqlite;

pub use sqlite::{Durability, SqliteOptions};

use crate::billing::{
    CheckoutRow, CustomerRow, PaymentAction, PurchaseRecord, SubscriptionView, Watermark,
};
use crate::deliveries::{AuthenticTimes, Delivery, DeliveryCounts, DeliveryOutcome};
use crate::error::Result;
use crate::event::{
    CustomerRecord, EntitlementsRecord, Event, EventFilter, EventRow, InvoiceRecord,
    LivemodeCounts, Object,
};
use crate::outbox::{
    ClaimRequest, ClaimedJob, EnqueuedJob, FailOutcome, FailedAttempt, Job, JobAttempt, JobFilter,
    JobThrottle, KindStats, NewJob,
};
use crate::retention::{Cutoffs, Pruned};
use crate::sync_state::{CatalogEntry, SyncCursor, SyncPage};

/// Opens (creating and migrating as needed) the store a database string names: a
/// `postgres://` / `postgresql://` URL (see [`postgres::PgOptions`]), else a SQLite file path
/// or `:memory:`.
pub fn open(database: &str, sqlite: &SqliteOptions) -> Result<Box<dyn Store>> {
    if is_postgres_url(database) {
        #[cfg(feature = "postgres")]
        return Ok(Box::new(postgres::PgStore::open(database)?));
        #[cfg(not(feature = "postgres"))]
        return Err(crate::error::Error::new(
            crate::error::ErrorCode::ConfigInvalid,
            "a postgres:// database needs tollbooth built with the `postgres` feature",
        ));
    }
    Ok(Box::new(sqlite::SqliteStore::open(database, sqlite)?))
}

/// The database string with the password of a `postgres://user:password@...` URL replaced by
/// `***`, for `Debug`, logs and reports (a SQLite path comes back unchanged).
pub fn redact_database(database: &str) -> String {
    if !is_postgres_url(database) {
        return database.to_owned();
    }
    let Some((scheme, rest)) = database.split_once("://") else {
        return database.to_owned();
    };
    // The userinfo ends at the last '@' before the path (a password may contain '@' escaped
    // or not); the password starts after the first ':' in it.
    let end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..end].rfind('@') else {
        return database.to_owned();
    };
    let userinfo = &rest[..at];
    let user = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None => userinfo.to_owned(),
    };
    format!("{scheme}://{user}{}", &rest[at..])
}

/// Whether a database string names a PostgreSQL server (anything else is a SQLite path).
pub fn is_postgres_url(database: &str) -> bool {
    let head = database.get(..13).unwrap_or(database).to_ascii_lowercase();
    head.starts_with("postgres://") || head.starts_with("postgresql://")
}

/// A database that holds tollbooth's state. See the module docs.
pub trait Store: Send + Sync {
    // --- Ingest -------------------------------------------------------------------------

    /// Runs `f` in one write transaction and commits when it returns `Ok`; rolls back
    /// otherwise. Buffered delivery-log rows are written in the same transaction. A backend
    /// may run `f` again after a transient conflict, so `f` must only act through `tx`.
    /// Waits at most the store's wait budget for the write lock (`STORE_BUSY` /
    /// `STORE_TIMEOUT` after it).
    fn write(&self, f: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>) -> Result<()>;

    /// [`Store::write`] that never waits: `STORE_BUSY` at once when another call or process
    /// holds the write lock. For log-only writes (the rejection tally), which are kept in
    /// memory and tried again later rather than make a request wait.
    fn try_write(&self, f: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>) -> Result<()>;

    /// Whether an event id is stored: a plain read, no write lock (the duplicate fast path).
    fn event_exists(&self, id: &str) -> Result<bool>;

    /// Appends a delivery-log row in its own transaction (rejections are logged at once).
    fn log_delivery_now(&self, d: &Delivery) -> Result<()>;

    /// Buffers a delivery-log row to be written with the next write transaction (group
    /// commit), so answering a duplicate needs no write of its own; when the buffer is due
    /// it is flushed with [`Store::try_write`]'s rule (never waiting). Never fails; returns
    /// how many of the oldest buffered rows were folded into counts (see
    /// [`crate::deliveries::DeliveryBuffer`]) because the store kept refusing writes.
    fn buffer_delivery(&self, d: Delivery, now: i64) -> usize;

    /// Writes buffered delivery-log rows now (waiting at most the budget).
    fn flush_deliveries(&self) -> Result<()>;

    /// Writes buffered delivery-log rows now if the write lock is free (`STORE_BUSY` at once
    /// otherwise; the rows stay buffered).
    fn try_flush_deliveries(&self) -> Result<()>;

    /// Buffered delivery-log rows whose detail was dropped (counts kept) since the store was
    /// opened, for the metrics.
    fn delivery_rows_folded(&self) -> u64;

    // --- Portal and operator reads ------------------------------------------------------

    /// A customer by Stripe id.
    fn customer(&self, id: &str) -> Result<Option<CustomerRow>>;
    /// The platform's customer linked to an app user (the most recently linked, if several);
    /// customers of connected accounts never answer here.
    fn customer_for_user(&self, user_id: &str) -> Result<Option<CustomerRow>>;
    /// The customer of connected account `account` linked to an app user of that account.
    fn customer_for_user_in(&self, account: &str, user_id: &str) -> Result<Option<CustomerRow>>;
    /// The customer with this email (the most recently written, if several).
    fn customer_for_email(&self, email: &str) -> Result<Option<CustomerRow>>;
    /// All subscriptions of a customer, by id.
    fn subscriptions(&self, customer_id: &str) -> Result<Vec<SubscriptionView>>;
    /// A customer's invoices, newest first.
    fn invoices(&self, customer_id: &str) -> Result<Vec<InvoiceRecord>>;
    /// A checkout session.
    fn checkout(&self, id: &str) -> Result<Option<CheckoutRow>>;
    /// The one-time purchases (rows known to be purchases) of a customer or an app user.
    fn purchases(
        &self,
        customer_id: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<Vec<PurchaseRecord>>;
    /// A customer's active Stripe Entitlements (feature lookup keys, sorted).
    fn features(&self, customer_id: &str) -> Result<Vec<String>>;
    /// Stored events (without bodies), newest first.
    fn events(&self, filter: &EventFilter) -> Result<Vec<EventRow>>;
    /// The exact bytes of a stored event.
    fn event_body(&self, id: &str) -> Result<Option<Vec<u8>>>;
    /// How many stored events are quarantined.
    fn quarantined_count(&self) -> Result<u64>;
    /// A customer's pending payment actions (SCA): invoices asked for one and still open,
    /// newest first.
    fn payment_actions(&self, customer_id: &str) -> Result<Vec<PaymentAction>>;

    // --- Job queue ----------------------------------------------------------------------

    /// Jobs, newest first.
    fn jobs(&self, filter: &JobFilter) -> Result<Vec<Job>>;
    /// One job by id (`JOB_NOT_FOUND` when absent).
    fn job(&self, id: i64) -> Result<Job>;
    /// A job's attempts, oldest first.
    fn job_attempts(&self, id: i64) -> Result<Vec<JobAttempt>>;
    /// Hands out up to `limit` due jobs of `kinds` (all when empty), oldest first, each
    /// leased for `lease_secs`. First ends leases that ran out as failed attempts
    /// (`lease_expired`) under [`crate::outbox::after_failure`], so they retry with backoff or
    /// are dead-lettered at `max_attempts`. A job waits while an older open job of its queue
    /// ([`crate::outbox::queue_of`]) for its customer exists.
    fn claim(&self, request: &ClaimRequest<'_>, now: i64) -> Result<Vec<ClaimedJob>>;
    /// Marks a leased job done; `LEASE_LOST` when the lease is not the caller's any more.
    fn complete(&self, id: i64, lease_token: i64, now: i64) -> Result<()>;
    /// Records a failed attempt and applies [`crate::outbox::after_failure`] (with the
    /// downstream service's retry-after, when given). `error` is already redacted and
    /// truncated.
    fn fail(&self, attempt: &FailedAttempt<'_>, now: i64) -> Result<FailOutcome>;
    /// Puts a dead job back in the queue; returns the id of the job that will run.
    fn replay(&self, id: i64, now: i64) -> Result<i64>;
    /// Sets (or replaces) the claim throttle of `kind`; `claim` then honours it for every
    /// worker sharing the store ([`JobThrottle`] is the rule).
    fn set_job_throttle(&self, kind: &str, throttle: &JobThrottle) -> Result<()>;
    /// Removes the throttle of `kind`; returns whether there was one.
    fn remove_job_throttle(&self, kind: &str) -> Result<bool>;
    /// Every throttle, by kind.
    fn job_throttles(&self) -> Result<Vec<(String, JobThrottle)>>;

    // --- Stripe API work (sync, catch-up) ------------------------------------------------

    /// One stream's cursor (`customer`, `subscription`, ..., or `events`).
    fn sync_cursor(&self, stream: &str) -> Result<Option<SyncCursor>>;
    /// Every stream's cursor, by name.
    fn sync_cursors(&self) -> Result<Vec<SyncCursor>>;
    /// Starts a new run of `stream` with `scope`, forgetting an earlier run's position.
    fn start_sync_cursor(&self, stream: &str, scope: &str, now: i64) -> Result<()>;
    /// Records a page: the last object applied and how many the page applied.
    fn advance_sync_cursor(&self, stream: &str, page: &SyncPage<'_>, now: i64) -> Result<()>;
    /// Marks a run finished.
    fn complete_sync_cursor(&self, stream: &str, now: i64) -> Result<()>;
    /// Upserts a product or price unless the stored row was fetched later or is the same;
    /// returns whether a row changed.
    fn put_catalog_entry(&self, entry: &CatalogEntry) -> Result<bool>;
    /// Products and prices (`object`: `product`, `price`, or `None` for both), by id.
    fn catalog(&self, object: Option<&str>) -> Result<Vec<CatalogEntry>>;
    /// `created` of the newest stored event, if any (where a catch-up starts).
    fn last_event_created(&self) -> Result<Option<i64>>;

    // --- Durable figures ----------------------------------------------------------------

    /// Delivery counts from the minute of `since` on, from the per-minute stats (a handful of
    /// rows whatever the traffic).
    fn delivery_counts(&self, since: i64) -> Result<DeliveryCounts>;
    /// The most recent delivery-log rows, newest first.
    fn recent_deliveries(&self, limit: u32) -> Result<Vec<Delivery>>;
    /// Per-kind queue figures; `since` starts the window.
    fn queue_stats(&self, now: i64, since: i64) -> Result<Vec<KindStats>>;
    /// The schema version the database is at.
    fn schema_version(&self) -> Result<i64>;
    /// The authentic delivery times among the newest `scan` delivery-log rows. The default
    /// reads them through [`Store::recent_deliveries`]; a backend may read only the two columns.
    fn authentic_delivery_times(&self, scan: u32) -> Result<AuthenticTimes> {
        Ok(AuthenticTimes::from_rows(
            &self.recent_deliveries(scan)?,
            scan,
        ))
    }
    /// Live and test events among the newest `limit` stored events; `None` when the backend
    /// does not count them.
    fn livemode_counts(&self, limit: u32) -> Result<Option<LivemodeCounts>> {
        let _ = limit;
        Ok(None)
    }

    // --- Bulk copy between stores ([`copy`]) --------------------------------------------

    /// Up to `limit` rows of `table` in key order, after the key `after` (from the start when
    /// `None`), each with one cell per column of the table description.
    fn copy_out(
        &self,
        table: &copy::Table,
        after: Option<&[copy::Cell]>,
        limit: u32,
    ) -> Result<Vec<Vec<copy::Cell>>>;
    /// Upserts `rows` into `table` in one transaction (the copied row wins); returns how many.
    fn copy_in(&self, table: &copy::Table, rows: &[Vec<copy::Cell>]) -> Result<u64>;

    // --- Retention and backups ---------------------------------------------------------

    /// Deletes (or, for event bodies, empties) up to about `batch` rows older than `cutoffs`
    /// in one short transaction, never a billing row, an unfinished job or a quarantined
    /// event ([`crate::retention`]). The caller repeats while something was removed.
    fn prune(&self, cutoffs: &Cutoffs, batch: u32) -> Result<Pruned>;

    /// Writes a consistent copy of the whole store to `path` while it stays in use (SQLite's
    /// online backup). `CONFIG_INVALID` for a backend whose own tools do this (`pg_dump`).
    fn backup(&self, path: &std::path::Path) -> Result<()> {
        let _ = path;
        Err(crate::error::Error::new(
            crate::error::ErrorCode::ConfigInvalid,
            "this store is backed up with its own tools (pg_dump for PostgreSQL)",
        ))
    }

    // --- Lifecycle ----------------------------------------------------------------------

    /// Backend housekeeping a host may run from a worker (SQLite: a PASSIVE WAL checkpoint,
    /// returning `(wal_frames, frames_checkpointed)`). `(0, 0)` where there is none.
    fn checkpoint(&self) -> Result<(i64, i64)> {
        Ok((0, 0))
    }

    /// Client/server round trips the store has made since it opened (PostgreSQL: one per
    /// statement or batch sent and answered). 0 for an embedded store, which has none. For
    /// benchmarks: a deterministic measure of the network cost of a delivery.
    fn round_trips(&self) -> u64 {
        0
    }

    /// Flushes buffered rows and releases the database; stops background threads.
    fn close(&self) -> Result<()>;

    /// Test hooks (`testing` feature): the backend's handle for fault tests.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    fn testing(&self) -> &dyn testing::StoreHooks;
}

/// Runs `f` in one write transaction of `store` and returns its value (see [`Store::write`]).
pub fn write_with<T>(
    store: &dyn Store,
    mut f: impl FnMut(&mut dyn StoreTx) -> Result<T>,
) -> Result<T> {
    let mut out = None;
    store.write(&mut |tx| {
        out = Some(f(tx)?);
        Ok(())
    })?;
    out.ok_or_else(|| {
        crate::error::Error::new(
            crate::error::ErrorCode::StoreError,
            "the store committed without running the transaction",
        )
    })
}

/// Hooks that fault tests use to make a backend fail on purpose (`testing` feature only).
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing {
    use crate::error::Result;

    /// Backend-specific ways to make writes fail.
    pub trait StoreHooks {
        /// Sets an integer SQLite pragma on the request connection (`query_only`,
        /// `max_page_count`).
        fn set_pragma(&self, pragma: &str, value: i64) -> Result<()>;
        /// Calls `f` with the SQL text of every statement the request connection starts.
        fn trace_statements(&self, f: Option<fn(rusqlite::trace::TraceEvent<'_>)>);
    }
}

/// What the deliveries of one batch read first (their dedupe and the row each one's object
/// is compared with), named before the batch is written so a backend that pays a round trip
/// per read can fetch them all in one or two ([`StoreTx::prefetch`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Prefetch<'a> {
    /// The events' ids (the in-lock dedupe).
    pub event_ids: Vec<&'a str>,
    /// Invoices the events carry.
    pub invoices: Vec<&'a str>,
    /// Subscriptions the events carry.
    pub subscriptions: Vec<&'a str>,
    /// Customers the events carry.
    pub customers: Vec<&'a str>,
}

impl<'a> Prefetch<'a> {
    /// The reads `events` start with: each id, and the row of each object of a kind the
    /// webhook volume is made of (invoices, subscriptions, customers). Other objects are read
    /// as before, one at a time.
    pub fn of(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut p = Prefetch::default();
        for e in events {
            p.event_ids.push(&e.id);
            match &e.object {
                Object::Invoice(r) => p.invoices.push(&r.id),
                Object::Subscription(r) => p.subscriptions.push(&r.id),
                Object::Customer(r) => p.customers.push(&r.id),
                _ => {}
            }
        }
        p
    }
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
    /// processed | ignored | stale | quarantined.
    pub outcome: &'a str,
    /// For a quarantined event, the code that stopped it.
    pub error_code: Option<&'a str>,
    /// When it was received.
    pub received_at: i64,
    /// The exact bytes Stripe signed.
    pub body: &'a [u8],
}

/// The operations the ingest pipeline needs inside one write transaction. Each backend's
/// transaction type implements it; the pipeline (`engine::apply`) runs against it and never
/// sees SQL.
pub trait StoreTx {
    /// Reads ahead what a batch's deliveries will read first, so the reads below can be
    /// answered from memory. A hint, called once at the start of every batch (a lone
    /// delivery included): the default does nothing (SQLite reads its own pages in
    /// microseconds); the PostgreSQL store fetches them in one round trip instead of two per
    /// delivery, and still asks the server for anything written in the transaction since.
    ///
    /// Returns whether it read ahead. If it did, a transaction that fails may be written
    /// again without it: the read-ahead also reserves job ids, and a job whose key already
    /// exists then fails the transaction instead of being skipped (see `jobs::enqueue`).
    fn prefetch(&mut self, keys: &Prefetch<'_>) -> Result<bool> {
        let _ = keys;
        Ok(false)
    }
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
    /// A payment's purchase row.
    fn purchase(&mut self, id: &str) -> Result<Option<PurchaseRecord>>;
    /// Writes a purchase row (the caller has merged it with the stored one).
    fn put_purchase(&mut self, p: &PurchaseRecord) -> Result<()>;
    /// A customer's entitlement summary with its watermark.
    fn entitlements(
        &mut self,
        customer_id: &str,
    ) -> Result<Option<(EntitlementsRecord, Watermark)>>;
    /// Writes a customer's entitlement summary.
    fn put_entitlements(&mut self, rec: &EntitlementsRecord, wm: &Watermark) -> Result<()>;
    /// Writes a catalog entry unless the stored one is as new and the same; true when written.
    fn put_catalog_entry(&mut self, e: &CatalogEntry) -> Result<bool>;
    /// Enqueues a job; `None` when its key already exists (once-jobs) — coalesced jobs update
    /// the due row's payload and return it.
    fn enqueue(
        &mut self,
        job: &NewJob,
        event_id: Option<&str>,
        now: i64,
    ) -> Result<Option<EnqueuedJob>>;
    /// Appends a delivery-log row and counts it in the per-minute delivery stats.
    fn log_delivery(&mut self, d: &Delivery) -> Result<()>;
    /// Adds `n` to the per-minute delivery stats without logging rows (requests that were not
    /// authentic deliveries, beyond their sample).
    fn count_deliveries(
        &mut self,
        minute: i64,
        outcome: DeliveryOutcome,
        reason: &str,
        n: u64,
    ) -> Result<()>;
    /// The payment lookups and pending actions of this transaction ([`PaymentsTx`]).
    fn payments(&mut self) -> &mut dyn PaymentsTx;
    /// Records that a stored (quarantined) event has now been applied: its new outcome and
    /// customer, and no error code.
    fn mark_event_applied(
        &mut self,
        id: &str,
        outcome: &str,
        customer_id: Option<&str>,
    ) -> Result<()>;
}

/// Payment lookups, pending customer actions and Connect scopes, inside the ingest
/// transaction: which customer a charge or PaymentIntent belongs to (disputes and refunds name
/// only those), the ticket jobs still waiting to learn it, invoices whose payment needs the
/// customer (SCA), and which connected account a customer belongs to.
pub trait PaymentsTx {
    /// The customer a charge or PaymentIntent (`ch_...`, `pi_...`) belongs to, if learned.
    fn payment_ref(&mut self, id: &str) -> Result<Option<String>>;
    /// Learns that `id` belongs to `customer_id` (the first answer stays); returns whether it
    /// was new.
    fn put_payment_ref(&mut self, id: &str, customer_id: &str, created: i64) -> Result<bool>;
    /// Remembers that due job `job_id` waits for the customer of `ref_id`.
    fn note_orphan_job(&mut self, ref_id: &str, job_id: i64) -> Result<()>;
    /// Gives the due jobs waiting for `ref_id` their customer (the job's `customer_id` and the
    /// payload's top-level `"customer_id":null`); returns how many.
    fn adopt_orphan_jobs(&mut self, ref_id: &str, customer_id: &str) -> Result<u64>;
    /// Puts customer `customer_id` in connected account `account`'s scope (creating a bare
    /// row when it has none yet): its user link then answers only within that account.
    fn set_customer_account(&mut self, customer_id: &str, account: &str) -> Result<()>;
    /// Records that invoice `invoice_id`'s payment needs the customer; returns whether it was
    /// new.
    fn put_payment_action(
        &mut self,
        invoice_id: &str,
        customer_id: &str,
        created: i64,
    ) -> Result<bool>;
}

/// The payload text an orphan job carries until its customer is known, and what replaces it:
/// one rule for both backends' SQL (`replace(payload, NULL_CUSTOMER, ...)`).
pub const NULL_CUSTOMER: &str = r#""customer_id":null"#;
