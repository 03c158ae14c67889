//! The ingest pipeline of one delivery: verify, parse, dedupe, persist, apply, enqueue, log.
//!
//! [`Intake`] carries what every answer and delivery-log row of one delivery shares (its size,
//! arrival time, start instant and the secret that verified it), so each step builds its row
//! with one call. Three ends: a request that is not an authentic delivery is rejected (logged
//! at once, 4xx); an authentic body that does not normalize is quarantined (stored raw, 2xx);
//! an event is ingested in one write transaction (or answered as a duplicate from a read).

use std::time::Instant;

use super::apply;
use super::fault::FaultPoint;
use super::{Engine, Handled, Outcome, unix_now};
use crate::deliveries::{Delivery, DeliveryOutcome, RejectionBatch};
use crate::error::{Error, ErrorCode, Result};
use crate::event::{self, Event, EventKind, Salvaged};
use crate::outbox::EnqueuedJob;
use crate::store::{NewEvent, Prefetch, Store, StoreTx, write_with};
use crate::{probe, verify};

/// One delivery in flight.
pub(super) struct Intake<'b> {
    pub(super) body: &'b [u8],
    pub(super) now: i64,
    started: Instant,
    /// Which configured secret verified it (`None`: trusted input, no signature).
    pub(super) secret_index: Option<u32>,
}

/// The envelope facts a log row names: id, type, and `created` when it is known (a salvaged
/// envelope may have none).
pub(super) type Named<'a> = Option<(&'a str, &'a str, Option<i64>)>;

impl Intake<'_> {
    /// The delivery-log row for this delivery.
    pub(super) fn row(
        &self,
        outcome: DeliveryOutcome,
        reason: Option<ErrorCode>,
        named: Named<'_>,
    ) -> Delivery {
        Delivery {
            at: self.now,
            outcome,
            reason: reason.map(ErrorCode::as_str),
            event_id: named.map(|(id, _, _)| id.to_owned()),
            event_type: named.map(|(_, t, _)| t.to_owned()),
            body_bytes: self.body.len() as i64,
            latency_us: self.started.elapsed().as_micros() as i64,
            lag_s: named
                .and_then(|(_, _, created)| created)
                .map(|created| self.now.saturating_sub(created)),
            secret_index: self.secret_index,
        }
    }

    /// Keeps an authentic event this endpoint does not act on (a connected account's, when
    /// Connect events are refused): `event` is stored, so a redelivery is a duplicate, and
    /// the delivery is logged `ignored` with `reason`. Returns the log row.
    pub(super) fn keep_ignored(
        &self,
        tx: &mut dyn StoreTx,
        event: &NewEvent<'_>,
        reason: ErrorCode,
        named: Named<'_>,
    ) -> Result<Delivery> {
        tx.insert_event(event)?;
        let d = self.row(DeliveryOutcome::Ignored, Some(reason), named);
        tx.log_delivery(&d)?;
        Ok(d)
    }
}

/// A delivery queued for the group-commit pipeline: owned, so whichever caller leads the
/// batch can write it.
pub(super) struct Queued {
    body: Vec<u8>,
    now: i64,
    started: Instant,
    secret_index: Option<u32>,
    event: Event,
}

impl Queued {
    fn intake(&self) -> Intake<'_> {
        Intake {
            body: &self.body,
            now: self.now,
            started: self.started,
            secret_index: self.secret_index,
        }
    }
}

fn named(e: &Event) -> Named<'_> {
    Some((&e.id, e.kind.as_str(), Some(e.created)))
}

fn salvaged(s: &Salvaged) -> Named<'_> {
    Some((&s.id, &s.event_type, (s.created > 0).then_some(s.created)))
}

impl Engine {
    /// Handles one delivery, reading the clock. See [`Engine::handle_webhook_at`].
    pub fn handle_webhook(&self, body: &[u8], signature_header: &str) -> Result<Handled> {
        self.handle_webhook_at(body, signature_header, unix_now())
    }

