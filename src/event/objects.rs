//! The one-pass union of every `data.object` field we read, and the record builders.
//!
//! Stripe objects are big and their shapes drift between API versions, so nothing here builds a
//! `serde_json::Value`. [`RawObject`] is deserialized straight from the borrowed `data.object`
//! text with only the fields the records need; everything else is skipped by serde. Each field
//! is a [`Loose`] slot that accepts any JSON value, so a wrong type never aborts the parse with
//! an anonymous serde message: the builders check types afterwards and name the field.

use serde::Deserialize;

use super::loose::{Cx, Loose};
use super::{
    ChargeRecord, CheckoutRecord, CustomerRecord, EntitlementsRecord, InvoiceRecord, Object,
    PaymentIntentRecord, RefundRecord, ReversalRecord, SubscriptionItem, SubscriptionRecord,
};
use crate::error::Result;

/// `{ "data": [...] }` lists (`items`, `lines`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct List<T> {
    data: Option<Vec<T>>,
}

/// A subscription item (or Checkout line item): its price (or legacy plan), quantity and,
/// from basil on, its period.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Item {
    id: Loose,
    price: Loose,
    plan: Loose,
    quantity: Loose,
    current_period_end: Loose,
}

/// A refund embedded in a charge's `refunds.data` (API versions before 2022-11-15).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RefundItem {
    id: Loose,
    amount: Loose,
    currency: Loose,
    reason: Loose,
    status: Loose,
    charge: Loose,
    payment_intent: Loose,
}

/// One active entitlement of a summary: the feature's `lookup_key`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Entitlement {
    lookup_key: Loose,
}

/// An invoice line: the basil `parent` link or the legacy `subscription` field.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Line {
    parent: Loose,
    subscription: Loose,
}

/// A subscription's `trial_settings`: only what decides access when the trial ends.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TrialSettings {
    end_behavior: Option<EndBehavior>,
}

/// A customer's `invoice_settings`: only whether a default payment method is set.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct InvoiceSettings {
    default_payment_method: Loose,
}

/// `trial_settings.end_behavior`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct EndBehavior {
    missing_payment_method: Loose,
}

/// The union of the fields of every object type we normalize, read in one pass.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawObject {
    object: Loose,
    id: Loose,
    customer: Loose,
    customer_account: Loose,
    status: Loose,
    metadata: Loose,
    currency: Loose,
    amount: Loose,
    created: Loose,
    subscription: Loose,
    payment_intent: Loose,
    email: Loose,
    name: Loose,
    deleted: Loose,
    items: Option<List<Item>>,
    plan: Loose,
    current_period_end: Loose,
    cancel_at_period_end: Loose,
    cancel_at: Loose,
    canceled_at: Loose,
    ended_at: Loose,
    trial_end: Loose,
    trial_settings: Option<TrialSettings>,
    default_payment_method: Loose,
    default_source: Loose,
    invoice_settings: Option<InvoiceSettings>,
    parent: Loose,
    lines: Option<List<Line>>,
    number: Loose,
    amount_due: Loose,
    amount_paid: Loose,
    amount_remaining: Loose,
    hosted_invoice_url: Loose,
    invoice_pdf: Loose,
    attempt_count: Loose,
    next_payment_attempt: Loose,
    billing_reason: Loose,
    client_reference_id: Loose,
    customer_details: Loose,
    customer_email: Loose,
    mode: Loose,
    payment_status: Loose,
    amount_total: Loose,
    amount_refunded: Loose,
    invoice: Loose,
    refunded: Loose,
    charge: Loose,
    reason: Loose,
    refunds: Option<List<RefundItem>>,
    line_items: Option<List<Item>>,
    entitlements: Option<List<Entitlement>>,
}

/// The object types we normalize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjType {
    Customer,
    Subscription,
    Invoice,
    CheckoutSession,
    Charge,
    Dispute,
    Refund,
    PaymentIntent,
    Entitlements,
    /// `product` or `price`: read by [`crate::sync_state::CatalogEntry::parse`].
    Product,
    Price,
}

