//! Refunds and disputes as support tickets, and the lookups they need.
//!
//! One ticket per refund (keyed by the refund's id, so a second partial refund of one charge
//! opens its own), one per dispute (`updated` adds a note, `closed` closes it with the
//! outcome). A refund or dispute names only its charge and PaymentIntent; the customer comes
//! from what charges taught `payment_refs`. A ticket written before its customer is known waits
//! under those ids ([`Plan::orphan_refs`]) and gets the customer when a charge names it, so the
//! outbox is the same whatever order Stripe delivered the events in. The opening payload holds
//! only what does not change over the object's life (never its status), for the same reason.

use serde_json::{Value, json};

use super::{Plan, Write};
use crate::billing::Watermark;
use crate::error::Result;
use crate::event::{ChargeRecord, DisputeRecord, EventKind, RefundRecord};
use crate::outbox::NewJob;
use crate::outbox::kinds::{SUPPORT_CLOSE_TICKET, SUPPORT_OPEN_TICKET, SUPPORT_UPDATE_TICKET};
use crate::store::StoreTx;

/// The customer of a charge or PaymentIntent, if a charge named it.
pub(super) fn lookup(tx: &mut dyn StoreTx, refs: &[Option<&str>]) -> Result<Option<String>> {
    for id in refs.iter().flatten() {
        if let Some(c) = tx.payments().payment_ref(id)? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// What a charge teaches: its (and its PaymentIntent's) customer.
pub(super) fn learn(rec: &ChargeRecord) -> Vec<Write> {
    let Some(cus) = &rec.customer_id else {
        return Vec::new();
    };
    [Some(&rec.id), rec.payment_intent.as_ref()]
        .into_iter()
        .flatten()
        .map(|id| Write::PaymentRef {
            id: id.clone(),
            customer_id: cus.clone(),
        })
        .collect()
}

/// The ids a ticket without a customer waits under.
fn waits_for(plan: &mut Plan, customer: Option<&str>, refs: &[Option<&str>]) {
    if customer.is_none() {
        plan.orphan_refs
            .extend(refs.iter().flatten().map(|r| (*r).to_owned()));
    }
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

/// `charge.refunded`: a ticket per embedded refund, or, in API versions that no longer embed
/// them, one keyed by the charge and its refunded total (each further partial refund raises
/// the total, so it opens its own).
pub(super) fn charge_refunded(plan: &mut Plan, rec: &ChargeRecord) {
    let cus = rec.customer_id.as_deref();
    if rec.refunds.is_empty() {
        plan.jobs.push(NewJob::money_ticket(
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
        ));
    } else {
        plan.jobs
            .extend(rec.refunds.iter().map(|r| refund_ticket(r, cus)));
    }
    waits_for(plan, cus, &[Some(&rec.id), rec.payment_intent.as_deref()]);
}

/// A refund (`refund.created` / `refund.updated`): its ticket (once), and a note when it
/// failed or was canceled.
pub(super) fn refund(tx: &mut dyn StoreTx, rec: &RefundRecord) -> Result<Plan> {
    let refs = [rec.charge_id.as_deref(), rec.payment_intent.as_deref()];
    let cus = lookup(tx, &refs)?;
    let mut plan = Plan::job(refund_ticket(rec, cus.as_deref()));
    if let Some(status @ ("failed" | "canceled")) = rec.status.as_deref() {
        plan.jobs.push(NewJob::money_ticket(
            SUPPORT_UPDATE_TICKET,
            format!("refund:{}:{status}", rec.id),
            cus.as_deref(),
            rec.amount,
            &rec.currency,
            json!({ "reason": format!("refund_{status}"), "refund_id": rec.id, "status": status }),
        ));
    }
    waits_for(&mut plan, cus.as_deref(), &refs);
    plan.customer_id = cus;
    Ok(plan)
}

/// A dispute: its ticket (once, whichever of its events comes first), a note per
/// `charge.dispute.updated`, and the close with the outcome on `charge.dispute.closed`.
pub(super) fn dispute(
    tx: &mut dyn StoreTx,
    rec: &DisputeRecord,
    kind: Option<&EventKind>,
    wm: &Watermark,
) -> Result<Plan> {
    let refs = [rec.charge_id.as_deref(), rec.payment_intent.as_deref()];
    let cus = lookup(tx, &refs)?;
    let c = cus.as_deref();
    let facts = json!({
        "id": rec.id, "charge_id": rec.charge_id, "payment_intent": rec.payment_intent,
        "amount": rec.amount, "currency": rec.currency, "reason": rec.reason,
    });
    let mut plan = Plan::job(NewJob::money_ticket(
        SUPPORT_OPEN_TICKET,
        format!("dispute:{}", rec.id),
        c,
        rec.amount,
        &rec.currency,
        json!({ "reason": "dispute", "dispute": facts }),
    ));
    match kind {
        Some(EventKind::ChargeDisputeUpdated) => plan.jobs.push(NewJob::money_ticket(
            SUPPORT_UPDATE_TICKET,
            format!("dispute:{}:update:{}", rec.id, wm.event_id),
            c,
            rec.amount,
            &rec.currency,
            json!({ "reason": "dispute_updated", "dispute_id": rec.id, "status": rec.status }),
        )),
        Some(EventKind::ChargeDisputeClosed) => plan.jobs.push(NewJob::money_ticket(
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
    waits_for(&mut plan, c, &refs);
    plan.customer_id = cus;
    Ok(plan)
}
