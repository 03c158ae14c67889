//! One error type, one code table.
//!
//! Messages are for humans; [`ErrorCode`] is for machines. The same code reaches C as a
//! `uint32_t` (`TB_RESULT_*`) and JavaScript as `err.code` (a string), so every face of the
//! library maps a failure the same way: signature and payload codes are the sender's fault
//! (HTTP 400, Stripe will not retry usefully), store codes are ours (HTTP 500, Stripe retries).
//!
//! Numbers are grouped by module and never reused. A retired code stays behind as a comment.

use std::fmt;

/// Crate-wide result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Stable machine-readable error codes shared by the Rust, C and JavaScript faces.
///
/// The numeric value is part of the C ABI; the string from [`ErrorCode::as_str`] is part of the
/// JavaScript API. Neither ever changes meaning.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ErrorCode {
    /// Success (only used across the C boundary).
    Ok = 0,
    /// A panic was caught at a binding boundary. Always a bug in tollbooth.
    Panic = 1,
    /// A required pointer argument was NULL (C only).
    NullParameter = 2,
    /// An argument was out of range or otherwise unusable.
    InvalidArgument = 3,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 4,
    /// The caller's output buffer was too small (C only).
    BufferTooSmall = 5,
    /// The engine configuration is unusable (no secret, bad tolerance, ...).
    ConfigInvalid = 6,
    /// The engine was already closed.
    Closed = 7,

    /// No `Stripe-Signature` header was given.
    SignatureHeaderMissing = 100,
    /// The header has no usable `t=` or no `v1=` entry, or cannot be parsed.
    SignatureHeaderInvalid = 101,
    /// No `v1` signature matched any configured secret.
    SignatureMismatch = 102,
    /// The signed timestamp is older (or further in the future) than the tolerance.
    TimestampOutOfTolerance = 103,
    /// A configured webhook secret is empty.
    SecretInvalid = 104,
    /// The body exceeds the configured size limit (checked before hashing).
    PayloadTooLarge = 105,

    /// The (verified) body is not valid JSON or not an event envelope.
    PayloadInvalidJson = 200,
    /// A field the event type needs is missing or has the wrong type.
    EventFieldMissing = 201,
    /// A test-mode event reached a live deployment (or the reverse).
    LivemodeMismatch = 202,
    /// `apply_snapshot` got an object type it does not handle.
    SnapshotUnsupported = 203,

    /// The database could not be opened or initialised.
    StoreOpenFailed = 300,
    /// The database stayed locked beyond the busy timeout; retry later.
    StoreBusy = 301,
    /// The database was written by a newer tollbooth; refusing to touch it.
    StoreSchemaTooNew = 302,
    /// Any other database failure (the message and `source()` say which).
    StoreError = 303,
    /// The disk or the database size limit is full.
    StoreFull = 304,
    /// The database file is read-only.
    StoreReadonly = 305,
    /// The database file is corrupt or not a database, or a row holds a value no version of
    /// tollbooth writes.
    StoreCorrupt = 306,
    /// The database server refused or lost the connection (down, restarting, unreachable,
    /// pool exhausted); retry later.
    StoreUnavailable = 307,
    /// A statement ran past the configured statement timeout; retry later.
    StoreTimeout = 308,

    /// A state transition that the billing rules forbid was requested.
    TransitionInvalid = 400,

    /// No job has this id (or it is not in the state the call needs).
    JobNotFound = 500,
    /// The caller's lease on the job ended; another worker may own it now.
    LeaseLost = 501,
}

