//! Step 5 and 6 of the pipeline: apply one normalized object to the billing rows and decide
//! which side-effect jobs it causes. Runs inside the ingest transaction through [`StoreTx`],
//! so it knows nothing of SQL; the decisions themselves are the pure rules in `billing`.

use serde_json::json;

use super::fault::{FaultPoint, Faults};
use super::payments;
use crate::billing::{CheckoutRow, Decision, SubscriptionView, Watermark, checkout_state, decide};
use crate::error::Result;
use crate::event::{CheckoutRecord, CustomerRecord, EventKind, Object};
use crate::outbox::EnqueuedJob;
use crate::outbox::NewJob;
use crate::store::StoreTx;

/// What applying one object did.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// Some row changed (or a user link was made).
    pub changed: bool,
    /// Every row write was refused as older than the row (or the row was terminal).
    pub stale: bool,
    /// Nothing in the object moves state (unknown type).
    pub ignored: bool,
    /// The customer the object concerns.
    pub customer_id: Option<String>,
    /// Jobs written.
    pub jobs: Vec<EnqueuedJob>,
}

/// Applies `object` written under `wm`. `kind` is the event type (`None` for an API snapshot,
/// which moves state but never triggers event-specific side effects).
pub(crate) fn apply_object(
    tx: &mut dyn StoreTx,
    object: &Object,
    kind: Option<&EventKind>,
    wm: &Watermark,
    now: i64,
    faults: &Faults,
) -> Result<Applied> {
    let mut out = Applied {
        customer_id: object.customer_id().map(str::to_owned),
        ..Applied::default()
    };
    let mut pending: Vec<NewJob> = Vec::new();
    let mut crm = false;
    match object {
        Object::Customer(rec) => {
            let profile = CustomerRecord {
                user_id: None,
                ..rec.clone()
            };
            let current = tx.customer(&rec.id)?;
            let d = decide(current.as_ref().map(|(r, w)| (r, w)), &profile, wm);
            if write_wins(d) {
                tx.put_customer(&profile, wm)?;
            }
            note(
                &mut out,
                &mut pending,
                d,
                "customer",
                &rec.id,
                Some(&rec.id),
            );
            if let Some(uid) = &rec.user_id {
                out.changed |= tx.link_user(&rec.id, uid, wm.created)?;
            }
            crm = out.changed;
        }
        Object::Subscription(rec) => {
            let current = tx.subscription(&rec.id)?;
            let status_since = match &current {
                Some((v, _)) if v.record.status == rec.status => v.status_since,
                _ => wm.created,
            };
            let mut record = rec.clone();
            record.user_id = None;
            let view = SubscriptionView {
                record,
                status_since,
            };
            let d = decide(
                current.as_ref().map(|(v, w)| (&v.record, w)),
                &view.record,
                wm,
            );
            if write_wins(d) {
                tx.put_subscription(&view, wm)?;
            }
            note(
                &mut out,
                &mut pending,
                d,
                "subscription",
                &rec.id,
                Some(&rec.customer_id),
            );
            if let Some(uid) = &rec.user_id {
                out.changed |= tx.link_user(&rec.customer_id, uid, wm.created)?;
            }
            crm = out.changed;
            if kind == Some(&EventKind::SubscriptionTrialWillEnd) {
                pending.push(NewJob::trial_will_end(&view.record));
            }
            if kind == Some(&EventKind::SubscriptionDeleted) {
                pending.push(NewJob::access_revoked(
                    &rec.customer_id,
                    &view.record,
                    &rec.id,
                ));
            }
        }
        Object::Invoice(rec) => {
            let current = tx.invoice(&rec.id)?;
            let d = decide(current.as_ref().map(|(r, w)| (r, w)), rec, wm);
            if write_wins(d) {
                tx.put_invoice(rec, wm)?;
            }
            note(
                &mut out,
                &mut pending,
                d,
                "invoice",
                &rec.id,
                Some(&rec.customer_id),
            );
            match kind {
                Some(EventKind::InvoicePaymentActionRequired) => {
                    tx.payments()
                        .put_payment_action(&rec.id, &rec.customer_id, wm.created)?;
                    pending.push(NewJob::payment_action_required(&rec.customer_id, rec));
                }
                Some(EventKind::InvoicePaymentFailed) => {
                    pending.push(NewJob::payment_failed_ticket(
                        &rec.customer_id,
                        rec,
                        &rec.id,
                        rec.attempt_count,
                    ))
                }
                // attempt_count > 1 on a paid invoice means earlier attempts failed: whatever
                // order the events came in, the failure tickets can be closed.
                Some(EventKind::InvoicePaid | EventKind::InvoicePaymentSucceeded)
                    if rec.attempt_count > 1 =>
                {
                    pending.push(NewJob::payment_recovered(&rec.customer_id, rec, &rec.id))
                }
                _ => {}
            }
        }
        Object::CheckoutSession(rec) => {
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
            if write_wins(d) {
                tx.put_checkout(&row, wm)?;
            }
            note(
                &mut out,
                &mut pending,
                d,
                "checkout.session",
                &rec.id,
                rec.customer_id.as_deref(),
            );
            if let Some(cid) = &rec.customer_id {
                if tx.customer(cid)?.is_none() {
                    // The customer is known from the session before customer.created arrives:
                    // a provisional profile that the first real customer event replaces.
                    let stub = CustomerRecord {
                        id: cid.clone(),
                        email: rec.email.clone(),
                        name: rec.name.clone(),
                        ..CustomerRecord::default()
                    };
                    tx.put_customer(&stub, &Watermark::provisional())?;
                    out.changed = true;
                } else {
                    tx.fill_contact(cid, rec.email.as_deref(), rec.name.as_deref())?;
                }
                if let Some(uid) = &rec.user_id {
                    out.changed |= tx.link_user(cid, uid, wm.created)?;
                }
            }
            crm = out.changed && rec.customer_id.is_some();
        }
        Object::Charge(rec) => {
            let t = payments::charge(tx, rec, kind, wm, now)?;
            out.jobs.extend(t.jobs);
        }
        Object::Dispute(rec) => {
            let t = payments::dispute(tx, rec, kind, wm, now)?;
            out.customer_id = t.customer_id;
            out.jobs.extend(t.jobs);
        }
        Object::Refund(rec) => {
            let t = payments::refund(tx, rec, wm, now)?;
            out.customer_id = t.customer_id;
            out.jobs.extend(t.jobs);
        }
        Object::Other { .. } => out.ignored = true,
    }
    if crm {
        if let Some(cid) = out.customer_id.clone() {
            pending.push(crm_job(tx, &cid)?);
        }
    }
    faults.check(FaultPoint::AfterApply)?;
    for job in &pending {
        if let Some(j) = tx.enqueue(job, (!wm.snapshot).then_some(wm.event_id.as_str()), now)? {
            out.jobs.push(j);
        }
    }
    Ok(out)
}

