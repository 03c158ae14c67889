//! Intake of thin events (v2 event notifications): verified like any delivery, stored raw,
//! deduped by id, acknowledged, and turned into one `stripe.fetch_event` job. Nothing else
//! moves: the notification carries no object, and the full event the worker fetches comes
//! back through [`Engine::ingest_trusted`], where the ordering rules apply as usual.

use super::ingest::{Intake, Named, write_rejections};
use super::{Engine, Handled, Outcome};
use crate::deliveries::{Delivery, DeliveryOutcome};
use crate::error::{Error, ErrorCode, Result};
use crate::event::ThinEvent;
use crate::outbox::NewJob;
use crate::store::{NewEvent, StoreTx, write_with};

fn named(t: &ThinEvent) -> Named<'_> {
    Some((&t.id, &t.event_type, Some(t.created)))
}

impl Engine {
    /// Stores `thin` and enqueues its fetch job, in one write transaction (a duplicate is
    /// answered from a read, as for snapshot events).
    pub(super) fn ingest_thin(&self, intake: &Intake<'_>, thin: &ThinEvent) -> Result<Handled> {
        if let Some(live) = self.config.livemode {
            if thin.livemode != live {
                return self.quarantine(intake, ErrorCode::LivemodeMismatch);
            }
        }
        let result = self.with_store(|store| {
            if store.event_exists(&thin.id)? {
                let d = intake.row(DeliveryOutcome::Duplicate, None, named(thin));
                store.buffer_delivery(d.clone(), intake.now);
                return Ok((answer(intake, thin, Outcome::Duplicate, Vec::new()), d));
            }
            let pending = self.take_rejections(intake.now);
            let r = write_with(store, |tx| {
                if let Some(b) = &pending {
                    write_rejections(tx, b)?;
                }
                store_thin(tx, intake, thin, self.config.accept_connect_events)
            });
            if let (Err(_), Some(b)) = (&r, pending) {
                self.restore_rejections(b);
            }
            r
        });
        self.finish(intake, named(thin), result)
    }
}

/// Inside the write transaction: dedupe again, store, enqueue, log.
fn store_thin(
    tx: &mut dyn StoreTx,
    intake: &Intake<'_>,
    thin: &ThinEvent,
    accept_connect: bool,
) -> Result<(Handled, Delivery)> {
    if tx.event_exists(&thin.id)? {
        let d = intake.row(DeliveryOutcome::Duplicate, None, named(thin));
        tx.log_delivery(&d)?;
        return Ok((answer(intake, thin, Outcome::Duplicate, Vec::new()), d));
    }
    if thin.context.is_some() && !accept_connect {
        // A connected account's notification on an endpoint that takes none: kept and
        // acknowledged, never fetched.
        let code = ErrorCode::ConnectEventRefused;
        let kept = new_event(intake, thin, Outcome::Ignored, Some(code.as_str()));
        let d = intake.keep_ignored(tx, &kept, code, named(thin))?;
        let mut h = answer(intake, thin, Outcome::Ignored, Vec::new());
        h.reason = Some(code);
        return Ok((h, d));
    }
    let job = tx
        .enqueue(&NewJob::fetch_event(thin), Some(&thin.id), intake.now)?
        .ok_or_else(|| {
            Error::new(
                ErrorCode::StoreError,
                format!("the fetch job of thin event {} already exists", thin.id),
            )
        })?;
    tx.insert_event(&new_event(intake, thin, Outcome::Processed, None))?;
    let d = intake.row(DeliveryOutcome::Processed, None, named(thin));
    tx.log_delivery(&d)?;
    Ok((answer(intake, thin, Outcome::Processed, vec![job]), d))
}

/// The stored row of a thin event.
fn new_event<'a>(
    intake: &'a Intake<'_>,
    thin: &'a ThinEvent,
    outcome: Outcome,
    error_code: Option<&'a str>,
) -> NewEvent<'a> {
    NewEvent {
        id: &thin.id,
        event_type: &thin.event_type,
        created: thin.created,
        livemode: thin.livemode,
        api_version: None,
        account: thin.context.as_deref(),
        object_id: thin.related_object.as_ref().map(|r| r.id.as_str()),
        customer_id: None,
        outcome: outcome.as_str(),
        error_code,
        received_at: intake.now,
        body: intake.body,
    }
}

fn answer(
    intake: &Intake<'_>,
    thin: &ThinEvent,
    outcome: Outcome,
    jobs: Vec<crate::outbox::EnqueuedJob>,
) -> Handled {
    Handled {
        outcome,
        event_id: thin.id.clone(),
        event_type: thin.event_type.clone(),
        customer_id: None,
        jobs,
        reason: None,
        secret_index: intake.secret_index,
    }
}
