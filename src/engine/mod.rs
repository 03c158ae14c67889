//! The engine: the one public entry point that turns a Stripe delivery into state and jobs.
//!
//! ```text
//! handle_webhook(raw_body, stripe_signature, now)
//!   1 verify   2 parse   3 dedupe   4 persist   5 apply   6 enqueue   7 commit
//! ```
//! Steps 3–6 are one `BEGIN IMMEDIATE` transaction: a crash leaves nothing or everything, and a
//! redelivery after a crash is processed normally. Rejections (1–2, and the livemode guard)
//! are written to the delivery log at once; duplicates are answered from a read and their log
//! row is group-committed with the next write.
//!
//! `Engine` is `Send + Sync`: the store sits behind a mutex, so one engine can serve every
//! request thread of a process. Several processes may share one database file.

mod apply;
mod fault;
mod observe;

#[doc(hidden)]
pub use fault::FaultPoint;

pub use observe::{Alert, AlertThresholds, Health, LatencySummary, MetricsReport, alerts};

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::billing::{Access, AccessPolicy, CheckoutState, Watermark, access};
use crate::error::{Error, ErrorCode, Result};
use crate::event::{self, Event, EventKind, InvoiceRecord};
use crate::metrics::Metrics;
use crate::outbox::{self, DEFAULT_MAX_ATTEMPTS};
use crate::store::queries::{CustomerRow, EventFilter, EventRow};
use crate::store::{
    CHECKPOINT_INTERVAL, Checkpointer, ClaimedJob, Delivery, DeliveryOutcome, Durability,
    EnqueuedJob, FailOutcome, Job, JobAttempt, JobFilter, NewEvent, REQUEST_PATH_AUTOCHECKPOINT,
    Store, StoreOptions, StoreTx,
};
use crate::verify::{self, Secret, VerifyOptions};

/// Engine configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// SQLite file path, or `:memory:`.
    pub database: String,
    /// Active webhook signing secrets (several while rotating). `Debug` redacts them.
    pub webhook_secrets: Vec<Secret>,
    /// Signature tolerance and body size limit.
    pub verify: VerifyOptions,
    /// Access continues this many seconds after a subscription becomes past_due (default 0).
    pub past_due_grace_secs: i64,
    /// `Some(true)`: only live events are accepted; `Some(false)`: only test events;
    /// `None`: both (the default, for development).
    pub livemode: Option<bool>,
    /// Commit durability (default `synchronous=NORMAL`).
    pub durability: Durability,
    /// How long to wait for another process's write lock before `STORE_BUSY`.
    pub busy_timeout: Duration,
    /// Attempts before a job moves to dead-letter.
    pub max_attempts: u32,
    /// When `health` fires alerts.
    pub alerts: AlertThresholds,
    /// Run WAL checkpoints on a background thread (default `true`, file databases only), so
    /// no webhook pays for one. With `false`, SQLite checkpoints inside commits as usual, or
    /// the host calls [`Engine::checkpoint`] from a worker.
    pub background_checkpoint: bool,
}

impl Config {
    /// A configuration with defaults, for a database path and the given secrets.
    pub fn new(database: impl Into<String>, secrets: &[&str]) -> Result<Config> {
        Ok(Config {
            database: database.into(),
            webhook_secrets: secrets
                .iter()
                .map(|s| Secret::new(*s))
                .collect::<Result<_>>()?,
            verify: VerifyOptions::default(),
            past_due_grace_secs: 0,
            livemode: None,
            durability: Durability::Normal,
            busy_timeout: Duration::from_secs(5),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            alerts: AlertThresholds::default(),
            background_checkpoint: true,
        })
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::new(ErrorCode::ConfigInvalid, m));
        if self.webhook_secrets.is_empty() {
            return bad("at least one webhook secret is required");
        }
        if self.verify.tolerance_secs <= 0 {
            return bad(
                "tolerance must be positive (a zero tolerance would accept replays forever)",
            );
        }
        if self.verify.max_body_bytes == 0 {
            return bad("max_body_bytes must be positive");
        }
        if self.past_due_grace_secs < 0 {
            return bad("past_due_grace_secs must not be negative");
        }
        if self.max_attempts == 0 {
            return bad("max_attempts must be at least 1");
        }
        Ok(())
    }
}

