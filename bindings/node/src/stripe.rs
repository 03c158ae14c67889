//! Talking to Stripe's API from Node: `syncFromStripe` (adopt an account with existing
//! customers), `catchUp` (the events missed during an outage), `reconcile` (work off
//! `stripe.reconcile` jobs) and `workStripeJobs` (those and the `stripe.fetch_event` jobs of
//! thin events), the CLI's `sync`, `catch-up`, `reconcile` and `work-stripe` and C's
//! `tb_stripe_reconcile` / `tb_stripe_work`; and `ingestTrusted`, an event the host trusts
//! without a signature (fetched from the API, or from an intake such as EventBridge). Each is a thin translation of one `tollbooth::stripe_api` call and
//! runs, like every store method, off the JS thread in its Promise form.
//!
//! The API key arrives in the options object and goes straight into an [`ApiKey`], whose
//! `Debug`/`Display` print `[redacted]` and which the client scrubs from every message: no
//! error, report or job this module returns can carry it.

use napi::bindgen_prelude::{AsyncTask, Env, Unknown};
use napi_derive::napi;
use tollbooth::stripe_api::{
    self, ApiKey, CatchUpOptions, ClientOptions, DEFAULT_BASE_URL, StripeClient, SyncObject,
    SyncOptions,
};
use tollbooth::{Error, ErrorCode};

use crate::args::{self, Num, Text, Texts};
use crate::convert::{FailResult, HandledWebhook};
use crate::engine::{Tollbooth, checked, on_engine, or_failed, snapshot_json};
use crate::error::{Result, to_napi};
use crate::task::{Call, Work};

/// Where and how to reach Stripe: the part every Stripe operation shares.
/// [`client`] from the JS options: the key must be a string (never quoted back), the base URL
/// a string when given.
fn client_of(api_key: &Text, base_url: &Option<Text>) -> tollbooth::Result<StripeClient> {
    let base = args::opt_text(base_url.clone(), "baseUrl")?;
    client(&api_key.get("apiKey")?, base.as_deref())
}

fn client(api_key: &str, base_url: Option<&str>) -> tollbooth::Result<StripeClient> {
    let base = base_url
        .filter(|b| !b.is_empty())
        .unwrap_or(DEFAULT_BASE_URL);
    StripeClient::new(
        ApiKey::new(api_key)?,
        ClientOptions {
            base_url: base.to_owned(),
            ..ClientOptions::default()
        },
    )
}

/// Options of `syncFromStripe`.
#[napi(object)]
pub struct StripeSyncOptions {
    /// A secret (`sk_...`) or restricted (`rk_...`) key; read access is enough.
    #[napi(ts_type = "string")]
    pub api_key: Text,
    /// `https://api.stripe.com` when absent; plain `http://` only to a loopback host (tests).
    #[napi(ts_type = "string | undefined | null")]
    pub base_url: Option<Text>,
    /// Object types, in this order (default: all): `customers`, `products`, `prices`,
    /// `subscriptions`, `invoices`, `checkout_sessions` (singular and stream names work too).
    #[napi(ts_type = "Array<string> | undefined | null")]
    pub only: Option<Texts>,
    /// Only objects created at or after this unix second (`created[gte]`).
    #[napi(ts_type = "number | undefined | null")]
    pub since: Option<Num>,
    /// Start every type from the beginning even when an unfinished run could resume.
    pub restart: Option<bool>,
    /// A Connect account (`acct_...`, sent as `Stripe-Account`).
    #[napi(ts_type = "string | undefined | null")]
    pub account: Option<Text>,
}

/// One object type's result.
#[napi(object)]
pub struct StripeSyncType {
    /// `customer`, `product`, `price`, `subscription`, `invoice` or `checkout.session`.
    pub object: String,
    /// Objects fetched and applied by this call.
    pub fetched: i64,
    /// Of those, how many changed a row.
    pub changed: i64,
    /// Objects tollbooth could not read (the first few are in `errors`).
    pub skipped: i64,
    /// Jobs the changes enqueued (CRM syncs, ...).
    pub jobs: i64,
    /// Pages fetched.
    pub pages: i64,
    /// Whether this call continued an unfinished run.
    pub resumed: bool,
    /// `id: CODE: message` of the first skipped objects.
    pub errors: Vec<String>,
}

