//! Parse and normalize a verified Stripe webhook body into an [`Event`].
//!
//! Pure: no I/O, no clock. The engine stores the raw bytes itself, so this module keeps only
//! what billing state needs, and reads both API shapes (pre-basil and `2025-03-31.basil`+)
//! whatever `api_version` says, because endpoints get events in their own pinned version and
//! snapshots come back in the host's SDK version.
//!
//! Hot path: the envelope is deserialized with `data.object` borrowed as a raw JSON slice, and
//! that slice is deserialized once into a small union of the fields the records need. No
//! `serde_json::Value` tree is built.

mod loose;
mod objects;
mod records;
mod salvage;
mod stored;
mod thin;

pub use records::{
    ChargeRecord, CheckoutRecord, CustomerRecord, DisputeRecord, EntitlementsRecord, InvoiceRecord,
    Object, PaymentIntentRecord, RefundRecord, ReversalRecord, SubscriptionItem,
    SubscriptionRecord,
};
pub use salvage::{Salvaged, salvage};
pub use stored::{EventFilter, EventRow, LivemodeCounts};
pub use thin::{RelatedObject, THIN_OBJECT, ThinEvent, is_thin, parse_thin};

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{Error, ErrorCode, Result};
use loose::{Cx, KeySeed, Loose};
use objects::{ObjType, RawObject};

/// Known event types we act on; anything else is `Other(type string)` (outcome "ignored",
/// never an error), so new Stripe event types never break delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// `checkout.session.completed`: links a user to a Stripe customer and subscription.
    CheckoutSessionCompleted,
    /// `checkout.session.async_payment_succeeded`: a delayed payment method settled.
    CheckoutSessionAsyncPaymentSucceeded,
    /// `checkout.session.async_payment_failed`: a delayed payment method failed.
    CheckoutSessionAsyncPaymentFailed,
    /// `checkout.session.expired`: the session was abandoned.
    CheckoutSessionExpired,
    /// `customer.created`.
    CustomerCreated,
    /// `customer.updated`.
    CustomerUpdated,
    /// `customer.deleted`: the record comes out with `deleted = true`.
    CustomerDeleted,
    /// `customer.subscription.created`.
    SubscriptionCreated,
    /// `customer.subscription.updated`: status, plan or period changes.
    SubscriptionUpdated,
    /// `customer.subscription.deleted`: the subscription ended.
    SubscriptionDeleted,
    /// `customer.subscription.trial_will_end`: three days before a trial ends.
    SubscriptionTrialWillEnd,
    /// `customer.subscription.paused`.
    SubscriptionPaused,
    /// `customer.subscription.resumed`.
    SubscriptionResumed,
    /// `invoice.paid`.
    InvoicePaid,
    /// `invoice.payment_succeeded`.
    InvoicePaymentSucceeded,
    /// `invoice.payment_failed`: dunning starts or continues.
    InvoicePaymentFailed,
    /// `invoice.finalized`.
    InvoiceFinalized,
    /// `invoice.voided`.
    InvoiceVoided,
    /// `invoice.marked_uncollectible`.
    InvoiceMarkedUncollectible,
    /// `charge.succeeded`: a payment settled (a one-time purchase is paid); also teaches
    /// which customer a charge and its PaymentIntent belong to.
    ChargeSucceeded,
    /// `charge.refunded`.
    ChargeRefunded,
    /// `charge.dispute.created`.
    ChargeDisputeCreated,
    /// `charge.dispute.updated`: evidence or status changed; noted on the dispute's ticket.
    ChargeDisputeUpdated,
    /// `charge.dispute.closed`: won, lost or warning_closed; closes the dispute's ticket.
    ChargeDisputeClosed,
    /// `refund.created`: one refund (partial or full) of a charge.
    RefundCreated,
    /// `refund.updated`: a refund's status changed (e.g. it failed).
    RefundUpdated,
    /// `charge.refund.updated`: the older name of `refund.updated`.
    ChargeRefundUpdated,
    /// `invoice.payment_action_required`: the payment needs the customer (3-D Secure / SCA).
    InvoicePaymentActionRequired,
    /// `payment_intent.succeeded`: a one-time payment succeeded.
    PaymentIntentSucceeded,
    /// `entitlements.active_entitlement_summary.updated`: a customer's features changed.
    EntitlementsSummaryUpdated,
    /// `product.created`.
    ProductCreated,
    /// `product.updated`.
    ProductUpdated,
    /// `product.deleted`.
    ProductDeleted,
    /// `price.created`.
    PriceCreated,
    /// `price.updated`.
    PriceUpdated,
    /// `price.deleted`.
    PriceDeleted,
    /// Any other type string, kept verbatim.
    Other(String),
}

