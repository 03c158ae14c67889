//! `tb_config`: the settings `tb_engine_open` reads.

use std::sync::Mutex;

use tollbooth::verify::Secret;
use tollbooth::{Config, Error};

use crate::results::{bounded_message, copy_text, tb_result};

/// Which Stripe mode an engine accepts (`tb_config_set_livemode` takes it as a `uint32_t`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tb_livemode {
    /// Live and test events (the default; for development).
    Any = 0,
    /// Live events only; a test event is `TB_RESULT_LIVEMODE_MISMATCH`.
    LiveOnly = 1,
    /// Test events only; a live event is `TB_RESULT_LIVEMODE_MISMATCH`.
    TestOnly = 2,
}

/// Engine settings. Opaque; made by `tb_config_new`, freed by `tb_config_free`.
///
/// A `tb_config` is not thread-safe: use it from one thread at a time. `tb_engine_open`
/// copies it, so it may be freed (or changed and reused) right after.
#[allow(non_camel_case_types)]
pub struct tb_config {
    config: Config,
    last_error: Mutex<String>,
}

impl tb_config {
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// Records a failure's detail (see `tb_config_last_error`) and returns its code.
    pub(crate) fn fail(&self, e: &Error) -> tb_result {
        let mut slot = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        *slot = bounded_message(&e.to_string());
        e.into()
    }
}

/// Creates a configuration with defaults for the SQLite database at `path` (UTF-8, not
/// NUL-terminated; `":memory:"` for a private in-memory database) and no webhook secret yet.
///
/// Defaults: tolerance 300 s, body limit 1 MiB, past-due grace 0, `TB_LIVEMODE_ANY`, wait
/// budget 2 s,
/// max attempts as `tollbooth::outbox::DEFAULT_MAX_ATTEMPTS` (25). On `TB_RESULT_OK` `*config_out` receives a new config that the caller owns
/// and must release with `tb_config_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_config_new(
    path: *const u8,
    path_len: usize,
    config_out: *mut *mut tb_config,
) -> tb_result {
    ffi_boundary! {
        let out = try_mut!(config_out);
        let path = try_str!(path, path_len);
        let config = match Config::new(path, &[]) {
            Ok(c) => c,
            Err(e) => return (&e).into(),
        };
        *out = Box::into_raw(Box::new(tb_config {
            config,
            last_error: Mutex::new(String::new()),
        }));
        tb_result::Ok
    }
}

/// Frees a config. NULL is a no-op. Engines opened from it are not affected.
#[unsafe(no_mangle)]
pub extern "C" fn tb_config_free(config: *mut tb_config) {
    ffi_boundary! {
        if !config.is_null() {
            // SAFETY: the header requires `config` to come from `tb_config_new` and to be
            // freed once.
            drop(unsafe { Box::from_raw(config) });
        }
    }
}

/// Adds a webhook signing secret (`whsec_...`, UTF-8). Add several while rolling a secret: a
/// delivery is accepted if it matches any of them. The secret is kept only as an HMAC key
/// and never appears in any message. `TB_RESULT_SECRET_INVALID` for an empty secret.
#[unsafe(no_mangle)]
pub extern "C" fn tb_config_add_secret(
    config: *mut tb_config,
    secret: *const u8,
    secret_len: usize,
) -> tb_result {
    ffi_boundary! {
        let config = try_mut!(config);
        let secret = try_str!(secret, secret_len);
        match Secret::new(secret) {
            Ok(s) => {
                config.config.webhook_secrets.push(s);
                tb_result::Ok
            }
            Err(e) => config.fail(&e),
        }
    }
}

/// Sets the signature tolerance: the largest accepted `|now - t|`, in seconds (default 300).
/// Must be positive; a bad value is reported by `tb_engine_open` as
/// `TB_RESULT_CONFIG_INVALID`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_config_set_tolerance(config: *mut tb_config, seconds: i64) -> tb_result {
    ffi_boundary! {
        try_mut!(config).config.verify.tolerance_secs = seconds;
        tb_result::Ok
    }
}

/// Sets the largest accepted webhook body in bytes (default 1 MiB); larger bodies are
/// `TB_RESULT_PAYLOAD_TOO_LARGE` before any hashing. Must be positive (checked by
/// `tb_engine_open`).
#[unsafe(no_mangle)]
pub extern "C" fn tb_config_set_max_body_bytes(config: *mut tb_config, bytes: usize) -> tb_result {
    ffi_boundary! {
        try_mut!(config).config.verify.max_body_bytes = bytes;
        tb_result::Ok
    }
}

/// Sets how many seconds access continues after a subscription becomes past_due (default 0).
/// Must not be negative (checked by `tb_engine_open`).
#[unsafe(no_mangle)]
pub extern "C" fn tb_config_set_past_due_grace(config: *mut tb_config, seconds: i64) -> tb_result {
    ffi_boundary! {
        try_mut!(config).config.past_due_grace_secs = seconds;
        tb_result::Ok
    }
}