impl ObjType {
    /// Stripe's `object` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjType::Customer => "customer",
            ObjType::Subscription => "subscription",
            ObjType::Invoice => "invoice",
            ObjType::CheckoutSession => "checkout.session",
            ObjType::Charge => "charge",
            ObjType::Dispute => "dispute",
            ObjType::Refund => "refund",
            ObjType::PaymentIntent => "payment_intent",
            ObjType::Entitlements => "entitlements.active_entitlement_summary",
            ObjType::Product => "product",
            ObjType::Price => "price",
        }
    }
    /// The types `apply_snapshot` accepts.
    pub fn snapshot(s: &str) -> Option<ObjType> {
        match s {
            "customer" => Some(ObjType::Customer),
            "subscription" => Some(ObjType::Subscription),
            "invoice" => Some(ObjType::Invoice),
            "checkout.session" => Some(ObjType::CheckoutSession),
            _ => None,
        }
    }
}

/// Just `object` and `id`, for objects we do not normalize (and for the error fallback).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Probe {
    object: Loose,
    id: Loose,
}

fn plain_str(v: Loose) -> Option<String> {
    match v {
        Loose::Str(s) => Some(s),
        _ => None,
    }
}

/// `(object, id)` of any JSON object text, leniently: non-strings and failures give `None`.
pub(crate) fn probe(json: &str) -> (Option<String>, Option<String>) {
    match serde_json::from_str::<Probe>(json) {
        Ok(p) => (plain_str(p.object), plain_str(p.id)),
        Err(_) => (None, None),
    }
}

/// A price or plan: an expanded object (`id`, `product`) or, rarely, a bare price id.
fn price_parts(v: Loose, cx: Cx, name: &str) -> Result<(Option<String>, Option<String>)> {
    match v {
        Loose::Obj(p) => {
            let p = *p;
            Ok((p.id.string(cx, name)?, p.product.id(cx, name)?))
        }
        other => Ok((other.id(cx, name)?, None)),
    }
}

impl Item {
    /// The item's price, product and quantity (`at` names the list in errors).
    fn into_item(self, cx: Cx, at: &str) -> Result<SubscriptionItem> {
        let (mut price_id, mut product_id) = price_parts(self.price, cx, &format!("{at}.price"))?;
        let (plan_id, plan_product) = price_parts(self.plan, cx, &format!("{at}.plan"))?;
        price_id = price_id.or(plan_id);
        product_id = product_id.or(plan_product);
        Ok(SubscriptionItem {
            id: self.id.string(cx, &format!("{at}.id"))?.unwrap_or_default(),
            price_id,
            product_id,
            quantity: self
                .quantity
                .int(cx, &format!("{at}.quantity"))?
                .unwrap_or(1),
        })
    }
}

/// `customer`, else (Accounts v2, where `customer` is null) `customer_account`: the Account
/// (`acct_...`) that is the customer.
fn customer_of(customer: &mut Loose, account: &mut Loose, cx: Cx) -> Result<Option<String>> {
    match std::mem::take(customer).id(cx, "customer")? {
        Some(c) => Ok(Some(c)),
        None => std::mem::take(account).id(cx, "customer_account"),
    }
}

impl RawObject {
    /// Parses the union from the text of one JSON object.
    pub fn parse(json: &str) -> serde_json::Result<RawObject> {
        serde_json::from_str(json)
    }

    /// The `object` field: `Ok(None)` when absent or null, `Err(())` when not a string.
    pub fn object_type(&self) -> std::result::Result<Option<&str>, ()> {
        match &self.object {
            Loose::Absent | Loose::Null => Ok(None),
            Loose::Str(s) => Ok(Some(s)),
            _ => Err(()),
        }
    }

    /// `Object::Other` with this object's type and id (when they are strings).
    pub fn into_other(self) -> Object {
        Object::Other {
            object_type: plain_str(self.object),
            id: plain_str(self.id),
        }
    }

    /// Builds the record for `ty`. `deleted_event` marks customers from `customer.deleted`.
    pub fn into_object(self, ty: ObjType, cx: Cx, deleted_event: bool) -> Result<Object> {
        Ok(match ty {
            ObjType::Customer => Object::Customer(self.customer_record(cx, deleted_event)?),
            ObjType::Subscription => Object::Subscription(self.subscription_record(cx)?),
            ObjType::Invoice => Object::Invoice(self.invoice_record(cx)?),
            ObjType::CheckoutSession => Object::CheckoutSession(self.checkout_record(cx)?),
            ObjType::Charge => Object::Charge(self.charge_record(cx)?),
            ObjType::Dispute => Object::Dispute(self.reversal_record(cx)?),
            ObjType::Refund => Object::Refund(self.reversal_record(cx)?),
            ObjType::PaymentIntent => Object::PaymentIntent(self.payment_intent_record(cx)?),
            ObjType::Entitlements => Object::Entitlements(self.entitlements_record(cx)?),
            // The catalog types are read from the object's text before this union.
            ObjType::Product | ObjType::Price => self.into_other(),
        })
    }