    /// Handles one delivery at `now` (unix seconds): verify, parse, dedupe, persist, apply,
    /// enqueue, commit. `Ok` means "acknowledge with 200" (an authentic event tollbooth cannot
    /// read is `Ok` too, as [`Outcome::Quarantined`]); an error's code says whether the request
    /// was not an authentic delivery (4xx) or the store failed (5xx, Stripe retries); see
    /// [`ErrorCode::http_status`].
    pub fn handle_webhook_at(
        &self,
        body: &[u8],
        signature_header: &str,
        now: i64,
    ) -> Result<Handled> {
        let mut intake = Intake {
            body,
            now,
            started: Instant::now(),
            secret_index: None,
        };
        match verify::verify(
            body,
            signature_header,
            &self.config.webhook_secrets,
            now,
            &self.config.verify,
        ) {
            Ok(v) => {
                intake.secret_index = u32::try_from(v.secret_index).ok();
                self.ingest_authentic(&intake)
            }
            Err(e) => Err(self.reject(&intake, e)),
        }
    }

    /// Ingests one raw event that the operator trusts (a backfill from a Stripe events export,
    /// an event fetched from the API) without a signature: everything
    /// [`Engine::handle_webhook_at`] does after its verify step, with the same size limit.
    pub fn ingest_trusted(&self, body: &[u8], now: i64) -> Result<Handled> {
        let intake = Intake {
            body,
            now,
            started: Instant::now(),
            secret_index: None,
        };
        let max = self.config.verify.max_body_bytes;
        if body.len() > max {
            let msg = format!("body is {} bytes; the limit is {max}", body.len());
            return Err(self.reject(&intake, Error::new(ErrorCode::PayloadTooLarge, msg)));
        }
        self.ingest_authentic(&intake)
    }

    /// Counts a request that is not an authentic delivery and returns its error. It costs a
    /// counter increment, not a write: the tally is written about once a second (one sample
    /// row per minute and code, counts for the rest), so a flood cannot grow the store.
    fn reject(&self, intake: &Intake<'_>, e: Error) -> Error {
        let d = intake.row(DeliveryOutcome::Rejected, Some(e.code()), None);
        self.metrics.observe(&d);
        let due = {
            let mut tally = self.rejections.lock().unwrap_or_else(|p| p.into_inner());
            tally.add(d);
            tally.due(intake.now)
        };
        if due {
            // Best effort and never waiting for the write lock: a busy store keeps the
            // counts (bounded) for the next write, and the caller still gets the real error.
            let _ = self.try_flush_rejections(intake.now);
        }
        e
    }

    /// Writes the pending rejection tally in one small transaction, waiting at most the
    /// store's wait budget (for `close` and the operator's exact counts).
    pub(super) fn flush_rejections(&self, now: i64) -> Result<()> {
        self.write_rejections_with(now, |s, f| s.write(f))
    }

    /// Writes the pending rejection tally if the write lock is free now; keeps it otherwise.
    pub(super) fn try_flush_rejections(&self, now: i64) -> Result<()> {
        self.write_rejections_with(now, |s, f| s.try_write(f))
    }

    fn write_rejections_with(
        &self,
        now: i64,
        write: impl FnOnce(&dyn Store, &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>) -> Result<()>,
    ) -> Result<()> {
        let Some(batch) = self.take_rejections(now) else {
            return Ok(());
        };
        let written = self.with_store(|s| write(s, &mut |tx| write_rejections(tx, &batch)));
        if written.is_err() {
            self.restore_rejections(batch);
        }
        written
    }

    /// The pending rejection tally, if any.
    pub(super) fn take_rejections(&self, now: i64) -> Option<RejectionBatch> {
        let batch = self
            .rejections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(now);
        (!batch.samples.is_empty() || !batch.counts.is_empty()).then_some(batch)
    }

