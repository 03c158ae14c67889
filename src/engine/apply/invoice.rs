//! An invoice: its row, the payment-failure tickets it opens or closes, and a payment that
//! needs the customer (3-D Secure / SCA): the portal's `action_required` state and a
//! notification job.

use super::{Plan, Write};
use crate::billing::{Watermark, decide};
use crate::error::Result;
use crate::event::{EventKind, InvoiceRecord};
use crate::outbox::NewJob;
use crate::store::StoreTx;

/// The row is written when newer; a failed payment opens a ticket, a paid invoice after
/// failed attempts closes them.
pub(super) fn plan(
    tx: &mut dyn StoreTx,
    rec: &InvoiceRecord,
    kind: Option<&EventKind>,
    wm: &Watermark,
) -> Result<Plan> {
    let current = tx.invoice(&rec.id)?;
    let d = decide(current.as_ref().map(|(r, w)| (r, w)), rec, wm);
    let mut plan = Plan::default();
    plan.row(
        d,
        Write::Invoice(rec.clone()),
        "invoice",
        &rec.id,
        Some(&rec.customer_id),
    );
    plan.jobs.extend(jobs(rec, kind));
    if kind == Some(&EventKind::InvoicePaymentActionRequired) {
        // Pending while the stored invoice stays open: a later payment ends it in any order.
        plan.writes.push(Write::PaymentAction {
            invoice_id: rec.id.clone(),
            customer_id: rec.customer_id.clone(),
        });
        plan.jobs
            .push(NewJob::payment_action_required(&rec.customer_id, rec));
    }
    Ok(plan)
}

/// The tickets an invoice event causes, whatever the row decision.
fn jobs(rec: &InvoiceRecord, kind: Option<&EventKind>) -> Option<NewJob> {
    match kind {
        Some(EventKind::InvoicePaymentFailed) => Some(NewJob::payment_failed_ticket(
            &rec.customer_id,
            rec,
            &rec.id,
            rec.attempt_count,
        )),
        // attempt_count > 1 on a paid invoice means earlier attempts failed: whatever
        // order the events came in, the failure tickets can be closed.
        Some(EventKind::InvoicePaid | EventKind::InvoicePaymentSucceeded)
            if rec.attempt_count > 1 =>
        {
            Some(NewJob::payment_recovered(&rec.customer_id, rec, &rec.id))
        }
        _ => None,
    }
}
