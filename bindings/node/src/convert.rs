//! Plain JS objects in and out. Each output type is a field-for-field copy of a core type with
//! camelCase names; `null` stands for an absent value (never `undefined`).

use napi_derive::napi;

use crate::args::{Num, Texts};
use serde_json::Value;
use tollbooth::ErrorCode;

use tollbooth::{Error, Result};

/// A job written (or refreshed) by a delivery or snapshot.
#[napi(object, use_nullable = true)]
pub struct EnqueuedJob {
    /// Job id.
    pub id: i64,
    /// Job kind, e.g. `'crm.sync_customer'`.
    pub kind: String,
    /// Deterministic idempotency key.
    pub key: String,
    /// `true` when an existing due job was refreshed instead of a new one written.
    pub coalesced: bool,
}

js_from!(EnqueuedJob from j: tollbooth::EnqueuedJob {
    id, kind, key, coalesced,
});

/// What `handleWebhook` did. Any return (no throw) means: answer Stripe with HTTP 200.
#[napi(object, use_nullable = true)]
pub struct HandledWebhook {
    /// `processed`: new event, state and jobs written; `duplicate`: already stored, nothing
    /// done; `ignored`: stored, its type moves no state; `stale`: stored, but older than the
    /// state it would have written; `quarantined`: authentic but not readable (or of the other
    /// livemode), stored raw with `reason` for `reprocess` after an upgrade; `probe`: a signed
    /// `tollbooth doctor` probe, nothing stored.
    #[napi(ts_type = "'processed' | 'duplicate' | 'ignored' | 'stale' | 'quarantined' | 'probe'")]
    pub outcome: String,
    /// Stripe event id (`evt_...`).
    pub event_id: String,
    /// Stripe event type, e.g. `'customer.subscription.updated'`.
    pub event_type: String,
    /// The customer the event concerns, when known.
    pub customer_id: Option<String>,
    /// Jobs written by this delivery.
    pub jobs: Vec<EnqueuedJob>,
    /// For `quarantined`, the error code that stopped it (e.g. `EVENT_FIELD_MISSING`).
    pub reason: Option<String>,
    /// Which configured secret (its index in `webhookSecrets`) verified the delivery; `null`
    /// for trusted input. While rotating, remove the old secret once nothing uses it.
    pub secret_index: Option<u32>,
}

js_from!(HandledWebhook from h: tollbooth::Handled {
    outcome = h.outcome.as_str().to_owned(),
    event_id, event_type, customer_id,
    jobs = h.jobs.into_iter().map(Into::into).collect(),
    reason = h.reason.map(|c| c.as_str().to_owned()),
    secret_index,
});

/// May this customer use the portal, and what should the UI say?
#[napi(object, use_nullable = true)]
pub struct Access {
    /// The Stripe customer, when known.
    pub customer_id: Option<String>,
    /// The app user linked to the customer, when known.
    pub user_id: Option<String>,
    /// The deciding subscription's state (`none`: no subscription known).
    #[napi(
        ts_type = "'active' | 'trialing' | 'past_due' | 'unpaid' | 'incomplete' | 'paused' | 'action_required' | 'canceled' | 'none'"
    )]
    pub state: String,
    /// Whether the portal should let the customer in.
    pub has_access: bool,
    /// A sentence the UI can show.
    pub reason: String,
    /// The deciding subscription.
    pub subscription_id: Option<String>,
    /// Its price.
    pub price_id: Option<String>,
    /// Its product.
    pub product_id: Option<String>,
    /// End of the current billing period (unix seconds).
    pub current_period_end: Option<i64>,
    /// Whether it is set to cancel at the end of the period.
    pub cancel_at_period_end: bool,
    /// When access ends (or ended), unix seconds, if known.
    pub access_ends_at: Option<i64>,
    /// The deciding subscription's trial end (unix seconds), when it has one.
    pub trial_end: Option<i64>,
    /// For `action_required` (3-D Secure / SCA): the hosted invoice page where the customer
    /// confirms the payment.
    pub payment_action_url: Option<String>,
    /// The one-time purchase that decides, when a purchase decides (then `subscriptionId`
    /// is null and `priceId`/`productId` are what was bought).
    pub purchase_id: Option<String>,
}

