//! Numbers and strings from JavaScript, read here rather than by napi's own conversion.
//!
//! napi's conversion of a wrong-typed argument throws its own `InvalidArg`: a code outside
//! tollbooth's table (the README's mapping answers 500 for it, so Stripe would retry for days)
//! with a message that quotes the value (a signature; a `whsec_` inside an object). And a JS
//! number reaches an `i64` with NaN and ±Infinity as 0 and 1e300 clamped to `i64::MAX`, so
//! a NaN lease or limit silently meant something else. Every numeric and string argument is
//! therefore a [`Num`] or a [`Text`], which accept any value; the method checks it and rejects
//! with `INVALID_ARGUMENT` and a fixed message that names the argument, never its value.

use napi::bindgen_prelude::{FromNapiValue, ToNapiValue, TypeName, ValidateNapiValue};
use napi::{ValueType, sys};
use tollbooth::outbox::MAX_NOW_SECS;
use tollbooth::{Error, ErrorCode, Result};

/// The largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// A JS value where a number belongs: the number, or `None` for anything else.
pub struct Num(Option<f64>);

/// A JS value where a string belongs: the string, or `None` for anything else.
#[derive(Clone)]
pub struct Text(Option<String>);

/// A JS value where an array of strings belongs (webhook secrets, job kinds): the strings,
/// or `None` for anything else, including an array holding a non-string. napi's own error
/// for that would quote the array, secrets and all.
pub struct Texts(Option<Vec<String>>);

/// The JS type of `value` (`napi_undefined` when even that cannot be read).
///
/// # Safety
/// `env` and `value` must be the live handles napi passed to the current call.
unsafe fn type_of(env: sys::napi_env, value: sys::napi_value) -> sys::napi_valuetype {
    let mut t = sys::ValueType::napi_undefined;
    // SAFETY: live handles (the caller's contract) and an out pointer to a local.
    if unsafe { sys::napi_typeof(env, value, &mut t) } != sys::Status::napi_ok {
        return sys::ValueType::napi_undefined;
    }
    t
}

impl FromNapiValue for Num {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        // SAFETY: napi hands this call live handles.
        if unsafe { type_of(env, value) } != sys::ValueType::napi_number {
            return Ok(Num(None));
        }
        let mut v = 0.0;
        // SAFETY: as above; `value` is a number, `v` a local.
        let ok = unsafe { sys::napi_get_value_double(env, value, &mut v) } == sys::Status::napi_ok;
        Ok(Num(ok.then_some(v)))
    }
}

impl TypeName for Num {
    fn type_name() -> &'static str {
        "number"
    }
    fn value_type() -> ValueType {
        ValueType::Number
    }
}

impl ValidateNapiValue for Num {}

/// Options objects are `#[napi(object)]`, which napi also converts back to JS: the number,
/// or `undefined` for what was not one.
impl ToNapiValue for Num {
    unsafe fn to_napi_value(env: sys::napi_env, v: Self) -> napi::Result<sys::napi_value> {
        // SAFETY: forwarded unchanged from napi's own call.
        unsafe { ToNapiValue::to_napi_value(env, v.0) }
    }
}

impl FromNapiValue for Text {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        // SAFETY: napi hands this call live handles.
        if unsafe { type_of(env, value) } != sys::ValueType::napi_string {
            return Ok(Text(None));
        }
        // SAFETY: as above; `value` is a string, so this conversion does not fail on its type.
        Ok(Text(unsafe { String::from_napi_value(env, value) }.ok()))
    }
}

impl FromNapiValue for Texts {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        // SAFETY: napi hands this call live handles; the error (which would quote the value)
        // is dropped unread.
        Ok(Texts(
            unsafe { Vec::<String>::from_napi_value(env, value) }.ok(),
        ))
    }
}