    /// Puts back a batch whose transaction did not commit.
    pub(super) fn restore_rejections(&self, batch: RejectionBatch) {
        self.rejections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .restore(batch);
    }

    /// Parse, then ingest, or quarantine what does not parse. A probe is answered here,
    /// before the livemode guard and before anything is written or counted.
    fn ingest_authentic(&self, intake: &Intake<'_>) -> Result<Handled> {
        match event::parse_event(intake.body) {
            Ok(ev) if probe::is_probe(&ev) => {
                let mut h = self.handled(&ev, Outcome::Probe, None, Vec::new());
                h.secret_index = intake.secret_index;
                Ok(h)
            }
            Err(_) if event::is_thin(intake.body) => match event::parse_thin(intake.body) {
                Ok(thin) => self.ingest_thin(intake, &thin),
                Err(te) => self.quarantine(intake, te.code()),
            },
            parsed => match parsed.and_then(|e| self.check_livemode(e)) {
                Ok(event) => self.ingest_event(intake, event),
                Err(e) => self.quarantine(intake, e.code()),
            },
        }
    }

    /// The livemode guard: an event of the other mode is authentic but not for this
    /// deployment.
    pub(super) fn check_livemode(&self, event: Event) -> Result<Event> {
        match self.config.livemode {
            Some(live) if event.livemode != live => {
                let (got, want) = if event.livemode {
                    ("live", "test")
                } else {
                    ("test", "live")
                };
                Err(Error::new(
                    ErrorCode::LivemodeMismatch,
                    format!(
                        "event {} is a {got}-mode event; this deployment accepts {want}-mode events only",
                        event.id
                    ),
                ))
            }
            _ => Ok(event),
        }
    }

    /// Counts a committed (or answered) delivery, or logs the store failure for the next
    /// successful write and returns it.
    pub(super) fn finish<T>(
        &self,
        intake: &Intake<'_>,
        named: Named<'_>,
        r: Result<(T, Delivery)>,
    ) -> Result<T> {
        match r {
            Ok((answer, d)) => {
                // Counted once committed, so a failed commit is not also counted as processed.
                self.metrics.observe(&d);
                Ok(answer)
            }
            Err(e) => {
                let d = intake.row(DeliveryOutcome::Failed, Some(e.code()), named);
                self.metrics.observe(&d);
                let _ = self.with_store(|s| Ok(s.buffer_delivery(d, intake.now)));
                Err(e)
            }
        }
    }

    /// Stores an authentic body that does not normalize, raw, under the id it salvages and
    /// with `code`; a redelivery of it is a duplicate.
    pub(super) fn quarantine(&self, intake: &Intake<'_>, code: ErrorCode) -> Result<Handled> {
        let found = event::salvage(intake.body);
        let answer = |outcome| Handled {
            outcome,
            event_id: found.id.clone(),
            event_type: found.event_type.clone(),
            customer_id: None,
            jobs: Vec::new(),
            reason: (outcome == Outcome::Quarantined).then_some(code),
            secret_index: intake.secret_index,
        };
        let dup = intake.row(DeliveryOutcome::Duplicate, None, salvaged(&found));
        let result = self.with_store(|store| {
            if store.event_exists(&found.id)? {
                store.buffer_delivery(dup.clone(), intake.now);
                return Ok((answer(Outcome::Duplicate), dup.clone()));
            }
            write_with(store, |tx| {
                if tx.event_exists(&found.id)? {
                    tx.log_delivery(&dup)?;
                    return Ok((answer(Outcome::Duplicate), dup.clone()));
                }
                tx.insert_event(&NewEvent {
                    id: &found.id,
                    event_type: &found.event_type,
                    created: found.created,
                    livemode: found.livemode,
                    api_version: found.api_version.as_deref(),
                    account: found.account.as_deref(),
                    object_id: None,
                    customer_id: None,
                    outcome: Outcome::Quarantined.as_str(),
                    error_code: Some(code.as_str()),
                    received_at: intake.now,
                    body: intake.body,
                })?;
                let d = intake.row(DeliveryOutcome::Quarantined, Some(code), salvaged(&found));
                tx.log_delivery(&d)?;
                Ok((answer(Outcome::Quarantined), d))
            })
        });
        self.finish(intake, salvaged(&found), result)
    }