/// What a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new event; state and jobs written.
    Processed,
    /// Already stored; nothing done.
    Duplicate,
    /// Stored, but its type moves no state.
    Ignored,
    /// Stored, but older than the state it would have written; nothing else done.
    Stale,
}

impl Outcome {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Processed => "processed",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
            Outcome::Stale => "stale",
        }
    }

    fn delivery(self) -> DeliveryOutcome {
        match self {
            Outcome::Processed => DeliveryOutcome::Processed,
            Outcome::Duplicate => DeliveryOutcome::Duplicate,
            Outcome::Ignored => DeliveryOutcome::Ignored,
            Outcome::Stale => DeliveryOutcome::Stale,
        }
    }
}

/// The result of [`Engine::handle_webhook`]: acknowledge with HTTP 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handled {
    /// What happened.
    pub outcome: Outcome,
    /// Stripe event id.
    pub event_id: String,
    /// Stripe event type.
    pub event_type: String,
    /// The customer the event concerns, when known.
    pub customer_id: Option<String>,
    /// Jobs written (or refreshed, for coalesced ones) by this delivery.
    pub jobs: Vec<EnqueuedJob>,
}

/// The result of [`Engine::apply_snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotApplied {
    /// Whether a row changed.
    pub changed: bool,
    /// `subscription`, `invoice`, `customer` or `checkout.session`.
    pub object_type: String,
    /// The object's id.
    pub object_id: String,
    /// The customer it belongs to.
    pub customer_id: Option<String>,
    /// Jobs written (a CRM sync when the customer's state changed).
    pub jobs: Vec<EnqueuedJob>,
}

/// The success page's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckoutStatus {
    /// The session.
    pub session_id: String,
    /// What the page may say.
    pub state: CheckoutState,
    /// The customer, once known.
    pub customer_id: Option<String>,
    /// The app user, once known.
    pub user_id: Option<String>,
    /// The subscription the session created, once known.
    pub subscription_id: Option<String>,
}

/// The current unix time in whole seconds, for the convenience wrappers only.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The tollbooth engine. See the module docs.
pub struct Engine {
    store: Mutex<Option<Store>>,
    checkpointer: Mutex<Option<Checkpointer>>,
    config: Config,
    metrics: Metrics,
    faults: fault::Faults,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the store (creating and migrating it) and validates the configuration.
    pub fn open(config: Config) -> Result<Engine> {
        config.validate()?;
        let background = config.background_checkpoint && config.database != ":memory:";
        let store = Store::open(&StoreOptions {
            path: config.database.clone(),
            durability: config.durability,
            busy_timeout: config.busy_timeout,
            wal_autocheckpoint: if background {
                REQUEST_PATH_AUTOCHECKPOINT
            } else {
                1000
            },
        })?;
        let checkpointer = if background {
            let c = Checkpointer::start(&config.database, CHECKPOINT_INTERVAL).map_err(|e| {
                Error::new(
                    ErrorCode::StoreOpenFailed,
                    format!("checkpoint thread: {e}"),
                )
            })?;
            Some(c)
        } else {
            None
        };
        Ok(Engine {
            checkpointer: Mutex::new(checkpointer),
            store: Mutex::new(Some(store)),
            config,
            metrics: Metrics::default(),
            faults: fault::Faults::default(),
        })
    }

    /// Runs a PASSIVE WAL checkpoint now; returns `(wal_frames, frames_checkpointed)`. Only
    /// needed with `background_checkpoint = false`, from a worker, off the request path.
    pub fn checkpoint(&self) -> Result<(i64, i64)> {
        self.with_store(|s| s.checkpoint())
    }