js_from!(Access from a: tollbooth::Access {
    customer_id, user_id,
    state = a.state.as_str().to_owned(),
    has_access, reason, subscription_id, price_id, product_id, current_period_end,
    cancel_at_period_end, access_ends_at, trial_end, payment_action_url, purchase_id,
});

/// A product or price of the catalog (from `product.*` / `price.*` events and `sync`).
#[napi(object, use_nullable = true)]
pub struct CatalogEntry {
    /// `prod_...` or `price_...`.
    pub id: String,
    /// `product` or `price`.
    #[napi(ts_type = "'product' | 'price'")]
    pub object: String,
    /// Whether it can be bought.
    pub active: Option<bool>,
    /// The product's name, or the price's nickname.
    pub name: Option<String>,
    /// A price's product.
    pub product_id: Option<String>,
    /// A price's amount, minor units.
    pub unit_amount: Option<i64>,
    /// A price's currency.
    pub currency: Option<String>,
    /// A recurring price's interval (`month`, `year`, ...).
    pub recurring_interval: Option<String>,
}

js_from!(CatalogEntry from c: tollbooth::CatalogEntry {
    id, object, active, name, product_id, unit_amount, currency, recurring_interval,
});

/// One subscription item or bought line: what and how many (seats).
#[napi(object, use_nullable = true)]
pub struct Item {
    /// `si_...` (empty when unknown).
    pub id: String,
    /// The price.
    pub price_id: Option<String>,
    /// The product.
    pub product_id: Option<String>,
    /// Quantity (seats).
    pub quantity: i64,
}

js_from!(Item from i: tollbooth::event::SubscriptionItem {
    id, price_id, product_id, quantity,
});

/// A one-time purchase: what was bought, paid and refunded.
#[napi(object, use_nullable = true)]
pub struct Purchase {
    /// `pi_...` (or `cs_...` when nothing was charged).
    pub id: String,
    /// The customer, when the payment has one.
    pub customer_id: Option<String>,
    /// The app user, when known.
    pub user_id: Option<String>,
    /// The Checkout Session that sold it.
    pub checkout_session_id: Option<String>,
    /// What was bought.
    pub items: Vec<Item>,
    /// Amount paid, minor units.
    pub amount: i64,
    /// Lowercase ISO currency.
    pub currency: String,
    /// When it was paid, unix seconds (null while unpaid).
    pub paid_at: Option<i64>,
    /// When it was refunded in full, unix seconds.
    pub refunded_at: Option<i64>,
    /// Amount refunded so far, minor units.
    pub amount_refunded: i64,
}

js_from!(Purchase from p: tollbooth::PurchaseRecord {
    id, customer_id, user_id, checkout_session_id,
    items = p.items.into_iter().map(Into::into).collect(),
    amount, currency, paid_at, refunded_at, amount_refunded,
});

/// An invoice as the portal lists it.
#[napi(object, use_nullable = true)]
pub struct Invoice {
    /// `in_...`.
    pub id: String,
    /// Invoice number.
    pub number: Option<String>,
    /// Stripe status (`draft`, `open`, `paid`, `void`, `uncollectible`).
    pub status: Option<String>,
    /// Amount due, minor units.
    pub amount_due: i64,
    /// Amount paid, minor units.
    pub amount_paid: i64,
    /// Amount remaining, minor units.
    pub amount_remaining: i64,
    /// Lowercase ISO currency.
    pub currency: String,
    /// Hosted invoice page.
    pub hosted_invoice_url: Option<String>,
    /// PDF link.
    pub invoice_pdf: Option<String>,
    /// Unix seconds.
    pub created: i64,
    /// Payment attempts so far.
    pub attempt_count: i64,
    /// Next automatic retry (unix seconds), if any.
    pub next_payment_attempt: Option<i64>,
    /// The subscription it bills, if any.
    pub subscription_id: Option<String>,
    /// Why it exists (`subscription_cycle`, `subscription_create`, ...).
    pub billing_reason: Option<String>,
}

