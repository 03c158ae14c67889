//! A Checkout Session: its state row, and the customer and user link it reveals before the
//! customer's own events arrive.

use super::{Plan, Write};
use crate::billing::{CheckoutRow, Watermark, checkout_state, decide};
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
    Ok(plan)
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