    /// Dedupe from a read (a duplicate writes nothing of its own and never joins a batch),
    /// else the group-commit pipeline ([`super::commit`]): the delivery is written in the
    /// next write transaction, with whatever other deliveries are in flight. Answered once
    /// that transaction committed.
    fn ingest_event(&self, intake: &Intake<'_>, event: Event) -> Result<Handled> {
        let dup = self.with_store(|store| {
            if !self.recent.stored(&event.id, intake.now) {
                if !store.event_exists(&event.id)? {
                    return Ok(None);
                }
                // Only what the store said: a hit from memory does not extend its own trust.
                self.recent.remember(&event.id, intake.now);
            }
            let d = intake.row(DeliveryOutcome::Duplicate, None, named(&event));
            store.buffer_delivery(d.clone(), intake.now);
            Ok(Some((self.duplicate(intake, &event), d)))
        });
        match dup {
            Ok(None) => {}
            Ok(Some(answer)) => return self.finish(intake, named(&event), Ok(answer)),
            Err(e) => return self.finish(intake, named(&event), Err(e)),
        }
        let queued = Queued {
            body: intake.body.to_vec(),
            now: intake.now,
            started: intake.started,
            secret_index: intake.secret_index,
            event,
        };
        match self
            .commits
            .submit(queued, &|batch| self.write_batch(batch))
        {
            Some((q, result)) => {
                if result.is_ok() {
                    // Committed: every answer of `ingest` stores the event or found it stored
                    // in the lock (a probe never gets here: it is answered before the queue).
                    self.recent.remember(&q.event.id, q.now);
                }
                self.finish(intake, named(&q.event), result)
            }
            None => {
                let e = Error::new(
                    ErrorCode::StoreError,
                    "the transaction holding this delivery was abandoned (a bug); it was not stored",
                );
                self.finish(intake, None, Err(e))
            }
        }
    }

    /// Writes one batch of the pipeline in one transaction, with the pending rejection tally.
    ///
    /// Optimistic, without a savepoint per delivery: savepoints cost every delivery of every
    /// batch (SQLite copies each page a delivery touches first into a statement journal, 8 %
    /// of a 16-caller profile; on PostgreSQL they are statements to send), while a failing
    /// delivery is rare. When one does fail on its own (a fault, a constraint, the store
    /// refusing a row) the batch is rolled back and each of its deliveries written again in a
    /// transaction of its own, so only that delivery fails and none of it survives — whichever
    /// statement the store sent its failure with (PostgreSQL defers writes to the next round
    /// trip, possibly another delivery's). When the store itself fails (busy, timeout,
    /// connection, a full disk) every delivery in the batch gets that error.
    fn write_batch(&self, batch: &[Queued]) -> Vec<Result<(Handled, Delivery)>> {
        let now = batch.first().map_or_else(unix_now, |q| q.now);
        let pending = self.take_rejections(now);
        let mut read_ahead = false;
        match self.write_together(batch, pending.as_ref(), &mut read_ahead) {
            Ok(answers) => answers.into_iter().map(Ok).collect(),
            Err(e) => {
                if let Some(b) = pending {
                    self.restore_rejections(b);
                }
                // A lone delivery is written again only if the store read ahead for it:
                // without the read-ahead its answer may differ (a job key that exists).
                if (batch.len() > 1 || read_ahead) && fails_alone(&e) {
                    batch.iter().map(|q| self.write_alone(q)).collect()
                } else {
                    batch.iter().map(|_| Err(e.clone())).collect()
                }
            }
        }
    }