js_from!(Invoice from i: tollbooth::event::InvoiceRecord {
    id, number, status, amount_due, amount_paid, amount_remaining, currency, hosted_invoice_url,
    invoice_pdf, created, attempt_count, next_payment_attempt, subscription_id, billing_reason,
});

/// What the checkout success page may say. Only a processed webhook (or snapshot) confirms a
/// payment; landing on the success URL proves nothing.
#[napi(object, use_nullable = true)]
pub struct CheckoutStatus {
    /// The Checkout Session id.
    pub session_id: String,
    /// `pending` until a webhook for the session has been processed.
    #[napi(ts_type = "'pending' | 'complete' | 'payment_pending' | 'payment_failed' | 'expired'")]
    pub state: String,
    /// The customer, once known.
    pub customer_id: Option<String>,
    /// The app user (`client_reference_id`), once known.
    pub user_id: Option<String>,
    /// The subscription the session created, once known.
    pub subscription_id: Option<String>,
}

js_from!(CheckoutStatus from c: tollbooth::CheckoutStatus {
    session_id,
    state = c.state.as_str().to_owned(),
    customer_id, user_id, subscription_id,
});

/// What `applySnapshot` did.
#[napi(object, use_nullable = true)]
pub struct SnapshotApplied {
    /// Whether a stored row changed.
    pub changed: bool,
    /// `subscription`, `invoice`, `customer` or `checkout.session`.
    pub object_type: String,
    /// The object's id.
    pub object_id: String,
    /// The customer it belongs to.
    pub customer_id: Option<String>,
    /// Jobs written (a CRM sync when the customer's state changed).
    pub jobs: Vec<EnqueuedJob>,
}

js_from!(SnapshotApplied from s: tollbooth::SnapshotApplied {
    changed, object_type, object_id, customer_id,
    jobs = s.jobs.into_iter().map(Into::into).collect(),
});

/// Options for `claimJobs`.
#[napi(object)]
pub struct ClaimOptions {
    /// Only these kinds (all kinds when absent or empty).
    #[napi(ts_type = "Array<string> | undefined | null")]
    pub kinds: Option<Texts>,
    /// At most this many jobs (1 to 10000).
    #[napi(ts_type = "number")]
    pub limit: Num,
    /// Lease length (1 s to a week); complete or fail the job before it ends or get
    /// `LEASE_LOST`.
    #[napi(ts_type = "number")]
    pub lease_seconds: Num,
    /// The clock (unix seconds); defaults to now.
    #[napi(ts_type = "number | undefined | null")]
    pub now_seconds: Option<Num>,
}

/// A job leased to the caller.
#[napi(object, use_nullable = true)]
pub struct ClaimedJob {
    /// Job id.
    pub id: i64,
    /// Job kind.
    pub kind: String,
    /// Idempotency key: pass it to the side effect's API so a retried job acts once.
    pub key: String,
    /// 1 for the first attempt.
    pub attempt: i64,
    /// The lease; `completeJob` and `failJob` need it.
    pub lease_token: i64,
    /// The lease ends at this unix second.
    pub lease_until: i64,
    /// The customer the job concerns.
    pub customer_id: Option<String>,
    /// The job's parsed JSON payload.
    #[napi(ts_type = "Record<string, any>")]
    pub payload: Value,
}

js_from!(try ClaimedJob from j: tollbooth::ClaimedJob {
    id, kind, key, attempt, lease_token, lease_until, customer_id,
    payload = parse_payload(j.id, &j.payload)?,
});

/// What `failJob` did.
#[napi(object, use_nullable = true)]
pub struct FailResult {
    /// `scheduled`: runs again at `nextAttemptAt`; `dead`: out of attempts (see `deadJobs`);
    /// `superseded`: a newer job for the same key carries on (`supersededBy`).
    #[napi(ts_type = "'scheduled' | 'dead' | 'superseded'")]
    pub state: String,
    /// Unix second of the next attempt, when scheduled.
    pub next_attempt_at: Option<i64>,
    /// The job that carries on, when superseded.
    pub superseded_by: Option<i64>,
}

