//! The Stripe side of the addon: `ingestTrusted` (an event the host trusts without a
//! signature: fetched from the API, or from an intake such as EventBridge) and
//! `workStripeJobs` (tollbooth's own worker for `stripe.reconcile` and `stripe.fetch_event`
//! jobs, which calls the Stripe API with the host's key).

use napi::bindgen_prelude::{AsyncTask, Env, Unknown};
use napi_derive::napi;
use tollbooth::stripe_api::{ApiKey, ClientOptions, DEFAULT_BASE_URL, StripeClient};

use crate::convert::{HandledWebhook, to_u32};
use crate::engine::{Tollbooth, on_engine, or_failed, snapshot_json};
use crate::error::{Result, to_napi};
use crate::task::{Call, Work};

/// Options of `workStripeJobs`.
#[napi(object)]
pub struct StripeWorkOptions {
    /// A secret (`sk_...`) or restricted (`rk_...`) key; read access is enough. Never stored,
    /// logged or echoed in an error.
    pub api_key: String,
    /// `https://api.stripe.com` by default; plain `http://` only to a loopback host (tests).
    pub base_url: Option<String>,
    /// Jobs per claim (default 50).
    pub limit: Option<i64>,
    /// Lease per claim, seconds (default 120).
    pub lease_seconds: Option<i64>,
    /// Only `stripe.reconcile` jobs (default: every Stripe job kind).
    pub reconcile_only: Option<bool>,
}

/// One failed job of a `workStripeJobs` pass.
#[napi(object)]
pub struct StripeJobFailure {
    /// The job.
    pub id: i64,
    /// Its error code (`STRIPE_RATE_LIMITED`, `STRIPE_NOT_FOUND`, ...).
    pub code: String,
    /// `scheduled`, `dead` or `superseded`.
    pub state: String,
}

/// What one `workStripeJobs` pass did.
#[napi(object)]
pub struct StripeJobsReport {
    /// Jobs claimed.
    pub claimed: u32,
    /// Jobs completed (fetched from Stripe and applied).
    pub completed: u32,
    /// Of those, how many changed stored state.
    pub changed: u32,
    /// Jobs failed (rescheduled with backoff or Stripe's Retry-After, or dead).
    pub failed: Vec<StripeJobFailure>,
}

fn ingest_trusted(body: Vec<u8>, now: i64) -> Work<HandledWebhook> {
    on_engine(move |e| e.ingest_trusted(&body, now).map(Into::into))
}

fn work(options: StripeWorkOptions) -> tollbooth::Result<Work<StripeJobsReport>> {
    let limit = to_u32("limit", options.limit.unwrap_or(50))?;
    let lease = options.lease_seconds.unwrap_or(120);
    let client = StripeClient::new(
        ApiKey::new(options.api_key)?,
        ClientOptions {
            base_url: options
                .base_url
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            ..ClientOptions::default()
        },
    )?;
    let reconcile_only = options.reconcile_only.unwrap_or(false);
    Ok(on_engine(move |e| {
        let rep = if reconcile_only {
            tollbooth::stripe_api::work_reconcile_jobs(e, &client, limit, lease)?
        } else {
            tollbooth::stripe_api::work_stripe_jobs(e, &client, limit, lease)?
        };
        let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        Ok(StripeJobsReport {
            claimed: n(rep.claimed),
            completed: n(rep.completed),
            changed: n(rep.changed),
            failed: rep
                .failed
                .into_iter()
                .map(|(id, code, outcome)| StripeJobFailure {
                    id,
                    code,
                    state: match outcome {
                        tollbooth::FailOutcome::Scheduled { .. } => "scheduled",
                        tollbooth::FailOutcome::Dead => "dead",
                        tollbooth::FailOutcome::Superseded { .. } => "superseded",
                    }
                    .to_owned(),
                })
                .collect(),
        })
    }))
}

#[napi]
impl Tollbooth {
    /// Ingests one Stripe event the host trusts without a signature: an event fetched from
    /// the Stripe API, or one from an intake where no signature exists (Amazon EventBridge).
    /// Everything `handleWebhook` does after verifying: dedupe, state, jobs; a thin event
    /// becomes a `stripe.fetch_event` job; a body that does not normalize is quarantined.
    #[napi(
        catch_unwind,
        ts_args_type = "event: object | string | Uint8Array | ArrayBuffer | DataView, nowSeconds?: number | undefined | null",
        ts_return_type = "Promise<HandledWebhook>"
    )]
    pub fn ingest_trusted(
        &self,
        env: Env,
        event: Unknown<'_>,
        now_seconds: Option<i64>,
    ) -> AsyncTask<Call<HandledWebhook>> {
        let now = now_seconds.unwrap_or_else(tollbooth::unix_now);
        let work = snapshot_json(&env, &event).map(|b| ingest_trusted(b, now));
        self.later(or_failed(work))
    }

    /// `ingestTrusted` on the calling thread.
    #[napi(
        catch_unwind,
        ts_args_type = "event: object | string | Uint8Array | ArrayBuffer | DataView, nowSeconds?: number | undefined | null"
    )]
    pub fn ingest_trusted_sync(
        &self,
        env: Env,
        event: Unknown<'_>,
        now_seconds: Option<i64>,
    ) -> Result<HandledWebhook> {
        let body = snapshot_json(&env, &event).map_err(to_napi)?;
        self.now(ingest_trusted(
            body,
            now_seconds.unwrap_or_else(tollbooth::unix_now),
        ))
    }

    /// Works off due Stripe jobs once: `stripe.reconcile` (fetch the object, apply it as a
    /// snapshot) and `stripe.fetch_event` (fetch the full event a thin event announced, with
    /// the event's account, and ingest it), completing each or failing it with the usual
    /// backoff (Stripe's own Retry-After honoured). Calls the Stripe API: run it from a
    /// worker, in a loop until `claimed` is 0.
    #[napi(catch_unwind, ts_return_type = "Promise<StripeJobsReport>")]
    pub fn work_stripe_jobs(
        &self,
        options: StripeWorkOptions,
    ) -> AsyncTask<Call<StripeJobsReport>> {
        self.later(or_failed(work(options)))
    }

    /// `workStripeJobs` on the calling thread (blocks on the network).
    #[napi(catch_unwind)]
    pub fn work_stripe_jobs_sync(&self, options: StripeWorkOptions) -> Result<StripeJobsReport> {
        self.now(work(options).map_err(to_napi)?)
    }
}
