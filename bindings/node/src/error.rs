//! Errors crossing into JavaScript, and the panic boundary.
//!
//! Every export returns `napi::Result<T, ErrorCode>`. napi-rs turns the status of a
//! `napi::Error<S>` into the JS error's `code` (`napi_create_error(env, status.as_ref(), ..)`),
//! so `err.code` is exactly [`ErrorCode::as_str`] — the one code table shared with Rust and C —
//! and `err.message` is the core error's `Display` (`"SIGNATURE_MISMATCH: none of ..."`).
//! Core messages never contain secrets, signatures or bodies; this module adds none.

use std::panic::{AssertUnwindSafe, catch_unwind};

use tollbooth::ErrorCode;

/// The result type of every export.
pub type Result<T> = napi::Result<T, ErrorCode>;

/// Converts a core error into a JS error with `code` = the error's code string.
pub fn to_napi(e: tollbooth::Error) -> napi::Error<ErrorCode> {
    napi::Error::new(e.code(), e.to_string())
}

/// A binding-side error (bad argument type or range), built the same way as core errors.
pub fn invalid(code: ErrorCode, message: impl Into<String>) -> napi::Error<ErrorCode> {
    to_napi(tollbooth::Error::new(code, message))
}

/// Runs `f`, mapping core errors with [`to_napi`] and a panic to a `PANIC` error.
///
/// `#[napi(catch_unwind)]` on each export is the outer net (it covers argument conversion and
/// reports napi's `GenericFailure`); this inner one gives panics in tollbooth itself the code
/// from our table. The engine is unwind-safe in practice: SQLite rolls the open transaction
/// back on drop and the engine reuses a poisoned lock deliberately.
pub fn guard<T>(f: impl FnOnce() -> tollbooth::Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(to_napi),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_owned());
            Err(invalid(
                ErrorCode::Panic,
                format!("{}: {what}", ErrorCode::Panic.description()),
            ))
        }
    }
}
