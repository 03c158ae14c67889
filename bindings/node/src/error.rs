//! Errors crossing into JavaScript, and the panic boundary.
//!
//! Synchronous exports return `napi::Result<T, ErrorCode>`. napi-rs turns the status of a
//! `napi::Error<S>` into the JS error's `code` (`napi_create_error(env, status.as_ref(), ..)`),
//! so `err.code` is exactly [`ErrorCode::as_str`] — the one code table shared with Rust and C —
//! and `err.message` is the core error's `Display` (`"SIGNATURE_MISMATCH: none of ..."`).
//! Promise-returning exports reject with an `Error` of the same shape, built by [`rejection`].
//! Core messages never contain secrets, signatures or bodies; this module adds none.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use napi::bindgen_prelude::{JsObjectValue, JsValue};
use napi::{Env, Status};
use tollbooth::ErrorCode;

/// The result type of every synchronous export.
pub type Result<T> = napi::Result<T, ErrorCode>;

/// Converts a core error into a JS error with `code` = the error's code string.
pub fn to_napi(e: tollbooth::Error) -> napi::Error<ErrorCode> {
    napi::Error::new(e.code(), e.to_string())
}

/// The JS `Error` a Promise rejects with: `code` and `message` exactly as a synchronous throw
/// has them. Runs on the JS thread (a task's `resolve`).
pub fn rejection(env: &Env, e: tollbooth::Error) -> napi::Error {
    let message = e.to_string();
    let built = env
        .create_error(napi::Error::new(Status::GenericFailure, message.clone()))
        .and_then(|mut obj| {
            obj.set_named_property("code", e.code().as_str())?;
            Ok(napi::Error::from(obj.to_unknown()))
        });
    built.unwrap_or_else(|_| napi::Error::new(Status::GenericFailure, message))
}

/// Runs `f`, turning a panic into a core error with code `PANIC`.
///
/// `#[napi(catch_unwind)]` on each export is the outer net on the JS thread (it covers
/// argument conversion and reports napi's `GenericFailure`); this inner one gives panics in
/// tollbooth itself the code from our table, and it is the only net on the worker threads
/// that run the Promise forms (a panic there would otherwise abort the process). The engine
/// is unwind-safe in practice: SQLite rolls the open transaction back on drop and the engine
/// reuses a poisoned lock deliberately.
pub fn catch<T>(f: impl FnOnce() -> tollbooth::Result<T>) -> tollbooth::Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_owned());
            Err(tollbooth::Error::new(
                ErrorCode::Panic,
                format!("{}: {what}", ErrorCode::Panic.description()),
            ))
        }
    }
}

/// [`catch`] for a synchronous export: the error becomes a thrown JS error.
pub fn guard<T>(f: impl FnOnce() -> tollbooth::Result<T>) -> Result<T> {
    catch(f).map_err(to_napi)
}

/// How tests prove the panic boundary holds without a test hook in the package's API: with
/// `TOLLBOOTH_NODE_TEST_PANICS=<n>` in the environment at the first engine call, the next `n`
/// engine calls panic inside [`catch`] (on the JS thread for `...Sync` methods, on a worker
/// thread for Promise methods). Unset (always, outside tests), it costs one relaxed load.
const PANIC_ENV: &str = "TOLLBOOTH_NODE_TEST_PANICS";

/// Panics when the test environment above asks for it; called at the start of engine work.
pub fn test_panic_point() {
    if test_panic_due() {
        panic!("deliberate panic ({PANIC_ENV} is set)");
    }
}

fn test_panic_due() -> bool {
    static LEFT: OnceLock<AtomicU64> = OnceLock::new();
    let left = LEFT.get_or_init(|| {
        let n = std::env::var(PANIC_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        AtomicU64::new(n)
    });
    left.load(Ordering::Relaxed) > 0
        && left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
}
