//! The normalized records: what billing state needs from each Stripe object type.
//!
//! Kept separate from the parser so the engine and bindings can read the shapes at a glance.
//! Every record is plain data (`Serialize` for the JS/C faces and for logs).

use super::objects::ObjType;

/// Normalized `data.object`, for the kinds we act on. Unknown types (or a known type whose
/// object is not the expected object type) become [`Object::Other`], never an error.
///
/// Serializes with an `"object"` tag in snake case (`"checkout_session"` for sessions); note
/// that [`Object::object_type`] returns Stripe's own string (`"checkout.session"`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "object", rename_all = "snake_case")]
pub enum Object {
    /// A customer.
    Customer(CustomerRecord),
    /// A subscription.
    Subscription(SubscriptionRecord),
    /// An invoice.
    Invoice(InvoiceRecord),
    /// A Checkout Session.
    CheckoutSession(CheckoutRecord),
    /// A charge.
    Charge(ChargeRecord),
    /// A dispute.
    Dispute(DisputeRecord),
    /// A refund.
    Refund(RefundRecord),
    /// A PaymentIntent (one-time payments).
    PaymentIntent(PaymentIntentRecord),
    /// A customer's active Stripe Entitlements (`entitlements.active_entitlement_summary`).
    Entitlements(EntitlementsRecord),
    /// A product or price of the catalog (`fetched_at` is 0 until the engine stamps it with
    /// the event's `created`).
    Catalog(crate::sync_state::CatalogEntry),
    /// Anything else: just its type and id when they are strings.
    Other {
        /// `data.object.object`.
        object_type: Option<String>,
        /// `data.object.id`.
        id: Option<String>,
    },
}

/// The customer fields billing and CRM sync need.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Default)]
pub struct CustomerRecord {
    /// `cus_...`.
    pub id: String,
    /// Email, when set.
    pub email: Option<String>,
    /// Name, when set.
    pub name: Option<String>,
    /// `metadata.user_id`: our user, when the host stamped it.
    pub user_id: Option<String>,
    /// A `customer.deleted` event or `"deleted": true`.
    pub deleted: bool,
    /// Whether `invoice_settings.default_payment_method` (or legacy `default_source`) is set:
    /// a trial of this customer's that ends converts instead of lapsing.
    pub has_payment_method: bool,
}

/// The subscription fields that decide entitlement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Default)]
pub struct SubscriptionRecord {
    /// `sub_...`.
    pub id: String,
    /// The customer id (expanded objects are reduced to their id).
    pub customer_id: String,
    /// Stripe status (`active`, `past_due`, `canceled`, ...).
    pub status: String,
    /// Every item: price, product and quantity (seats), in Stripe's order.
    pub items: Vec<SubscriptionItem>,
    /// First item's `price.id` (or legacy `plan.id`).
    pub price_id: Option<String>,
    /// First item's `price.product` (string or expanded), or legacy `plan.product`.
    pub product_id: Option<String>,
    /// Top-level `current_period_end` (pre-basil) if present, else the max over
    /// `items.data[].current_period_end` (basil).
    pub current_period_end: Option<i64>,
    /// Cancels when the period ends.
    pub cancel_at_period_end: bool,
    /// Scheduled cancellation time.
    pub cancel_at: Option<i64>,
    /// When cancellation was requested.
    pub canceled_at: Option<i64>,
    /// When the subscription ended.
    pub ended_at: Option<i64>,
    /// Trial end.
    pub trial_end: Option<i64>,
    /// `trial_settings.end_behavior.missing_payment_method`: what Stripe does when the trial
    /// ends without a payment method (`cancel`, `pause`, `create_invoice`; absent is Stripe's
    /// default, `create_invoice`).
    pub trial_missing_payment_method: Option<String>,
    /// Whether the subscription names a `default_payment_method` (or legacy
    /// `default_source`): a trial that ends with one converts instead of ending.
    pub has_payment_method: bool,
    /// `metadata.user_id`.
    pub user_id: Option<String>,
}

/// One subscription item (or one Checkout line item): what is sold and how many.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
pub struct SubscriptionItem {
    /// `si_...` (`li_...` for a Checkout line item); empty when absent.
    #[serde(default)]
    pub id: String,
    /// `price.id` (or legacy `plan.id`).
    pub price_id: Option<String>,
    /// `price.product` (string or expanded), or legacy `plan.product`.
    pub product_id: Option<String>,
    /// Quantity (seats); 1 when absent.
    pub quantity: i64,
}