/// What `syncFromStripe` did, per type in the order run.
#[napi(object)]
pub struct StripeSyncReport {
    /// Per type.
    pub types: Vec<StripeSyncType>,
}

/// Options of `catchUp`.
#[napi(object)]
pub struct StripeCatchUpOptions {
    /// A secret or restricted key with read access to Events.
    #[napi(ts_type = "string")]
    pub api_key: Text,
    /// As in `syncFromStripe`.
    #[napi(ts_type = "string | undefined | null")]
    pub base_url: Option<Text>,
    /// Start here (unix seconds) instead of the newest stored event minus the margin.
    #[napi(ts_type = "number | undefined | null")]
    pub since: Option<Num>,
    /// Seconds before the newest stored event to start at (default 3600).
    #[napi(ts_type = "number | undefined | null")]
    pub margin_seconds: Option<Num>,
    /// Start a new window even when an unfinished catch-up could resume.
    pub restart: Option<bool>,
    /// A Connect account.
    #[napi(ts_type = "string | undefined | null")]
    pub account: Option<Text>,
}

/// What `catchUp` did.
#[napi(object)]
pub struct StripeCatchUpReport {
    /// The window's start (`created[gte]`), unix seconds.
    pub from: i64,
    /// The window's end (`created[lte]`): when the run started.
    pub until: i64,
    /// The start asked for (or derived), before clamping to Stripe's 30 days.
    pub wanted_from: i64,
    /// `true` when `wantedFrom` is older than Stripe keeps events: run `syncFromStripe` too.
    pub gap_exceeds_retention: bool,
    /// `true` when no event was stored yet (the window is Stripe's whole retention).
    pub no_history: bool,
    /// Whether this call continued an unfinished catch-up.
    pub resumed: bool,
    /// Events fetched.
    pub fetched: i64,
    /// New events applied.
    pub processed: i64,
    /// Already stored.
    pub duplicate: i64,
    /// New, of a type that moves no state.
    pub ignored: i64,
    /// New, but older than the state.
    pub stale: i64,
    /// Stored but quarantined (tollbooth could not normalize them).
    pub quarantined: i64,
    /// Refused by the engine.
    pub rejected: i64,
    /// Pages fetched.
    pub pages: i64,
}

/// Options of `reconcile`.
#[napi(object)]
pub struct StripeReconcileOptions {
    /// A secret or restricted key with read access to the reconciled objects.
    #[napi(ts_type = "string")]
    pub api_key: Text,
    /// As in `syncFromStripe`.
    #[napi(ts_type = "string | undefined | null")]
    pub base_url: Option<Text>,
    /// Most jobs claimed in this pass (default 50).
    #[napi(ts_type = "number | undefined | null")]
    pub limit: Option<Num>,
    /// Lease per job, seconds (default 60).
    #[napi(ts_type = "number | undefined | null")]
    pub lease_seconds: Option<Num>,
}

/// A `stripe.reconcile` job that failed in this pass.
#[napi(object)]
pub struct ReconcileFailure {
    /// The job.
    pub job_id: i64,
    /// The error code (e.g. `STRIPE_NOT_FOUND`, `STRIPE_RATE_LIMITED`).
    pub code: String,
    /// What failing it did: rescheduled with backoff (or Stripe's `Retry-After`), dead, ...
    pub result: FailResult,
}

/// What one `reconcile` pass did.
#[napi(object)]
pub struct StripeReconcileReport {
    /// Jobs claimed.
    pub claimed: i64,
    /// Jobs completed (the object was fetched and applied).
    pub completed: i64,
    /// Of those, how many changed a row.
    pub changed: i64,
    /// Jobs failed.
    pub failed: Vec<ReconcileFailure>,
}

fn sync_options(o: &StripeSyncOptions) -> tollbooth::Result<SyncOptions> {
    let only = match &o.only {
        Some(names) => names.get("only")?,
        None => Vec::new(),
    };
    let objects = only
        .iter()
        .map(|name| {
            SyncObject::parse(name).ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidArgument,
                    format!(
                        "only: {name:?} is not one of customers, products, prices, subscriptions, invoices, checkout_sessions"
                    ),
                )
            })
        })
        .collect::<tollbooth::Result<Vec<_>>>()?;
    Ok(SyncOptions {
        objects,
        since: args::opt_time(&o.since, "since")?,
        restart: o.restart.unwrap_or(false),
        account: args::opt_text(o.account.clone(), "account")?,
    })
}

