//! One error type, one code table.
//!
//! Messages are for humans; [`ErrorCode`] is for machines. The same code reaches C as a
//! `uint32_t` (`TB_RESULT_*`) and JavaScript as `err.code` (a string), so every face of the
//! library maps a failure the same way, through [`ErrorCode::http_status`]: a request that is
//! not an authentic Stripe delivery gets 400; everything on our side gets 500, so Stripe
//! retries it once we recover.
//!
//! Numbers are grouped by module and never reused. A retired code stays behind as a comment.

use std::fmt;

/// Crate-wide result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Declares the code table once: each row is the variant, its number, its string, the HTTP
/// status a webhook route answers with it, and its human description. [`ErrorCode`], `ALL`,
/// `as_str`, `http_status` and `description` are all generated from these rows, and the C
/// header, the TypeScript union and the Python table are checked against `ALL` by tests.
macro_rules! code_table {
    ($( $(#[$doc:meta])* $variant:ident = $num:literal, $name:literal, $http:literal, $desc:literal; )*) => {
        /// Stable machine-readable error codes shared by the Rust, C and JavaScript faces.
        ///
        /// The numeric value is part of the C ABI; the string from [`ErrorCode::as_str`] is
        /// part of the JavaScript API. Neither ever changes meaning.
        #[non_exhaustive]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant = $num, )*
        }

        impl ErrorCode {
            /// Every code, in numeric order. Tests use it to keep the three faces in step.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The stable string form, e.g. `"SIGNATURE_MISMATCH"`.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name,)* }
            }

            /// The HTTP status a webhook route answers when `handle_webhook` fails with this
            /// code: 400 for a request that is not an authentic Stripe delivery (Stripe keeps
            /// retrying any non-2xx for up to three days, then may disable the endpoint, so
            /// only unauthenticated input gets one), 500 for everything on our side (Stripe's
            /// retries then deliver it once we recover).
            pub const fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $http,)* }
            }

            /// A short, static, human description (what `tb_result_message` returns).
            pub const fn description(self) -> &'static str {
                match self { $(ErrorCode::$variant => $desc,)* }
            }
        }
    };
}

