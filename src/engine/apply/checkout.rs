//! A Checkout Session: its state row, and the customer and user link it reveals before the
//! customer's own events arrive.

use super::{Plan, Write, purchase};
use crate::billing::{CheckoutRow, PurchaseRecord, Watermark, checkout_state, decide};
use crate::error::Result;
use crate::event::{CheckoutRecord, CustomerRecord, EventKind};
use crate::store::StoreTx;

/// The session row keeps only what the table holds; its contact details go to the customer.
pub(super) fn plan(
    tx: &mut dyn StoreTx,
    rec: &CheckoutRecord,
    kind: Option<&EventKind>,
    wm: &Watermark,
) -> Result<Plan> {
    let row = CheckoutRow {
        // Only what the table keeps (contact details go to the customer): comparing
        // the rest against a stored row made every repeat of a session a change.
        record: CheckoutRecord {
            email: None,
            name: None,
            amount_total: None,
            currency: None,
            payment_intent: None,
            line_items: Vec::new(),
            ..rec.clone()
        },
        state: checkout_state(rec, kind),
    };
    let current = tx.checkout(&rec.id)?;
    let d = decide(current.as_ref().map(|(r, w)| (r, w)), &row, wm);
    let mut plan = Plan::default();
    plan.row(
        d,
        Write::Checkout(row),
        "checkout.session",
        &rec.id,
        rec.customer_id.as_deref(),
    );
    if let Some(cid) = &rec.customer_id {
        plan.writes.push(contact(tx, rec, cid)?);
        plan.link = rec.user_id.clone().map(|uid| (cid.clone(), uid));
        plan.crm = true;
    }
    if rec.mode.as_deref() == Some("payment") {
        purchase::merge(tx, &mut plan, &bought(rec, wm))?;
    }
    Ok(plan)
}

/// A payment-mode session is a one-time purchase: keyed by its PaymentIntent (the key the
/// PaymentIntent and charge events share), or by the session when nothing was charged.
/// Paid once the session is complete and its payment settled.
fn bought(rec: &CheckoutRecord, wm: &Watermark) -> PurchaseRecord {
    let paid = rec.status.as_deref() == Some("complete")
        && matches!(
            rec.payment_status.as_deref(),
            Some("paid" | "no_payment_required")
        );
    PurchaseRecord {
        id: rec.payment_intent.clone().unwrap_or_else(|| rec.id.clone()),
        customer_id: rec.customer_id.clone(),
        user_id: rec.user_id.clone(),
        checkout_session_id: Some(rec.id.clone()),
        items: rec.line_items.clone(),
        amount: rec.amount_total.unwrap_or(0),
        currency: rec.currency.clone().unwrap_or_default(),
        purchase: true,
        paid_at: paid.then_some(wm.created),
        ..PurchaseRecord::default()
    }
}

/// The customer is known from the session before customer.created arrives: a provisional
/// profile that the first real customer event replaces, or else the session's contact
/// details filled in where the profile has none.
fn contact(tx: &mut dyn StoreTx, rec: &CheckoutRecord, cid: &str) -> Result<Write> {
    Ok(if tx.customer(cid)?.is_none() {
        Write::ProvisionalCustomer(CustomerRecord {
            id: cid.to_owned(),
            email: rec.email.clone(),
            name: rec.name.clone(),
            ..CustomerRecord::default()
        })
    } else {
        Write::FillContact {
            customer_id: cid.to_owned(),
            email: rec.email.clone(),
            name: rec.name.clone(),
        }
    })
}
