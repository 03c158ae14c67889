//! PostgreSQL failures to tollbooth codes. What a caller must tell apart:
//! - transient, retry later (HTTP 500, Stripe retries): `STORE_UNAVAILABLE` for a refused or
//!   lost connection, a server shutting down or starting, too many connections, a pool timeout;
//!   `STORE_TIMEOUT` for a statement cancelled by `statement_timeout`;
//! - fix the configuration: `STORE_OPEN_FAILED` for a wrong password, an unknown role or
//!   database, a certificate that does not verify;
//! - everything else: the backend-neutral store error code.
//!
//! Messages carry the server's message and SQLSTATE, never the connection string or password
//! (the server never echoes a password; the client's own errors do not hold the config).

use std::error::Error as _;

use postgres::error::SqlState;

use crate::error::{Error, ErrorCode};

/// How the store reacts to a failed statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Deadlock or serialization failure: roll back and run the transaction again.
    Retry,
    /// The connection is unusable: drop it.
    Broken,
    /// The statement failed; the connection is fine after a rollback.
    Failed,
}

/// Classifies a client error.
pub(super) fn kind(e: &postgres::Error) -> Kind {
    if let Some(db) = e.as_db_error() {
        let c = db.code();
        if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE {
            return Kind::Retry;
        }
        if is_unavailable_state(c) {
            return Kind::Broken;
        }
        return Kind::Failed;
    }
    if e.is_closed() || io_source(e).is_some() || tls_source(e).is_some() {
        return Kind::Broken;
    }
    // Protocol confusion or an error from the client itself: do not reuse the connection.
    Kind::Broken
}

fn is_unavailable_state(c: &SqlState) -> bool {
    let s = c.code();
    s.starts_with("08") // connection exception
        || *c == SqlState::ADMIN_SHUTDOWN
        || *c == SqlState::CRASH_SHUTDOWN
        || *c == SqlState::CANNOT_CONNECT_NOW
        || *c == SqlState::TOO_MANY_CONNECTIONS
}

fn io_source(e: &postgres::Error) -> Option<&std::io::Error> {
    let mut src = e.source();
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        src = s.source();
    }
    None
}

fn tls_source(e: &postgres::Error) -> Option<&rustls::Error> {
    let mut src = e.source();
    while let Some(s) = src {
        if let Some(t) = s.downcast_ref::<rustls::Error>() {
            return Some(t);
        }
        // tokio-rustls wraps the rustls error in an io::Error, whose `source()` skips it.
        if let Some(t) = s
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(t);
        }
        src = s.source();
    }
    None
}

/// The code a server's SQLSTATE maps to (the server answered; the connection is fine).
fn sqlstate_code(c: &SqlState) -> ErrorCode {
    if *c == SqlState::QUERY_CANCELED {
        ErrorCode::StoreTimeout
    } else if is_unavailable_state(c) {
        ErrorCode::StoreUnavailable
    } else if *c == SqlState::DISK_FULL
        || *c == SqlState::OUT_OF_MEMORY
        || *c == SqlState::PROGRAM_LIMIT_EXCEEDED
    {
        ErrorCode::StoreFull
    } else if *c == SqlState::READ_ONLY_SQL_TRANSACTION {
        ErrorCode::StoreReadonly
    } else if *c == SqlState::DATA_CORRUPTED || *c == SqlState::INDEX_CORRUPTED {
        ErrorCode::StoreCorrupt
    } else if *c == SqlState::INVALID_PASSWORD
        || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        || *c == SqlState::INVALID_CATALOG_NAME
        || *c == SqlState::INSUFFICIENT_PRIVILEGE
    {
        ErrorCode::StoreOpenFailed
    } else if *c == SqlState::T_R_DEADLOCK_DETECTED
        || *c == SqlState::T_R_SERIALIZATION_FAILURE
        || *c == SqlState::LOCK_NOT_AVAILABLE
    {
        ErrorCode::StoreBusy
    } else {
        ErrorCode::StoreError
    }
}

/// Maps an error from an open connection's statement.
pub(super) fn map(e: &postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let c = db.code();
        let msg = format!("{} ({})", db.message(), c.code());
        let code = sqlstate_code(c);
        return Error::with_source(code, format!("PostgreSQL: {msg}"), db.clone());
    }
    if let Some(t) = tls_source(e) {
        return Error::new(
            ErrorCode::StoreOpenFailed,
            format!("PostgreSQL TLS: the server's certificate was refused: {t}"),
        );
    }
    if let Some(io) = io_source(e) {
        return Error::new(
            ErrorCode::StoreUnavailable,
            format!("PostgreSQL server unreachable: {io}"),
        );
    }
    if e.is_closed() {
        return Error::new(
            ErrorCode::StoreUnavailable,
            "PostgreSQL connection closed (server restarted or the network dropped it)",
        );
    }
    // The client's own errors (timeouts, TLS refused by the server under verify-full, ...).
    let text = e.to_string();
    let code = if text.contains("timed out") || text.contains("timeout") {
        ErrorCode::StoreUnavailable
    } else if text.contains("TLS") || text.contains("ssl") || text.contains("SSL") {
        ErrorCode::StoreOpenFailed
    } else {
        ErrorCode::StoreUnavailable
    };
    Error::new(code, format!("PostgreSQL: {text}"))
}

/// Maps an error from establishing a connection: as [`map`], with the open-time wording.
pub(super) fn map_connect(e: &postgres::Error) -> Error {
    let err = map(e);
    match err.code() {
        ErrorCode::StoreOpenFailed | ErrorCode::StoreUnavailable => {
            Error::new(err.code(), format!("cannot connect: {}", err.message()))
        }
        _ => Error::new(
            ErrorCode::StoreOpenFailed,
            format!("cannot connect: {}", err.message()),
        ),
    }
}