/// The invoice fields for payment state and dunning.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Default)]
pub struct InvoiceRecord {
    /// `in_...`.
    pub id: String,
    /// The customer id.
    pub customer_id: String,
    /// Pre-basil `subscription`, else basil `parent.subscription_details.subscription`, else
    /// the first line with `parent.subscription_item_details.subscription` or `subscription`.
    pub subscription_id: Option<String>,
    /// Invoice number.
    pub number: Option<String>,
    /// Stripe status (`draft`, `open`, `paid`, `void`, `uncollectible`).
    pub status: Option<String>,
    /// Amount due, minor units (0 when absent).
    pub amount_due: i64,
    /// Amount paid, minor units (0 when absent).
    pub amount_paid: i64,
    /// Amount remaining, minor units (0 when absent).
    pub amount_remaining: i64,
    /// Lowercase ISO currency (empty when absent).
    pub currency: String,
    /// Hosted invoice page, for dunning emails.
    pub hosted_invoice_url: Option<String>,
    /// PDF link.
    pub invoice_pdf: Option<String>,
    /// Payment attempts so far (0 when absent).
    pub attempt_count: i64,
    /// Next automatic retry, if any.
    pub next_payment_attempt: Option<i64>,
    /// Unix seconds (0 when absent).
    pub created: i64,
    /// Why the invoice exists (`subscription_cycle`, `subscription_create`, ...).
    pub billing_reason: Option<String>,
}

/// The Checkout Session fields that link a user to a customer and subscription.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Default)]
pub struct CheckoutRecord {
    /// `cs_...`.
    pub id: String,
    /// The customer id, if one was created or given.
    pub customer_id: Option<String>,
    /// `client_reference_id`, else `metadata.user_id`.
    pub user_id: Option<String>,
    /// `customer_details.email`, else `customer_email`.
    pub email: Option<String>,
    /// `customer_details.name`.
    pub name: Option<String>,
    /// `payment`, `subscription` or `setup`.
    pub mode: Option<String>,
    /// `open`, `complete` or `expired`.
    pub status: Option<String>,
    /// `paid`, `unpaid` or `no_payment_required`.
    pub payment_status: Option<String>,
    /// The subscription id (mode `subscription`).
    pub subscription_id: Option<String>,
    /// Total in minor units.
    pub amount_total: Option<i64>,
    /// Currency.
    pub currency: Option<String>,
    /// The PaymentIntent (mode `payment`): the key of the purchase it records.
    pub payment_intent: Option<String>,
    /// What was bought: `line_items` when the session was expanded, else the host's
    /// `metadata.price_id` / `metadata.product_id` (webhooks carry no line items).
    pub line_items: Vec<SubscriptionItem>,
}

/// The charge fields for refunds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Default)]
pub struct ChargeRecord {
    /// `ch_...`.
    pub id: String,
    /// The customer id (null for guest charges).
    pub customer_id: Option<String>,
    /// Amount, minor units (0 when absent).
    pub amount: i64,
    /// Amount refunded so far (0 when absent).
    pub amount_refunded: i64,
    /// Currency (empty when absent).
    pub currency: String,
    /// The invoice id (pre-basil charges carry it).
    pub invoice_id: Option<String>,
    /// The PaymentIntent id.
    pub payment_intent: Option<String>,
    /// Fully refunded.
    pub refunded: bool,
    /// `succeeded`, `pending` or `failed`.
    pub status: Option<String>,
    /// `metadata.user_id`.
    pub user_id: Option<String>,
    /// The refunds the charge embeds (`refunds.data`, API versions before 2022-11-15); empty
    /// when the list is absent, as it is in newer versions.
    pub refunds: Vec<RefundRecord>,
}

/// Money a charge gives back or may give back: a refund, or a dispute of the charge. Stripe
/// gives both objects these same fields, so one record reads both; the [`Object`] variant
/// ([`Object::Refund`] or [`Object::Dispute`]) says which it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Default)]
pub struct ReversalRecord {
    /// `re_...` (`pyr_...` for some payment methods) for a refund; `dp_...` / `du_...` for a
    /// dispute.
    pub id: String,
    /// The charge refunded or disputed.
    pub charge_id: Option<String>,
    /// The PaymentIntent id.
    pub payment_intent: Option<String>,
    /// The amount refunded or disputed, minor units (0 when absent).
    pub amount: i64,
    /// Currency (empty when absent).
    pub currency: String,
    /// Refund reason (`duplicate`, `fraudulent`, `requested_by_customer`, ...) or dispute
    /// reason (`fraudulent`, `general`, ...).
    pub reason: Option<String>,
    /// Refund status (`pending`, `requires_action`, `succeeded`, `failed`, `canceled`) or
    /// dispute status (`needs_response`, `won`, `lost`, ...).
    pub status: Option<String>,
}

