//! Shape helpers: lenient field slots and the one-pass union of every `data.object` field we read.
//!
//! Stripe objects are big and their shapes drift between API versions, so nothing here builds a
//! `serde_json::Value`. [`RawObject`] is deserialized straight from the borrowed `data.object`
//! text with only the fields the records need; everything else is skipped by serde. Each field
//! is a [`Loose`] slot that accepts any JSON value, so a wrong type never aborts the parse with
//! an anonymous serde message: the record builders check types afterwards and name the field.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{
    ChargeRecord, CheckoutRecord, CustomerRecord, DisputeRecord, InvoiceRecord, Object,
    SubscriptionRecord,
};
use crate::error::{Error, ErrorCode, Result};

/// One JSON value, kept only as far as we need it. Never fails to deserialize (except on
/// syntax errors, the recursion limit and duplicate picked keys).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) enum Loose {
    /// The key was not there.
    #[default]
    Absent,
    /// `null`.
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    /// An object: only the [`PICKED_KEYS`] are kept (expanded ids, metadata, details).
    Obj(Box<Picked>),
    /// Anything we never accept: what it was, for the error message.
    Bad(&'static str),
}

/// The keys kept from nested objects: `id` (expanded objects), `product` (prices and plans),
/// `user_id` (metadata), `email`/`name` (customer_details) and the invoice subscription links.
pub(crate) const PICKED_KEYS: &[&str] = &[
    "id",
    "product",
    "user_id",
    "email",
    "name",
    "subscription",
    "subscription_details",
    "subscription_item_details",
];

/// The picked keys of a nested object (see [`PICKED_KEYS`], same order).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Picked {
    pub id: Loose,
    pub product: Loose,
    pub user_id: Loose,
    pub email: Loose,
    pub name: Loose,
    pub subscription: Loose,
    pub subscription_details: Loose,
    pub subscription_item_details: Loose,
}

impl Picked {
    fn slot(&mut self, i: usize) -> &mut Loose {
        match i {
            0 => &mut self.id,
            1 => &mut self.product,
            2 => &mut self.user_id,
            3 => &mut self.email,
            4 => &mut self.name,
            5 => &mut self.subscription,
            6 => &mut self.subscription_details,
            _ => &mut self.subscription_item_details,
        }
    }
}