// The work of each method, shared by its Promise and Sync forms (see engine.rs). Arguments are
// checked when the method is called, so a bad option throws (or rejects) before any request.

fn sync_from_stripe(o: StripeSyncOptions) -> tollbooth::Result<Work<StripeSyncReport>> {
    let opts = sync_options(&o)?;
    let client = client_of(&o.api_key, &o.base_url)?;
    Ok(on_engine(move |e| {
        let r = stripe_api::sync(e, &client, &opts, &mut |_| {})?;
        Ok(StripeSyncReport {
            types: r
                .types
                .into_iter()
                .map(|t| StripeSyncType {
                    object: t.object,
                    fetched: t.fetched,
                    changed: t.changed,
                    skipped: t.skipped,
                    jobs: t.jobs,
                    pages: t.pages,
                    resumed: t.resumed,
                    errors: t.errors,
                })
                .collect(),
        })
    }))
}

fn catch_up(o: StripeCatchUpOptions) -> tollbooth::Result<Work<StripeCatchUpReport>> {
    let client = client_of(&o.api_key, &o.base_url)?;
    let margin = o
        .margin_seconds
        .as_ref()
        .map(|m| m.whole("marginSeconds", 0, 366 * 86_400))
        .transpose()?;
    let opts = CatchUpOptions {
        since: args::opt_time(&o.since, "since")?,
        margin_secs: margin.unwrap_or(stripe_api::catchup::DEFAULT_MARGIN_SECS),
        restart: o.restart.unwrap_or(false),
        account: args::opt_text(o.account, "account")?,
    };
    Ok(on_engine(move |e| {
        let r = stripe_api::catch_up(e, &client, &opts, &mut |_| {})?;
        Ok(StripeCatchUpReport {
            from: r.from,
            until: r.until,
            wanted_from: r.wanted_from,
            gap_exceeds_retention: r.gap_exceeds_retention,
            no_history: r.no_history,
            resumed: r.resumed,
            fetched: r.fetched,
            processed: r.processed,
            duplicate: r.duplicate,
            ignored: r.ignored,
            stale: r.stale,
            quarantined: r.quarantined,
            rejected: r.rejected,
            pages: r.pages,
        })
    }))
}

fn reconcile(o: StripeReconcileOptions) -> tollbooth::Result<Work<StripeReconcileReport>> {
    stripe_jobs(o, false)
}

/// `ingestTrusted`'s work for both forms: the event and the time read now, on the JS thread.
fn trusted_call(env: &Env, event: &Unknown<'_>, now: Option<Num>) -> Work<HandledWebhook> {
    checked(|| {
        let now = args::now(now, "nowSeconds")?;
        snapshot_json(env, event).map(|b| ingest_trusted(b, now))
    })
}

fn ingest_trusted(body: Vec<u8>, now: i64) -> Work<HandledWebhook> {
    on_engine(move |e| e.ingest_trusted(&body, now).map(Into::into))
}

/// `reconcile` (`every_kind` false) and `workStripeJobs` (every Stripe job kind).
fn stripe_jobs(
    o: StripeReconcileOptions,
    every_kind: bool,
) -> tollbooth::Result<Work<StripeReconcileReport>> {
    let client = client_of(&o.api_key, &o.base_url)?;
    let limit = args::limit(&o.limit, 50, tollbooth::outbox::MAX_CLAIM_LIMIT)?;
    let lease = match &o.lease_seconds {
        Some(l) => l.whole("leaseSeconds", 1, tollbooth::outbox::MAX_LEASE_SECS)?,
        None => 60,
    };
    Ok(on_engine(move |e| {
        let r = if every_kind {
            stripe_api::work_stripe_jobs(e, &client, limit, lease)?
        } else {
            stripe_api::work_reconcile_jobs(e, &client, limit, lease)?
        };
        let n = |x: usize| i64::try_from(x).unwrap_or(i64::MAX);
        Ok(StripeReconcileReport {
            claimed: n(r.claimed),
            completed: n(r.completed),
            changed: n(r.changed),
            failed: r
                .failed
                .into_iter()
                .map(|(job_id, code, outcome)| ReconcileFailure {
                    job_id,
                    code,
                    result: outcome.into(),
                })
                .collect(),
        })
    }))
}

