//! `tb_result`: the C face of `tollbooth::ErrorCode`, and `tb_result_message`.

use tollbooth::ErrorCode;

/// The result of every fallible function. The numbers are `tollbooth::ErrorCode`'s and never
/// change meaning; a retired number stays unused. `TB_RESULT_OK` (0) is the only success.
/// `tb_result_http_status` says which HTTP status a webhook route answers with each. Functions that take a code back from C take a `uint32_t`, never this
/// type, so an unknown number is `TB_RESULT_INVALID_ARGUMENT`, not undefined behaviour.
#[allow(non_camel_case_types)]
#[must_use]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tb_result {
    /// Success.
    Ok = 0,
    /// A panic was caught at the API boundary. Always a bug in tollbooth.
    Panic = 1,
    /// A required pointer argument was NULL.
    NullParameter = 2,
    /// An argument was out of range or otherwise unusable.
    InvalidArgument = 3,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 4,
    /// The caller's output buffer was too small; nothing was written.
    BufferTooSmall = 5,
    /// The engine configuration is unusable (no secret, bad tolerance, ...).
    ConfigInvalid = 6,
    /// The engine was closed with `tb_engine_close`.
    Closed = 7,
    /// The `Stripe-Signature` header was empty.
    SignatureHeaderMissing = 100,
    /// The `Stripe-Signature` header has no usable `t=` or `v1=` entry.
    SignatureHeaderInvalid = 101,
    /// No `v1` signature matched any configured secret.
    SignatureMismatch = 102,
    /// The signed timestamp is outside the tolerance.
    TimestampOutOfTolerance = 103,
    /// A webhook secret is empty.
    SecretInvalid = 104,
    /// The body exceeds the configured size limit.
    PayloadTooLarge = 105,
    /// The verified body is not a Stripe event.
    PayloadInvalidJson = 200,
    /// A field the event type needs is missing or malformed.
    EventFieldMissing = 201,
    /// A test-mode event reached a live-only engine (or the reverse).
    LivemodeMismatch = 202,
    /// A snapshot object type is not supported.
    SnapshotUnsupported = 203,
    /// A Connect event reached an endpoint that does not take them (the reason of an
    /// `ignored` outcome, never returned).
    ConnectEventRefused = 204,
    /// The database could not be opened or initialised.
    StoreOpenFailed = 300,
    /// The database stayed locked beyond the busy timeout; retry later.
    StoreBusy = 301,
    /// The database was written by a newer tollbooth.
    StoreSchemaTooNew = 302,
    /// Any other database failure.
    StoreError = 303,
    /// The disk or the database size limit is full.
    StoreFull = 304,
    /// The database file is read-only.
    StoreReadonly = 305,
    /// The database file is corrupt or not a database.
    StoreCorrupt = 306,
    /// The database server refused or lost the connection; retry later.
    StoreUnavailable = 307,
    /// A database statement timed out; retry later.
    StoreTimeout = 308,
    // 400 (TRANSITION_INVALID) is retired.
    /// No job has this id.
    JobNotFound = 500,
    /// The job's lease expired or another worker holds it now.
    LeaseLost = 501,
    /// Stripe refused the API key (401) or its permissions (403).
    StripeAuth = 600,
    /// Stripe kept answering 429 beyond the retry budget.
    StripeRateLimited = 601,
    /// Stripe answered 5xx, timed out or was unreachable beyond the retry budget.
    StripeUnavailable = 602,
    /// The Stripe object or event does not exist (404).
    StripeNotFound = 603,
    /// Stripe rejected the request as invalid (another 4xx).
    StripeRequestInvalid = 604,
    /// The Stripe API answer was not understood.
    StripeResponseInvalid = 605,
}

impl From<ErrorCode> for tb_result {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::Ok => tb_result::Ok,
            ErrorCode::Panic => tb_result::Panic,
            ErrorCode::NullParameter => tb_result::NullParameter,
            ErrorCode::InvalidArgument => tb_result::InvalidArgument,
            ErrorCode::InvalidUtf8 => tb_result::InvalidUtf8,
            ErrorCode::BufferTooSmall => tb_result::BufferTooSmall,
            ErrorCode::ConfigInvalid => tb_result::ConfigInvalid,
            ErrorCode::Closed => tb_result::Closed,
            ErrorCode::SignatureHeaderMissing => tb_result::SignatureHeaderMissing,
            ErrorCode::SignatureHeaderInvalid => tb_result::SignatureHeaderInvalid,
            ErrorCode::SignatureMismatch => tb_result::SignatureMismatch,
            ErrorCode::TimestampOutOfTolerance => tb_result::TimestampOutOfTolerance,
            ErrorCode::SecretInvalid => tb_result::SecretInvalid,
            ErrorCode::PayloadTooLarge => tb_result::PayloadTooLarge,
            ErrorCode::PayloadInvalidJson => tb_result::PayloadInvalidJson,
            ErrorCode::EventFieldMissing => tb_result::EventFieldMissing,
            ErrorCode::LivemodeMismatch => tb_result::LivemodeMismatch,
            ErrorCode::SnapshotUnsupported => tb_result::SnapshotUnsupported,
            ErrorCode::ConnectEventRefused => tb_result::ConnectEventRefused,
            ErrorCode::StoreOpenFailed => tb_result::StoreOpenFailed,
            ErrorCode::StoreBusy => tb_result::StoreBusy,
            ErrorCode::StoreSchemaTooNew => tb_result::StoreSchemaTooNew,
            ErrorCode::StoreError => tb_result::StoreError,
            ErrorCode::StoreFull => tb_result::StoreFull,
            ErrorCode::StoreReadonly => tb_result::StoreReadonly,
            ErrorCode::StoreCorrupt => tb_result::StoreCorrupt,
            ErrorCode::StoreUnavailable => tb_result::StoreUnavailable,
            ErrorCode::StoreTimeout => tb_result::StoreTimeout,
            ErrorCode::JobNotFound => tb_result::JobNotFound,
            ErrorCode::LeaseLost => tb_result::LeaseLost,
            ErrorCode::StripeAuth => tb_result::StripeAuth,
            ErrorCode::StripeRateLimited => tb_result::StripeRateLimited,
            ErrorCode::StripeUnavailable => tb_result::StripeUnavailable,
            ErrorCode::StripeNotFound => tb_result::StripeNotFound,
            ErrorCode::StripeRequestInvalid => tb_result::StripeRequestInvalid,
            ErrorCode::StripeResponseInvalid => tb_result::StripeResponseInvalid,
            // ErrorCode is #[non_exhaustive]. A code added to the core without a C twin is
            // caught by tests/header.rs (it loops over ErrorCode::ALL), so this arm is a
            // last resort that at least never claims success.
            _ => tb_result::Panic,
        }
    }
}

