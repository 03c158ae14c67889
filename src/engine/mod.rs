//! The engine: the one public entry point that turns a Stripe delivery into state and jobs.
//!
//! ```text
//! handle_webhook(raw_body, stripe_signature, now)
//!   1 verify   2 parse   3 dedupe   4 persist   5 apply   6 enqueue   7 commit
//! ```
//! Steps 3–6 are one store write transaction: a crash leaves nothing or everything, and a
//! redelivery after a crash is processed normally. Deliveries in flight at the same time share
//! that transaction (group commit, [`commit`]); a delivery that fails is left out and the
//! transaction written again without it, so a failure still touches only its own delivery, and
//! each caller is answered once its delivery is durable. Rejections (1–2, and the livemode
//! guard) are written to the delivery log at once; duplicates are answered from a read and their log
//! row is group-committed with the next write.
//!
//! `Engine` is `Send + Sync`: one engine serves every request thread of a process, and the
//! store behind it ([`crate::store::Store`]) does its own locking. Several processes may share
//! one database.

mod apply;
mod commit;
mod config;
mod detail;
mod facts;
mod fault;
mod ingest;
mod jobs;
mod observe;
mod queries;
mod recent;
mod silence;
mod stripe_state;
mod thin;
mod timeline;

pub use commit::CommitFigures;
pub use config::Config;
pub use detail::EventDetail;
pub use facts::{LIVEMODE_SAMPLE, StoreFacts};
pub use fault::FaultPoint;

pub use observe::{Alert, AlertThresholds, Health, LatencySummary, MetricsReport, alerts};
pub use silence::{DeliveryActivity, HISTORY_SCAN_ROWS, SilenceRule, activity, deliveries_stopped};
pub use timeline::{CustomerTimeline, JobHistory, TIMELINE_LIMIT};

use std::sync::atomic::AtomicI64;
use std::sync::{Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::billing::CheckoutState;
use crate::deliveries::{self, DeliveryOutcome, RejectionTally};
use crate::error::{Error, ErrorCode, Result};
use crate::event::{self, EventFilter};
use crate::metrics::Metrics;
use crate::outbox::EnqueuedJob;
use crate::store::{self, Store, write_with};

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
    /// Authentic, but it does not normalize (or is of the other livemode): stored raw with
    /// the code that stopped it, acknowledged so Stripe does not retry it for days, and
    /// replayed by [`Engine::reprocess`] after an upgrade. Raises `quarantined_events`.
    Quarantined,
    /// A signed `tollbooth doctor` probe (see [`crate::probe`]): verified and recognised,
    /// nothing stored or changed.
    Probe,
}

impl Outcome {
    /// Every outcome, in the order the C enum numbers them.
    pub const ALL: [Outcome; 6] = [
        Outcome::Processed,
        Outcome::Duplicate,
        Outcome::Ignored,
        Outcome::Stale,
        Outcome::Quarantined,
        Outcome::Probe,
    ];

    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Processed => "processed",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
            Outcome::Stale => "stale",
            Outcome::Quarantined => "quarantined",
            Outcome::Probe => "probe",
        }
    }

    fn delivery(self) -> DeliveryOutcome {
        match self {
            Outcome::Processed => DeliveryOutcome::Processed,
            Outcome::Duplicate => DeliveryOutcome::Duplicate,
            // A probe is answered before anything is logged; never reached for one.
            Outcome::Ignored | Outcome::Probe => DeliveryOutcome::Ignored,
            Outcome::Stale => DeliveryOutcome::Stale,
            Outcome::Quarantined => DeliveryOutcome::Quarantined,
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
    /// For [`Outcome::Quarantined`], the code that stopped it (e.g. `EVENT_FIELD_MISSING`).
    pub reason: Option<ErrorCode>,
    /// Which configured secret (its index in `webhook_secrets`) verified the delivery;
    /// `None` for trusted input. While rotating, the old secret is safe to remove once no
    /// delivery uses it any more.
    pub secret_index: Option<u32>,
}

/// What [`Engine::reprocess_quarantined`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reprocessed {
    /// Quarantined events now applied.
    pub applied: u64,
    /// Events still quarantined (they still do not normalize).
    pub still_quarantined: u64,
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

/// A hold on the group-commit pipeline ([`Engine::hold_commits`], `testing` feature only).
#[cfg(feature = "testing")]
#[doc(hidden)]
pub struct CommitHold<'a>(
    #[allow(dead_code)] commit::Held<'a, ingest::Queued, Result<(Handled, deliveries::Delivery)>>,
);

