//! A PaymentIntent: a one-time payment succeeded.

use super::{Plan, purchase};
use crate::billing::{PurchaseRecord, Watermark};
use crate::error::Result;
use crate::event::{EventKind, PaymentIntentRecord, SubscriptionItem};
use crate::store::StoreTx;

/// `payment_intent.succeeded` marks the payment paid. A PaymentIntent that pays an invoice
/// belongs to the subscription, not to a purchase; one the host stamped with
/// `metadata.price_id`/`product_id` is a purchase of that price even without a Checkout
/// Session (the host's own payment form).
pub(super) fn plan(
    tx: &mut dyn StoreTx,
    rec: &PaymentIntentRecord,
    kind: Option<&EventKind>,
    wm: &Watermark,
) -> Result<Plan> {
    if rec.invoice_id.is_some() || kind != Some(&EventKind::PaymentIntentSucceeded) {
        return Ok(Plan::ignored());
    }
    let stamped = rec.price_id.is_some() || rec.product_id.is_some();
    let seen = PurchaseRecord {
        id: rec.id.clone(),
        customer_id: rec.customer_id.clone(),
        user_id: rec.user_id.clone(),
        items: if stamped {
            vec![SubscriptionItem {
                id: String::new(),
                price_id: rec.price_id.clone(),
                product_id: rec.product_id.clone(),
                quantity: 1,
            }]
        } else {
            Vec::new()
        },
        amount: rec.amount,
        currency: rec.currency.clone(),
        purchase: stamped,
        paid_at: (rec.status.as_deref() == Some("succeeded")).then_some(wm.created),
        ..PurchaseRecord::default()
    };
    let mut plan = Plan::default();
    purchase::merge(tx, &mut plan, &seen)?;
    Ok(plan)
}