/// Whether the row is written: a new state, or the same state under a newer watermark.
fn write_wins(d: Decision) -> bool {
    matches!(
        d,
        Decision::Apply | Decision::Advance | Decision::Conflict { apply: true }
    )
}

/// Folds one row decision into the result and queues a reconcile on a same-second conflict.
fn note(
    out: &mut Applied,
    jobs: &mut Vec<NewJob>,
    d: Decision,
    object_type: &str,
    id: &str,
    customer: Option<&str>,
) {
    match d {
        Decision::Apply | Decision::Conflict { apply: true } => out.changed = true,
        Decision::Stale | Decision::Terminal => out.stale = true,
        Decision::Advance | Decision::Unchanged | Decision::Conflict { apply: false } => {}
    }
    if let Decision::Conflict { .. } = d {
        jobs.push(NewJob::reconcile(object_type, id, customer));
    }
}

/// The CRM job carries the customer's newest state as read inside this transaction, so a
/// coalesced job always holds what the CRM should end up with, whatever order events came in.
fn crm_job(tx: &mut dyn StoreTx, customer_id: &str) -> Result<NewJob> {
    let profile = tx.customer(customer_id)?.map(|(c, _)| c);
    let user_id = tx.customer_user(customer_id)?;
    let subs = tx.customer_subscriptions(customer_id)?;
    let subscriptions: Vec<_> = subs
        .iter()
        .map(|v| {
            json!({
                "id": v.record.id, "status": v.record.status, "price_id": v.record.price_id,
                "product_id": v.record.product_id, "current_period_end": v.record.current_period_end,
                "cancel_at_period_end": v.record.cancel_at_period_end,
            })
        })
        .collect();
    let state = json!({
        "email": profile.as_ref().and_then(|c| c.email.clone()),
        "name": profile.as_ref().and_then(|c| c.name.clone()),
        "deleted": profile.as_ref().is_some_and(|c| c.deleted),
        "user_id": user_id,
        "subscriptions": subscriptions,
    });
    Ok(NewJob::crm_sync(customer_id, &state))
}