impl ErrorCode {
    /// Every code, in numeric order. Tests use it to keep the three faces in step.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::Ok,
        ErrorCode::Panic,
        ErrorCode::NullParameter,
        ErrorCode::InvalidArgument,
        ErrorCode::InvalidUtf8,
        ErrorCode::BufferTooSmall,
        ErrorCode::ConfigInvalid,
        ErrorCode::Closed,
        ErrorCode::SignatureHeaderMissing,
        ErrorCode::SignatureHeaderInvalid,
        ErrorCode::SignatureMismatch,
        ErrorCode::TimestampOutOfTolerance,
        ErrorCode::SecretInvalid,
        ErrorCode::PayloadTooLarge,
        ErrorCode::PayloadInvalidJson,
        ErrorCode::EventFieldMissing,
        ErrorCode::LivemodeMismatch,
        ErrorCode::SnapshotUnsupported,
        ErrorCode::StoreOpenFailed,
        ErrorCode::StoreBusy,
        ErrorCode::StoreSchemaTooNew,
        ErrorCode::StoreError,
        ErrorCode::StoreFull,
        ErrorCode::StoreReadonly,
        ErrorCode::StoreCorrupt,
        ErrorCode::StoreUnavailable,
        ErrorCode::StoreTimeout,
        ErrorCode::TransitionInvalid,
        ErrorCode::JobNotFound,
        ErrorCode::LeaseLost,
    ];

    /// The stable string form, e.g. `"SIGNATURE_MISMATCH"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Ok => "OK",
            ErrorCode::Panic => "PANIC",
            ErrorCode::NullParameter => "NULL_PARAMETER",
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::InvalidUtf8 => "INVALID_UTF8",
            ErrorCode::BufferTooSmall => "BUFFER_TOO_SMALL",
            ErrorCode::ConfigInvalid => "CONFIG_INVALID",
            ErrorCode::Closed => "CLOSED",
            ErrorCode::SignatureHeaderMissing => "SIGNATURE_HEADER_MISSING",
            ErrorCode::SignatureHeaderInvalid => "SIGNATURE_HEADER_INVALID",
            ErrorCode::SignatureMismatch => "SIGNATURE_MISMATCH",
            ErrorCode::TimestampOutOfTolerance => "TIMESTAMP_OUT_OF_TOLERANCE",
            ErrorCode::SecretInvalid => "SECRET_INVALID",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::PayloadInvalidJson => "PAYLOAD_INVALID_JSON",
            ErrorCode::EventFieldMissing => "EVENT_FIELD_MISSING",
            ErrorCode::LivemodeMismatch => "LIVEMODE_MISMATCH",
            ErrorCode::SnapshotUnsupported => "SNAPSHOT_UNSUPPORTED",
            ErrorCode::StoreOpenFailed => "STORE_OPEN_FAILED",
            ErrorCode::StoreBusy => "STORE_BUSY",
            ErrorCode::StoreSchemaTooNew => "STORE_SCHEMA_TOO_NEW",
            ErrorCode::StoreError => "STORE_ERROR",
            ErrorCode::StoreFull => "STORE_FULL",
            ErrorCode::StoreReadonly => "STORE_READONLY",
            ErrorCode::StoreCorrupt => "STORE_CORRUPT",
            ErrorCode::StoreUnavailable => "STORE_UNAVAILABLE",
            ErrorCode::StoreTimeout => "STORE_TIMEOUT",
            ErrorCode::TransitionInvalid => "TRANSITION_INVALID",
            ErrorCode::JobNotFound => "JOB_NOT_FOUND",
            ErrorCode::LeaseLost => "LEASE_LOST",
        }
    }

    /// The numeric form used by the C ABI.
    pub const fn as_u32(self) -> u32 {
        self as u32
    }

    /// Looks a numeric code up; `None` for numbers that were never assigned.
    pub fn from_u32(n: u32) -> Option<ErrorCode> {
        Self::ALL.iter().copied().find(|c| c.as_u32() == n)
    }

    /// A short, static, human description (what `tb_result_message` returns).
    pub const fn description(self) -> &'static str {
        match self {
            ErrorCode::Ok => "success",
            ErrorCode::Panic => "internal panic caught at the API boundary (a tollbooth bug)",
            ErrorCode::NullParameter => "a required pointer argument was NULL",
            ErrorCode::InvalidArgument => "an argument was invalid",
            ErrorCode::InvalidUtf8 => "a string argument was not valid UTF-8",
            ErrorCode::BufferTooSmall => "the output buffer is too small",
            ErrorCode::ConfigInvalid => "the configuration is invalid",
            ErrorCode::Closed => "the engine is closed",
            ErrorCode::SignatureHeaderMissing => "the Stripe-Signature header is missing",
            ErrorCode::SignatureHeaderInvalid => "the Stripe-Signature header is malformed",
            ErrorCode::SignatureMismatch => "no signature matched any configured secret",
            ErrorCode::TimestampOutOfTolerance => {
                "the signature timestamp is outside the tolerance"
            }
            ErrorCode::SecretInvalid => "a webhook secret is invalid",
            ErrorCode::PayloadTooLarge => "the payload exceeds the size limit",
            ErrorCode::PayloadInvalidJson => "the payload is not a valid Stripe event",
            ErrorCode::EventFieldMissing => "a required event field is missing or malformed",
            ErrorCode::LivemodeMismatch => "the event's livemode does not match this deployment",
            ErrorCode::SnapshotUnsupported => "the snapshot object type is not supported",
            ErrorCode::StoreOpenFailed => "the store could not be opened",
            ErrorCode::StoreBusy => "the store is busy; retry",
            ErrorCode::StoreSchemaTooNew => "the store was written by a newer version",
            ErrorCode::StoreError => "a database error occurred",
            ErrorCode::StoreFull => "the database or disk is full",
            ErrorCode::StoreReadonly => "the database is read-only",
            ErrorCode::StoreCorrupt => "the database is corrupt",
            ErrorCode::StoreUnavailable => "the database server is unavailable; retry",
            ErrorCode::StoreTimeout => "a database statement timed out; retry",
            ErrorCode::TransitionInvalid => "the requested state transition is not allowed",
            ErrorCode::JobNotFound => "no such job",
            ErrorCode::LeaseLost => "the job lease has expired or was taken over",
        }
    }

    /// `true` for failures caused by the request itself (map to HTTP 400; Stripe should not
    /// retry), `false` for failures on our side (map to HTTP 500; Stripe retries).
    pub const fn is_client_error(self) -> bool {
        matches!(self.as_u32(), 100..=299)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for ErrorCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// The underlying failure (a driver's error), shared so `Error` stays cheap to clone.
type Source = std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>;

/// The crate error: a code plus a human message, and the driver error behind it as
/// `source()` when there is one.
///
/// The message never contains a webhook secret, a signature, a password or a request body:
/// the code that builds it only ever receives lengths, ids and reasons.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    code: ErrorCode,
    message: String,
    #[source]
    source: Option<Source>,
}

