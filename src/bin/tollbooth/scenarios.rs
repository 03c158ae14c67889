//! Stripe-shaped event builders, in both API shapes:
//! pre-basil (`2024-06-20`: `invoice.subscription`, top-level `current_period_end`) and
//! basil (`2025-03-31.basil`: `invoice.parent.subscription_details.subscription`,
//! `items.data[].current_period_end`).

use clap::ValueEnum;
use serde_json::{Value, json};

pub const DAY: i64 = 86_400;

/// The API version an event is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApiVersion {
    /// `invoice.subscription`, top-level `current_period_end`.
    #[value(name = "2024-06-20")]
    PreBasil,
    /// `invoice.parent.subscription_details.subscription`, `items.data[].current_period_end`.
    #[value(name = "2025-03-31.basil")]
    Basil,
}

impl ApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::PreBasil => "2024-06-20",
            ApiVersion::Basil => "2025-03-31.basil",
        }
    }
}

/// The single-event scenarios of `sign` and `send`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// checkout.session.completed (links user_42 to the customer).
    Checkout,
    /// invoice.paid for a monthly renewal.
    Renewal,
    /// invoice.payment_failed, first attempt of a renewal.
    FailedRenewal,
    /// invoice.paid after a failed attempt (attempt_count 2).
    Recovery,
    /// customer.subscription.deleted (the subscription ended).
    Cancel,
    /// charge.refunded.
    Refund,
    /// charge.dispute.created.
    Dispute,
}

/// Who the events are about, and in which API shape.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub api: ApiVersion,
    pub customer: String,
    pub user: String,
    pub email: String,
    pub name: String,
    pub subscription: String,
    pub price: String,
    pub product: String,
    pub amount: i64,
    /// Suffix of object ids (sessions, invoices, charges).
    pub tag: String,
    /// Prefix of event ids: events are new per `sign`/`send`, objects stay the same.
    pub event_tag: String,
}

/// The one-time "lifetime deal" price of the demo and its amount (minor units).
pub const LIFETIME_PRICE: &str = "price_lifetime_deal";
pub const LIFETIME_AMOUNT: i64 = 19_900;

impl Ctx {
    pub fn ada(api: ApiVersion, event_tag: &str) -> Ctx {
        Ctx {
            api,
            customer: "cus_Ada42Lovelace".into(),
            user: "user_42".into(),
            email: "ada@example.com".into(),
            name: "Ada Lovelace".into(),
            subscription: "sub_Ada42Pro".into(),
            price: "price_pro_monthly".into(),
            product: "prod_portal_pro".into(),
            amount: 2900,
            tag: "Ada".into(),
            event_tag: event_tag.into(),
        }
    }

    /// An event envelope around `object`.
    pub fn event(&self, seq: u32, event_type: &str, created: i64, object: Value) -> Value {
        json!({
            "id": format!("evt_{}{seq:03}", self.event_tag),
            "object": "event",
            "api_version": self.api.as_str(),
            "created": created,
            "livemode": false,
            "pending_webhooks": 1,
            "request": { "id": null, "idempotency_key": null },
            "type": event_type,
            "data": { "object": object },
        })
    }

    pub fn checkout_session(&self, created: i64) -> Value {
        json!({
            "id": format!("cs_test_{}", self.tag),
            "object": "checkout.session",
            "client_reference_id": self.user,
            "customer": self.customer,
            "customer_details": { "email": self.email, "name": self.name },
            "mode": "subscription",
            "status": "complete",
            "payment_status": "paid",
            "subscription": self.subscription,
            "amount_total": self.amount,
            "currency": "usd",
            "created": created,
            "metadata": { "user_id": self.user },
        })
    }

    pub fn customer(&self, created: i64) -> Value {
        json!({
            "id": self.customer,
            "object": "customer",
            "email": self.email,
            "name": self.name,
            "created": created,
            "metadata": { "user_id": self.user },
        })
    }

    /// A subscription in `status`; the billing period is `[period_start, period_start + 30d)`.
    pub fn subscription(
        &self,
        status: &str,
        period_start: i64,
        cancel_at_period_end: bool,
        ended_at: Option<i64>,
    ) -> Value {
        let period_end = period_start + 30 * DAY;
        let mut item = json!({
            "id": format!("si_{}", self.tag),
            "object": "subscription_item",
            "price": { "id": self.price, "object": "price", "product": self.product,
                       "unit_amount": self.amount, "currency": "usd",
                       "recurring": { "interval": "month" } },
            "quantity": 1,
        });
        let mut sub = json!({
            "id": self.subscription,
            "object": "subscription",
            "customer": self.customer,
            "status": status,
            "cancel_at_period_end": cancel_at_period_end,
            "cancel_at": if cancel_at_period_end { Some(period_end) } else { None },
            "canceled_at": ended_at,
            "ended_at": ended_at,
            "trial_end": null,
            "metadata": {},
        });
        if self.api == ApiVersion::PreBasil {
            sub["current_period_start"] = json!(period_start);
            sub["current_period_end"] = json!(period_end);
        } else {
            item["current_period_start"] = json!(period_start);
            item["current_period_end"] = json!(period_end);
        }
        sub["items"] = json!({ "object": "list", "data": [item] });
        sub
    }