    fn id(&mut self, cx: Cx) -> Result<String> {
        let id = std::mem::take(&mut self.id).string(cx, "id")?;
        cx.need(id, "id")
    }

    fn user_id(metadata: Loose, cx: Cx) -> Result<Option<String>> {
        match metadata.obj() {
            Some(m) => m.user_id.string(cx, "metadata.user_id"),
            None => Ok(None),
        }
    }

    fn customer_record(mut self, cx: Cx, deleted_event: bool) -> Result<CustomerRecord> {
        Ok(CustomerRecord {
            id: self.id(cx)?,
            email: self.email.string(cx, "email")?,
            name: self.name.string(cx, "name")?,
            user_id: Self::user_id(self.metadata, cx)?,
            deleted: self.deleted.flag(cx, "deleted")? || deleted_event,
            has_payment_method: [
                &self
                    .invoice_settings
                    .unwrap_or_default()
                    .default_payment_method,
                &self.default_source,
            ]
            .iter()
            .any(|v| !matches!(v, Loose::Absent | Loose::Null)),
        })
    }

    fn subscription_record(mut self, cx: Cx) -> Result<SubscriptionRecord> {
        let id = self.id(cx)?;
        let customer_id = cx.need(
            customer_of(&mut self.customer, &mut self.customer_account, cx)?,
            "customer",
        )?;
        let status = cx.need(self.status.string(cx, "status")?, "status")?;
        let raw_items = self.items.and_then(|l| l.data).unwrap_or_default();
        let mut items = Vec::with_capacity(raw_items.len());
        let mut item_period_end: Option<i64> = None;
        for mut item in raw_items {
            let end = std::mem::take(&mut item.current_period_end)
                .int(cx, "items.data[].current_period_end")?;
            item_period_end = item_period_end.max(end);
            items.push(item.into_item(cx, "items.data[]")?);
        }
        let (mut price_id, mut product_id) = items
            .first()
            .map(|i| (i.price_id.clone(), i.product_id.clone()))
            .unwrap_or_default();
        if price_id.is_none() || product_id.is_none() {
            let (plan_id, plan_product) = price_parts(self.plan, cx, "plan")?;
            price_id = price_id.or(plan_id);
            product_id = product_id.or(plan_product);
        }
        let top_period_end = self.current_period_end.int(cx, "current_period_end")?;
        Ok(SubscriptionRecord {
            id,
            customer_id,
            status,
            items,
            price_id,
            product_id,
            current_period_end: top_period_end.or(item_period_end),
            cancel_at_period_end: self.cancel_at_period_end.flag(cx, "cancel_at_period_end")?,
            cancel_at: self.cancel_at.int(cx, "cancel_at")?,
            canceled_at: self.canceled_at.int(cx, "canceled_at")?,
            ended_at: self.ended_at.int(cx, "ended_at")?,
            trial_end: self.trial_end.int(cx, "trial_end")?,
            trial_missing_payment_method: self
                .trial_settings
                .and_then(|t| t.end_behavior)
                .map(|e| e.missing_payment_method)
                .unwrap_or_default()
                .string(cx, "trial_settings.end_behavior.missing_payment_method")?,
            // Present at all (an id or an expanded object) is enough: a shape we do not
            // know must not make an authentic event unprocessable.
            has_payment_method: [&self.default_payment_method, &self.default_source]
                .iter()
                .any(|v| !matches!(v, Loose::Absent | Loose::Null)),
            user_id: Self::user_id(self.metadata, cx)?,
        })
    }

    fn invoice_subscription(&mut self, cx: Cx) -> Result<Option<String>> {
        if let Some(s) = std::mem::take(&mut self.subscription).id(cx, "subscription")? {
            return Ok(Some(s));
        }
        let details = std::mem::take(&mut self.parent)
            .obj()
            .and_then(|p| p.subscription_details.obj());
        if let Some(d) = details {
            let name = "parent.subscription_details.subscription";
            if let Some(s) = d.subscription.id(cx, name)? {
                return Ok(Some(s));
            }
        }
        let lines = self.lines.take().and_then(|l| l.data).unwrap_or_default();
        for line in lines {
            let item = line
                .parent
                .obj()
                .and_then(|p| p.subscription_item_details.obj());
            if let Some(d) = item {
                let name = "lines.data[].parent.subscription_item_details.subscription";
                if let Some(s) = d.subscription.id(cx, name)? {
                    return Ok(Some(s));
                }
            }
            if let Some(s) = line.subscription.id(cx, "lines.data[].subscription")? {
                return Ok(Some(s));
            }
        }
        Ok(None)
    }

