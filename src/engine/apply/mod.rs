//! Step 5 and 6 of the pipeline: apply one normalized object to the billing rows and decide
//! which side-effect jobs it causes. Runs inside the ingest transaction through [`StoreTx`],
//! so it knows nothing of SQL.
//!
//! Each object type has its own module whose `plan` function reads what it needs through the
//! transaction and returns a [`Plan`]: the rows it decided to write, the user link it found,
//! and the jobs it causes. Only [`apply_object`] writes, so a new object type is one new
//! module and one match arm, and its rules can be read (and tested) without the writes.

mod catalog;
mod charge;
mod checkout;
mod customer;
mod dispute;
mod entitlements;
mod invoice;
mod payment_intent;
mod purchase;
mod refund;
mod subscription;
mod tickets;

use serde_json::json;

use super::fault::{FaultPoint, Faults};
use crate::billing::{CheckoutRow, Decision, PurchaseRecord, SubscriptionView, Watermark};
use crate::error::Result;
use crate::event::{CustomerRecord, EntitlementsRecord, Event, EventKind, InvoiceRecord, Object};
use crate::outbox::EnqueuedJob;
use crate::outbox::NewJob;
use crate::store::StoreTx;
use crate::sync_state::CatalogEntry;

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

/// What one object's rules decided, before anything is written.
#[derive(Debug, Default)]
pub(super) struct Plan {
    /// The decision on each row the object maps to.
    pub rows: Vec<Decision>,
    /// Rows to write, in order.
    pub writes: Vec<Write>,
    /// `(customer, user)` to link, when the object names the host's user.
    pub link: Option<(String, String)>,
    /// Side-effect jobs the object causes (reconciles for same-second conflicts included).
    pub jobs: Vec<NewJob>,
    /// A change to this object is a change the CRM should hear about.
    pub crm: bool,
    /// Nothing in the object moves state.
    pub ignored: bool,
    /// The customer, when the object does not name it but a lookup found it (refunds,
    /// disputes).
    pub customer_id: Option<String>,
    /// Charge / PaymentIntent ids under which the plan's jobs without a customer wait for it
    /// ([`crate::store::PaymentsTx::note_orphan_job`]).
    pub orphan_refs: Vec<String>,
}

/// One row write a plan asks for.
#[derive(Debug)]
pub(super) enum Write {
    /// The customer profile under the object's watermark.
    Customer(CustomerRecord),
    /// A customer known only from another object, until its own event replaces it (counts
    /// as a change).
    ProvisionalCustomer(CustomerRecord),
    /// Contact details filled into an existing customer where it has none.
    FillContact {
        /// `cus_...`.
        customer_id: String,
        /// Email to fill.
        email: Option<String>,
        /// Name to fill.
        name: Option<String>,
    },
    /// A subscription.
    Subscription(SubscriptionView),
    /// An invoice.
    Invoice(InvoiceRecord),
    /// A Checkout Session.
    Checkout(CheckoutRow),
    /// A one-time payment's merged facts.
    Purchase(PurchaseRecord),
    /// A customer's entitlement summary.
    Entitlements(EntitlementsRecord),
    /// A product or price (the store keeps the newest; counts as a change when written).
    Catalog(CatalogEntry),
    /// Which customer a charge or PaymentIntent belongs to (the first answer stays); when new,
    /// the ticket jobs waiting for it get the customer.
    PaymentRef {
        /// `ch_...` or `pi_...`.
        id: String,
        /// `cus_...`.
        customer_id: String,
    },
    /// An invoice whose payment needs the customer (SCA).
    PaymentAction {
        /// `in_...`.
        invoice_id: String,
        /// `cus_...`.
        customer_id: String,
    },
}