#[napi]
impl Tollbooth {
    /// Adopting tollbooth with existing customers: pages through the account's customers,
    /// products, prices, subscriptions (`status=all`), invoices and checkout sessions and
    /// applies each as an authoritative snapshot (a snapshot never overwrites a newer event).
    /// Resumable (an interrupted run continues from its cursor) and idempotent (a second run
    /// changes nothing). Rejects with `STRIPE_AUTH`, `STRIPE_RATE_LIMITED`,
    /// `STRIPE_UNAVAILABLE`, ... (never quoting the key). The CLI's `tollbooth sync`.
    #[napi(catch_unwind, ts_return_type = "Promise<StripeSyncReport>")]
    pub fn sync_from_stripe(
        &self,
        options: StripeSyncOptions,
    ) -> AsyncTask<Call<StripeSyncReport>> {
        self.later(or_failed(sync_from_stripe(options)))
    }

    /// `syncFromStripe` on the calling thread (it blocks for the whole sync: scripts only).
    #[napi(catch_unwind)]
    pub fn sync_from_stripe_sync(&self, options: StripeSyncOptions) -> Result<StripeSyncReport> {
        self.now(sync_from_stripe(options).map_err(to_napi)?)
    }

    /// After an outage longer than Stripe's three days of retries: the missed events from
    /// `GET /v1/events` (Stripe keeps 30 days), from the newest stored event minus a margin,
    /// through the normal ingest path (deduplicated, ordered by the usual rules). The CLI's
    /// `tollbooth catch-up`.
    #[napi(catch_unwind, ts_return_type = "Promise<StripeCatchUpReport>")]
    pub fn catch_up(&self, options: StripeCatchUpOptions) -> AsyncTask<Call<StripeCatchUpReport>> {
        self.later(or_failed(catch_up(options)))
    }

    /// `catchUp` on the calling thread.
    #[napi(catch_unwind)]
    pub fn catch_up_sync(&self, options: StripeCatchUpOptions) -> Result<StripeCatchUpReport> {
        self.now(catch_up(options).map_err(to_napi)?)
    }

    /// Works off due `stripe.reconcile` jobs once: claims up to `limit`, fetches each object
    /// from Stripe (with the job's `Stripe-Account`), applies it as a snapshot and completes
    /// the job; a failure is rescheduled with the usual backoff, or after Stripe's own
    /// `Retry-After`. Call it from your worker loop. The CLI's `tollbooth reconcile`.
    #[napi(catch_unwind, ts_return_type = "Promise<StripeReconcileReport>")]
    pub fn reconcile(
        &self,
        options: StripeReconcileOptions,
    ) -> AsyncTask<Call<StripeReconcileReport>> {
        self.later(or_failed(reconcile(options)))
    }

    /// `reconcile` on the calling thread.
    #[napi(catch_unwind)]
    pub fn reconcile_sync(&self, options: StripeReconcileOptions) -> Result<StripeReconcileReport> {
        self.now(reconcile(options).map_err(to_napi)?)
    }

    /// Works off due Stripe jobs once: `stripe.reconcile` as `reconcile` does, and the
    /// `stripe.fetch_event` jobs of thin events (v2 notifications): fetches the full event
    /// (`/v2/core/events/{id}` with the event's context as `Stripe-Context`), then the v1
    /// snapshot event it names (with `Stripe-Account`) and ingests it, or applies the related
    /// object as a snapshot. The CLI's `tollbooth work-stripe`.
    #[napi(catch_unwind, ts_return_type = "Promise<StripeReconcileReport>")]
    pub fn work_stripe_jobs(
        &self,
        options: StripeReconcileOptions,
    ) -> AsyncTask<Call<StripeReconcileReport>> {
        self.later(or_failed(stripe_jobs(options, true)))
    }

    /// `workStripeJobs` on the calling thread (blocks on the network).
    #[napi(catch_unwind)]
    pub fn work_stripe_jobs_sync(
        &self,
        options: StripeReconcileOptions,
    ) -> Result<StripeReconcileReport> {
        self.now(stripe_jobs(options, true).map_err(to_napi)?)
    }

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
        now_seconds: Option<Num>,
    ) -> AsyncTask<Call<HandledWebhook>> {
        self.later(trusted_call(&env, &event, now_seconds))
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
        now_seconds: Option<Num>,
    ) -> Result<HandledWebhook> {
        self.now(trusted_call(&env, &event, now_seconds))
    }
}