/// `(type string, kind)` for every known kind; one table keeps both directions in step.
#[rustfmt::skip]
const KNOWN: &[(&str, EventKind)] = &[
    (
        "checkout.session.completed",
        EventKind::CheckoutSessionCompleted,
    ),
    (
        "checkout.session.async_payment_succeeded",
        EventKind::CheckoutSessionAsyncPaymentSucceeded,
    ),
    (
        "checkout.session.async_payment_failed",
        EventKind::CheckoutSessionAsyncPaymentFailed,
    ),
    (
        "checkout.session.expired",
        EventKind::CheckoutSessionExpired,
    ),
    ("customer.created", EventKind::CustomerCreated),
    ("customer.updated", EventKind::CustomerUpdated),
    ("customer.deleted", EventKind::CustomerDeleted),
    (
        "customer.subscription.created",
        EventKind::SubscriptionCreated,
    ),
    (
        "customer.subscription.updated",
        EventKind::SubscriptionUpdated,
    ),
    (
        "customer.subscription.deleted",
        EventKind::SubscriptionDeleted,
    ),
    (
        "customer.subscription.trial_will_end",
        EventKind::SubscriptionTrialWillEnd,
    ),
    (
        "customer.subscription.paused",
        EventKind::SubscriptionPaused,
    ),
    (
        "customer.subscription.resumed",
        EventKind::SubscriptionResumed,
    ),
    ("invoice.paid", EventKind::InvoicePaid),
    (
        "invoice.payment_succeeded",
        EventKind::InvoicePaymentSucceeded,
    ),
    ("invoice.payment_failed", EventKind::InvoicePaymentFailed),
    ("invoice.finalized", EventKind::InvoiceFinalized),
    ("invoice.voided", EventKind::InvoiceVoided),
    (
        "invoice.marked_uncollectible",
        EventKind::InvoiceMarkedUncollectible,
    ),
    ("charge.succeeded", EventKind::ChargeSucceeded),
    ("charge.refunded", EventKind::ChargeRefunded),
    ("charge.dispute.created", EventKind::ChargeDisputeCreated),
    ("charge.dispute.updated", EventKind::ChargeDisputeUpdated),
    ("charge.dispute.closed", EventKind::ChargeDisputeClosed),
    ("refund.created", EventKind::RefundCreated),
    ("refund.updated", EventKind::RefundUpdated),
    ("charge.refund.updated", EventKind::ChargeRefundUpdated),
    (
        "invoice.payment_action_required",
        EventKind::InvoicePaymentActionRequired,
    ),
    ("payment_intent.succeeded", EventKind::PaymentIntentSucceeded),
    (
        "entitlements.active_entitlement_summary.updated",
        EventKind::EntitlementsSummaryUpdated,
    ),
    ("product.created", EventKind::ProductCreated),
    ("product.updated", EventKind::ProductUpdated),
    ("product.deleted", EventKind::ProductDeleted),
    ("price.created", EventKind::PriceCreated),
    ("price.updated", EventKind::PriceUpdated),
    ("price.deleted", EventKind::PriceDeleted),
];

impl EventKind {
    /// Maps a Stripe `type` string; unknown strings become [`EventKind::Other`].
    pub fn from_type(t: &str) -> EventKind {
        KNOWN
            .iter()
            .find(|(s, _)| *s == t)
            .map_or_else(|| EventKind::Other(t.to_owned()), |(_, k)| k.clone())
    }

    /// The Stripe type string (what [`EventKind::from_type`] maps back to this kind).
    pub fn as_str(&self) -> &str {
        match self {
            EventKind::Other(s) => s,
            known => KNOWN
                .iter()
                .find(|(_, k)| k == known)
                .map_or("", |(s, _)| s),
        }
    }

    /// `true` unless this is [`EventKind::Other`]; only known kinds carry a typed record.
    pub fn is_known(&self) -> bool {
        !matches!(self, EventKind::Other(_))
    }