impl Plan {
    /// Records the decision on one row, queues `write` when it wins, and a reconcile of the
    /// object when two versions carry the same second.
    pub(super) fn row(
        &mut self,
        d: Decision,
        write: Write,
        object_type: &str,
        id: &str,
        customer: Option<&str>,
    ) {
        if write_wins(d) {
            self.writes.push(write);
        }
        if let Decision::Conflict { .. } = d {
            self.jobs.push(NewJob::reconcile(object_type, id, customer));
        }
        self.rows.push(d);
    }

    /// A plan for an object that moves nothing.
    pub(super) fn ignored() -> Plan {
        Plan {
            ignored: true,
            ..Plan::default()
        }
    }

    /// A plan that only enqueues `job`.
    pub(super) fn job(job: NewJob) -> Plan {
        Plan {
            jobs: vec![job],
            ..Plan::default()
        }
    }
}

/// Applies an event's object as of the event: its watermark, its kind, its Connect account.
/// Ingest and `reprocess` both apply an event this way.
pub(crate) fn apply_event(
    tx: &mut dyn StoreTx,
    event: &Event,
    now: i64,
    faults: &Faults,
) -> Result<Applied> {
    let wm = Watermark::event(event.created, &event.id);
    let account = event.account.as_deref();
    apply_object(
        tx,
        &event.object,
        Some(&event.kind),
        account,
        &wm,
        now,
        faults,
    )
}

/// Applies an object fetched from the Stripe API at `fetched_at` (reconcile, sync): the
/// authoritative state as of then, with no event kind, in the platform's scope.
pub(crate) fn apply_fetched(
    tx: &mut dyn StoreTx,
    object: &Object,
    fetched_at: i64,
    faults: &Faults,
) -> Result<Applied> {
    let wm = Watermark::snapshot(fetched_at);
    apply_object(tx, object, None, None, &wm, fetched_at, faults)
}

/// Applies `object` written under `wm`. `kind` is the event type (`None` for an API snapshot,
/// which moves state but never triggers event-specific side effects). `account` is a Connect
/// event's connected account: its customer is kept in that account's scope (its user link
/// never answers for the platform's user of the same id) and every job carries it, so a
/// worker calling Stripe sends `Stripe-Account`.
fn apply_object(
    tx: &mut dyn StoreTx,
    object: &Object,
    kind: Option<&EventKind>,
    account: Option<&str>,
    wm: &Watermark,
    now: i64,
    faults: &Faults,
) -> Result<Applied> {
    let mut plan = plan_for(tx, object, kind, wm)?;
    let mut out = Applied {
        customer_id: object
            .customer_id()
            .map(str::to_owned)
            .or(plan.customer_id.take()),
        ignored: plan.ignored,
        ..Applied::default()
    };
    for d in &plan.rows {
        fold(&mut out, *d);
    }
    for write in &plan.writes {
        out.changed |= execute(tx, write, wm)?;
    }
    if let Some((customer, user)) = &plan.link {
        out.changed |= tx.link_user(customer, user, wm.created)?;
    }
    if plan.crm && out.changed {
        if let Some(cid) = out.customer_id.clone() {
            plan.jobs.push(crm_job(tx, &cid)?);
        }
    }
    if let (Some(acct), Some(cid)) = (account, out.customer_id.as_deref()) {
        tx.payments().set_customer_account(cid, acct)?;
    }
    if let Some(acct) = account {
        in_account(&mut plan.jobs, acct);
    }
    faults.check(FaultPoint::AfterApply, &wm.event_id)?;
    out.jobs = enqueue(tx, &plan, wm, now)?;
    Ok(out)
}