/// Two errors are equal when code and message are: the source is context, not identity.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code && self.message == other.message
    }
}

impl Eq for Error {}

impl Error {
    /// Builds an error. `message` must not contain secrets or raw bodies.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            source: None,
        }
    }

    /// Builds an error that keeps `source` as its [`std::error::Error::source`]. The source's
    /// own text must be as free of secrets as `message`.
    pub fn with_source(
        code: ErrorCode,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error {
            code,
            message: message.into(),
            source: Some(std::sync::Arc::new(source)),
        }
    }

    /// The stable machine code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human message (without the code prefix that `Display` adds).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode as Sq;
        let code = match e.sqlite_error_code() {
            Some(Sq::DatabaseBusy) | Some(Sq::DatabaseLocked) => ErrorCode::StoreBusy,
            Some(Sq::DiskFull) => ErrorCode::StoreFull,
            Some(Sq::ReadOnly) => ErrorCode::StoreReadonly,
            Some(Sq::DatabaseCorrupt) | Some(Sq::NotADatabase) => ErrorCode::StoreCorrupt,
            _ => match e {
                // A column that no version writes (see `store::sqlite::corrupt`).
                rusqlite::Error::FromSqlConversionFailure(..) => ErrorCode::StoreCorrupt,
                _ => ErrorCode::StoreError,
            },
        };
        Error::with_source(code, e.to_string(), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_u32()), "duplicate number {}", c.as_u32());
            assert_eq!(ErrorCode::from_u32(c.as_u32()), Some(*c));
            assert!(
                c.as_str()
                    .chars()
                    .all(|ch| ch.is_ascii_uppercase() || ch == '_' || ch.is_ascii_digit())
            );
        }
        assert_eq!(ErrorCode::from_u32(99), None);
        assert_eq!(ErrorCode::SignatureMismatch.as_u32(), 102);
    }

    #[test]
    fn client_errors_are_signature_and_payload_codes() {
        assert!(ErrorCode::SignatureMismatch.is_client_error());
        assert!(ErrorCode::PayloadInvalidJson.is_client_error());
        assert!(!ErrorCode::StoreBusy.is_client_error());
        assert!(!ErrorCode::Panic.is_client_error());
    }

    #[test]
    fn a_driver_error_stays_reachable_as_the_source() {
        use std::error::Error as _;
        let e = Error::from(rusqlite::Error::InvalidQuery);
        assert_eq!(e.code(), ErrorCode::StoreError);
        assert!(e.source().is_some());
        assert!(Error::new(ErrorCode::StoreBusy, "x").source().is_none());
    }

    #[test]
    fn display_has_code_then_message() {
        let e = Error::new(ErrorCode::StoreBusy, "locked");
        assert_eq!(e.to_string(), "STORE_BUSY: locked");
    }
}
