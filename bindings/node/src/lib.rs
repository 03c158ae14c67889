//! `tollbooth` for Node.js: a thin napi-rs face over the tollbooth core.
//!
//! The binding has no logic of its own. It converts arguments, reads the clock when the
//! caller passes no `now`, runs the Promise forms of the methods on libuv worker threads
//! ([`task`]), maps every core error to a JS `Error` whose `code` is the core's
//! [`tollbooth::ErrorCode::as_str`], and keeps panics on the Rust side (`catch_unwind` at
//! every export and around every worker task, so a panic surfaces as code `PANIC`).

#[macro_use]
mod object;

mod admin;
mod args;
mod body;
mod convert;
mod engine;
mod error;
mod lanes;
mod options;
mod stripe;
mod task;

use napi::Env;
use napi::bindgen_prelude::Unknown;
use napi_derive::napi;
use tollbooth::ErrorCode;

pub use engine::Tollbooth;

/// Builds a `Stripe-Signature` header for `payload` exactly as Stripe does
/// (`t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<payload>">`), for your own tests.
/// Like stripe-node's `webhooks.generateTestHeaderString`. Test-only: never sign real traffic.
///
/// `timestampSeconds` defaults to now.
#[napi(
    catch_unwind,
    ts_args_type = "payload: string | Uint8Array | ArrayBuffer | DataView, secret: string, timestampSeconds?: number | undefined | null"
)]
pub fn sign_test_payload(
    env: Env,
    payload: Unknown<'_>,
    secret: args::Text,
    timestamp_seconds: Option<args::Num>,
) -> error::Result<String> {
    error::guard(|| {
        let t = args::now(timestamp_seconds, "timestampSeconds")?;
        let secret = secret.get("secret")?;
        let body = body::bytes(&env, &payload, "payload", body::Also::Text)?.ok_or_else(|| {
            tollbooth::Error::new(
                ErrorCode::InvalidArgument,
                "payload must be a string, Buffer, Uint8Array, ArrayBuffer or DataView",
            )
        })?;
        Ok(tollbooth::verify::sign_for_test(
            body.as_slice(),
            &secret,
            t,
        ))
    })
}

/// The HTTP status a webhook route answers for an error `code` (the `code` of a thrown
/// tollbooth error): 400 for a request that is not an authentic Stripe delivery, 500 for
/// everything on our side, so Stripe retries it. Unknown or missing codes are 500. The same
/// table as Rust's `ErrorCode::http_status` and C's `tb_result_http_status`.
#[napi(catch_unwind)]
pub fn http_status(
    #[napi(ts_arg_type = "string | undefined | null")] code: Option<args::Text>,
) -> u32 {
    code.and_then(|c| c.get("code").ok())
        .as_deref()
        .and_then(tollbooth::ErrorCode::parse)
        .map_or(500, |c| u32::from(c.http_status()))
}

/// How many decimals a Stripe amount in `currency` carries (0 for JPY, 3 for KWD, 2 for ISK as
/// Stripe sends it): ISO 4217 with Stripe's documented exceptions. Divide a Stripe amount by
/// `10 ** currencyExponent(currency)` before formatting it.
#[napi(catch_unwind)]
pub fn currency_exponent(
    #[napi(ts_arg_type = "string")] currency: args::Text,
) -> error::Result<u32> {
    error::guard(|| {
        Ok(tollbooth::billing::money::exponent(
            &currency.get("currency")?,
        ))
    })
}