    /// Every delivery of `batch` (and the rejection tally) in one transaction: all or nothing.
    /// Sets `read_ahead` when the store read ahead for it ([`StoreTx::prefetch`]), which it
    /// is asked to do for a lone delivery too: on PostgreSQL that saves a round trip.
    fn write_together(
        &self,
        batch: &[Queued],
        pending: Option<&RejectionBatch>,
        read_ahead: &mut bool,
    ) -> Result<Vec<(Handled, Delivery)>> {
        let mut answers = Vec::with_capacity(batch.len());
        self.with_store(|store| {
            store.write(&mut |tx| {
                // A backend may run this again after a transient conflict: start afresh.
                answers.clear();
                if let Some(b) = pending {
                    write_rejections(tx, b)?;
                }
                *read_ahead = tx.prefetch(&Prefetch::of(batch.iter().map(|q| &q.event)))?;
                for q in batch {
                    answers.push(self.ingest(tx, &q.intake(), &q.event)?);
                }
                Ok(())
            })
        })?;
        Ok(answers)
    }

    /// One delivery in a transaction of its own (after its batch failed).
    fn write_alone(&self, q: &Queued) -> Result<(Handled, Delivery)> {
        let mut answer = None;
        self.with_store(|store| {
            store.write(&mut |tx| {
                answer = Some(self.ingest(tx, &q.intake(), &q.event)?);
                Ok(())
            })
        })?;
        answer.ok_or_else(|| Error::new(ErrorCode::StoreError, "the delivery's answer was lost"))
    }

    /// Steps 3–6, inside the write transaction. Returns the answer and its delivery-log row
    /// (already written in the transaction), for the metrics once the commit succeeds.
    fn ingest(
        &self,
        tx: &mut dyn StoreTx,
        intake: &Intake<'_>,
        event: &Event,
    ) -> Result<(Handled, Delivery)> {
        if tx.event_exists(&event.id)? {
            // Another process stored it between our read and our write lock.
            let d = intake.row(DeliveryOutcome::Duplicate, None, named(event));
            tx.log_delivery(&d)?;
            return Ok((self.duplicate(intake, event), d));
        }
        self.faults.check(FaultPoint::AfterDedupe, &event.id)?;
        if event.account.is_some() && !self.config.accept_connect_events {
            return self.refuse_connect(tx, intake, event);
        }
        let applied = apply::apply_event(tx, event, intake.now, &self.faults)?;
        self.faults.check(FaultPoint::AfterEnqueue, &event.id)?;
        let outcome = applied_outcome(event, &applied);
        tx.insert_event(&NewEvent {
            customer_id: applied.customer_id.as_deref(),
            ..stored(intake, event, outcome, None)
        })?;
        self.faults.check(FaultPoint::AfterInsertEvent, &event.id)?;
        let d = intake.row(outcome.delivery(), None, named(event));
        tx.log_delivery(&d)?;
        self.faults.check(FaultPoint::BeforeCommit, &event.id)?;
        let mut h = self.handled(event, outcome, applied.customer_id, applied.jobs);
        h.secret_index = intake.secret_index;
        Ok((h, d))
    }

    /// A Connect event on an endpoint that does not take them: stored (a redelivery is a
    /// duplicate) and logged as `ignored` with reason `CONNECT_EVENT_REFUSED`; nothing moves.
    /// Never a 4xx: the event is authentic, and Stripe would retry it for days.
    fn refuse_connect(
        &self,
        tx: &mut dyn StoreTx,
        intake: &Intake<'_>,
        event: &Event,
    ) -> Result<(Handled, Delivery)> {
        let code = ErrorCode::ConnectEventRefused;
        let kept = stored(intake, event, Outcome::Ignored, Some(code.as_str()));
        let d = intake.keep_ignored(tx, &kept, code, named(event))?;
        let mut h = self.handled(event, Outcome::Ignored, None, Vec::new());
        h.customer_id = None;
        h.reason = Some(code);
        h.secret_index = intake.secret_index;
        Ok((h, d))
    }

