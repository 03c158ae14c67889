//! Refunds and disputes as support tickets, and the lookups they need.
//!
//! One ticket per refund (keyed by the refund's id, so a second partial refund of one charge
//! opens its own), one per dispute (`updated` adds a note, `closed` closes it with the
//! outcome). A refund or dispute names only its charge and PaymentIntent; the customer comes
//! from what charges taught `payment_refs`. When a ticket is written before its customer is
//! known, it is remembered as an orphan and gets the customer when a charge names it, so the
//! outbox is the same whatever order Stripe delivered the events in. The opening payload holds
//! only what does not change over the object's life (never its status), for the same reason.

use serde_json::{Value, json};

use crate::billing::Watermark;
use crate::error::Result;
use crate::event::{ChargeRecord, DisputeRecord, EventKind, RefundRecord};
use crate::outbox::kinds::{SUPPORT_CLOSE_TICKET, SUPPORT_OPEN_TICKET, SUPPORT_UPDATE_TICKET};
use crate::outbox::{EnqueuedJob, NewJob};
use crate::store::StoreTx;

/// What a charge, refund or dispute did.
#[derive(Debug, Default)]
pub(crate) struct Tickets {
    /// Jobs written.
    pub jobs: Vec<EnqueuedJob>,
    /// The customer, when known.
    pub customer_id: Option<String>,
}

