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

/// Test hook, not part of the API (absent from index.d.ts and index.js): panics inside the
/// boundary so tests can prove a panic becomes an `Error` with code `PANIC` instead of
/// crossing into JS. Reach it only through the `.node` file.
#[napi(js_name = "__panicForTest", skip_typescript, catch_unwind)]
pub fn panic_for_test() -> error::Result<()> {
    error::guard(|| panic!("deliberate panic from the test hook"))
}