    fn duplicate(&self, intake: &Intake<'_>, event: &Event) -> Handled {
        let mut h = self.handled(event, Outcome::Duplicate, None, Vec::new());
        h.secret_index = intake.secret_index;
        h
    }

    /// The answer for `event`. `customer_id` is what applying it found (`None` for a
    /// duplicate, which falls back to the object's own customer field).
    pub(super) fn handled(
        &self,
        event: &Event,
        outcome: Outcome,
        customer_id: Option<String>,
        jobs: Vec<EnqueuedJob>,
    ) -> Handled {
        Handled {
            outcome,
            event_id: event.id.clone(),
            event_type: event.kind.as_str().to_owned(),
            customer_id: customer_id.or_else(|| event.object.customer_id().map(str::to_owned)),
            jobs,
            reason: None,
            secret_index: None,
        }
    }
}

/// The stored row of a parsed event (no customer; the caller sets the one applying found).
fn stored<'a>(
    intake: &'a Intake<'_>,
    event: &'a Event,
    outcome: Outcome,
    error_code: Option<&'a str>,
) -> NewEvent<'a> {
    NewEvent {
        id: &event.id,
        event_type: event.kind.as_str(),
        created: event.created,
        livemode: event.livemode,
        api_version: event.api_version.as_deref(),
        account: event.account.as_deref(),
        object_id: event.object.id(),
        customer_id: None,
        outcome: outcome.as_str(),
        error_code,
        received_at: intake.now,
        body: intake.body,
    }
}

/// Whether a delivery's error is its own (the batch is written again without it) rather than
/// the transaction's (every delivery in the batch fails with it): a busy, unreachable, timed
/// out, full, read-only or corrupt store fails whatever is written.
fn fails_alone(e: &Error) -> bool {
    !matches!(
        e.code(),
        ErrorCode::StoreBusy
            | ErrorCode::StoreUnavailable
            | ErrorCode::StoreTimeout
            | ErrorCode::StoreFull
            | ErrorCode::StoreReadonly
            | ErrorCode::StoreCorrupt
            | ErrorCode::StoreOpenFailed
            | ErrorCode::Closed
    )
}

/// Logs a rejection batch's samples and adds its counts.
pub(super) fn write_rejections(tx: &mut dyn StoreTx, batch: &RejectionBatch) -> Result<()> {
    for d in &batch.samples {
        tx.log_delivery(d)?;
    }
    for (minute, code, n) in &batch.counts {
        tx.count_deliveries(*minute, DeliveryOutcome::Rejected, code, *n)?;
    }
    Ok(())
}

/// What applying an event amounts to: ignored (a type that moves no state), stale (every
/// write refused as older), or processed.
pub(super) fn applied_outcome(event: &Event, applied: &apply::Applied) -> Outcome {
    if applied.ignored || matches!(event.kind, EventKind::Other(_)) {
        Outcome::Ignored
    } else if applied.stale && !applied.changed {
        Outcome::Stale
    } else {
        Outcome::Processed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_fails_alone_unless_the_store_itself_failed() {
        let alone = |code| fails_alone(&Error::new(code, "x"));
        // A fault, a constraint, a row the store refused: that delivery only.
        assert!(alone(ErrorCode::StoreError));
        assert!(alone(ErrorCode::EventFieldMissing));
        // The store or the transaction failed: every delivery in the batch.
        for code in [
            ErrorCode::StoreBusy,
            ErrorCode::StoreUnavailable,
            ErrorCode::StoreTimeout,
            ErrorCode::StoreFull,
            ErrorCode::StoreReadonly,
            ErrorCode::StoreCorrupt,
            ErrorCode::Closed,
        ] {
            assert!(!alone(code), "{code:?}");
        }
    }
}
