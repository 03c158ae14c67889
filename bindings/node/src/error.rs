//! Errors crossing into JavaScript, and the panic boundary.
//!
//! Synchronous exports return `napi::Result<T, ErrorCode>`. napi-rs turns the status of a
//! `napi::Error<S>` into the JS error's `code` (`napi_create_error(env, status.as_ref(), ..)`),
//! so `err.code` is exactly [`ErrorCode::as_str`] — the one code table shared with Rust and C —
//! and `err.message` is the core error's `Display` (`"SIGNATURE_MISMATCH: none of ..."`).
//! Promise-returning exports reject with an `Error` of the same shape, built by [`rejection`].
//! Core messages never contain secrets, signatures or bodies; this module adds none.

use std::panic::{AssertUnwindSafe, catch_unwind};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_of_any_payload_becomes_the_panic_code() {
        let from_str = catch::<()>(|| panic!("boom")).unwrap_err();
        assert_eq!(from_str.code(), ErrorCode::Panic);
        assert!(from_str.message().ends_with(": boom"), "{from_str}");
        let from_string = catch::<()>(|| panic!("{}", String::from("formatted"))).unwrap_err();
        assert!(from_string.message().ends_with(": formatted"));
        let other = catch::<()>(|| std::panic::panic_any(7_u8)).unwrap_err();
        assert_eq!(other.code(), ErrorCode::Panic);
        assert!(other.message().ends_with("non-string panic payload"));
    }

    #[test]
    fn results_pass_through_unchanged() {
        assert_eq!(catch(|| Ok(3)).unwrap(), 3);
        let e = catch::<()>(|| Err(tollbooth::Error::new(ErrorCode::Closed, "gone"))).unwrap_err();
        assert_eq!(e.code(), ErrorCode::Closed);
    }

    #[test]
    fn guard_throws_the_panic_code_as_the_js_error_code() {
        let e = guard::<()>(|| panic!("boom")).unwrap_err();
        assert_eq!(e.status, ErrorCode::Panic);
        assert!(e.reason.starts_with("PANIC"), "{}", e.reason);
    }
}
