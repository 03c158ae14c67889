//! The three rules every export follows, as macros: no panic crosses the boundary, no NULL is
//! dereferenced, and no caller string is trusted to be UTF-8.
//!
//! The macros are used *inside* literal `#[unsafe(no_mangle)] pub extern "C" fn` items, so
//! cbindgen sees every export without macro expansion.

use crate::results::tb_result;
use crate::strings::tb_str;

/// The value an export returns when its body panicked.
pub(crate) trait PanicDefault {
    fn panic_value() -> Self;
}

impl PanicDefault for tb_result {
    fn panic_value() -> Self {
        tb_result::Panic
    }
}

impl PanicDefault for () {
    fn panic_value() -> Self {}
}

/// A status of 0 means "no such code" (and, after a panic, "no answer").
impl PanicDefault for u16 {
    fn panic_value() -> Self {
        0
    }
}

impl PanicDefault for tb_str {
    fn panic_value() -> Self {
        tb_str::EMPTY
    }
}

/// Runs the body under `catch_unwind`; a panic becomes `TB_RESULT_PANIC` (or the return
/// type's [`PanicDefault`]). `return` inside the body returns from the export.
macro_rules! ffi_boundary {
    ($($body:tt)*) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| { $($body)* })) {
            Ok(value) => value,
            Err(_) => $crate::boundary::PanicDefault::panic_value(),
        }
    };
}

/// `*const T` to `&T`, or `return TB_RESULT_NULL_PARAMETER`.
macro_rules! try_ref {
    ($ptr:expr) => {{
        let ptr = $ptr;
        // SAFETY: the header requires every non-NULL pointer argument to point to a live,
        // properly aligned object of the documented type for the duration of the call; NULL
        // is handled by `as_ref`.
        match unsafe { ptr.as_ref() } {
            Some(r) => r,
            None => return $crate::results::tb_result::NullParameter,
        }
    }};
}

/// `*mut T` to `&mut T`, or `return TB_RESULT_NULL_PARAMETER`.
macro_rules! try_mut {
    ($ptr:expr) => {{
        let ptr = $ptr;
        // SAFETY: as for `try_ref!`; out-parameters must additionally be writable and not
        // aliased by another argument.
        match unsafe { ptr.as_mut() } {
            Some(r) => r,
            None => return $crate::results::tb_result::NullParameter,
        }
    }};
}

/// `(const uint8_t *ptr, size_t len)` to `&[u8]`, or `return TB_RESULT_NULL_PARAMETER` for a
/// NULL pointer (even with `len == 0`) and `TB_RESULT_INVALID_ARGUMENT` for an impossible
/// length.
macro_rules! try_slice {
    ($ptr:expr, $len:expr) => {{
        let (ptr, len): (*const u8, usize) = ($ptr, $len);
        if ptr.is_null() {
            return $crate::results::tb_result::NullParameter;
        }
        if len > isize::MAX as usize {
            return $crate::results::tb_result::InvalidArgument;
        }
        // SAFETY: non-NULL (checked above); the header requires `ptr` to point to `len`
        // readable bytes that stay unchanged for the duration of the call.
        unsafe { ::std::slice::from_raw_parts(ptr, len) }
    }};
}

/// `try_slice!`, except that NULL with length 0 is the empty slice (an absent body or header).
macro_rules! try_slice_or_empty {
    ($ptr:expr, $len:expr) => {{
        let (ptr, len): (*const u8, usize) = ($ptr, $len);
        let bytes: &[u8] = if ptr.is_null() && len == 0 {
            &[]
        } else {
            try_slice!(ptr, len)
        };
        bytes
    }};
}

/// Like `try_slice!` for `uint8_t *buf, size_t len` output buffers.
macro_rules! try_slice_mut {
    ($ptr:expr, $len:expr) => {{
        let (ptr, len): (*mut u8, usize) = ($ptr, $len);
        if ptr.is_null() {
            return $crate::results::tb_result::NullParameter;
        }
        if len > isize::MAX as usize {
            return $crate::results::tb_result::InvalidArgument;
        }
        // SAFETY: non-NULL (checked above); the header requires `ptr` to point to `len`
        // writable bytes that no other argument aliases.
        unsafe { ::std::slice::from_raw_parts_mut(ptr, len) }
    }};
}