impl TypeName for Texts {
    fn type_name() -> &'static str {
        "Array<string>"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ValidateNapiValue for Texts {}

/// See [`Num`]'s `ToNapiValue`.
impl ToNapiValue for Texts {
    unsafe fn to_napi_value(env: sys::napi_env, v: Self) -> napi::Result<sys::napi_value> {
        // SAFETY: forwarded unchanged from napi's own call.
        unsafe { ToNapiValue::to_napi_value(env, v.0) }
    }
}

impl Texts {
    /// The strings; `INVALID_ARGUMENT` for anything else.
    pub fn get(&self, name: &str) -> Result<Vec<String>> {
        self.0
            .clone()
            .ok_or_else(|| invalid(format!("{name} must be an array of strings")))
    }
}

impl TypeName for Text {
    fn type_name() -> &'static str {
        "string"
    }
    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl ValidateNapiValue for Text {}

/// See [`Num`]'s `ToNapiValue`.
impl ToNapiValue for Text {
    unsafe fn to_napi_value(env: sys::napi_env, v: Self) -> napi::Result<sys::napi_value> {
        // SAFETY: forwarded unchanged from napi's own call.
        unsafe { ToNapiValue::to_napi_value(env, v.0) }
    }
}

fn invalid(msg: String) -> Error {
    Error::new(ErrorCode::InvalidArgument, msg)
}

impl Num {
    /// A whole number in `min..=max`: not NaN, not infinite, no fraction.
    pub fn whole(&self, name: &str, min: i64, max: i64) -> Result<i64> {
        match self.0 {
            Some(v) if v.is_finite() && v.fract() == 0.0 && v >= min as f64 && v <= max as f64 => {
                Ok(v as i64)
            }
            _ => Err(invalid(format!(
                "{name} must be a whole number from {min} to {max}"
            ))),
        }
    }

    /// A whole number in `min..=max` that fits a `u32`.
    pub fn small(&self, name: &str, min: u32, max: u32) -> Result<u32> {
        self.whole(name, i64::from(min), i64::from(max))
            .map(|v| v as u32)
    }
}

impl Text {
    /// The string; `INVALID_ARGUMENT` for anything else.
    pub fn get(&self, name: &str) -> Result<String> {
        self.0
            .clone()
            .ok_or_else(|| invalid(format!("{name} must be a string")))
    }
}

/// A clock argument: the real clock when absent, else whole unix seconds in
/// `0..=`[`MAX_NOW_SECS`].
pub fn now(v: Option<Num>, name: &str) -> Result<i64> {
    match v {
        None => Ok(tollbooth::unix_now()),
        Some(n) => n.whole(name, 0, MAX_NOW_SECS),
    }
}

/// An optional string argument: absent, `null` or a string.
pub fn opt_text(v: Option<Text>, name: &str) -> Result<Option<String>> {
    v.map(|t| t.get(name)).transpose()
}

/// An optional limit in `1..=max` (`default` when absent).
pub fn limit(v: &Option<Num>, default: u32, max: u32) -> Result<u32> {
    v.as_ref().map_or(Ok(default), |n| n.small("limit", 1, max))
}

/// An optional time bound: whole unix seconds (negative allowed: before 1970).
pub fn opt_time(v: &Option<Num>, name: &str) -> Result<Option<i64>> {
    v.as_ref()
        .map(|n| n.whole(name, -MAX_NOW_SECS, MAX_NOW_SECS))
        .transpose()
}

/// An id or lease token: a positive whole number JS holds exactly.
pub fn id(v: &Num, name: &str) -> Result<i64> {
    v.whole(name, 1, MAX_SAFE_INTEGER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_outside_their_range_are_invalid_and_never_echoed() {
        for v in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            -1.0,
            1.5,
            9_007_199_254_740_993.0,
        ] {
            let e = Num(Some(v)).whole("leaseSeconds", 1, 604_800).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument);
            assert_eq!(
                e.message(),
                "leaseSeconds must be a whole number from 1 to 604800"
            );
        }
        assert_eq!(Num(Some(30.0)).whole("x", 1, 60).unwrap(), 30);
        assert!(Num(None).whole("x", 1, 60).is_err(), "not a number at all");
        assert_eq!(Num(Some(7.0)).small("limit", 1, 10).unwrap(), 7);
        assert!(id(&Num(Some(2f64.powi(63))), "id").is_err());
    }

    #[test]
    fn a_string_argument_of_another_type_is_invalid_without_its_value() {
        let e = Text(None).get("customerId").unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
        assert_eq!(e.message(), "customerId must be a string");
        assert_eq!(Text(Some("cus_1".into())).get("x").unwrap(), "cus_1");
        assert_eq!(opt_text(None, "x").unwrap(), None);
    }
}
