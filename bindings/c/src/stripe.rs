//! tollbooth's own Stripe API work from C: the Stripe jobs worker (`stripe.reconcile` and
//! `stripe.fetch_event`), and `fail` with a downstream service's retry-after.

use tollbooth::stripe_api::{
    ApiKey, ClientOptions, DEFAULT_BASE_URL, ReconcileReport, StripeClient, work_reconcile_jobs,
    work_stripe_jobs,
};

use crate::engine::tb_engine;
use crate::jobs::{fail_job, tb_fail_outcome};
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
    let args = (api_key, api_key_len, base_url, base_url_len);
    work(
        engine,
        args,
        limit,
        lease_secs,
        report_out,
        work_reconcile_jobs,
    )
}

/// `tb_stripe_reconcile` for every Stripe job kind: `stripe.reconcile` and the
/// `stripe.fetch_event` jobs thin events enqueue (the full event is fetched from
/// `/v2/core/events/{id}` with the event's context as `Stripe-Context`, then the v1 snapshot
/// event it names with `Stripe-Account`, and ingested as if delivered). Same arguments,
/// report and errors; the report counts jobs of both kinds.
#[unsafe(no_mangle)]
pub extern "C" fn tb_stripe_work(
    engine: *const tb_engine,
    api_key: *const u8,
    api_key_len: usize,
    base_url: *const u8,
    base_url_len: usize,
    limit: u32,
    lease_secs: i64,
    report_out: *mut tb_reconcile_report,
) -> tb_result {
    let args = (api_key, api_key_len, base_url, base_url_len);
    work(
        engine,
        args,
        limit,
        lease_secs,
        report_out,
        work_stripe_jobs,
    )
}

/// A Stripe worker pass: the two exported functions differ only in `pass`.
type Pass = fn(&tollbooth::Engine, &StripeClient, u32, i64) -> tollbooth::Result<ReconcileReport>;

/// The key and base URL arguments: `(key, key_len, base, base_len)`.
type KeyAndBase = (*const u8, usize, *const u8, usize);

fn work(
    engine: *const tb_engine,
    (api_key, api_key_len, base_url, base_url_len): KeyAndBase,
    limit: u32,
    lease_secs: i64,
    report_out: *mut tb_reconcile_report,
    pass: Pass,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(report_out);
        let key = try_str!(api_key, api_key_len);
        let base = try_str!(base_url, base_url_len);
        engine.run(
            |e| pass(e, &client(key, base)?, limit, lease_secs),
            |r| *out = to_report(&r),
        )
    }
}

/// A client for `key` at `base` (the production API when empty).
fn client(key: &str, base: &str) -> tollbooth::Result<StripeClient> {
    let base = if base.is_empty() {
        DEFAULT_BASE_URL
    } else {
        base
    };
    StripeClient::new(
        ApiKey::new(key)?,
        ClientOptions {
            base_url: base.to_owned(),
            ..ClientOptions::default()
        },
    )
}

fn to_report(r: &ReconcileReport) -> tb_reconcile_report {
    let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
    tb_reconcile_report {
        claimed: n(r.claimed),
        completed: n(r.completed),
        changed: n(r.changed),
        failed: n(r.failed.len()),
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
    let retry_after = (retry_after_secs >= 0).then_some(retry_after_secs);
    let job = (id, lease_token);
    fail_job(
        engine,
        job,
        (error, error_len),
        retry_after,
        now,
        outcome_out,
    )
}