    fn invoice_record(mut self, cx: Cx) -> Result<InvoiceRecord> {
        let id = self.id(cx)?;
        let customer_id = cx.need(
            customer_of(&mut self.customer, &mut self.customer_account, cx)?,
            "customer",
        )?;
        let subscription_id = self.invoice_subscription(cx)?;
        Ok(InvoiceRecord {
            id,
            customer_id,
            subscription_id,
            number: self.number.string(cx, "number")?,
            status: self.status.string(cx, "status")?,
            amount_due: self.amount_due.int(cx, "amount_due")?.unwrap_or(0),
            amount_paid: self.amount_paid.int(cx, "amount_paid")?.unwrap_or(0),
            amount_remaining: self
                .amount_remaining
                .int(cx, "amount_remaining")?
                .unwrap_or(0),
            currency: self.currency.string(cx, "currency")?.unwrap_or_default(),
            hosted_invoice_url: self.hosted_invoice_url.string(cx, "hosted_invoice_url")?,
            invoice_pdf: self.invoice_pdf.string(cx, "invoice_pdf")?,
            attempt_count: self.attempt_count.int(cx, "attempt_count")?.unwrap_or(0),
            next_payment_attempt: self.next_payment_attempt.int(cx, "next_payment_attempt")?,
            created: self.created.int(cx, "created")?.unwrap_or(0),
            billing_reason: self.billing_reason.string(cx, "billing_reason")?,
        })
    }

    fn checkout_record(mut self, cx: Cx) -> Result<CheckoutRecord> {
        let id = self.id(cx)?;
        let line_items = self.checkout_lines(cx)?;
        let mut user_id = self.client_reference_id.string(cx, "client_reference_id")?;
        if user_id.is_none() {
            user_id = Self::user_id(self.metadata.clone(), cx)?;
        }
        let (mut email, mut name) = (None, None);
        if let Some(d) = self.customer_details.obj() {
            let d = *d;
            email = d.email.string(cx, "customer_details.email")?;
            name = d.name.string(cx, "customer_details.name")?;
        }
        if email.is_none() {
            email = self.customer_email.string(cx, "customer_email")?;
        }
        Ok(CheckoutRecord {
            id,
            customer_id: customer_of(&mut self.customer, &mut self.customer_account, cx)?,
            user_id,
            email,
            name,
            mode: self.mode.string(cx, "mode")?,
            status: self.status.string(cx, "status")?,
            payment_status: self.payment_status.string(cx, "payment_status")?,
            subscription_id: self.subscription.id(cx, "subscription")?,
            amount_total: self.amount_total.int(cx, "amount_total")?,
            currency: self.currency.string(cx, "currency")?,
            payment_intent: self.payment_intent.id(cx, "payment_intent")?,
            line_items,
        })
    }

    fn charge_record(mut self, cx: Cx) -> Result<ChargeRecord> {
        let id = self.id(cx)?;
        let embedded = self.refunds.take().and_then(|l| l.data).unwrap_or_default();
        let mut refunds = Vec::with_capacity(embedded.len());
        for r in embedded {
            let name = |f: &str| format!("refunds.data[].{f}");
            refunds.push(RefundRecord {
                id: cx.need(r.id.string(cx, &name("id"))?, &name("id"))?,
                charge_id: r
                    .charge
                    .id(cx, &name("charge"))?
                    .or_else(|| Some(id.clone())),
                payment_intent: r.payment_intent.id(cx, &name("payment_intent"))?,
                amount: r.amount.int(cx, &name("amount"))?.unwrap_or(0),
                currency: r
                    .currency
                    .string(cx, &name("currency"))?
                    .unwrap_or_default(),
                reason: r.reason.string(cx, &name("reason"))?,
                status: r.status.string(cx, &name("status"))?,
            });
        }
        Ok(ChargeRecord {
            id,
            refunds,
            customer_id: customer_of(&mut self.customer, &mut self.customer_account, cx)?,
            amount: self.amount.int(cx, "amount")?.unwrap_or(0),
            amount_refunded: self
                .amount_refunded
                .int(cx, "amount_refunded")?
                .unwrap_or(0),
            currency: self.currency.string(cx, "currency")?.unwrap_or_default(),
            invoice_id: self.invoice.id(cx, "invoice")?,
            payment_intent: self.payment_intent.id(cx, "payment_intent")?,
            refunded: self.refunded.flag(cx, "refunded")?,
            status: self.status.string(cx, "status")?,
            user_id: Self::user_id(self.metadata, cx)?,
        })
    }

