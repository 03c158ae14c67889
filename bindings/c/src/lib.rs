//! The C ABI of tollbooth; the header is `include/tollbooth.h`, generated from this crate by
//! cbindgen (see `cbindgen.toml` and `tests/header.rs`).
//!
//! Conventions (README "Use it from C"):
//! - every fallible function returns a `tb_result` whose numbers are `tollbooth::ErrorCode`'s;
//! - opaque handles come in `_new`/`_open` + `_free` pairs and `_free(NULL)` is a no-op;
//! - input strings are `(const uint8_t *, size_t)`, checked as UTF-8, never NUL-scanned;
//! - out-parameters come last and are written only on `TB_RESULT_OK`;
//! - returned strings are `tb_str` views borrowed from a named owner, or owned objects with
//!   their own `_free`;
//! - no panic crosses the boundary (`TB_RESULT_PANIC`), no NULL is dereferenced
//!   (`TB_RESULT_NULL_PARAMETER`), and nothing takes a Rust enum from C.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
// Exported functions take raw pointers from C and check them with the boundary macros; they
// cannot be `unsafe fn` without making every C call site look different from the header.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

#[macro_use]
mod boundary;

mod billing;
mod config;
mod engine;
mod jobs;
mod maintenance;
mod observe;
mod results;
mod strings;

pub use billing::*;
pub use config::*;
pub use engine::*;
pub use jobs::*;
pub use observe::*;
pub use results::*;
pub use strings::*;