/// The decision for `object`: one planner per Stripe object type.
fn plan_for(
    tx: &mut dyn StoreTx,
    object: &Object,
    kind: Option<&EventKind>,
    wm: &Watermark,
) -> Result<Plan> {
    Ok(match object {
        Object::Customer(rec) => customer::plan(tx, rec, wm)?,
        Object::Subscription(rec) => subscription::plan(tx, rec, kind, wm)?,
        Object::Invoice(rec) => invoice::plan(tx, rec, kind, wm)?,
        Object::CheckoutSession(rec) => checkout::plan(tx, rec, kind, wm)?,
        Object::Charge(rec) => charge::plan(tx, rec, kind, wm)?,
        Object::Dispute(rec) => dispute::plan(tx, rec, kind, wm)?,
        Object::Refund(rec) => refund::plan(tx, rec)?,
        Object::PaymentIntent(rec) => payment_intent::plan(tx, rec, kind, wm)?,
        Object::Entitlements(rec) => entitlements::plan(tx, rec, wm)?,
        Object::Catalog(entry) => catalog::plan(entry, wm),
        Object::Other { .. } => Plan::ignored(),
    })
}

/// Stamps a Connect event's connected account on every job, so a worker calling Stripe
/// sends `Stripe-Account`.
fn in_account(jobs: &mut [NewJob], account: &str) {
    for job in jobs {
        if let serde_json::Value::Object(p) = &mut job.payload {
            p.insert("account".to_owned(), json!(account));
        }
    }
}

/// Enqueues the plan's jobs (tied to the event unless a snapshot wrote them); a job with
/// no customer yet is noted against the plan's orphan references, to be re-pointed once the
/// customer is known. Returns the jobs the store reports as enqueued.
fn enqueue(
    tx: &mut dyn StoreTx,
    plan: &Plan,
    wm: &Watermark,
    now: i64,
) -> Result<Vec<EnqueuedJob>> {
    let mut out = Vec::new();
    for job in &plan.jobs {
        if let Some(j) = tx.enqueue(job, (!wm.snapshot).then_some(wm.event_id.as_str()), now)? {
            if job.customer_id.is_none() {
                for r in &plan.orphan_refs {
                    tx.payments().note_orphan_job(r, j.id)?;
                }
            }
            out.push(j);
        }
    }
    Ok(out)
}

/// Writes one planned row; true when the write itself is a change not already counted by
/// the row's decision (a provisional customer, a catalog entry).
fn execute(tx: &mut dyn StoreTx, write: &Write, wm: &Watermark) -> Result<bool> {
    match write {
        Write::Customer(rec) => tx.put_customer(rec, wm)?,
        Write::ProvisionalCustomer(rec) => {
            tx.put_customer(rec, &Watermark::provisional())?;
            return Ok(true);
        }
        Write::FillContact {
            customer_id,
            email,
            name,
        } => tx.fill_contact(customer_id, email.as_deref(), name.as_deref())?,
        Write::Subscription(view) => tx.put_subscription(view, wm)?,
        Write::Invoice(rec) => tx.put_invoice(rec, wm)?,
        Write::Checkout(row) => tx.put_checkout(row, wm)?,
        Write::Purchase(p) => tx.put_purchase(p)?,
        Write::Entitlements(rec) => tx.put_entitlements(rec, wm)?,
        Write::Catalog(entry) => return tx.put_catalog_entry(entry),
        Write::PaymentRef { id, customer_id } => {
            if tx.payments().put_payment_ref(id, customer_id, wm.created)? {
                tx.payments().adopt_orphan_jobs(id, customer_id)?;
            }
        }
        Write::PaymentAction {
            invoice_id,
            customer_id,
        } => {
            tx.payments()
                .put_payment_action(invoice_id, customer_id, wm.created)?;
        }
    }
    Ok(false)
}

/// Whether the row is written: a new state, or the same state under a newer watermark.
fn write_wins(d: Decision) -> bool {
    matches!(
        d,
        Decision::Apply | Decision::Advance | Decision::Conflict { apply: true }
    )
}

/// Folds one row decision into the result.
fn fold(out: &mut Applied, d: Decision) {
    match d {
        Decision::Apply | Decision::Conflict { apply: true } => out.changed = true,
        Decision::Stale | Decision::Terminal => out.stale = true,
        Decision::Advance | Decision::Unchanged | Decision::Conflict { apply: false } => {}
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
                "id": v.record.id, "status": v.record.status, "items": v.record.items, "price_id": v.record.price_id,
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