/// Sets whether this endpoint takes Connect events (a top-level `account`): `true` (the
/// default) keeps each in its connected account's scope; `false` answers each as
/// `TB_OUTCOME_IGNORED` with reason `TB_RESULT_CONNECT_EVENT_REFUSED` (acknowledge with 200).
#[unsafe(no_mangle)]
pub extern "C" fn tb_config_set_accept_connect_events(
    config: *mut tb_config,
    accept: bool,
) -> tb_result {
    ffi_boundary! {
        try_mut!(config).config.accept_connect_events = accept;
        tb_result::Ok
    }
}

/// Sets which one-time purchases grant access (UTF-8): comma-separated price ids, product
/// ids or `*`, each optionally `=SECONDS` of access from the payment (default: lifetime),
/// e.g. `"price_lifetime,prod_pass=2592000"`. Replaces earlier grants; empty text clears
/// them. `TB_RESULT_CONFIG_INVALID` (see `tb_config_last_error`) for a malformed entry.
#[unsafe(no_mangle)]
pub extern "C" fn tb_config_set_purchase_grants(
    config: *mut tb_config,
    grants: *const u8,
    grants_len: usize,
) -> tb_result {
    ffi_boundary! {
        let config = try_mut!(config);
        let text = try_str!(grants, grants_len);
        match tollbooth::PurchaseGrant::parse_list(text) {
            Ok(g) => {
                config.config.purchase_grants = g;
                tb_result::Ok
            }
            Err(e) => config.fail(&e),
        }
    }
}

/// Sets the livemode guard, a `tb_livemode` value (`TB_LIVEMODE_ANY`, `TB_LIVEMODE_LIVE_ONLY`,
/// `TB_LIVEMODE_TEST_ONLY`). `TB_RESULT_INVALID_ARGUMENT` for any other number.
#[unsafe(no_mangle)]
pub extern "C" fn tb_config_set_livemode(config: *mut tb_config, livemode: u32) -> tb_result {
    ffi_boundary! {
        let config = try_mut!(config);
        config.config.livemode = match livemode {
            x if x == tb_livemode::Any as u32 => None,
            x if x == tb_livemode::LiveOnly as u32 => Some(true),
            x if x == tb_livemode::TestOnly as u32 => Some(false),
            _ => return tb_result::InvalidArgument,
        };
        tb_result::Ok
    }
}

/// Sets how many attempts a job gets before it is dead-lettered (default 25). Must be at
/// least 1 (checked by `tb_engine_open`).
#[unsafe(no_mangle)]
pub extern "C" fn tb_config_set_max_attempts(config: *mut tb_config, attempts: u32) -> tb_result {
    ffi_boundary! {
        try_mut!(config).config.max_attempts = attempts;
        tb_result::Ok
    }
}

/// Sets the wait budget in milliseconds (default 2000): the longest any call waits for the
/// store (other threads' calls and another process's write lock together) before
/// `TB_RESULT_STORE_BUSY`. Log-only writes (rejections, duplicates) never wait. At most
/// 2147483647; a larger value is `TB_RESULT_CONFIG_INVALID` from `tb_engine_open`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_config_set_busy_timeout_ms(config: *mut tb_config, ms: u64) -> tb_result {
    ffi_boundary! {
        try_mut!(config).config.sqlite.busy_timeout = std::time::Duration::from_millis(ms);
        tb_result::Ok
    }
}

/// Writes the detail of the last failure of a call that took this config (`tb_config_*`
/// setters and `tb_engine_open`) into `buf`; `*out_n` receives the byte count (0 when nothing
/// failed yet). UTF-8, not NUL-terminated, at most `TB_ERROR_MESSAGE_MAX` bytes, never
/// containing a secret. For humans only: branch on the returned `tb_result` codes instead.
#[unsafe(no_mangle)]
pub extern "C" fn tb_config_last_error(
    config: *const tb_config,
    buf: *mut u8,
    len: usize,
    out_n: *mut usize,
) -> tb_result {
    ffi_boundary! {
        let config = try_ref!(config);
        let out_n = try_mut!(out_n);
        let buf = try_slice_mut!(buf, len);
        let text = config.last_error.lock().unwrap_or_else(|p| p.into_inner());
        *out_n = try_ok!(copy_text(text.as_bytes(), buf));
        tb_result::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults `tb_config_new` documents.
    #[test]
    fn documented_defaults() {
        let mut out: *mut tb_config = std::ptr::null_mut();
        let path = b":memory:";
        assert_eq!(
            tb_config_new(path.as_ptr(), path.len(), &mut out),
            tb_result::Ok
        );
        // SAFETY: tb_config_new returned OK, so `out` is a live config.
        let c = unsafe { &*out }.config();
        assert_eq!(c.verify.tolerance_secs, 300);
        assert_eq!(c.verify.max_body_bytes, 1 << 20);
        assert_eq!(c.past_due_grace_secs, 0);
        assert_eq!(c.livemode, None);
        assert_eq!(c.max_attempts, 25);
        assert_eq!(c.sqlite.busy_timeout, std::time::Duration::from_secs(2));
        assert!(c.webhook_secrets.is_empty());
        tb_config_free(out);
    }
}
