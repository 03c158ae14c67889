//! Reading a request body (or any byte argument) from a JS value.
//!
//! The signature covers the exact bytes Stripe sent, so a webhook body must arrive as bytes:
//! a `Buffer`, any typed array (a `Uint8Array` from `new Uint8Array(await req.arrayBuffer())`),
//! an `ArrayBuffer` (`await req.arrayBuffer()` itself) or a `DataView`. A string or a parsed
//! object is refused with `INVALID_ARGUMENT` and a sentence saying what to pass instead, rather
//! than napi's bare `InvalidArg`: a string has usually been decoded and may have lost bytes
//! (a BOM, invalid UTF-8), and a parsed object can never verify.

use std::ptr;

use napi::bindgen_prelude::{JsValue, Unknown};
use napi::{Env, ValueType, sys};
use tollbooth::ErrorCode;

/// What a byte argument may also be, besides bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Also {
    /// Bytes only (webhook bodies).
    Nothing,
    /// A string is taken as its UTF-8 bytes (test signing, snapshots).
    Text,
}

/// A byte argument: borrowed from JS memory, or the UTF-8 of a string.
pub enum Bytes<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

impl Bytes<'_> {
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Borrowed(b) => b,
            Bytes::Owned(v) => v,
        }
    }

    /// An owned copy, for work that runs on another thread after the call returns.
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Bytes::Borrowed(b) => b.to_vec(),
            Bytes::Owned(v) => v,
        }
    }
}

/// The bytes of `value`, or `None` when it is not a byte container (the caller then decides
/// what a string or an object means). `what` names the argument in error messages.
///
/// The slice borrows the JS buffer, valid while the current call runs on the JS thread.
pub fn bytes<'a>(
    env: &Env,
    value: &Unknown<'a>,
    what: &str,
    also: Also,
) -> tollbooth::Result<Option<Bytes<'a>>> {
    let raw_env = env.raw();
    let raw = value.raw();
    let check = |status: sys::napi_status| napi_ok(status, what);
    let mut yes = false;
    // SAFETY: every call below gets this call's env and a live value handle, and out
    // pointers to locals; the data pointers napi hands back stay valid while the value is
    // reachable, which it is for the whole of the current call.
    unsafe {
        check(sys::napi_is_typedarray(raw_env, raw, &mut yes))?;
        if yes {
            let mut kind = 0;
            let (mut len, mut data, mut offset) = (0usize, ptr::null_mut(), 0usize);
            check(sys::napi_get_typedarray_info(
                raw_env,
                raw,
                &mut kind,
                &mut len,
                &mut data,
                ptr::null_mut(),
                &mut offset,
            ))?;
            return Ok(Some(Bytes::Borrowed(slice(
                data,
                len * element_width(kind),
            ))));
        }
        check(sys::napi_is_dataview(raw_env, raw, &mut yes))?;
        if yes {
            let (mut len, mut data, mut offset) = (0usize, ptr::null_mut(), 0usize);
            check(sys::napi_get_dataview_info(
                raw_env,
                raw,
                &mut len,
                &mut data,
                ptr::null_mut(),
                &mut offset,
            ))?;
            return Ok(Some(Bytes::Borrowed(slice(data, len))));
        }
        check(sys::napi_is_arraybuffer(raw_env, raw, &mut yes))?;
        if yes {
            let (mut data, mut len) = (ptr::null_mut(), 0usize);
            check(sys::napi_get_arraybuffer_info(
                raw_env, raw, &mut data, &mut len,
            ))?;
            return Ok(Some(Bytes::Borrowed(slice(data, len))));
        }
    }
    not_a_buffer(value, what, also)
}

/// A napi call's status as a result (`what` names the argument being read).
fn napi_ok(status: sys::napi_status, what: &str) -> tollbooth::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(tollbooth::Error::new(
            ErrorCode::InvalidArgument,
            format!("{what} could not be read (napi status {status})"),
        ))
    }
}

/// Bytes per element of a typed array of `kind`.
fn element_width(kind: sys::napi_typedarray_type) -> usize {
    match kind {
        sys::TypedarrayType::int8_array
        | sys::TypedarrayType::uint8_array
        | sys::TypedarrayType::uint8_clamped_array => 1,
        sys::TypedarrayType::int16_array | sys::TypedarrayType::uint16_array => 2,
        sys::TypedarrayType::int32_array
        | sys::TypedarrayType::uint32_array
        | sys::TypedarrayType::float32_array => 4,
        _ => 8,
    }
}

/// `bytes` for a value that is no byte container: a string's UTF-8 when `also` allows it,
/// `None` for what the caller explains itself (a string, an object, nothing), else an error.
fn not_a_buffer<'a>(
    value: &Unknown<'a>,
    what: &str,
    also: Also,
) -> tollbooth::Result<Option<Bytes<'a>>> {
    let fail = |detail: &str| tollbooth::Error::new(ErrorCode::InvalidArgument, detail);
    match value.get_type() {
        Ok(ValueType::String) if also == Also::Text => {
            // SAFETY: `get_type` just said the value is a string.
            let s: String = unsafe { value.cast() }.map_err(|_| fail("not a string"))?;
            Ok(Some(Bytes::Owned(s.into_bytes())))
        }
        Ok(ValueType::String | ValueType::Object | ValueType::Undefined | ValueType::Null) => {
            Ok(None)
        }
        _ => Err(fail(&format!("{what} must be {}", expected(also)))),
    }
}

/// A webhook body: bytes only. A string, an object or nothing is `INVALID_ARGUMENT` with a
/// message that says how to read the raw body.
pub fn webhook_body<'a>(env: &Env, value: &Unknown<'a>) -> tollbooth::Result<Bytes<'a>> {
    if let Some(b) = bytes(env, value, "rawBody", Also::Nothing)? {
        return Ok(b);
    }
    let got = match value.get_type() {
        Ok(ValueType::String) => "a string (decoded text may have lost bytes)",
        Ok(ValueType::Object) => "an object (parsed JSON never verifies)",
        Ok(ValueType::Undefined | ValueType::Null) => "nothing",
        _ => "another type",
    };
    Err(tollbooth::Error::new(
        ErrorCode::InvalidArgument,
        format!(
            "rawBody must be the request's raw bytes ({}), e.g. \
             Buffer.from(await req.arrayBuffer()); got {got}",
            expected(Also::Nothing)
        ),
    ))
}

fn expected(also: Also) -> &'static str {
    match also {
        Also::Nothing => "a Buffer, Uint8Array, ArrayBuffer or DataView",
        Also::Text => "a string, Buffer, Uint8Array, ArrayBuffer or DataView",
    }
}

/// # Safety
/// `data` is null (an empty or detached buffer) or points at `len` readable bytes that
/// outlive `'a`.
unsafe fn slice<'a>(data: *mut std::ffi::c_void, len: usize) -> &'a [u8] {
    if data.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: per this function's contract.
        unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
    }
}