    /// `line_items.data[]` when the session was fetched expanded, else one line from the
    /// host's `metadata.price_id` / `metadata.product_id` (webhooks carry no line items).
    fn checkout_lines(&mut self, cx: Cx) -> Result<Vec<SubscriptionItem>> {
        let lines = self
            .line_items
            .take()
            .and_then(|l| l.data)
            .unwrap_or_default();
        if !lines.is_empty() {
            return lines
                .into_iter()
                .map(|l| l.into_item(cx, "line_items.data[]"))
                .collect();
        }
        let (price_id, product_id) = Self::metadata_price(self.metadata.clone(), cx)?;
        Ok(if price_id.is_some() || product_id.is_some() {
            vec![SubscriptionItem {
                id: String::new(),
                price_id,
                product_id,
                quantity: 1,
            }]
        } else {
            Vec::new()
        })
    }

    /// `(metadata.price_id, metadata.product_id)`.
    fn metadata_price(metadata: Loose, cx: Cx) -> Result<(Option<String>, Option<String>)> {
        match metadata.obj() {
            Some(m) => {
                let m = *m;
                Ok((
                    m.price_id.string(cx, "metadata.price_id")?,
                    m.product_id.string(cx, "metadata.product_id")?,
                ))
            }
            None => Ok((None, None)),
        }
    }

    fn payment_intent_record(mut self, cx: Cx) -> Result<PaymentIntentRecord> {
        let (price_id, product_id) = Self::metadata_price(self.metadata.clone(), cx)?;
        Ok(PaymentIntentRecord {
            id: self.id(cx)?,
            customer_id: customer_of(&mut self.customer, &mut self.customer_account, cx)?,
            status: self.status.string(cx, "status")?,
            amount: self.amount.int(cx, "amount")?.unwrap_or(0),
            currency: self.currency.string(cx, "currency")?.unwrap_or_default(),
            invoice_id: self.invoice.id(cx, "invoice")?,
            user_id: Self::user_id(self.metadata, cx)?,
            price_id,
            product_id,
        })
    }

    /// A summary has no id of its own: the customer is its key.
    fn entitlements_record(mut self, cx: Cx) -> Result<EntitlementsRecord> {
        let customer_id = cx.need(
            customer_of(&mut self.customer, &mut self.customer_account, cx)?,
            "customer",
        )?;
        let mut features = Vec::new();
        for e in self.entitlements.and_then(|l| l.data).unwrap_or_default() {
            let key = e.lookup_key.string(cx, "entitlements.data[].lookup_key")?;
            features.push(cx.need(key, "entitlements.data[].lookup_key")?);
        }
        features.sort();
        features.dedup();
        Ok(EntitlementsRecord {
            customer_id,
            features,
        })
    }

    /// A refund or a dispute: the same fields ([`ReversalRecord`]).
    fn reversal_record(mut self, cx: Cx) -> Result<ReversalRecord> {
        Ok(ReversalRecord {
            id: self.id(cx)?,
            charge_id: self.charge.id(cx, "charge")?,
            payment_intent: self.payment_intent.id(cx, "payment_intent")?,
            amount: self.amount.int(cx, "amount")?.unwrap_or(0),
            currency: self.currency.string(cx, "currency")?.unwrap_or_default(),
            reason: self.reason.string(cx, "reason")?,
            status: self.status.string(cx, "status")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::loose::tests::{CX, loose};

    #[test]
    fn price_parts_read_expanded_product_and_bare_ids() {
        let p = loose(r#"{"id":"price_1","product":{"id":"prod_1","name":"Pro"}}"#);
        assert_eq!(
            price_parts(p, CX, "price").unwrap(),
            (Some("price_1".into()), Some("prod_1".into()))
        );
        assert_eq!(
            price_parts(loose(r#""price_2""#), CX, "price").unwrap(),
            (Some("price_2".into()), None)
        );
        assert_eq!(
            price_parts(Loose::Absent, CX, "price").unwrap(),
            (None, None)
        );
    }

    #[test]
    fn probe_is_lenient() {
        assert_eq!(
            probe(r#"{"object":"foo","id":"x_1"}"#),
            (Some("foo".into()), Some("x_1".into()))
        );
        assert_eq!(probe(r#"{"object":7}"#), (None, None));
        assert_eq!(probe("not json"), (None, None));
    }
}