impl From<tollbooth::FailOutcome> for FailResult {
    fn from(f: tollbooth::FailOutcome) -> Self {
        use tollbooth::FailOutcome as F;
        let (state, next_attempt_at, superseded_by) = match f {
            F::Scheduled { next_attempt_at } => ("scheduled", Some(next_attempt_at), None),
            F::Dead => ("dead", None, None),
            F::Superseded { by } => ("superseded", None, Some(by)),
        };
        FailResult {
            state: state.to_owned(),
            next_attempt_at,
            superseded_by,
        }
    }
}

/// Filter for `jobs`.
#[napi(object)]
pub struct JobsFilter {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this state.
    #[napi(ts_type = "'due' | 'leased' | 'done' | 'dead' | 'superseded'")]
    pub state: Option<String>,
    /// Only this customer.
    pub customer_id: Option<String>,
    /// At most this many (default 100, at most 100000).
    #[napi(ts_type = "number | undefined | null")]
    pub limit: Option<Num>,
}

impl JobsFilter {
    pub fn to_core(&self) -> Result<tollbooth::JobFilter> {
        let state = match self.state.as_deref() {
            None => None,
            Some(s) => Some(tollbooth::JobState::parse(s).map_err(|_| {
                Error::new(
                    ErrorCode::InvalidArgument,
                    "state must be one of due, leased, done, dead, superseded",
                )
            })?),
        };
        Ok(tollbooth::JobFilter {
            kind: self.kind.clone(),
            state,
            customer_id: self.customer_id.clone(),
            limit: self
                .limit
                .as_ref()
                .map(|l| l.small("limit", 1, MAX_LIST_LIMIT))
                .transpose()?,
        })
    }
}

/// A job as listed for operators.
#[napi(object, use_nullable = true)]
pub struct Job {
    /// Job id.
    pub id: i64,
    /// Job kind.
    pub kind: String,
    /// Idempotency key.
    pub key: String,
    /// The customer it concerns.
    pub customer_id: Option<String>,
    /// Where it is in its life.
    #[napi(ts_type = "'due' | 'leased' | 'done' | 'dead' | 'superseded'")]
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Due at this unix second.
    pub run_at: i64,
    /// Current lease end, when leased.
    pub lease_until: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// The last failure's message (secrets redacted).
    pub last_error: Option<String>,
    /// The event that wrote it.
    pub event_id: Option<String>,
    /// The parsed JSON payload.
    #[napi(ts_type = "Record<string, any>")]
    pub payload: Value,
}

js_from!(try Job from j: tollbooth::Job {
    id, kind, key, customer_id,
    state = j.state.as_str().to_owned(),
    attempts, run_at, lease_until, created_at, updated_at, last_error, event_id,
    payload = parse_payload(j.id, &j.payload)?,
});

/// A stored customer.
#[napi(object, use_nullable = true)]
pub struct Customer {
    /// Stripe customer id.
    pub id: String,
    /// Email.
    pub email: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Linked app user.
    pub user_id: Option<String>,
    /// Deleted in Stripe.
    pub deleted: bool,
}

js_from!(Customer from c: tollbooth::billing::CustomerRow {
    id, email, name, user_id, deleted,
});

/// A core report as a JS-ready value, straight from its `Serialize` (no JSON text between):
/// `serde_json::to_value(report)`, whose error (never seen: the reports are plain data) gets
/// a code from the table.
pub fn to_js_value(report: serde_json::Result<Value>) -> Result<Value> {
    report.map_err(|e| {
        Error::new(
            ErrorCode::InvalidArgument,
            format!("the report could not be converted ({e})"),
        )
    })
}

/// Parses JSON the core stored (job payloads).
pub fn parse_json(what: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        Error::new(
            ErrorCode::StoreCorrupt,
            format!("{what} is not valid JSON ({e})"),
        )
    })
}

fn parse_payload(id: i64, text: &str) -> Result<Value> {
    parse_json(&format!("payload of job {id}"), text)
}

/// Most rows a list call returns.
pub const MAX_LIST_LIMIT: u32 = 100_000;
