//! `tollbooth` for Node.js: a thin napi-rs face over the tollbooth core.
//!
//! The binding has no logic of its own. It converts arguments, reads the clock when the
//! caller passes no `now`, maps every core error to a JS `Error` whose `code` is the core's
//! [`tollbooth::ErrorCode::as_str`], and keeps panics on the Rust side (`catch_unwind` at
//! every export, plus [`error::guard`] so a panic surfaces as code `PANIC`).

mod admin;
mod convert;
mod engine;
mod error;

use napi::bindgen_prelude::Either;
use napi_derive::napi;

pub use engine::Tollbooth;

/// Builds a `Stripe-Signature` header for `payload` exactly as Stripe does
/// (`t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<payload>">`), for your own tests.
/// Like stripe-node's `webhooks.generateTestHeaderString`. Test-only: never sign real traffic.
///
/// `timestampSeconds` defaults to now.
#[napi(catch_unwind)]
pub fn sign_test_payload(
    payload: Either<&[u8], String>,
    secret: String,
    timestamp_seconds: Option<i64>,
) -> error::Result<String> {
    let body: &[u8] = match &payload {
        Either::A(bytes) => bytes,
        Either::B(text) => text.as_bytes(),
    };
    let t = timestamp_seconds.unwrap_or_else(tollbooth::unix_now);
    error::guard(|| Ok(tollbooth::verify::sign_for_test(body, &secret, t)))
}

/// The HTTP status a webhook route answers for an error `code` (the `code` of a thrown
/// tollbooth error): 400 for a request that is not an authentic Stripe delivery, 500 for
/// everything on our side, so Stripe retries it. Unknown or missing codes are 500. The same
/// table as Rust's `ErrorCode::http_status` and C's `tb_result_http_status`.
#[napi(catch_unwind)]
pub fn http_status(code: Option<String>) -> u32 {
    code.as_deref()
        .and_then(tollbooth::ErrorCode::parse)
        .map_or(500, |c| u32::from(c.http_status()))
}

/// How many decimals a Stripe amount in `currency` carries (0 for JPY, 3 for KWD, 2 for ISK as
/// Stripe sends it): ISO 4217 with Stripe's documented exceptions. Divide a Stripe amount by
/// `10 ** currencyExponent(currency)` before formatting it.
#[napi(catch_unwind)]
pub fn currency_exponent(currency: String) -> u32 {
    tollbooth::billing::money::exponent(&currency)
}

/// Test hook, not part of the API (absent from index.d.ts and index.js): panics inside the
/// boundary so tests can prove a panic becomes an `Error` with code `PANIC` instead of
/// crossing into JS. Reach it only through the `.node` file.
#[napi(js_name = "__panicForTest", skip_typescript, catch_unwind)]
pub fn panic_for_test() -> error::Result<()> {
    error::guard(|| panic!("deliberate panic from the test hook"))
}