code_table! {
    /// Success (only used across the C boundary).
    Ok = 0, "OK", 200, "success";
    /// A panic was caught at a binding boundary. Always a bug in tollbooth.
    Panic = 1, "PANIC", 500, "internal panic caught at the API boundary (a tollbooth bug)";
    /// A required pointer argument was NULL (C only).
    NullParameter = 2, "NULL_PARAMETER", 500, "a required pointer argument was NULL";
    /// An argument was out of range or otherwise unusable.
    InvalidArgument = 3, "INVALID_ARGUMENT", 500, "an argument was invalid";
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 4, "INVALID_UTF8", 500, "a string argument was not valid UTF-8";
    /// The caller's output buffer was too small (C only).
    BufferTooSmall = 5, "BUFFER_TOO_SMALL", 500, "the output buffer is too small";
    /// The engine configuration is unusable (no secret, bad tolerance, ...).
    ConfigInvalid = 6, "CONFIG_INVALID", 500, "the configuration is invalid";
    /// The engine was already closed.
    Closed = 7, "CLOSED", 500, "the engine is closed";

    /// No `Stripe-Signature` header was given.
    SignatureHeaderMissing = 100, "SIGNATURE_HEADER_MISSING", 400, "the Stripe-Signature header is missing";
    /// The header has no usable `t=` or no `v1=` entry, or cannot be parsed.
    SignatureHeaderInvalid = 101, "SIGNATURE_HEADER_INVALID", 400, "the Stripe-Signature header is malformed";
    /// No `v1` signature matched any configured secret.
    SignatureMismatch = 102, "SIGNATURE_MISMATCH", 400, "no signature matched any configured secret";
    /// The signed timestamp is older (or further in the future) than the tolerance.
    TimestampOutOfTolerance = 103, "TIMESTAMP_OUT_OF_TOLERANCE", 400, "the signature timestamp is outside the tolerance";
    /// A configured webhook secret is empty or malformed: a configuration error on our side.
    SecretInvalid = 104, "SECRET_INVALID", 500, "a webhook secret is invalid";
    /// The body exceeds the configured size limit (checked before hashing).
    PayloadTooLarge = 105, "PAYLOAD_TOO_LARGE", 400, "the payload exceeds the size limit";

    /// The body is not valid JSON or not an event envelope. An authentic delivery with this
    /// problem is quarantined (stored, answered 2xx), so a route only sees it from
    /// `apply_snapshot` or an import.
    PayloadInvalidJson = 200, "PAYLOAD_INVALID_JSON", 400, "the payload is not a valid Stripe event";
    /// A field the event type needs is missing or has the wrong type (quarantined when it
    /// comes from an authentic delivery).
    EventFieldMissing = 201, "EVENT_FIELD_MISSING", 400, "a required event field is missing or malformed";
    /// A test-mode event reached a live deployment (or the reverse); quarantined when it
    /// comes from an authentic delivery.
    LivemodeMismatch = 202, "LIVEMODE_MISMATCH", 400, "the event's livemode does not match this deployment";
    /// `apply_snapshot` got an object type it does not handle.
    SnapshotUnsupported = 203, "SNAPSHOT_UNSUPPORTED", 400, "the snapshot object type is not supported";
    /// A Connect event (one with a top-level `account`) reached an endpoint configured not to
    /// take them. Never an error answer: the reason of an `ignored` (2xx) outcome.
    ConnectEventRefused = 204, "CONNECT_EVENT_REFUSED", 400, "this endpoint does not accept Connect events";

    /// The database could not be opened or initialised.
    StoreOpenFailed = 300, "STORE_OPEN_FAILED", 500, "the store could not be opened";
    /// The database stayed locked beyond the busy timeout; retry later.
    StoreBusy = 301, "STORE_BUSY", 500, "the store is busy; retry";
    /// The database was written by a newer tollbooth; refusing to touch it.
    StoreSchemaTooNew = 302, "STORE_SCHEMA_TOO_NEW", 500, "the store was written by a newer version";
    /// Any other database failure (the message and `source()` say which).
    StoreError = 303, "STORE_ERROR", 500, "a database error occurred";
    /// The disk or the database size limit is full.
    StoreFull = 304, "STORE_FULL", 500, "the database or disk is full";
    /// The database file is read-only.
    StoreReadonly = 305, "STORE_READONLY", 500, "the database is read-only";
    /// The database file is corrupt or not a database, or a row holds a value no version of
    /// tollbooth writes.
    StoreCorrupt = 306, "STORE_CORRUPT", 500, "the database is corrupt";
    /// The database server refused or lost the connection (down, restarting, unreachable,
    /// pool exhausted); retry later.
    StoreUnavailable = 307, "STORE_UNAVAILABLE", 500, "the database server is unavailable; retry";
    /// A statement ran past the configured statement timeout; retry later.
    StoreTimeout = 308, "STORE_TIMEOUT", 500, "a database statement timed out; retry";

    // 400 (TRANSITION_INVALID) is retired: no billing rule ever refused a transition.

    /// No job has this id (or it is not in the state the call needs).
    JobNotFound = 500, "JOB_NOT_FOUND", 500, "no such job";
    /// The caller's lease on the job ended; another worker may own it now.
    LeaseLost = 501, "LEASE_LOST", 500, "the job lease has expired or was taken over";

    // 600-605: tollbooth's own calls to the Stripe API (sync, catch-up, reconcile). Never the
    // answer to a webhook; 500 because they are failures on our side of a request we made.

    /// Stripe refused the API key (HTTP 401) or its permissions (HTTP 403). Not retried.
    StripeAuth = 600, "STRIPE_AUTH", 500, "Stripe refused the API key or its permissions";
    /// Stripe kept answering HTTP 429 beyond the retry budget (or asked for a longer wait).
    StripeRateLimited = 601, "STRIPE_RATE_LIMITED", 500, "Stripe rate-limited the requests beyond the retry budget";
    /// Stripe answered 5xx, timed out or could not be reached beyond the retry budget.
    StripeUnavailable = 602, "STRIPE_UNAVAILABLE", 500, "the Stripe API failed or was unreachable; retry later";
    /// The object or event does not exist in this Stripe account and mode (HTTP 404).
    StripeNotFound = 603, "STRIPE_NOT_FOUND", 500, "the Stripe object does not exist";
    /// Stripe rejected the request as invalid (any other 4xx). Not retried.
    StripeRequestInvalid = 604, "STRIPE_REQUEST_INVALID", 500, "Stripe rejected the request as invalid";
    /// Stripe's answer was not the JSON shape the client expects (or exceeded the size limit).
    StripeResponseInvalid = 605, "STRIPE_RESPONSE_INVALID", 500, "the Stripe API answer was not understood";
}

impl ErrorCode {
    /// The numeric form used by the C ABI.
    pub const fn as_u32(self) -> u32 {
        self as u32
    }

    /// Looks a numeric code up; `None` for numbers that were never assigned.
    pub fn from_u32(n: u32) -> Option<ErrorCode> {
        Self::ALL.iter().copied().find(|c| c.as_u32() == n)
    }

    /// Looks a code up by its string form.
    pub fn parse(s: &str) -> Option<ErrorCode> {
        Self::ALL.iter().copied().find(|c| c.as_str() == s)
    }

    /// `true` when a webhook route answers this code with a 4xx ([`ErrorCode::http_status`]).
    pub const fn is_client_error(self) -> bool {
        matches!(self.http_status(), 400..=499)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serialized as its string form, as every face shows it.
impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
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
    fn client_errors_are_unauthenticated_requests_and_a_bad_secret_is_ours() {
        assert!(ErrorCode::SignatureMismatch.is_client_error());
        assert!(ErrorCode::PayloadTooLarge.is_client_error());
        assert!(!ErrorCode::SecretInvalid.is_client_error());
        assert!(!ErrorCode::StoreBusy.is_client_error());
        assert!(!ErrorCode::Panic.is_client_error());
        assert!(!ErrorCode::StripeAuth.is_client_error());
        assert!(!ErrorCode::StripeNotFound.is_client_error());
        for c in ErrorCode::ALL {
            assert!(matches!(c.http_status(), 200 | 400 | 500), "{c}");
            assert_eq!(ErrorCode::parse(c.as_str()), Some(*c));
        }
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