/// Deserializes a map key into its index in a fixed key list (`None` for other keys), without
/// allocating and whether or not the key contains escapes.
pub(crate) struct KeySeed(pub &'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|k| *k == v))
    }
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Loose, D::Error> {
        d.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Loose, E> {
        Ok(Loose::Null)
    }
    fn visit_none<E>(self) -> Result<Loose, E> {
        Ok(Loose::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Loose, E> {
        Ok(Loose::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Loose, E> {
        Ok(Loose::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Loose, E> {
        Ok(i64::try_from(v).map_or(Loose::Bad("an integer outside the i64 range"), Loose::Int))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Loose, E> {
        Ok(Loose::Bad("a fractional or out-of-range number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Loose, E> {
        Ok(Loose::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Loose, E> {
        Ok(Loose::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose::Bad("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
        let mut p = Box::<Picked>::default();
        while let Some(k) = map.next_key_seed(KeySeed(PICKED_KEYS))? {
            match k {
                Some(i) => {
                    let slot = p.slot(i);
                    if !matches!(slot, Loose::Absent) {
                        return Err(de::Error::custom(format_args!(
                            "duplicate field `{}`",
                            PICKED_KEYS[i]
                        )));
                    }
                    *slot = map.next_value()?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Loose::Obj(p))
    }
}

/// Where fields live: the error code for a bad field and the path prefix for messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cx {
    pub code: ErrorCode,
    pub at: &'static str,
}

impl Cx {
    fn err(self, name: &str, what: fmt::Arguments<'_>) -> Error {
        Error::new(self.code, format!("{}{name} {what}", self.at))
    }
    fn wrong(self, name: &str, expected: &str, got: &Loose) -> Error {
        self.err(name, format_args!("must be {expected}, got {}", got.kind()))
    }
    /// The value, or "`name` is missing". Empty strings count as missing.
    pub fn need<T: IsEmpty>(self, v: Option<T>, name: &str) -> Result<T> {
        v.filter(|s| !s.is_empty())
            .ok_or_else(|| self.err(name, format_args!("is missing")))
    }
}

/// Lets [`Cx::need`] treat `""` as missing for strings.
pub(crate) trait IsEmpty {
    fn is_empty(&self) -> bool;
}
impl IsEmpty for String {
    fn is_empty(&self) -> bool {
        str::is_empty(self)
    }
}
impl IsEmpty for i64 {
    fn is_empty(&self) -> bool {
        false
    }
}

impl Loose {
    fn kind(&self) -> &'static str {
        match self {
            Loose::Absent => "nothing",
            Loose::Null => "null",
            Loose::Bool(_) => "a boolean",
            Loose::Int(_) => "an integer",
            Loose::Str(_) => "a string",
            Loose::Obj(_) => "an object",
            Loose::Bad(what) => what,
        }
    }
    /// A string; absent or null is `None`.
    pub fn string(self, cx: Cx, name: &str) -> Result<Option<String>> {
        match self {
            Loose::Absent | Loose::Null => Ok(None),
            Loose::Str(s) => Ok(Some(s)),
            other => Err(cx.wrong(name, "a string", &other)),
        }
    }
    /// A Stripe id: a string, or an expanded object with a string `id`.
    pub fn id(self, cx: Cx, name: &str) -> Result<Option<String>> {
        match self {
            Loose::Absent | Loose::Null => Ok(None),
            Loose::Str(s) => Ok(Some(s)),
            Loose::Obj(p) => match p.id {
                Loose::Str(s) => Ok(Some(s)),
                _ => Err(cx.err(name, format_args!("is an object without a string id"))),
            },
            other => Err(cx.wrong(name, "an id", &other)),
        }
    }
    /// An integer in i64 range; absent or null is `None`.
    pub fn int(self, cx: Cx, name: &str) -> Result<Option<i64>> {
        match self {
            Loose::Absent | Loose::Null => Ok(None),
            Loose::Int(v) => Ok(Some(v)),
            other => Err(cx.wrong(name, "an integer", &other)),
        }
    }
    /// A boolean; absent or null is `false`.
    pub fn flag(self, cx: Cx, name: &str) -> Result<bool> {
        match self {
            Loose::Absent | Loose::Null => Ok(false),
            Loose::Bool(b) => Ok(b),
            other => Err(cx.wrong(name, "a boolean", &other)),
        }
    }
    /// The picked keys of an object; anything else (absent, null, a stray scalar) is `None`.
    /// Containers are read leniently: only the scalars inside them are type-checked.
    pub fn obj(self) -> Option<Box<Picked>> {
        match self {
            Loose::Obj(p) => Some(p),
            _ => None,
        }
    }
}

/// `{ "data": [...] }` lists (`items`, `lines`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct List<T> {
    data: Option<Vec<T>>,
}

/// A subscription item: its price (or legacy plan) and, from basil on, its period.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Item {
    price: Loose,
    plan: Loose,
    current_period_end: Loose,
}

/// An invoice line: the basil `parent` link or the legacy `subscription` field.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Line {
    parent: Loose,
    subscription: Loose,
}

/// The union of the fields of every object type we normalize, read in one pass.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawObject {
    object: Loose,
    id: Loose,
    customer: Loose,
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
            ObjType::Dispute => Object::Dispute(self.dispute_record(cx)?),
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
        })
    }

    fn subscription_record(mut self, cx: Cx) -> Result<SubscriptionRecord> {
        let id = self.id(cx)?;
        let customer_id = cx.need(self.customer.id(cx, "customer")?, "customer")?;
        let status = cx.need(self.status.string(cx, "status")?, "status")?;
        let items = self.items.and_then(|l| l.data).unwrap_or_default();
        let (mut price_id, mut product_id) = (None, None);
        let mut item_period_end: Option<i64> = None;
        for (i, item) in items.into_iter().enumerate() {
            if i == 0 {
                (price_id, product_id) = price_parts(item.price, cx, "items.data[0].price")?;
                let (plan_id, plan_product) = price_parts(item.plan, cx, "items.data[0].plan")?;
                price_id = price_id.or(plan_id);
                product_id = product_id.or(plan_product);
            }
            let end = item
                .current_period_end
                .int(cx, "items.data[].current_period_end")?;
            item_period_end = item_period_end.max(end);
        }
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
            price_id,
            product_id,
            current_period_end: top_period_end.or(item_period_end),
            cancel_at_period_end: self.cancel_at_period_end.flag(cx, "cancel_at_period_end")?,
            cancel_at: self.cancel_at.int(cx, "cancel_at")?,
            canceled_at: self.canceled_at.int(cx, "canceled_at")?,
            ended_at: self.ended_at.int(cx, "ended_at")?,
            trial_end: self.trial_end.int(cx, "trial_end")?,
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
            std::mem::take(&mut self.customer).id(cx, "customer")?,
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
        let mut user_id = self.client_reference_id.string(cx, "client_reference_id")?;
        if user_id.is_none() {
            user_id = Self::user_id(self.metadata, cx)?;
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
            customer_id: self.customer.id(cx, "customer")?,
            user_id,
            email,
            name,
            mode: self.mode.string(cx, "mode")?,
            status: self.status.string(cx, "status")?,
            payment_status: self.payment_status.string(cx, "payment_status")?,
            subscription_id: self.subscription.id(cx, "subscription")?,
            amount_total: self.amount_total.int(cx, "amount_total")?,
            currency: self.currency.string(cx, "currency")?,
        })
    }

    fn charge_record(mut self, cx: Cx) -> Result<ChargeRecord> {
        Ok(ChargeRecord {
            id: self.id(cx)?,
            customer_id: self.customer.id(cx, "customer")?,
            amount: self.amount.int(cx, "amount")?.unwrap_or(0),
            amount_refunded: self
                .amount_refunded
                .int(cx, "amount_refunded")?
                .unwrap_or(0),
            currency: self.currency.string(cx, "currency")?.unwrap_or_default(),
            invoice_id: self.invoice.id(cx, "invoice")?,
            payment_intent: self.payment_intent.id(cx, "payment_intent")?,
            refunded: self.refunded.flag(cx, "refunded")?,
        })
    }

    fn dispute_record(mut self, cx: Cx) -> Result<DisputeRecord> {
        Ok(DisputeRecord {
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

    const CX: Cx = Cx {
        code: ErrorCode::EventFieldMissing,
        at: "data.object.",
    };

    fn loose(json: &str) -> Loose {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn id_accepts_string_or_expanded_object() {
        assert_eq!(
            loose(r#""cus_1""#).id(CX, "customer").unwrap().as_deref(),
            Some("cus_1")
        );
        let expanded =
            loose(r#"{"id":"cus_2","object":"customer","email":"a@b","sources":{"data":[]}}"#);
        assert_eq!(
            expanded.id(CX, "customer").unwrap().as_deref(),
            Some("cus_2")
        );
        assert_eq!(loose("null").id(CX, "customer").unwrap(), None);
        assert_eq!(Loose::Absent.id(CX, "customer").unwrap(), None);
        let e = loose(r#"{"object":"customer"}"#)
            .id(CX, "customer")
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::EventFieldMissing);
        assert!(e.message().contains("data.object.customer"), "{e}");
        assert!(loose("12").id(CX, "customer").is_err());
    }

    #[test]
    fn integers_are_checked_and_named() {
        assert_eq!(loose("-5").int(CX, "amount").unwrap(), Some(-5));
        assert_eq!(
            loose("9223372036854775807").int(CX, "amount").unwrap(),
            Some(i64::MAX)
        );
        for bad in ["9223372036854775808", "1e3", "1.5", "\"12\"", "true", "[1]"] {
            let e = loose(bad).int(CX, "amount_due").unwrap_err();
            assert!(
                e.message()
                    .starts_with("data.object.amount_due must be an integer"),
                "{e}"
            );
        }
    }

    #[test]
    fn strings_flags_and_nulls() {
        assert_eq!(loose("null").string(CX, "email").unwrap(), None);
        assert_eq!(
            loose(r#""a\u0000b""#)
                .string(CX, "email")
                .unwrap()
                .as_deref(),
            Some("a\0b")
        );
        assert!(loose("1").string(CX, "email").is_err());
        assert!(!loose("null").flag(CX, "refunded").unwrap());
        assert!(loose("true").flag(CX, "refunded").unwrap());
        assert!(loose("\"yes\"").flag(CX, "refunded").is_err());
        assert!(CX.need(Some(String::new()), "id").is_err());
    }

    #[test]
    fn picked_keys_only_and_duplicates_rejected() {
        let p = loose(r#"{"user_id":"u1","other":{"id":"x"},"email":null}"#)
            .obj()
            .unwrap();
        assert_eq!(p.user_id, Loose::Str("u1".into()));
        assert_eq!(p.id, Loose::Absent);
        assert_eq!(p.email, Loose::Null);
        let e = serde_json::from_str::<Loose>(r#"{"user_id":"a","user_id":"b"}"#).unwrap_err();
        assert!(e.to_string().starts_with("duplicate field `user_id`"));
        assert!(loose("[1,2]").obj().is_none());
    }

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