impl From<&tollbooth::Error> for tb_result {
    fn from(e: &tollbooth::Error) -> Self {
        e.code().into()
    }
}

/// Longest text `tb_result_message`, `tb_engine_last_error` and `tb_config_last_error` ever
/// write, in bytes: a buffer this large never gets `TB_RESULT_BUFFER_TOO_SMALL`. Longer
/// details are cut at a UTF-8 boundary and end in "...".
pub const TB_ERROR_MESSAGE_MAX: usize = 1024;

/// Cuts `text` to at most [`TB_ERROR_MESSAGE_MAX`] bytes on a character boundary.
pub(crate) fn bounded_message(text: &str) -> String {
    if text.len() <= TB_ERROR_MESSAGE_MAX {
        return text.to_owned();
    }
    let mut end = TB_ERROR_MESSAGE_MAX - 3;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Copies `text` into `buf` and returns its length, or `BufferTooSmall` (writing nothing).
pub(crate) fn copy_text(text: &[u8], buf: &mut [u8]) -> Result<usize, tb_result> {
    match buf.get_mut(..text.len()) {
        Some(dst) => {
            dst.copy_from_slice(text);
            Ok(text.len())
        }
        None => Err(tb_result::BufferTooSmall),
    }
}

/// Writes the static description of `result` (e.g. "no signature matched any configured
/// secret") into `buf`: `*out_n` receives the byte count. The text is UTF-8, not
/// NUL-terminated, and at most `TB_ERROR_MESSAGE_MAX` bytes long.
///
/// Returns `TB_RESULT_INVALID_ARGUMENT` for a number that is not a `tb_result`,
/// `TB_RESULT_BUFFER_TOO_SMALL` when `len` is too small, `TB_RESULT_NULL_PARAMETER` when
/// `buf` or `out_n` is NULL. Out-parameters are written only on `TB_RESULT_OK`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_result_message(
    result: u32,
    buf: *mut u8,
    len: usize,
    out_n: *mut usize,
) -> tb_result {
    ffi_boundary! {
        let out_n = try_mut!(out_n);
        let buf = try_slice_mut!(buf, len);
        let Some(code) = ErrorCode::from_u32(result) else {
            return tb_result::InvalidArgument;
        };
        *out_n = try_ok!(copy_text(code.description().as_bytes(), buf));
        tb_result::Ok
    }
}

/// The HTTP status a webhook route answers when `tb_engine_handle_webhook` returns `result`:
/// 200 for `TB_RESULT_OK`, 400 for a request that is not an authentic Stripe delivery, 500 for
/// everything on our side (Stripe retries it). 0 for a number that is not a `tb_result`. The
/// same table as the Rust `ErrorCode::http_status` and the JavaScript `httpStatus`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_result_http_status(result: u32) -> u16 {
    ffi_boundary! {
        ErrorCode::from_u32(result).map_or(0, ErrorCode::http_status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_maps_to_the_same_number() {
        for code in ErrorCode::ALL {
            assert_eq!(tb_result::from(*code) as u32, code.as_u32(), "{code}");
        }
    }

    #[test]
    fn http_status_is_the_core_table() {
        for code in ErrorCode::ALL {
            assert_eq!(tb_result_http_status(code.as_u32()), code.http_status());
        }
        assert_eq!(tb_result_http_status(102), 400);
        assert_eq!(tb_result_http_status(301), 500);
        assert_eq!(tb_result_http_status(9999), 0);
    }

    #[test]
    fn bounded_message_cuts_on_a_char_boundary() {
        let long = "é".repeat(TB_ERROR_MESSAGE_MAX);
        let cut = bounded_message(&long);
        assert!(cut.len() <= TB_ERROR_MESSAGE_MAX);
        assert!(cut.ends_with("..."));
        assert_eq!(bounded_message("short"), "short");
    }

    #[test]
    fn copy_text_writes_nothing_when_too_small() {
        let mut buf = [0u8; 3];
        assert_eq!(copy_text(b"abcd", &mut buf), Err(tb_result::BufferTooSmall));
        assert_eq!(buf, [0, 0, 0]);
        assert_eq!(copy_text(b"abc", &mut buf), Ok(3));
        assert_eq!(&buf, b"abc");
    }
}