    /// Test-only: makes every ingest transaction fail at `point` (with `STORE_SQLITE`) until
    /// it is set back to `None`. Not part of the API.
    #[doc(hidden)]
    pub fn set_fault_point(&self, point: Option<FaultPoint>) {
        self.faults.set(point);
    }

    /// Test-only: sets an integer pragma on the engine's own connection (`query_only` to make
    /// writes fail with `STORE_READONLY`, `max_page_count` for `STORE_FULL`). Not part of the API.
    #[doc(hidden)]
    pub fn set_pragma_for_test(&self, pragma: &str, value: i64) -> Result<()> {
        self.with_store(|s| Ok(s.conn().pragma_update(None, pragma, value)?))
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Flushes buffered log rows and closes the database. Later calls fail with `CLOSED`.
    pub fn close(&self) -> Result<()> {
        // Stop the checkpoint thread first (it joins), then flush and close the connection.
        drop(
            self.checkpointer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
        let mut guard = self.store.lock().unwrap_or_else(|p| p.into_inner());
        match guard.take() {
            Some(mut store) => store.flush_deliveries(),
            None => Ok(()),
        }
    }

    fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        // A panic while holding the lock cannot leave SQLite half-written (the transaction
        // rolls back on drop), so a poisoned lock is safe to reuse.
        let mut guard: MutexGuard<'_, Option<Store>> =
            self.store.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_mut() {
            Some(store) => f(store),
            None => Err(Error::new(ErrorCode::Closed, "the engine is closed")),
        }
    }

    /// Handles one delivery, reading the clock. See [`Engine::handle_webhook_at`].
    pub fn handle_webhook(&self, body: &[u8], signature_header: &str) -> Result<Handled> {
        self.handle_webhook_at(body, signature_header, unix_now())
    }

    /// Handles one delivery at `now` (unix seconds): verify, parse, dedupe, persist, apply,
    /// enqueue, commit. `Ok` means "acknowledge with 200"; an error's code says whether it was
    /// the request (4xx, do not retry) or the store (5xx, Stripe retries).
    pub fn handle_webhook_at(
        &self,
        body: &[u8],
        signature_header: &str,
        now: i64,
    ) -> Result<Handled> {
        let started = Instant::now();
        let parsed = self.verify_and_parse(body, signature_header, now);
        self.ingest_parsed(parsed, body, now, started)
    }

    /// Ingests one raw event that the operator trusts (a backfill from a Stripe events export)
    /// without a signature: parse, dedupe, persist, apply, enqueue and the delivery log exactly
    /// as [`Engine::handle_webhook_at`] does after its verify step.
    pub fn ingest_trusted(&self, body: &[u8], now: i64) -> Result<Handled> {
        let started = Instant::now();
        let parsed = event::parse_event(body).and_then(|e| self.check_livemode(e));
        self.ingest_parsed(parsed, body, now, started)
    }

    /// Steps 3–7 for a body that was verified (or is trusted) and parsed (or was rejected).
    fn ingest_parsed(
        &self,
        parsed: Result<Event>,
        body: &[u8],
        now: i64,
        started: Instant,
    ) -> Result<Handled> {
        let event = match parsed {
            Ok(ev) => ev,
            Err(e) => {
                let d = self.delivery(
                    now,
                    DeliveryOutcome::Rejected,
                    Some(e.code()),
                    None,
                    body.len(),
                    started,
                );
                self.metrics.observe(&d);
                // Best effort: if even the log write fails, the caller still gets the real error.
                let _ = self.with_store(|s| s.log_delivery_now(&d));
                return Err(e);
            }
        };
        let result = self.with_store(|store| {
            if store.event_exists(&event.id)? {
                let d = self.delivery(
                    now,
                    DeliveryOutcome::Duplicate,
                    None,
                    Some(&event),
                    body.len(),
                    started,
                );
                self.metrics.observe(&d);
                store.buffer_delivery(d, now);
                return Ok(self.handled(&event, Outcome::Duplicate, Vec::new()));
            }
            store.write(|tx| self.ingest(tx, &event, body, now, started))
        });
        match result {
            Ok(h) => Ok(h),
            Err(e) => {
                let d = self.delivery(
                    now,
                    DeliveryOutcome::Failed,
                    Some(e.code()),
                    Some(&event),
                    body.len(),
                    started,
                );
                self.metrics.observe(&d);
                // The store just failed: keep the row for the next successful write.
                let _ = self.with_store(|s| Ok(s.buffer_delivery(d, now)));
                Err(e)
            }
        }
    }

    fn verify_and_parse(&self, body: &[u8], header: &str, now: i64) -> Result<Event> {
        verify::verify(
            body,
            header,
            &self.config.webhook_secrets,
            now,
            &self.config.verify,
        )?;
        self.check_livemode(event::parse_event(body)?)
    }

    fn check_livemode(&self, event: Event) -> Result<Event> {
        if let Some(live) = self.config.livemode {
            if event.livemode != live {
                let (got, want) = if event.livemode {
                    ("live", "test")
                } else {
                    ("test", "live")
                };
                return Err(Error::new(
                    ErrorCode::LivemodeMismatch,
                    format!(
                        "event {} is a {got}-mode event; this deployment accepts {want}-mode events only",
                        event.id
                    ),
                ));
            }
        }
        Ok(event)
    }

    /// Steps 3–6, inside the write transaction.
    fn ingest<T: StoreTx>(
        &self,
        tx: &mut T,
        event: &Event,
        body: &[u8],
        now: i64,
        started: Instant,
    ) -> Result<Handled> {
        if tx.event_exists(&event.id)? {
            // Another process stored it between our read and our write lock.
            let d = self.delivery(
                now,
                DeliveryOutcome::Duplicate,
                None,
                Some(event),
                body.len(),
                started,
            );
            tx.log_delivery(&d)?;
            self.metrics.observe(&d);
            return Ok(self.handled(event, Outcome::Duplicate, Vec::new()));
        }
        self.faults.check(FaultPoint::AfterDedupe)?;
        let wm = Watermark {
            created: event.created,
            event_id: event.id.clone(),
            snapshot: false,
        };
        let applied =
            apply::apply_object(tx, &event.object, Some(&event.kind), &wm, now, &self.faults)?;
        self.faults.check(FaultPoint::AfterEnqueue)?;
        let outcome = if applied.ignored || matches!(event.kind, EventKind::Other(_)) {
            Outcome::Ignored
        } else if applied.stale && !applied.changed {
            Outcome::Stale
        } else {
            Outcome::Processed
        };
        tx.insert_event(&NewEvent {
            id: &event.id,
            event_type: event.kind.as_str(),
            created: event.created,
            livemode: event.livemode,
            api_version: event.api_version.as_deref(),
            account: event.account.as_deref(),
            object_id: event.object.id(),
            customer_id: applied.customer_id.as_deref(),
            outcome: outcome.as_str(),
            received_at: now,
            body,
        })?;
        self.faults.check(FaultPoint::AfterInsertEvent)?;
        let d = self.delivery(
            now,
            outcome.delivery(),
            None,
            Some(event),
            body.len(),
            started,
        );
        tx.log_delivery(&d)?;
        self.faults.check(FaultPoint::BeforeCommit)?;
        self.metrics.observe(&d);
        let mut h = self.handled(event, outcome, applied.jobs);
        h.customer_id = applied.customer_id;
        Ok(h)
    }

    fn handled(&self, event: &Event, outcome: Outcome, jobs: Vec<EnqueuedJob>) -> Handled {
        Handled {
            outcome,
            event_id: event.id.clone(),
            event_type: event.kind.as_str().to_owned(),
            customer_id: event.object.customer_id().map(str::to_owned),
            jobs,
        }
    }

    fn delivery(
        &self,
        now: i64,
        outcome: DeliveryOutcome,
        reason: Option<ErrorCode>,
        event: Option<&Event>,
        body_bytes: usize,
        started: Instant,
    ) -> Delivery {
        Delivery {
            at: now,
            outcome,
            reason: reason.map(ErrorCode::as_str),
            event_id: event.map(|e| e.id.clone()),
            event_type: event.map(|e| e.kind.as_str().to_owned()),
            body_bytes: body_bytes as i64,
            latency_us: started.elapsed().as_micros() as i64,
            lag_s: event.map(|e| now.saturating_sub(e.created)),
        }
    }

    /// Applies an object freshly fetched from the Stripe API (the `stripe.reconcile` path) as
    /// the authoritative state at `fetched_at`: it replaces the row unless the row was written
    /// by an event created after the fetch.
    pub fn apply_snapshot(&self, object_json: &[u8], fetched_at: i64) -> Result<SnapshotApplied> {
        let object = event::parse_object(object_json)?;
        let object_id = object
            .id()
            .ok_or_else(|| Error::new(ErrorCode::EventFieldMissing, "snapshot object has no id"))?
            .to_owned();
        let wm = Watermark {
            created: fetched_at,
            event_id: "snapshot".into(),
            snapshot: true,
        };
        let applied = self.with_store(|s| {
            s.write(|tx| apply::apply_object(tx, &object, None, &wm, fetched_at, &self.faults))
        })?;
        Ok(SnapshotApplied {
            changed: applied.changed,
            object_type: object.object_type().to_owned(),
            object_id,
            customer_id: applied.customer_id,
            jobs: applied.jobs,
        })
    }

    /// Access for a Stripe customer at `now` (an unknown customer is `none`).
    pub fn access(&self, customer_id: &str, now: i64) -> Result<Access> {
        self.with_store(|s| {
            let user_id = s.customer(customer_id)?.and_then(|c| c.user_id);
            self.decide_access(s, customer_id, user_id, now)
        })
    }

    /// Access for an app user, through the customer linked to it (`none` when unlinked).
    pub fn access_for_user(&self, user_id: &str, now: i64) -> Result<Access> {
        self.with_store(|s| match s.customer_for_user(user_id)? {
            Some(c) => self.decide_access(s, &c.id, Some(user_id.to_owned()), now),
            None => Ok(access::no_access(None, Some(user_id.to_owned()))),
        })
    }

    fn decide_access(
        &self,
        s: &Store,
        customer_id: &str,
        user_id: Option<String>,
        now: i64,
    ) -> Result<Access> {
        let subs = s.subscriptions(customer_id)?;
        let policy = AccessPolicy {
            past_due_grace_secs: self.config.past_due_grace_secs,
        };
        Ok(match access::evaluate(&policy, &subs, now) {
            Some(mut a) => {
                a.user_id = user_id;
                a
            }
            None => access::no_access(Some(customer_id.to_owned()), user_id),
        })
    }

    /// A customer's invoices, newest first ("where is my invoice?").
    pub fn invoices(&self, customer_id: &str) -> Result<Vec<InvoiceRecord>> {
        self.with_store(|s| s.invoices(customer_id))
    }

    /// What the checkout success page may say about `session_id`.
    pub fn checkout_status(&self, session_id: &str) -> Result<CheckoutStatus> {
        self.with_store(|s| {
            let row = s.checkout(session_id)?;
            Ok(match row {
                Some(row) => {
                    let user_id = match (&row.record.user_id, &row.record.customer_id) {
                        (Some(u), _) => Some(u.clone()),
                        (None, Some(c)) => s.customer(c)?.and_then(|c| c.user_id),
                        _ => None,
                    };
                    CheckoutStatus {
                        session_id: session_id.to_owned(),
                        state: row.state,
                        customer_id: row.record.customer_id,
                        user_id,
                        subscription_id: row.record.subscription_id,
                    }
                }
                None => CheckoutStatus {
                    session_id: session_id.to_owned(),
                    state: CheckoutState::Pending,
                    customer_id: None,
                    user_id: None,
                    subscription_id: None,
                },
            })
        })
    }

    /// A customer by Stripe id, email or app user id (tried in that order).
    pub fn find_customer(&self, needle: &str) -> Result<Option<CustomerRow>> {
        self.with_store(|s| {
            if let Some(c) = s.customer(needle)? {
                return Ok(Some(c));
            }
            if let Some(c) = s.customer_for_email(needle)? {
                return Ok(Some(c));
            }
            s.customer_for_user(needle)
        })
    }

    /// Stored events (without bodies), newest first.
    pub fn events(&self, filter: &EventFilter) -> Result<Vec<EventRow>> {
        self.with_store(|s| s.events(filter))
    }

    /// Jobs, newest first.
    pub fn jobs(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        self.with_store(|s| s.jobs(filter))
    }

    /// One job by id.
    pub fn job(&self, id: i64) -> Result<Job> {
        self.with_store(|s| s.job(id))
    }

    /// A job's attempts.
    pub fn job_attempts(&self, id: i64) -> Result<Vec<JobAttempt>> {
        self.with_store(|s| s.job_attempts(id))
    }

    /// Claims due jobs of `kinds` (all when empty) for `lease_secs`.
    pub fn claim(
        &self,
        kinds: &[&str],
        limit: u32,
        lease_secs: i64,
        now: i64,
    ) -> Result<Vec<ClaimedJob>> {
        self.with_store(|s| s.claim(kinds, limit, lease_secs, now))
    }

    /// Marks a claimed job done; `LEASE_LOST` when the lease is no longer the caller's.
    pub fn complete(&self, id: i64, lease_token: i64, now: i64) -> Result<()> {
        self.with_store(|s| s.complete(id, lease_token, now))?;
        Ok(())
    }

    /// Records a failed attempt; retries with backoff or dead-letters. Stripe-style secrets in
    /// `error` are redacted before it is stored.
    pub fn fail(&self, id: i64, lease_token: i64, error: &str, now: i64) -> Result<FailOutcome> {
        let error = outbox::redact_secrets(error);
        self.with_store(|s| s.fail(id, lease_token, &error, self.config.max_attempts, now))
    }

    /// Dead-lettered jobs, newest first.
    pub fn dead_jobs(&self) -> Result<Vec<Job>> {
        self.jobs(&JobFilter {
            state: Some(crate::store::JobState::Dead),
            limit: Some(1000),
            ..JobFilter::default()
        })
    }

    /// Puts a dead job back in the queue; returns the id of the job that will run.
    pub fn replay(&self, id: i64, now: i64) -> Result<i64> {
        self.with_store(|s| s.replay(id, now))
    }

    /// In-process counters and histograms.
    pub fn metrics_handle(&self) -> &Metrics {
        &self.metrics
    }

    /// Runs `f` with the store (for the metrics, CLI and test layers).
    pub fn with_store_ref<T>(&self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.with_store(f)
    }

    /// Re-applies a stored raw event through the same rules (no signature: it was verified
    /// when stored). A no-op when nothing would change.
    pub fn reprocess(&self, event_id: &str, now: i64) -> Result<Handled> {
        let body = self
            .with_store(|s| s.event_body(event_id))?
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidArgument,
                    format!("no stored event {event_id}"),
                )
            })?;
        let event = event::parse_event(&body)?;
        let wm = Watermark {
            created: event.created,
            event_id: event.id.clone(),
            snapshot: false,
        };
        let applied = self.with_store(|s| {
            s.write(|tx| {
                apply::apply_object(tx, &event.object, Some(&event.kind), &wm, now, &self.faults)
            })
        })?;
        // "duplicate" here means: already fully applied, nothing changed.
        let outcome = if applied.changed || !applied.jobs.is_empty() {
            Outcome::Processed
        } else {
            Outcome::Duplicate
        };
        let mut h = self.handled(&event, outcome, applied.jobs);
        h.customer_id = applied.customer_id;
        Ok(h)
    }
}
