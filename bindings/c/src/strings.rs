//! String types that cross the boundary, the version, and the test signer.

use crate::boundary::{Owned, free_view, into_raw_view};
use crate::results::{copy_text, tb_result};

/// A borrowed, read-only UTF-8 string: `len` bytes at `ptr`, not NUL-terminated.
///
/// Every function or struct that hands out a `tb_str` names its owner and how long it lives.
/// An absent optional value is `{NULL, 0}`; an empty string has a non-NULL `ptr` and `len` 0.
/// Never free a `tb_str`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tb_str {
    /// First byte, or NULL when the value is absent.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

static EMPTY_BYTES: [u8; 1] = [0];

impl tb_str {
    /// The empty (present) string.
    pub(crate) const EMPTY: tb_str = tb_str {
        ptr: EMPTY_BYTES.as_ptr(),
        len: 0,
    };
    /// The absent value.
    pub(crate) const NONE: tb_str = tb_str {
        ptr: std::ptr::null(),
        len: 0,
    };

    /// A view of `s`; it borrows `s`'s heap buffer, so `s` must outlive every use in C.
    pub(crate) fn of(s: &str) -> tb_str {
        if s.is_empty() {
            return tb_str::EMPTY;
        }
        tb_str {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// A view of an optional string: absent becomes `{NULL, 0}`.
    pub(crate) fn opt(s: Option<&String>) -> tb_str {
        s.map_or(tb_str::NONE, |s| tb_str::of(s))
    }
}

/// An owned string returned by tollbooth (metrics JSON, Prometheus text, ...): `len` bytes of
/// UTF-8 at `ptr`, not NUL-terminated.
///
/// The caller owns it and must release it with `tb_string_free`; `ptr` is valid until then.
/// Read-only: do not write through `ptr` or change the fields.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct tb_string {
    /// First byte (never NULL).
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

/// Moves `s` into a new `tb_string` for C.
pub(crate) fn new_string(s: String) -> *mut tb_string {
    let view = tb_str::of(&s);
    into_raw_view(Owned {
        view: tb_string {
            ptr: view.ptr,
            len: view.len,
        },
        _keep: s,
    })
}

/// Frees a `tb_string` returned by tollbooth. NULL is a no-op. The string must not be used
/// afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn tb_string_free(string: *mut tb_string) {
    ffi_boundary! {
        // SAFETY: the header requires `string` to be NULL or a `tb_string` from tollbooth
        // that is freed once; every `tb_string` is made by `new_string`.
        unsafe { free_view::<tb_string, String>(string) }
    }
}

static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library version, e.g. "0.1.0". The view is static (valid forever); as a convenience
/// `ptr` is also NUL-terminated, so it can be printed with `%s`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_version() -> tb_str {
    ffi_boundary! {
        tb_str {
            ptr: VERSION.as_ptr(),
            len: VERSION.len() - 1,
        }
    }
}

/// Largest header `tb_sign_test_payload` writes, in bytes: a buffer this large always fits.
pub const TB_SIGNATURE_HEADER_MAX: usize = 96;

/// FOR TESTS ONLY. Signs `body` the way Stripe does and writes the resulting
/// `Stripe-Signature` header value (`t=<timestamp>,v1=<64 hex>`, at most
/// `TB_SIGNATURE_HEADER_MAX` bytes, not NUL-terminated) into `buf`; `*out_n` receives its
/// length. Lets tests and examples produce deliveries that `tb_engine_handle_webhook` accepts
/// without a Stripe account.
///
/// `body` is raw bytes; `secret` must be non-empty UTF-8 (`TB_RESULT_SECRET_INVALID`,
/// `TB_RESULT_INVALID_UTF8`). The secret is not kept. `TB_RESULT_BUFFER_TOO_SMALL` when
/// `buf_len` is too small. Out-parameters are written only on `TB_RESULT_OK`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_sign_test_payload(
    body: *const u8,
    body_len: usize,
    secret: *const u8,
    secret_len: usize,
    timestamp: i64,
    buf: *mut u8,
    buf_len: usize,
    out_n: *mut usize,
) -> tb_result {
    ffi_boundary! {
        let out_n = try_mut!(out_n);
        let buf = try_slice_mut!(buf, buf_len);
        let body = try_slice!(body, body_len);
        let secret = try_str!(secret, secret_len);
        if secret.is_empty() {
            return tb_result::SecretInvalid;
        }
        let header = tollbooth::verify::sign_for_test(body, secret, timestamp);
        *out_n = try_ok!(copy_text(header.as_bytes(), buf));
        tb_result::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_matches_both_manifests() {
        let v = tb_version();
        // SAFETY: tb_version returns a static view.
        let s = unsafe { std::slice::from_raw_parts(v.ptr, v.len) };
        assert_eq!(s, env!("CARGO_PKG_VERSION").as_bytes());
        let core = include_str!("../../../Cargo.toml");
        let line = core
            .lines()
            .find(|l| l.starts_with("version = "))
            .expect("core version line");
        assert_eq!(line, format!("version = \"{}\"", env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn longest_signature_header_fits() {
        let h = tollbooth::verify::sign_for_test(b"{}", "whsec_x", i64::MIN);
        assert!(h.len() <= TB_SIGNATURE_HEADER_MAX, "{}", h.len());
    }
}
