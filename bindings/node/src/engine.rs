//! The `Tollbooth` class: one engine (one SQLite database) per instance.

use std::time::Duration;

use napi::bindgen_prelude::JsObjectValue;
use napi::bindgen_prelude::{Either, Either3, Object};
use napi::{Env, JSON};
use napi_derive::napi;
use serde_json::Value;
use tollbooth::{Config, Durability, Engine, ErrorCode, unix_now};

use crate::convert::{
    Access, CheckoutStatus, ClaimOptions, ClaimedJob, Customer, FailResult, HandledWebhook,
    Invoice, Job, JobsFilter, SnapshotApplied, TollboothOptions, parse_json, to_u32,
};
use crate::error::{Result, guard, invalid};

/// Verifies Stripe webhooks and turns them into billing state and an outbox of jobs, one
/// SQLite transaction per delivery.
///
/// Every method is synchronous and fast (microseconds to a millisecond); errors are `Error`s
/// whose `code` is a {@link TollboothErrorCode}. Keep one instance per process (for example on
/// `globalThis` in Next.js); several processes may share one database file.
#[napi]
pub struct Tollbooth {
    engine: Engine,
}

impl Tollbooth {
    /// The engine, for the operator methods in `admin.rs`.
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }
}

fn now_or(now: Option<i64>) -> i64 {
    now.unwrap_or_else(unix_now)
}

fn config(o: &TollboothOptions) -> tollbooth::Result<Config> {
    let bad = |m: &str| tollbooth::Error::new(ErrorCode::ConfigInvalid, m);
    let secrets: Vec<&str> = o.webhook_secrets.iter().map(String::as_str).collect();
    let mut c = Config::new(o.database.clone(), &secrets)?;
    if let Some(t) = o.tolerance_seconds {
        c.verify.tolerance_secs = t;
    }
    if let Some(g) = o.past_due_grace_seconds {
        c.past_due_grace_secs = g;
    }
    c.livemode = o.livemode;
    if let Some(m) = o.max_attempts {
        c.max_attempts = u32::try_from(m).map_err(|_| bad("maxAttempts is out of range"))?;
    }
    if let Some(ms) = o.busy_timeout_ms {
        let ms = u64::try_from(ms).map_err(|_| bad("busyTimeoutMs must not be negative"))?;
        c.sqlite.busy_timeout = Duration::from_millis(ms);
    }
    if let Some(b) = o.max_body_bytes {
        c.verify.max_body_bytes =
            usize::try_from(b).map_err(|_| bad("maxBodyBytes must not be negative"))?;
    }
    c.sqlite.durability = match o.durability.as_deref() {
        None | Some("normal") => Durability::Normal,
        Some("full") => Durability::Full,
        Some(_) => return Err(bad("durability must be 'normal' or 'full'")),
    };
    Ok(c)
}

#[napi]
impl Tollbooth {
    /// Opens (creating and migrating) the database and validates the options.
    ///
    /// Throws `CONFIG_INVALID` (no secret, tolerance <= 0, ...), `SECRET_INVALID` (an empty
    /// secret) or a `STORE_*` code.
    #[napi(constructor, catch_unwind)]
    pub fn new(options: TollboothOptions) -> Result<Self> {
        guard(|| {
            Ok(Tollbooth {
                engine: Engine::open(config(&options)?)?,
            })
        })
    }

    /// Handles one Stripe delivery: verify the signature over the exact raw bytes, parse,
    /// dedupe by event id, persist, apply to billing state and enqueue jobs, in one transaction.
    ///
    /// Pass the body exactly as received (`Buffer.from(await req.arrayBuffer())`, or the raw
    /// text) — never re-serialized JSON. A `Buffer`/`Uint8Array` is read in place, not copied.
    /// A missing header (`null`/`undefined`) throws `SIGNATURE_HEADER_MISSING`.
    ///
    /// Returning means "answer 200". A thrown error whose code starts with `SIGNATURE_`,
    /// `TIMESTAMP_`, `PAYLOAD_` or `EVENT_` (or is `LIVEMODE_MISMATCH`) means "answer 400";
    /// any other code (`STORE_BUSY`, ...) means "answer 500" so Stripe retries.
    #[napi(catch_unwind)]
    pub fn handle_webhook(
        &self,
        raw_body: Either<&[u8], String>,
        signature_header: Option<String>,
        now_seconds: Option<i64>,
    ) -> Result<HandledWebhook> {
        let body: &[u8] = match &raw_body {
            Either::A(bytes) => bytes,
            Either::B(text) => text.as_bytes(),
        };
        let header = signature_header.as_deref().unwrap_or("");
        guard(|| {
            self.engine
                .handle_webhook_at(body, header, now_or(now_seconds))
                .map(Into::into)
        })
    }