/// `(const uint8_t *ptr, size_t len)` to `&str`, or the `try_slice!` codes, or
/// `return TB_RESULT_INVALID_UTF8`.
macro_rules! try_str {
    ($ptr:expr, $len:expr) => {{
        let bytes = try_slice!($ptr, $len);
        match ::std::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(_) => return $crate::results::tb_result::InvalidUtf8,
        }
    }};
}

/// Unwraps a `Result<T, tb_result>` or returns its error code.
macro_rules! try_ok {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(code) => return code,
        }
    };
}

/// `From<$core>` for a C enum whose variants carry the same names as the core enum's: the
/// mapping is the variant list, written once. cbindgen reads the C enum itself (it does not
/// expand macros), so the enum with its numbers and docs stays spelled out beside it.
macro_rules! from_same_variants {
    ($core:ident => $c:ident { $($v:ident),+ $(,)? }) => {
        impl From<$core> for $c {
            fn from(s: $core) -> Self {
                match s {
                    $($core::$v => $c::$v,)+
                }
            }
        }
    };
}

/// Moves `value` to the heap and hands C a pointer to its first field, the `#[repr(C)]` view.
///
/// `Owned` is `#[repr(C)]` with the view first, so a pointer to the `Owned` is a pointer to
/// the view; the `_free` function of each type casts it back.
pub(crate) fn into_raw_view<V, K>(owned: Owned<V, K>) -> *mut V {
    Box::into_raw(Box::new(owned)).cast::<V>()
}

/// A C-visible view plus the Rust values its pointers borrow from.
#[repr(C)]
pub(crate) struct Owned<V, K> {
    /// What C reads. Never read back by Rust.
    pub(crate) view: V,
    /// Keeps the strings and arrays the view points into alive; freed with the box.
    pub(crate) _keep: K,
}

/// Frees a pointer made by [`into_raw_view`]; NULL is a no-op.
///
/// # Safety
/// `ptr` must be NULL or come from `into_raw_view::<V, K>` with the same `V` and `K`, and
/// must not be used afterwards.
pub(crate) unsafe fn free_view<V, K>(ptr: *mut V) {
    if !ptr.is_null() {
        // SAFETY: guaranteed by the caller: `ptr` is the start of a `Box<Owned<V, K>>` leaked
        // by `into_raw_view`, freed exactly once.
        drop(unsafe { Box::from_raw(ptr.cast::<Owned<V, K>>()) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panics_with_code() -> tb_result {
        ffi_boundary! {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            tb_result::Ok
        }
    }

    fn panics_with_str() -> tb_str {
        ffi_boundary! {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            tb_str::NONE
        }
    }

    fn null_check(p: *const u8) -> tb_result {
        ffi_boundary! {
            let _ = try_ref!(p);
            tb_result::Ok
        }
    }

    fn slice_check(p: *const u8, len: usize) -> tb_result {
        ffi_boundary! {
            let _ = try_str!(p, len);
            tb_result::Ok
        }
    }

    #[test]
    fn a_panic_becomes_the_panic_value() {
        assert_eq!(panics_with_code(), tb_result::Panic);
        let s = panics_with_str();
        assert_eq!(s.len, 0);
        assert!(!s.ptr.is_null(), "the empty string, not the absent one");
    }

    #[test]
    fn pointer_macros_reject_null_huge_lengths_and_bad_utf8() {
        let byte = 7u8;
        assert_eq!(null_check(std::ptr::null()), tb_result::NullParameter);
        assert_eq!(null_check(&byte), tb_result::Ok);
        assert_eq!(slice_check(std::ptr::null(), 0), tb_result::NullParameter);
        assert_eq!(slice_check(b"ok".as_ptr(), 2), tb_result::Ok);
        assert_eq!(slice_check(b"\xff".as_ptr(), 1), tb_result::InvalidUtf8);
        assert_eq!(
            slice_check(b"x".as_ptr(), isize::MAX as usize + 1),
            tb_result::InvalidArgument
        );
    }
}
