//! tollbooth's own Stripe API work from C: the `stripe.reconcile` worker, and `fail` with a
//! downstream service's retry-after.

use tollbooth::stripe_api::{
    ApiKey, ClientOptions, DEFAULT_BASE_URL, StripeClient, work_reconcile_jobs,
};

use crate::engine::{resolve_now, tb_engine};
use crate::jobs::{tb_fail_outcome, to_fail_outcome};
use crate::results::tb_result;

/// What `tb_stripe_reconcile` did. A plain value: the caller allocates it.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct tb_reconcile_report {
    /// `stripe.reconcile` jobs claimed.
    pub claimed: u32,
    /// Jobs completed: the object was fetched from Stripe and applied.
    pub completed: u32,
    /// Of those, how many changed stored state.
    pub changed: u32,
    /// Jobs failed (rescheduled with backoff, or with Stripe's `Retry-After`).
    pub failed: u32,
}

/// Works off up to `limit` due `stripe.reconcile` jobs once: claims them (lease `lease_secs`),
/// fetches each object from the Stripe API with `api_key` (UTF-8, `sk_...` or `rk_...`; read
/// access is enough; never stored or echoed), applies it as a snapshot and completes the job,
/// or fails it with the usual backoff (or Stripe's own `Retry-After`). `base_url` (UTF-8) is
/// `https://api.stripe.com` when its length is 0; plain `http://` only to a loopback host.
///
/// Blocks on the network (bounded retries and timeouts): call it from a worker thread, never
/// from a request handler. On `TB_RESULT_OK` `*report_out` is filled in; a Stripe failure on
/// one job is counted in `failed`, not returned. Errors: `TB_RESULT_CONFIG_INVALID` (a key or
/// base URL of the wrong shape), store codes.
#[unsafe(no_mangle)]
pub extern "C" fn tb_stripe_reconcile(
    engine: *const tb_engine,
    api_key: *const u8,
    api_key_len: usize,
    base_url: *const u8,
    base_url_len: usize,
    limit: u32,
    lease_secs: i64,
    report_out: *mut tb_reconcile_report,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(report_out);
        let key = try_str!(api_key, api_key_len);
        let base = try_str!(base_url, base_url_len);
        let base = if base.is_empty() { DEFAULT_BASE_URL } else { base };
        engine.run(
            |e| {
                let client = StripeClient::new(
                    ApiKey::new(key)?,
                    ClientOptions {
                        base_url: base.to_owned(),
                        ..ClientOptions::default()
                    },
                )?;
                work_reconcile_jobs(e, &client, limit, lease_secs)
            },
            |r| {
                let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
                *out = tb_reconcile_report {
                    claimed: n(r.claimed),
                    completed: n(r.completed),
                    changed: n(r.changed),
                    failed: n(r.failed.len()),
                };
            },
        )
    }
}

/// `tb_engine_job_fail` with the downstream service's "retry after N seconds" (e.g. a CRM's
/// 429 `Retry-After`): the next attempt is at `now + retry_after_secs` (at most a day later)
/// instead of the backoff; the attempt still counts towards dead-lettering. A negative
/// `retry_after_secs` means none was given (the usual backoff).
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_job_fail_after(
    engine: *const tb_engine,
    id: i64,
    lease_token: i64,
    error: *const u8,
    error_len: usize,
    retry_after_secs: i64,
    now: i64,
    outcome_out: *mut tb_fail_outcome,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(outcome_out);
        let error = try_str!(error, error_len);
        let now = resolve_now(now);
        let retry_after = (retry_after_secs >= 0).then_some(retry_after_secs);
        engine.run(
            |e| e.fail_after(id, lease_token, error, retry_after, now),
            |f| *out = to_fail_outcome(f),
        )
    }
}