    /// Access for a Stripe customer (an unknown customer has state `none`).
    #[napi(catch_unwind)]
    pub fn access(&self, customer_id: String, now_seconds: Option<i64>) -> Result<Access> {
        guard(|| {
            self.engine
                .access(&customer_id, now_or(now_seconds))
                .map(Into::into)
        })
    }

    /// Access for an app user, through the customer linked to it by Checkout's
    /// `client_reference_id` or the customer's `metadata.user_id` (state `none` when unlinked).
    #[napi(catch_unwind)]
    pub fn access_for_user(&self, user_id: String, now_seconds: Option<i64>) -> Result<Access> {
        guard(|| {
            self.engine
                .access_for_user(&user_id, now_or(now_seconds))
                .map(Into::into)
        })
    }

    /// A customer's invoices, newest first.
    #[napi(catch_unwind)]
    pub fn invoices(&self, customer_id: String) -> Result<Vec<Invoice>> {
        guard(|| {
            let list = self.engine.invoices(&customer_id)?;
            Ok(list.into_iter().map(Into::into).collect())
        })
    }

    /// What the checkout success page may say about a Checkout Session (`pending` when no
    /// webhook for it has been processed yet).
    #[napi(catch_unwind)]
    pub fn checkout_status(&self, session_id: String) -> Result<CheckoutStatus> {
        guard(|| self.engine.checkout_status(&session_id).map(Into::into))
    }

    /// Applies an object freshly fetched from the Stripe API (a subscription, invoice,
    /// customer or checkout session) as the authoritative state at `fetchedAtSeconds`: it
    /// replaces the stored row unless that row was written by a newer event. An object is
    /// serialized with `JSON.stringify`; a string or Buffer is used as is.
    #[napi(catch_unwind)]
    pub fn apply_snapshot(
        &self,
        env: Env,
        #[napi(ts_arg_type = "object | string | Buffer | Uint8Array")] stripe_object: Either3<
            &[u8],
            String,
            Object,
        >,
        fetched_at_seconds: Option<i64>,
    ) -> Result<SnapshotApplied> {
        let text;
        let json: &[u8] = match &stripe_object {
            Either3::A(bytes) => bytes,
            Either3::B(s) => s.as_bytes(),
            Either3::C(obj) => {
                text = stringify(&env, obj)?;
                text.as_bytes()
            }
        };
        guard(|| {
            self.engine
                .apply_snapshot(json, now_or(fetched_at_seconds))
                .map(Into::into)
        })
    }

    /// Leases up to `limit` due jobs (of `kinds`, or all) for `leaseSeconds`. Run each job's
    /// side effect with its `key` as the idempotency key, then `completeJob` or `failJob`
    /// with its `leaseToken`.
    #[napi(catch_unwind)]
    pub fn claim_jobs(&self, options: ClaimOptions) -> Result<Vec<ClaimedJob>> {
        let limit = to_u32("limit", options.limit)?;
        let kinds: Vec<&str> = options.kinds.iter().flatten().map(String::as_str).collect();
        let now = now_or(options.now_seconds);
        let claimed = guard(|| self.engine.claim(&kinds, limit, options.lease_seconds, now))?;
        claimed.into_iter().map(ClaimedJob::from_core).collect()
    }

    /// Marks a claimed job done. Throws `LEASE_LOST` when the lease expired or another worker
    /// holds the job now, `JOB_NOT_FOUND` for an unknown id.
    #[napi(catch_unwind)]
    pub fn complete_job(&self, id: i64, lease_token: i64, now_seconds: Option<i64>) -> Result<()> {
        guard(|| self.engine.complete(id, lease_token, now_or(now_seconds)))
    }

