//! A charge: it teaches which customer the charge and its PaymentIntent belong to (for the
//! tickets of refunds and disputes that name only those); a refund opens a ticket per refund
//! ([`super::tickets`]); a one-time payment's charge marks its purchase paid
//! (`charge.succeeded`) or, refunded in full, revoked (`charge.refunded`).

use super::{Plan, purchase, tickets};
use crate::billing::{PurchaseRecord, Watermark};
use crate::error::Result;
use crate::event::{ChargeRecord, EventKind};
use crate::store::StoreTx;

/// Charges have no row of their own; an invoice's charge never touches a purchase.
pub(super) fn plan(
    tx: &mut dyn StoreTx,
    rec: &ChargeRecord,
    kind: Option<&EventKind>,
    wm: &Watermark,
) -> Result<Plan> {
    let mut plan = match kind {
        Some(EventKind::ChargeRefunded) => {
            let mut p = Plan::default();
            tickets::charge_refunded(&mut p, rec);
            p
        }
        Some(EventKind::ChargeSucceeded) => Plan::default(),
        _ => return Ok(Plan::ignored()),
    };
    plan.writes.extend(tickets::learn(rec));
    if rec.invoice_id.is_none() {
        purchase::merge(tx, &mut plan, &seen(rec, wm))?;
    }
    Ok(plan)
}

/// What a charge says about its payment: paid when it succeeded (a refunded charge had
/// succeeded too), refunded when `refunded` is true (Stripe sets it on a full refund only).
fn seen(rec: &ChargeRecord, wm: &Watermark) -> PurchaseRecord {
    let succeeded = matches!(rec.status.as_deref(), Some("succeeded")) || rec.refunded;
    PurchaseRecord {
        id: rec.payment_intent.clone().unwrap_or_else(|| rec.id.clone()),
        customer_id: rec.customer_id.clone(),
        user_id: rec.user_id.clone(),
        amount: rec.amount,
        currency: rec.currency.clone(),
        paid_at: succeeded.then_some(wm.created),
        refunded_at: rec.refunded.then_some(wm.created),
        amount_refunded: rec.amount_refunded,
        ..PurchaseRecord::default()
    }
}
