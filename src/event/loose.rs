//! Lenient field slots: accept any JSON value, type-check later with the field's name.
//!
//! serde's own type errors are anonymous ("invalid type: string ..., expected i64") and quote
//! the input, which may be customer data. A [`Loose`] slot never fails on a type, so the
//! record builders can report "`data.object.amount_due` must be an integer" instead.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

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
/// `user_id`, `price_id` and `product_id` (metadata), `email`/`name` (customer_details) and the
/// invoice subscription links.
pub(crate) const PICKED_KEYS: &[&str] = &[
    "id",
    "product",
    "user_id",
    "email",
    "name",
    "subscription",
    "subscription_details",
    "subscription_item_details",
    "price_id",
    "product_id",
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
    pub price_id: Loose,
    pub product_id: Loose,
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
            7 => &mut self.subscription_item_details,
            8 => &mut self.price_id,
            _ => &mut self.product_id,
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The context the object readers use, for tests of any reader.
    pub(in crate::event) const CX: Cx = Cx {
        code: ErrorCode::EventFieldMissing,
        at: "data.object.",
    };

    /// Parses `json` as one loose value, for tests of any reader.
    pub(in crate::event) fn loose(json: &str) -> Loose {
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
}