    /// Records a failed attempt: retry with backoff, or dead-letter after `maxAttempts`.
    /// `whsec_`/`sk_`-style secrets in `message` are redacted before it is stored. Throws
    /// `LEASE_LOST` / `JOB_NOT_FOUND` like `completeJob`.
    #[napi(catch_unwind)]
    pub fn fail_job(
        &self,
        id: i64,
        lease_token: i64,
        message: String,
        now_seconds: Option<i64>,
    ) -> Result<FailResult> {
        guard(|| {
            self.engine
                .fail(id, lease_token, &message, now_or(now_seconds))
                .map(Into::into)
        })
    }

    /// Jobs, newest first, optionally filtered.
    #[napi(catch_unwind)]
    pub fn jobs(&self, filter: Option<JobsFilter>) -> Result<Vec<Job>> {
        let filter = match &filter {
            Some(f) => f.to_core()?,
            None => tollbooth::JobFilter::default(),
        };
        let jobs = guard(|| self.engine.jobs(&filter))?;
        jobs.into_iter().map(Job::from_core).collect()
    }

    /// Dead-lettered jobs, newest first.
    #[napi(catch_unwind)]
    pub fn dead_jobs(&self) -> Result<Vec<Job>> {
        let jobs = guard(|| self.engine.dead_jobs())?;
        jobs.into_iter().map(Job::from_core).collect()
    }

    /// Puts a dead job back in the queue; returns the id of the job that will run.
    #[napi(catch_unwind)]
    pub fn replay_job(&self, id: i64, now_seconds: Option<i64>) -> Result<i64> {
        guard(|| self.engine.replay(id, now_or(now_seconds)))
    }

    /// A customer by Stripe id, email or app user id (tried in that order), or `null`.
    #[napi(catch_unwind)]
    pub fn find_customer(&self, needle: String) -> Result<Option<Customer>> {
        guard(|| Ok(self.engine.find_customer(&needle)?.map(Into::into)))
    }

    /// The metrics report (deliveries, latency, lag, queue depth, failure rate) as an object,
    /// with the keys of the core's JSON report (snake_case).
    #[napi(catch_unwind, ts_return_type = "Record<string, any>")]
    pub fn metrics(&self, now_seconds: Option<i64>) -> Result<Value> {
        let text = guard(|| self.engine.metrics_json(now_or(now_seconds)))?;
        parse_json("the metrics report", &text)
    }

    /// Prometheus text exposition (format 0.0.4), for a `/metrics` route.
    #[napi(catch_unwind)]
    pub fn prometheus(&self, now_seconds: Option<i64>) -> Result<String> {
        guard(|| self.engine.prometheus(now_or(now_seconds)))
    }

    /// Health: `{ ok, alerts, failure_rate, deliveries_window }` (keys as the core's JSON has
    /// them). `ok` is false while an alert fires.
    #[napi(
        catch_unwind,
        ts_return_type = "{ ok: boolean; alerts: any[]; [key: string]: any }"
    )]
    pub fn health(&self, now_seconds: Option<i64>) -> Result<Value> {
        let text = guard(|| self.engine.health_json(now_or(now_seconds)))?;
        parse_json("the health report", &text)
    }

    /// Flushes buffered log rows and closes the database. Later calls throw `CLOSED`;
    /// closing twice is a no-op.
    #[napi(catch_unwind)]
    pub fn close(&self) -> Result<()> {
        guard(|| self.engine.close())
    }
}

/// `JSON.stringify(obj)` with JS semantics (toJSON, undefined fields dropped, ...).
fn stringify(env: &Env, obj: &Object) -> Result<String> {
    let fail = |e: napi::Error| {
        invalid(
            ErrorCode::InvalidArgument,
            format!("the object could not be serialized with JSON.stringify: {e}"),
        )
    };
    let json: JSON = env
        .get_global()
        .and_then(|g| g.get_named_property_unchecked("JSON"))
        .map_err(fail)?;
    json.stringify(obj).map_err(fail)
}