    /// An invoice of the subscription; `paid` decides status and amounts.
    pub fn invoice(
        &self,
        n: u32,
        created: i64,
        billing_reason: &str,
        paid: bool,
        attempt_count: i64,
    ) -> Value {
        let id = format!("in_{}{n:02}", self.tag);
        let mut inv = json!({
            "id": id,
            "object": "invoice",
            "customer": self.customer,
            "number": format!("ADA-{n:04}"),
            "status": if paid { "paid" } else { "open" },
            "amount_due": self.amount,
            "amount_paid": if paid { self.amount } else { 0 },
            "amount_remaining": if paid { 0 } else { self.amount },
            "currency": "usd",
            "hosted_invoice_url": format!("https://invoice.stripe.com/i/acct_demo/{id}"),
            "invoice_pdf": format!("https://pay.stripe.com/invoice/acct_demo/{id}/pdf"),
            "attempt_count": attempt_count,
            "attempted": attempt_count > 0,
            "next_payment_attempt": if paid { None } else { Some(created + 3 * DAY) },
            "billing_reason": billing_reason,
            "created": created,
        });
        if self.api == ApiVersion::PreBasil {
            inv["subscription"] = json!(self.subscription);
        } else {
            inv["parent"] = json!({
                "type": "subscription_details",
                "subscription_details": { "subscription": self.subscription, "metadata": {} },
            });
        }
        inv
    }

    /// The lifetime deal a returning customer buys once: a payment-mode Checkout Session for
    /// the existing customer, the price in its metadata because webhooks carry no line items.
    pub fn lifetime_checkout(&self, created: i64) -> Value {
        json!({
            "id": format!("cs_test_{}Lifetime", self.tag),
            "object": "checkout.session",
            "client_reference_id": self.user,
            "customer": self.customer,
            "customer_details": { "email": self.email, "name": self.name },
            "mode": "payment",
            "status": "complete",
            "payment_status": "paid",
            "payment_intent": format!("pi_{}Lifetime", self.tag),
            "subscription": null,
            "amount_total": LIFETIME_AMOUNT,
            "currency": "usd",
            "created": created,
            "metadata": { "price_id": LIFETIME_PRICE },
        })
    }

    /// The lifetime deal's PaymentIntent.
    pub fn lifetime_payment_intent(&self, created: i64) -> Value {
        json!({
            "id": format!("pi_{}Lifetime", self.tag),
            "object": "payment_intent",
            "amount": LIFETIME_AMOUNT,
            "amount_received": LIFETIME_AMOUNT,
            "currency": "usd",
            "customer": self.customer,
            "status": "succeeded",
            "created": created,
            "metadata": {},
        })
    }

    pub fn charge(&self, created: i64, refunded: bool) -> Value {
        json!({
            "id": format!("ch_{}", self.tag),
            "object": "charge",
            "customer": self.customer,
            "amount": self.amount,
            "amount_refunded": if refunded { self.amount } else { 0 },
            "currency": "usd",
            "payment_intent": format!("pi_{}", self.tag),
            "refunded": refunded,
            "created": created,
        })
    }

    pub fn dispute(&self, created: i64) -> Value {
        json!({
            "id": format!("dp_{}", self.tag),
            "object": "dispute",
            "charge": format!("ch_{}", self.tag),
            "payment_intent": format!("pi_{}", self.tag),
            "amount": self.amount,
            "currency": "usd",
            "reason": "fraudulent",
            "status": "needs_response",
            "created": created,
        })
    }
}

/// One scenario's event, created at `t`, as compact JSON bytes.
pub fn scenario_body(s: Scenario, api: ApiVersion, t: i64) -> Vec<u8> {
    let c = Ctx::ada(api, &format!("{t}"));
    let period = t - DAY;
    let ev = match s {
        Scenario::Checkout => c.event(1, "checkout.session.completed", t, c.checkout_session(t)),
        Scenario::Renewal => c.event(
            2,
            "invoice.paid",
            t,
            c.invoice(2, t, "subscription_cycle", true, 1),
        ),
        Scenario::FailedRenewal => c.event(
            3,
            "invoice.payment_failed",
            t,
            c.invoice(3, t, "subscription_cycle", false, 1),
        ),
        Scenario::Recovery => c.event(
            4,
            "invoice.paid",
            t,
            c.invoice(3, t - 2 * DAY, "subscription_cycle", true, 2),
        ),
        Scenario::Cancel => c.event(
            5,
            "customer.subscription.deleted",
            t,
            c.subscription("canceled", period, false, Some(t)),
        ),
        Scenario::Refund => c.event(6, "charge.refunded", t, c.charge(t, true)),
        Scenario::Dispute => c.event(7, "charge.dispute.created", t, c.dispute(t)),
    };
    serde_json::to_vec(&ev).expect("a JSON value serializes")
}