/// The refund fields a support ticket needs: one refund of one charge.
pub type RefundRecord = ReversalRecord;

/// The dispute fields support needs.
pub type DisputeRecord = ReversalRecord;

/// The PaymentIntent fields that record a one-time purchase.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Default)]
pub struct PaymentIntentRecord {
    /// `pi_...`.
    pub id: String,
    /// The customer id (null for guest payments).
    pub customer_id: Option<String>,
    /// `succeeded`, `processing`, `requires_payment_method`, ...
    pub status: Option<String>,
    /// Amount, minor units (0 when absent).
    pub amount: i64,
    /// Currency (empty when absent).
    pub currency: String,
    /// The invoice it pays, if any (then it belongs to the invoice, not to a purchase).
    pub invoice_id: Option<String>,
    /// `metadata.user_id`.
    pub user_id: Option<String>,
    /// `metadata.price_id`, set by the host when it created the payment.
    pub price_id: Option<String>,
    /// `metadata.product_id`, set by the host when it created the payment.
    pub product_id: Option<String>,
}

/// A customer's active entitlements: the full set, replaced by each summary event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Default)]
pub struct EntitlementsRecord {
    /// The customer id.
    pub customer_id: String,
    /// The active features' `lookup_key`s, sorted and deduplicated.
    pub features: Vec<String>,
}

impl Object {
    /// The object's id (`None` only for [`Object::Other`] without a string id).
    pub fn id(&self) -> Option<&str> {
        match self {
            Object::Customer(r) => Some(&r.id),
            Object::Subscription(r) => Some(&r.id),
            Object::Invoice(r) => Some(&r.id),
            Object::CheckoutSession(r) => Some(&r.id),
            Object::Charge(r) => Some(&r.id),
            Object::Dispute(r) => Some(&r.id),
            Object::Refund(r) => Some(&r.id),
            Object::PaymentIntent(r) => Some(&r.id),
            Object::Entitlements(r) => Some(&r.customer_id),
            Object::Catalog(r) => Some(&r.id),
            Object::Other { id, .. } => id.as_deref(),
        }
    }

    /// The customer this object belongs to: a customer's own id, others' customer field
    /// (disputes, refunds and [`Object::Other`] have none: theirs is looked up through the
    /// charge or PaymentIntent).
    pub fn customer_id(&self) -> Option<&str> {
        match self {
            Object::Customer(r) => Some(&r.id),
            Object::Subscription(r) => Some(&r.customer_id),
            Object::Invoice(r) => Some(&r.customer_id),
            Object::CheckoutSession(r) => r.customer_id.as_deref(),
            Object::Charge(r) => r.customer_id.as_deref(),
            Object::Dispute(_) | Object::Refund(_) => None,
            Object::PaymentIntent(r) => r.customer_id.as_deref(),
            Object::Entitlements(r) => Some(&r.customer_id),
            Object::Catalog(_) => None,
            Object::Other { .. } => None,
        }
    }

    /// Stripe's object type string (`"customer"`, `"checkout.session"`, ...), the
    /// [`Object::Other`] type, or `""` when unknown.
    pub fn object_type(&self) -> &str {
        match self {
            Object::Customer(_) => ObjType::Customer.as_str(),
            Object::Subscription(_) => ObjType::Subscription.as_str(),
            Object::Invoice(_) => ObjType::Invoice.as_str(),
            Object::CheckoutSession(_) => ObjType::CheckoutSession.as_str(),
            Object::Charge(_) => ObjType::Charge.as_str(),
            Object::Dispute(_) => ObjType::Dispute.as_str(),
            Object::Refund(_) => ObjType::Refund.as_str(),
            Object::PaymentIntent(_) => ObjType::PaymentIntent.as_str(),
            Object::Entitlements(_) => ObjType::Entitlements.as_str(),
            Object::Catalog(r) => &r.object,
            Object::Other { object_type, .. } => object_type.as_deref().unwrap_or(""),
        }
    }
}