/// The customer of a charge or PaymentIntent, if a charge named it.
fn lookup(tx: &mut dyn StoreTx, refs: &[Option<&str>]) -> Result<Option<String>> {
    for id in refs.iter().flatten() {
        if let Some(c) = tx.payments().payment_ref(id)? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// Learns the charge's (and its PaymentIntent's) customer, and hands it to the tickets that
/// were waiting for it.
fn learn(tx: &mut dyn StoreTx, rec: &ChargeRecord, wm: &Watermark) -> Result<()> {
    let Some(cus) = rec.customer_id.as_deref() else {
        return Ok(());
    };
    for id in [Some(rec.id.as_str()), rec.payment_intent.as_deref()]
        .into_iter()
        .flatten()
    {
        if tx.payments().put_payment_ref(id, cus, wm.created)? {
            tx.payments().adopt_orphan_jobs(id, cus)?;
        }
    }
    Ok(())
}

/// Writes `jobs` (once-jobs: a redelivery or a second event about the same object writes
/// nothing), remembering those without a customer under `refs`.
fn enqueue(
    tx: &mut dyn StoreTx,
    jobs: &[NewJob],
    refs: &[Option<&str>],
    wm: &Watermark,
    now: i64,
    out: &mut Tickets,
) -> Result<()> {
    let event_id = (!wm.snapshot).then_some(wm.event_id.as_str());
    for job in jobs {
        let Some(j) = tx.enqueue(job, event_id, now)? else {
            continue;
        };
        if job.customer_id.is_none() {
            for r in refs.iter().flatten() {
                tx.payments().note_orphan_job(r, j.id)?;
            }
        }
        out.jobs.push(j);
    }
    Ok(())
}

/// The unchanging facts of a refund, for its ticket.
fn refund_facts(r: &RefundRecord) -> Value {
    json!({
        "id": r.id, "charge_id": r.charge_id, "payment_intent": r.payment_intent,
        "amount": r.amount, "currency": r.currency, "reason": r.reason,
    })
}

/// The opening ticket of one refund.
fn refund_ticket(r: &RefundRecord, customer: Option<&str>) -> NewJob {
    NewJob::money_ticket(
        SUPPORT_OPEN_TICKET,
        format!("refund:{}", r.id),
        customer,
        r.amount,
        &r.currency,
        json!({ "reason": "refund", "refund": refund_facts(r) }),
    )
}

/// A charge: learn its customer; `charge.refunded` opens a ticket per embedded refund, or,
/// in API versions that no longer embed them, one keyed by the charge and its refunded total
/// (each further partial refund raises the total, so it opens its own).
pub(crate) fn charge(
    tx: &mut dyn StoreTx,
    rec: &ChargeRecord,
    kind: Option<&EventKind>,
    wm: &Watermark,
    now: i64,
) -> Result<Tickets> {
    learn(tx, rec, wm)?;
    let mut out = Tickets {
        customer_id: rec.customer_id.clone(),
        ..Tickets::default()
    };
    if kind != Some(&EventKind::ChargeRefunded) {
        return Ok(out);
    }
    let cus = rec.customer_id.as_deref();
    let jobs: Vec<NewJob> = if rec.refunds.is_empty() {
        vec![NewJob::money_ticket(
            SUPPORT_OPEN_TICKET,
            format!("refund:{}:total:{}", rec.id, rec.amount_refunded),
            cus,
            rec.amount_refunded,
            &rec.currency,
            json!({ "reason": "refund", "refund": null, "charge": {
                "id": rec.id, "payment_intent": rec.payment_intent, "amount": rec.amount,
                "amount_refunded": rec.amount_refunded, "refunded": rec.refunded,
                "currency": rec.currency,
            }}),
        )]
    } else {
        rec.refunds.iter().map(|r| refund_ticket(r, cus)).collect()
    };
    let refs = [Some(rec.id.as_str()), rec.payment_intent.as_deref()];
    enqueue(tx, &jobs, &refs, wm, now, &mut out)?;
    Ok(out)
}

/// A refund (`refund.created` / `refund.updated`): its ticket (once), and a note when it
/// failed or was canceled.
pub(crate) fn refund(
    tx: &mut dyn StoreTx,
    rec: &RefundRecord,
    wm: &Watermark,
    now: i64,
) -> Result<Tickets> {
    let refs = [rec.charge_id.as_deref(), rec.payment_intent.as_deref()];
    let cus = lookup(tx, &refs)?;
    let mut jobs = vec![refund_ticket(rec, cus.as_deref())];
    if let Some(status @ ("failed" | "canceled")) = rec.status.as_deref() {
        jobs.push(NewJob::money_ticket(
            SUPPORT_UPDATE_TICKET,
            format!("refund:{}:{status}", rec.id),
            cus.as_deref(),
            rec.amount,
            &rec.currency,
            json!({ "reason": format!("refund_{status}"), "refund_id": rec.id, "status": status }),
        ));
    }
    let mut out = Tickets {
        customer_id: cus,
        ..Tickets::default()
    };
    enqueue(tx, &jobs, &refs, wm, now, &mut out)?;
    Ok(out)
}

/// A dispute: its ticket (once, whichever of its events comes first), a note per
/// `charge.dispute.updated`, and the close with the outcome on `charge.dispute.closed`.
pub(crate) fn dispute(
    tx: &mut dyn StoreTx,
    rec: &DisputeRecord,
    kind: Option<&EventKind>,
    wm: &Watermark,
    now: i64,
) -> Result<Tickets> {
    let refs = [rec.charge_id.as_deref(), rec.payment_intent.as_deref()];
    let cus = lookup(tx, &refs)?;
    let c = cus.as_deref();
    let facts = json!({
        "id": rec.id, "charge_id": rec.charge_id, "payment_intent": rec.payment_intent,
        "amount": rec.amount, "currency": rec.currency, "reason": rec.reason,
    });
    let mut jobs = vec![NewJob::money_ticket(
        SUPPORT_OPEN_TICKET,
        format!("dispute:{}", rec.id),
        c,
        rec.amount,
        &rec.currency,
        json!({ "reason": "dispute", "dispute": facts }),
    )];
    match kind {
        Some(EventKind::ChargeDisputeUpdated) => jobs.push(NewJob::money_ticket(
            SUPPORT_UPDATE_TICKET,
            format!("dispute:{}:update:{}", rec.id, wm.event_id),
            c,
            rec.amount,
            &rec.currency,
            json!({ "reason": "dispute_updated", "dispute_id": rec.id, "status": rec.status }),
        )),
        Some(EventKind::ChargeDisputeClosed) => jobs.push(NewJob::money_ticket(
            SUPPORT_CLOSE_TICKET,
            format!("dispute:{}:closed", rec.id),
            c,
            rec.amount,
            &rec.currency,
            json!({
                "reason": "dispute_closed", "dispute_id": rec.id,
                // `won`, `lost`, or `warning_closed` (an inquiry that never became a dispute).
                "outcome": rec.status,
            }),
        )),
        _ => {}
    }
    let mut out = Tickets {
        customer_id: cus.clone(),
        ..Tickets::default()
    };
    enqueue(tx, &jobs, &refs, wm, now, &mut out)?;
    Ok(out)
}