    /// The `data.object` type a known kind normalizes.
    fn object_type(&self) -> Option<ObjType> {
        use EventKind as K;
        Some(match self {
            K::CheckoutSessionCompleted
            | K::CheckoutSessionAsyncPaymentSucceeded
            | K::CheckoutSessionAsyncPaymentFailed
            | K::CheckoutSessionExpired => ObjType::CheckoutSession,
            K::CustomerCreated | K::CustomerUpdated | K::CustomerDeleted => ObjType::Customer,
            K::SubscriptionCreated
            | K::SubscriptionUpdated
            | K::SubscriptionDeleted
            | K::SubscriptionTrialWillEnd
            | K::SubscriptionPaused
            | K::SubscriptionResumed => ObjType::Subscription,
            K::InvoicePaid
            | K::InvoicePaymentSucceeded
            | K::InvoicePaymentFailed
            | K::InvoiceFinalized
            | K::InvoiceVoided
            | K::InvoiceMarkedUncollectible
            | K::InvoicePaymentActionRequired => ObjType::Invoice,
            K::ChargeSucceeded | K::ChargeRefunded => ObjType::Charge,
            K::ChargeDisputeCreated | K::ChargeDisputeUpdated | K::ChargeDisputeClosed => {
                ObjType::Dispute
            }
            K::RefundCreated | K::RefundUpdated | K::ChargeRefundUpdated => ObjType::Refund,
            K::PaymentIntentSucceeded => ObjType::PaymentIntent,
            K::EntitlementsSummaryUpdated => ObjType::Entitlements,
            K::ProductCreated | K::ProductUpdated | K::ProductDeleted => ObjType::Product,
            K::PriceCreated | K::PriceUpdated | K::PriceDeleted => ObjType::Price,
            K::Other(_) => return None,
        })
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed, normalized event: the envelope plus the record billing state needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Stripe event id (`evt_...`), the dedupe key.
    pub id: String,
    /// The event type.
    pub kind: EventKind,
    /// Unix seconds when Stripe created the event; orders out-of-order deliveries.
    pub created: i64,
    /// `false` when absent (old fixtures); checked against the deployment by the engine.
    pub livemode: bool,
    /// The API version the payload is rendered in, when present.
    pub api_version: Option<String>,
    /// The connected account (`acct_...`) for Connect events.
    pub account: Option<String>,
    /// Normalized `data.object`.
    pub object: Object,
    /// `data.previous_attributes` was present and a non-empty object (an actual change).
    pub has_previous_attributes: bool,
}

/// The envelope, with `data.object` left as borrowed raw JSON.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    id: Loose,
    #[serde(default, rename = "type")]
    kind: Loose,
    #[serde(default)]
    created: Loose,
    #[serde(default)]
    livemode: Loose,
    #[serde(default)]
    api_version: Loose,
    #[serde(default)]
    account: Loose,
    #[serde(default)]
    object: Loose,
    #[serde(borrow, default)]
    data: Option<Data<'a>>,
}

/// `data`: the raw object and previous attributes. Hand-written so that only a JSON object
/// (not an array) is accepted.
struct Data<'a> {
    object: Option<&'a RawValue>,
    previous_attributes: Option<&'a RawValue>,
}

const DATA_KEYS: &[&str] = &["object", "previous_attributes"];
/// What the `data` visitor expects; serde's "invalid type" message for `data` ends with it.
const DATA_EXPECTING: &str = "`data` to be a JSON object";

impl<'de: 'a, 'a> Deserialize<'de> for Data<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_map(DataVisitor(PhantomData))
    }
}