/// The tollbooth engine. See the module docs.
pub struct Engine {
    /// `None` once closed. Calls hold the read side; `close` takes the write side, so it
    /// waits for calls in flight.
    store: RwLock<Option<Box<dyn Store>>>,
    config: Config,
    metrics: Metrics,
    /// Requests that were not authentic deliveries, counted until the next flush.
    rejections: Mutex<RejectionTally>,
    /// When the automatic retention policy last ran (unix seconds).
    last_prune: AtomicI64,
    faults: fault::Faults,
    /// The group-commit queue of event deliveries ([`commit`]).
    commits: commit::GroupCommit<ingest::Queued, Result<(Handled, deliveries::Delivery)>>,
    /// Event ids stored lately, for the duplicate check ([`recent`]).
    recent: recent::RecentIds,
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
        let store = store::open(&config.database, &config.sqlite)?;
        Ok(Engine {
            store: RwLock::new(Some(store)),
            config,
            metrics: Metrics::default(),
            rejections: Mutex::new(RejectionTally::default()),
            last_prune: AtomicI64::new(i64::MIN),
            faults: fault::Faults::default(),
            commits: commit::GroupCommit::default(),
            recent: recent::RecentIds::default(),
        })
    }

    /// Runs the store's housekeeping now (SQLite: a PASSIVE WAL checkpoint, returning
    /// `(wal_frames, frames_checkpointed)`). Only needed with `background_checkpoint = false`,
    /// from a worker, off the request path.
    pub fn checkpoint(&self) -> Result<(i64, i64)> {
        self.with_store(|s| s.checkpoint())
    }

    /// Makes every ingest transaction fail at `point` (with `STORE_ERROR`) until it is set
    /// back to `None` (`testing` feature only).
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn set_fault_point(&self, point: Option<FaultPoint>) {
        self.faults.set(point);
    }

    /// Makes the ingest of one event id fail at `point` (with `STORE_ERROR`), every other
    /// delivery unaffected, until [`Engine::set_fault_point`] clears it (`testing` feature
    /// only): a fault inside a group-committed batch.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn set_fault_for_event(&self, point: FaultPoint, event_id: &str) {
        self.faults.set_for(point, event_id);
    }

    /// Holds the group-commit pipeline (`testing` feature only): deliveries queue until the
    /// returned guard is dropped, then the next caller writes them all in one batch (up to
    /// the batch bound). For tests that need a known batch.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn hold_commits(&self) -> CommitHold<'_> {
        CommitHold(self.commits.hold())
    }

    /// Deliveries waiting in the group-commit queue now (`testing` feature only).
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn queued_commits(&self) -> usize {
        self.commits.queued()
    }

    /// How many write transactions the group-commit pipeline wrote and how many deliveries
    /// they held, since the engine opened (for benchmarks and tests).
    pub fn commit_figures(&self) -> CommitFigures {
        self.commits.figures()
    }

    /// Client/server round trips the store made since the engine opened (PostgreSQL; 0 on
    /// SQLite). Divided by deliveries, the network cost of one: benchmarks print it.
    pub fn store_round_trips(&self) -> u64 {
        self.with_store(|s| Ok(s.round_trips())).unwrap_or(0)
    }

    /// The store's test hooks (`testing` feature only): pragma setters, statement tracing.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn with_store_hooks<T>(
        &self,
        f: impl FnOnce(&dyn store::testing::StoreHooks) -> Result<T>,
    ) -> Result<T> {
        self.with_store(|s| f(s.testing()))
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Flushes buffered log rows and counts and closes the database. Later calls fail with
    /// `CLOSED`.
    pub fn close(&self) -> Result<()> {
        let _ = self.flush_rejections(unix_now());
        let mut guard = self.store.write().unwrap_or_else(|p| p.into_inner());
        match guard.take() {
            Some(store) => store.close(),
            None => Ok(()),
        }
    }

    fn with_store<T>(&self, f: impl FnOnce(&dyn Store) -> Result<T>) -> Result<T> {
        // A panic inside a call cannot leave a transaction half-written (it rolls back on
        // drop), so a poisoned lock is safe to reuse.
        let guard = self.store.read().unwrap_or_else(|p| p.into_inner());
        match guard.as_deref() {
            Some(store) => f(store),
            None => Err(Error::new(ErrorCode::Closed, "the engine is closed")),
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
        let applied = self.with_store(|s| {
            write_with(s, |tx| {
                apply::apply_fetched(tx, &object, fetched_at, &self.faults)
            })
        })?;
        Ok(SnapshotApplied {
            changed: applied.changed,
            object_type: object.object_type().to_owned(),
            object_id,
            customer_id: applied.customer_id,
            jobs: applied.jobs,
        })
    }

    /// [`Engine::apply_snapshot`] for a page of objects fetched together at `fetched_at`, in
    /// one write transaction (a sync applies 100 objects per commit instead of one). Each
    /// object gets its own answer: one that does not parse is an `Err` in its slot and the
    /// others still apply; a store failure fails the whole call and applies nothing.
    pub fn apply_snapshots(
        &self,
        objects: &[&[u8]],
        fetched_at: i64,
    ) -> Result<Vec<Result<SnapshotApplied>>> {
        let parsed: Vec<Result<(event::Object, String)>> = objects
            .iter()
            .map(|json| {
                let object = event::parse_object(json)?;
                let id = object.id().map(str::to_owned).ok_or_else(|| {
                    Error::new(ErrorCode::EventFieldMissing, "snapshot object has no id")
                })?;
                Ok((object, id))
            })
            .collect();
        let mut applied = self
            .with_store(|s| {
                write_with(s, |tx| {
                    let mut out = Vec::with_capacity(parsed.len());
                    for p in &parsed {
                        out.push(match p {
                            Ok((object, _)) => {
                                Some(apply::apply_fetched(tx, object, fetched_at, &self.faults)?)
                            }
                            Err(_) => None,
                        });
                    }
                    Ok(out)
                })
            })?
            .into_iter();
        Ok(parsed
            .into_iter()
            .map(|p| {
                // One slot per object, parsed or not: take it before looking at the parse.
                let slot = applied.next().flatten();
                let (object, object_id) = p?;
                let a = slot.ok_or_else(|| {
                    Error::new(ErrorCode::StoreError, "snapshot page: a result is missing")
                })?;
                Ok(SnapshotApplied {
                    changed: a.changed,
                    object_type: object.object_type().to_owned(),
                    object_id,
                    customer_id: a.customer_id,
                    jobs: a.jobs,
                })
            })
            .collect())
    }

    /// Re-applies a stored raw event through the same rules (no signature: it was verified
    /// when stored), with the livemode guard. A quarantined event that now normalizes is
    /// applied and leaves the quarantine; one that still does not fails with its code.
    /// `Outcome::Duplicate` means it was already fully applied: nothing changed.
    pub fn reprocess(&self, event_id: &str, now: i64) -> Result<Handled> {
        let body = self
            .with_store(|s| s.event_body(event_id))?
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidArgument,
                    format!("no stored event {event_id}"),
                )
            })?;
        let event = event::parse_event(&body).and_then(|e| self.check_livemode(e))?;
        let applied = self.with_store(|s| {
            write_with(s, |tx| {
                let applied = apply::apply_event(tx, &event, now, &self.faults)?;
                let outcome = ingest::applied_outcome(&event, &applied);
                tx.mark_event_applied(event_id, outcome.as_str(), applied.customer_id.as_deref())?;
                Ok(applied)
            })
        })?;
        let outcome = if applied.changed || !applied.jobs.is_empty() {
            Outcome::Processed
        } else {
            Outcome::Duplicate
        };
        Ok(self.handled(&event, outcome, applied.customer_id, applied.jobs))
    }

    /// Reprocesses every quarantined event (after an upgrade that reads them). Events that
    /// still do not normalize stay quarantined and are counted.
    pub fn reprocess_quarantined(&self, now: i64) -> Result<Reprocessed> {
        let mut out = Reprocessed::default();
        let quarantined = self.events(&EventFilter {
            outcome: Some(Outcome::Quarantined.as_str().to_owned()),
            limit: Some(u32::MAX),
            ..EventFilter::default()
        })?;
        for row in quarantined.iter().rev() {
            match self.reprocess(&row.id, now) {
                Ok(_) => out.applied += 1,
                Err(e) if e.code().is_client_error() => out.still_quarantined += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}