struct DataVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for DataVisitor<'a> {
    type Value = Data<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(DATA_EXPECTING)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Data<'a>, A::Error> {
        let mut slots: [Option<Option<&'a RawValue>>; 2] = [None, None];
        while let Some(k) = map.next_key_seed(KeySeed(DATA_KEYS))? {
            match k {
                Some(i) if slots[i].is_some() => {
                    return Err(de::Error::custom(format_args!(
                        "duplicate field `{}`",
                        DATA_KEYS[i]
                    )));
                }
                Some(i) => slots[i] = Some(map.next_value()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Data {
            object: slots[0].flatten(),
            previous_attributes: slots[1].flatten(),
        })
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::PayloadInvalidJson, msg)
}

/// UTF-8 check up front: serde_json does not validate strings it skips, and the engine
/// stores the body as text.
fn utf8(body: &[u8]) -> Result<&str> {
    std::str::from_utf8(body).map_err(|e| {
        invalid(format!(
            "body is not valid UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })
}

/// The text must be a JSON object: serde's derived structs would also accept an array.
fn starts_object(text: &str) -> bool {
    text.trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
}

/// Maps a serde_json error without echoing input: serde_json's syntax messages never quote
/// input, but its data messages can ("invalid type: string \"...\""), so those are replaced.
fn json_error(e: &serde_json::Error, what: &str, syntax: ErrorCode, data: ErrorCode) -> Error {
    let msg = e.to_string();
    if let Some(rest) = msg.strip_prefix("duplicate field `") {
        // Only our own schema's key names can appear here.
        let key = rest.split('`').next().unwrap_or("");
        return invalid(format!("{what} has a duplicate `{key}` key"));
    }
    match e.classify() {
        serde_json::error::Category::Data => Error::new(
            data,
            format!(
                "{what} has a value of the wrong shape (line {}, column {})",
                e.line(),
                e.column()
            ),
        ),
        _ => Error::new(syntax, format!("{what} is not valid JSON: {msg}")),
    }
}

/// `previous_attributes` counts only when it is a non-empty object.
fn non_empty_object(raw: &RawValue) -> bool {
    let t = raw.get().trim();
    t.starts_with('{') && t[1..].trim_start() != "}"
}

/// Parses a verified raw body into an [`Event`].
///
/// Envelope problems (not JSON, not an object, missing or mistyped `id`, `type`, `created`,
/// `data.object`, ...) are `PayloadInvalidJson`, naming the field; a known kind whose record
/// lacks a needed field (or has one of the wrong type or out of i64 range) is
/// `EventFieldMissing`, naming the field. Unknown kinds and unexpected object types give
/// [`Object::Other`]. Duplicate keys the parser reads are rejected (`PayloadInvalidJson`);
/// duplicates of keys it skips are ignored. Messages never contain the body.
pub fn parse_event(body: &[u8]) -> Result<Event> {
    let text = utf8(body)?;
    if !starts_object(text) {
        return Err(invalid("body is not a JSON object"));
    }
    let env: Envelope<'_> = serde_json::from_str(text).map_err(|e| {
        if e.is_data() && e.to_string().contains(DATA_EXPECTING) {
            return invalid("data must be an object");
        }
        let code = ErrorCode::PayloadInvalidJson;
        json_error(&e, "event envelope", code, code)
    })?;
    let cx = Cx {
        code: ErrorCode::PayloadInvalidJson,
        at: "",
    };
    if env
        .object
        .string(cx, "object")?
        .is_some_and(|o| o != "event")
    {
        return Err(invalid("object is not \"event\": not an event envelope"));
    }
    let id = cx.need(env.id.string(cx, "id")?, "id")?;
    let type_str = cx.need(env.kind.string(cx, "type")?, "type")?;
    let created = cx.need(env.created.int(cx, "created")?, "created")?;
    let livemode = env.livemode.flag(cx, "livemode")?;
    let api_version = env.api_version.string(cx, "api_version")?;
    let account = env.account.string(cx, "account")?;
    let data = env.data.ok_or_else(|| invalid("data is missing"))?;
    let raw = data
        .object
        .ok_or_else(|| invalid("data.object is missing"))?;
    if !starts_object(raw.get()) {
        return Err(invalid("data.object must be an object"));
    }
    let has_previous_attributes = data.previous_attributes.is_some_and(non_empty_object);
    let kind = EventKind::from_type(&type_str);
    let object = normalize(&kind, raw.get())?;
    Ok(Event {
        id,
        kind,
        created,
        livemode,
        api_version,
        account,
        object,
        has_previous_attributes,
    })
}

/// Normalizes `data.object` (already known to be valid JSON object text) for `kind`.
fn normalize(kind: &EventKind, json: &str) -> Result<Object> {
    let Some(ty) = kind.object_type() else {
        let (object_type, id) = objects::probe(json);
        return Ok(Object::Other { object_type, id });
    };
    if matches!(ty, ObjType::Product | ObjType::Price) {
        return catalog(ty, json);
    }
    let raw = match RawObject::parse(json) {
        Ok(raw) => raw,
        Err(e) => {
            // A different object type may legitimately have other shapes under our names.
            let (object_type, id) = objects::probe(json);
            if object_type.as_deref().is_some_and(|t| t != ty.as_str()) {
                return Ok(Object::Other { object_type, id });
            }
            let code = ErrorCode::EventFieldMissing;
            return Err(json_error(&e, "data.object", code, code));
        }
    };
    match raw.object_type() {
        Ok(None) => {}
        Ok(Some(t)) if t == ty.as_str() => {}
        _ => return Ok(raw.into_other()),
    }
    let cx = Cx {
        code: ErrorCode::EventFieldMissing,
        at: "data.object.",
    };
    raw.into_object(ty, cx, *kind == EventKind::CustomerDeleted)
}

/// A product or price for the catalog; another object type under a catalog event is
/// [`Object::Other`]. `fetched_at` is left 0 for the engine to stamp.
fn catalog(ty: ObjType, json: &str) -> Result<Object> {
    let (object_type, id) = objects::probe(json);
    if object_type.as_deref() != Some(ty.as_str()) {
        return Ok(Object::Other { object_type, id });
    }
    match crate::sync_state::CatalogEntry::parse(json.as_bytes(), 0) {
        Ok(entry) => Ok(Object::Catalog(entry)),
        Err(e) => Err(Error::new(
            ErrorCode::EventFieldMissing,
            format!("data.object: {}", e.message()),
        )),
    }
}

/// Normalizes a bare Stripe object the host refetched from the API (a subscription, invoice,
/// customer or checkout.session) for `apply_snapshot`, dispatching on its `object` field.
///
/// Not JSON or not an object: `PayloadInvalidJson`. Any other (or no) `object` type:
/// `SnapshotUnsupported`. A needed field missing or mistyped: `EventFieldMissing`.
pub fn parse_object(body: &[u8]) -> Result<Object> {
    let text = utf8(body)?;
    if !starts_object(text) {
        return Err(invalid("snapshot is not a JSON object"));
    }
    let unsupported = || {
        Error::new(
            ErrorCode::SnapshotUnsupported,
            "snapshot object type is not one of customer, subscription, invoice, checkout.session",
        )
    };
    let raw = match RawObject::parse(text) {
        Ok(raw) => raw,
        Err(e) => {
            use serde_json::error::Category;
            if e.classify() == Category::Data {
                let (object_type, _) = objects::probe(text);
                if object_type.as_deref().and_then(ObjType::snapshot).is_none() {
                    return Err(unsupported());
                }
            }
            let code = ErrorCode::EventFieldMissing;
            return Err(json_error(
                &e,
                "snapshot",
                ErrorCode::PayloadInvalidJson,
                code,
            ));
        }
    };
    let ty = match raw.object_type() {
        Ok(Some(t)) => ObjType::snapshot(t).ok_or_else(unsupported)?,
        _ => return Err(unsupported()),
    };
    let cx = Cx {
        code: ErrorCode::EventFieldMissing,
        at: "snapshot.",
    };
    raw.into_object(ty, cx, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for (s, k) in KNOWN {
            assert_eq!(&EventKind::from_type(s), k);
            assert_eq!(k.as_str(), *s);
            assert!(k.is_known() && k.object_type().is_some());
        }
        let other = EventKind::from_type("customer.subscription.pending_update_applied");
        assert_eq!(
            other.as_str(),
            "customer.subscription.pending_update_applied"
        );
        assert!(!other.is_known());
    }

    #[test]
    fn previous_attributes_emptiness() {
        let raw = |s: &str| -> Box<RawValue> { RawValue::from_string(s.to_owned()).unwrap() };
        assert!(!non_empty_object(&raw("{}")));
        assert!(!non_empty_object(&raw("{ \n }")));
        assert!(!non_empty_object(&raw("[1]")));
        assert!(non_empty_object(&raw(r#"{"status":"active"}"#)));
    }

    #[test]
    fn serializes_with_object_tag() {
        let o = Object::CheckoutSession(CheckoutRecord {
            id: "cs_1".into(),
            ..Default::default()
        });
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["object"], "checkout_session");
        assert_eq!(o.object_type(), "checkout.session");
    }
}
