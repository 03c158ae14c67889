//! The `Tollbooth` class: one engine (one database) per instance, opened on first use.
//!
//! Every method that touches the store comes twice: `x(...)` returns a Promise and runs on a
//! libuv worker thread ([`crate::task`]); `xSync(...)` runs on the calling thread (Node's `fs`
//! naming). Creating an instance only validates the options: the store is opened by the first
//! call that needs it — on a worker thread for the Promise forms — so a constructor never
//! waits on a disk or a network, and `next build` (which evaluates route modules) never
//! opens a store.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use napi::Env;
use napi::bindgen_prelude::{AsyncTask, JsObjectValue, Object, ToNapiValue, Unknown};
use napi::{JSON, ValueType};
use napi_derive::napi;
use serde_json::Value;
use tollbooth::outbox::{MAX_CLAIM_LIMIT, MAX_LEASE_SECS};
use tollbooth::{Config, Engine, ErrorCode};

use crate::args::{self, Num, Text};
use crate::body::{self, Also};
use crate::convert::{
    Access, CatalogEntry, CheckoutStatus, ClaimOptions, ClaimedJob, Customer, FailResult,
    HandledWebhook, Invoice, Job, JobsFilter, Purchase, SnapshotApplied, to_js_value,
};
use crate::error::{Result, guard, to_napi};
use crate::options::{self, EnvOptions, TollboothOptions};
use crate::task::{Call, PromiseValue, Work, on_lane};

/// Where an instance's engine is in its life.
enum State {
    /// Options validated; the store opens on first use.
    NotOpened,
    Open(Arc<Engine>),
    Closed,
}

/// What an instance and its in-flight calls share.
pub struct Shared {
    config: Config,
    /// Held only for moments (never across an open), so `close()` on the JS thread never waits
    /// for a slow open on a worker.
    state: Mutex<State>,
    /// Serializes opening: concurrent first calls wait here for one open.
    opening: Mutex<()>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Opening and closing cannot leave the state half-changed, so a poisoned lock is fine.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The engine if it is open, `None` if not yet, `CLOSED` after `close()`.
    fn current(&self) -> tollbooth::Result<Option<Arc<Engine>>> {
        match &*self.lock() {
            State::Open(engine) => Ok(Some(Arc::clone(engine))),
            State::NotOpened => Ok(None),
            State::Closed => Err(closed()),
        }
    }

    /// The engine, opened now if this is the first use. Concurrent first calls wait for one
    /// open; a failed open is not remembered, so the next call tries again (a database that
    /// was briefly unreachable does not poison the instance). An instance closed while it
    /// was opening closes what was opened.
    fn engine(&self) -> tollbooth::Result<Arc<Engine>> {
        if let Some(engine) = self.current()? {
            return Ok(engine);
        }
        let _one_opener = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(engine) = self.current()? {
            return Ok(engine);
        }
        create_directory(&self.config.database)?;
        let engine = Arc::new(Engine::open(self.config.clone())?);
        let mut state = self.lock();
        if let State::Closed = *state {
            drop(state);
            engine.close()?;
            return Err(closed());
        }
        *state = State::Open(Arc::clone(&engine));
        Ok(engine)
    }

    /// Runs `f` against the engine (opening it first if needed).
    pub fn run<T>(&self, f: impl FnOnce(&Engine) -> tollbooth::Result<T>) -> tollbooth::Result<T> {
        f(self.engine()?.as_ref())
    }

    /// Marks the instance closed at once (later calls fail with `CLOSED`) and hands back the
    /// engine to flush and close, if one was opened.
    fn begin_close(&self) -> Option<Arc<Engine>> {
        match std::mem::replace(&mut *self.lock(), State::Closed) {
            State::Open(engine) => Some(engine),
            State::NotOpened | State::Closed => None,
        }
    }
}

/// Creates the directory of a SQLite file path, so `data/tollbooth.db` works in a fresh app.
/// URLs (`postgres://...`, `file:` URIs) and `:memory:` are left alone.
fn create_directory(database: &str) -> tollbooth::Result<()> {
    if database == ":memory:" || database.contains("://") || database.starts_with("file:") {
        return Ok(());
    }
    match Path::new(database).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|e| {
            tollbooth::Error::new(
                ErrorCode::StoreOpenFailed,
                format!(
                    "could not create the database directory '{}' ({e}); create it, or \
                         point the database option (TOLLBOOTH_DB) somewhere writable",
                    dir.display()
                ),
            )
        }),
        _ => Ok(()),
    }
}

fn closed() -> tollbooth::Error {
    tollbooth::Error::new(ErrorCode::Closed, "the engine is closed")
}

/// Boxes engine work for either thread.
pub(crate) fn on_engine<T: 'static>(
    f: impl FnOnce(&Engine) -> tollbooth::Result<T> + Send + 'static,
) -> Work<T> {
    Box::new(move |shared: &Shared| shared.run(f))
}

/// Verifies Stripe webhooks and turns them into billing state and an outbox of jobs, one
/// database transaction per delivery.
///
/// Every method that touches the store returns a Promise and runs off the JS thread; its
/// `...Sync` twin (`handleWebhookSync`, ...) runs on the calling thread and suits scripts and
/// tests. The store is opened on first use (or by `open()`), never by the constructor.
/// Errors are `Error`s whose `code` is a {@link TollboothErrorCode}, thrown by the `...Sync`
/// forms and carried by the rejected Promise otherwise. Keep one instance per process (for
/// example on `globalThis` in Next.js); several processes may share one database.
#[napi]
pub struct Tollbooth {
    shared: Arc<Shared>,
}

impl Tollbooth {
    fn with_config(config: Config) -> Self {
        Tollbooth {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(State::NotOpened),
                opening: Mutex::new(()),
            }),
        }
    }

    /// The Promise form: `work` runs on a libuv worker thread.
    pub(crate) fn later<T: ToNapiValue + Send + 'static>(
        &self,
        work: Work<T>,
    ) -> AsyncTask<Call<T>> {
        AsyncTask::new(Call::new(Arc::clone(&self.shared), work))
    }

    /// The `...Sync` form: `work` runs here, on the JS thread.
    pub(crate) fn now<T>(&self, work: Work<T>) -> Result<T> {
        guard(|| work(&self.shared))
    }
}

// The work of each method, shared by its Promise and Sync forms. Arguments are owned (a body
// is copied out of JS memory) so the work can move to a worker thread; the clock is read when
// the method is called, not when a worker gets to it.

fn handle_webhook(body: Vec<u8>, header: Option<String>, now: i64) -> Work<HandledWebhook> {
    on_engine(move |e| {
        e.handle_webhook_at(&body, header.as_deref().unwrap_or(""), now)
            .map(Into::into)
    })
}

fn access(customer_id: String, now: i64) -> Work<Access> {
    on_engine(move |e| e.access(&customer_id, now).map(Into::into))
}

fn access_for_user(user_id: String, now: i64) -> Work<Access> {
    on_engine(move |e| e.access_for_user(&user_id, now).map(Into::into))
}

fn access_for_user_in(account: String, user_id: String, now: i64) -> Work<Access> {
    on_engine(move |e| {
        e.access_for_user_in(&account, &user_id, now)
            .map(Into::into)
    })
}

fn purchases(customer_id: String) -> Work<Vec<Purchase>> {
    on_engine(move |e| {
        Ok(e.purchases(&customer_id)?
            .into_iter()
            .map(Into::into)
            .collect())
    })
}

fn catalog(object: Option<String>) -> Work<Vec<CatalogEntry>> {
    on_engine(move |e| {
        Ok(e.catalog(object.as_deref())?
            .into_iter()
            .map(Into::into)
            .collect())
    })
}

fn features(who: String) -> Work<Vec<String>> {
    on_engine(move |e| e.features(&who))
}

fn has_feature(who: String, lookup_key: String) -> Work<bool> {
    on_engine(move |e| e.has_feature(&who, &lookup_key))
}

fn invoices(customer_id: String) -> Work<Vec<Invoice>> {
    on_engine(move |e| {
        Ok(e.invoices(&customer_id)?
            .into_iter()
            .map(Into::into)
            .collect())
    })
}

fn checkout_status(session_id: String) -> Work<CheckoutStatus> {
    on_engine(move |e| e.checkout_status(&session_id).map(Into::into))
}

fn apply_snapshot(json: Vec<u8>, fetched_at: i64) -> Work<SnapshotApplied> {
    on_engine(move |e| e.apply_snapshot(&json, fetched_at).map(Into::into))
}

fn claim_jobs(options: ClaimOptions) -> tollbooth::Result<Work<Vec<ClaimedJob>>> {
    let limit = options.limit.small("limit", 1, MAX_CLAIM_LIMIT)?;
    let lease = options
        .lease_seconds
        .whole("leaseSeconds", 1, MAX_LEASE_SECS)?;
    let now = args::now(options.now_seconds, "nowSeconds")?;
    let kinds: Vec<String> = match &options.kinds {
        Some(k) => k.get("kinds")?,
        None => Vec::new(),
    };
    Ok(on_engine(move |e| {
        let kinds: Vec<&str> = kinds.iter().map(String::as_str).collect();
        let claimed = e.claim(&kinds, limit, lease, now)?;
        claimed.into_iter().map(ClaimedJob::from_core).collect()
    }))
}

fn complete_job(id: i64, lease_token: i64, now: i64) -> Work<()> {
    on_engine(move |e| e.complete(id, lease_token, now))
}

fn fail_job(id: i64, lease_token: i64, message: String, now: i64) -> Work<FailResult> {
    on_engine(move |e| e.fail(id, lease_token, &message, now).map(Into::into))
}

fn jobs(filter: Option<JobsFilter>) -> tollbooth::Result<Work<Vec<Job>>> {
    let filter = match &filter {
        Some(f) => f.to_core()?,
        None => tollbooth::JobFilter::default(),
    };
    Ok(on_engine(move |e| {
        e.jobs(&filter)?.into_iter().map(Job::from_core).collect()
    }))
}

fn dead_jobs() -> Work<Vec<Job>> {
    on_engine(|e| e.dead_jobs()?.into_iter().map(Job::from_core).collect())
}

fn replay_job(id: i64, now: i64) -> Work<i64> {
    on_engine(move |e| e.replay(id, now))
}

fn find_customer(needle: String) -> Work<Option<Customer>> {
    on_engine(move |e| Ok(e.find_customer(&needle)?.map(Into::into)))
}

fn metrics(now: i64) -> Work<Value> {
    on_engine(move |e| to_js_value(serde_json::to_value(e.metrics(now)?)))
}

fn prometheus(now: i64) -> Work<String> {
    on_engine(move |e| e.prometheus(now))
}

fn health(now: i64) -> Work<Value> {
    on_engine(move |e| to_js_value(serde_json::to_value(e.health(now)?)))
}

fn open() -> Work<()> {
    Box::new(|shared: &Shared| shared.engine().map(drop))
}

fn close(shared: &Shared) -> Work<()> {
    let engine = shared.begin_close();
    Box::new(move |_: &Shared| engine.map_or(Ok(()), |e| e.close()))
}

/// The body of `handleWebhook`, copied out of JS memory (bytes only; see [`body`]).
fn webhook_body(env: &Env, raw_body: &Unknown<'_>) -> tollbooth::Result<Vec<u8>> {
    body::webhook_body(env, raw_body).map(body::Bytes::into_vec)
}

/// Work that only reports `e`: a Promise form rejects (rather than throws) for a bad argument
/// tollbooth itself checks, like Node's `fs.promises`.
fn failed<T: 'static>(e: tollbooth::Error) -> Work<T> {
    Box::new(move |_: &Shared| Err(e))
}

/// The work `f` builds once it has checked its arguments, or work that reports why they were
/// refused (so both the Promise and the Sync form report a bad argument the same way).
pub(crate) fn checked<T: 'static>(f: impl FnOnce() -> tollbooth::Result<Work<T>>) -> Work<T> {
    or_failed(f())
}

/// The work, or work that reports why there is none.
pub(crate) fn or_failed<T: 'static>(work: tollbooth::Result<Work<T>>) -> Work<T> {
    work.unwrap_or_else(failed)
}

/// `applySnapshot`'s work for both forms: the object and the time read now, on the JS thread.
fn snapshot_call(
    env: &Env,
    object: &Unknown<'_>,
    fetched_at: Option<Num>,
) -> Work<SnapshotApplied> {
    checked(|| {
        let at = args::now(fetched_at, "fetchedAtSeconds")?;
        snapshot_json(env, object).map(|j| apply_snapshot(j, at))
    })
}

/// The JSON of `applySnapshot`: bytes or a string as is, an object through `JSON.stringify`.
pub(crate) fn snapshot_json(env: &Env, value: &Unknown<'_>) -> tollbooth::Result<Vec<u8>> {
    let bad = |m: String| tollbooth::Error::new(ErrorCode::InvalidArgument, m);
    if let Some(b) = body::bytes(env, value, "stripeObject", Also::Text)? {
        return Ok(b.into_vec());
    }
    match value.get_type() {
        Ok(ValueType::Object) => {
            // SAFETY: the value is an object, checked just above.
            let obj: Object = unsafe { value.cast() }.map_err(|e| bad(e.reason.clone()))?;
            let json: JSON = env
                .get_global()
                .and_then(|g| g.get_named_property_unchecked("JSON"))
                .map_err(|e| bad(e.reason.clone()))?;
            let text = json.stringify(obj).map_err(|e| {
                bad(format!(
                    "the object could not be serialized with JSON.stringify: {e}"
                ))
            })?;
            Ok(text.into_bytes())
        }
        _ => Err(bad(
            "stripeObject must be an object fetched from the Stripe API, its JSON text, or \
             those bytes"
                .to_owned(),
        )),
    }
}

#[napi]
impl Tollbooth {
    /// Validates the options; opens nothing. The store (the SQLite file, created with its
    /// directory if missing) is opened by the first call that needs it, or by `open()`.
    ///
    /// Throws `CONFIG_INVALID` (no secret, tolerance <= 0, ...) or `SECRET_INVALID` (an empty
    /// secret). A store that cannot be opened is reported by that first call (`STORE_*`).
    #[napi(constructor, catch_unwind)]
    pub fn new(options: TollboothOptions) -> Result<Self> {
        guard(|| Ok(Tollbooth::with_config(options::config(&options)?)))
    }

    /// An instance configured from `process.env`, for apps and workers that share one setup:
    ///
    /// - `STRIPE_WEBHOOK_SECRET` (required): the signing secret; two, comma-separated, while
    ///   rotating;
    /// - `TOLLBOOTH_DB`: the database (default `data/tollbooth.db`, directory created on
    ///   first use);
    /// - `STRIPE_LIVEMODE` = `true` | `false`; unset, the mode of `STRIPE_SECRET_KEY`
    ///   (`sk_live_`/`rk_live_`: live only, `sk_test_`/`rk_test_`: test only), or both when
    ///   that is unset too. Never `NODE_ENV`.
    ///
    /// `options` override the environment. Throws `CONFIG_INVALID` / `SECRET_INVALID` with a
    /// message naming the variable; opens nothing, like the constructor.
    #[napi(factory, catch_unwind)]
    pub fn from_env(env: Env, options: Option<EnvOptions>) -> Result<Self> {
        guard(|| {
            Ok(Tollbooth::with_config(options::from_env(
                &env,
                options.as_ref(),
            )?))
        })
    }

    /// Opens the store now, on a worker thread, instead of on first use: call it at startup
    /// to fail fast on a bad path. Optional; resolves at once when already open.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn open(&self) -> AsyncTask<Call<()>> {
        self.later(open())
    }

    /// `open()` on the calling thread.
    #[napi(catch_unwind)]
    pub fn open_sync(&self) -> Result<()> {
        self.now(open())
    }

    /// Handles one Stripe delivery: verify the signature over the exact raw bytes, parse,
    /// dedupe by event id, persist, apply to billing state and enqueue jobs, in one transaction.
    ///
    /// Pass the body exactly as received, as bytes: `Buffer.from(await req.arrayBuffer())`
    /// (or the `ArrayBuffer`, a `Uint8Array`, a `DataView`) — never a string or parsed JSON,
    /// which are refused with `INVALID_ARGUMENT`. A missing header (`null`/`undefined`)
    /// rejects with `SIGNATURE_HEADER_MISSING`.
    ///
    /// Resolving means "answer 200". A code starting with `SIGNATURE_`, `TIMESTAMP_`,
    /// `PAYLOAD_` or `EVENT_` means "answer 400" (the request is bad); any other code
    /// (`STORE_BUSY`, `LIVEMODE_MISMATCH`, ...) means "answer 500" so Stripe retries.
    #[napi(
        catch_unwind,
        ts_args_type = "rawBody: Uint8Array | ArrayBuffer | DataView, signatureHeader?: string | undefined | null, nowSeconds?: number | undefined | null",
        ts_return_type = "Promise<HandledWebhook>"
    )]
    pub fn handle_webhook(
        &self,
        env: Env,
        raw_body: Unknown<'_>,
        signature_header: Option<Text>,
        now_seconds: Option<Num>,
    ) -> napi::Result<PromiseValue> {
        let work = checked(|| {
            let now = args::now(now_seconds, "nowSeconds")?;
            let header = args::opt_text(signature_header, "signatureHeader")?;
            webhook_body(&env, &raw_body).map(|b| handle_webhook(b, header, now))
        });
        // On a lane, not libuv's pool: see `crate::lanes` (group commit needs the deliveries
        // in flight to be in the engine at once).
        on_lane(&env, Arc::clone(&self.shared), work)
    }

    /// `handleWebhook` on the calling thread; reads a `Buffer` in place, without a copy.
    #[napi(
        catch_unwind,
        ts_args_type = "rawBody: Uint8Array | ArrayBuffer | DataView, signatureHeader?: string | undefined | null, nowSeconds?: number | undefined | null"
    )]
    pub fn handle_webhook_sync(
        &self,
        env: Env,
        raw_body: Unknown<'_>,
        signature_header: Option<Text>,
        now_seconds: Option<Num>,
    ) -> Result<HandledWebhook> {
        let body = body::webhook_body(&env, &raw_body).map_err(to_napi)?;
        let header = args::opt_text(signature_header, "signatureHeader").map_err(to_napi)?;
        let header = header.as_deref().unwrap_or("");
        let now = args::now(now_seconds, "nowSeconds").map_err(to_napi)?;
        guard(|| {
            self.shared.run(|e| {
                e.handle_webhook_at(body.as_slice(), header, now)
                    .map(Into::into)
            })
        })
    }

    /// Access for a Stripe customer (an unknown customer has state `none`).
    #[napi(catch_unwind, ts_return_type = "Promise<Access>")]
    pub fn access(
        &self,
        #[napi(ts_arg_type = "string")] customer_id: Text,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> AsyncTask<Call<Access>> {
        self.later(checked(|| {
            Ok(access(
                customer_id.get("customerId")?,
                args::now(now_seconds, "nowSeconds")?,
            ))
        }))
    }

    /// `access` on the calling thread.
    #[napi(catch_unwind)]
    pub fn access_sync(
        &self,
        #[napi(ts_arg_type = "string")] customer_id: Text,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> Result<Access> {
        self.now(checked(|| {
            Ok(access(
                customer_id.get("customerId")?,
                args::now(now_seconds, "nowSeconds")?,
            ))
        }))
    }

    /// Access for an app user, through the customer linked to it by Checkout's
    /// `client_reference_id` or the customer's `metadata.user_id` (state `none` when unlinked).
    #[napi(catch_unwind, ts_return_type = "Promise<Access>")]
    pub fn access_for_user(
        &self,
        #[napi(ts_arg_type = "string")] user_id: Text,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> AsyncTask<Call<Access>> {
        self.later(checked(|| {
            Ok(access_for_user(
                user_id.get("userId")?,
                args::now(now_seconds, "nowSeconds")?,
            ))
        }))
    }

    /// `accessForUser` on the calling thread.
    #[napi(catch_unwind)]
    pub fn access_for_user_sync(
        &self,
        #[napi(ts_arg_type = "string")] user_id: Text,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> Result<Access> {
        self.now(checked(|| {
            Ok(access_for_user(
                user_id.get("userId")?,
                args::now(now_seconds, "nowSeconds")?,
            ))
        }))
    }

    /// Connect: access for an app user of connected account `account` (`acct_...`), through
    /// that account's customer linked to the user. `accessForUser` answers for the platform's
    /// own users only, so the same user id in two accounts never mixes.
    #[napi(catch_unwind, ts_return_type = "Promise<Access>")]
    pub fn access_for_user_in(
        &self,
        #[napi(ts_arg_type = "string")] account: Text,
        #[napi(ts_arg_type = "string")] user_id: Text,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> AsyncTask<Call<Access>> {
        self.later(checked(|| {
            Ok(access_for_user_in(
                account.get("account")?,
                user_id.get("userId")?,
                args::now(now_seconds, "nowSeconds")?,
            ))
        }))
    }

    /// `accessForUserIn` on the calling thread.
    #[napi(catch_unwind)]
    pub fn access_for_user_in_sync(
        &self,
        #[napi(ts_arg_type = "string")] account: Text,
        #[napi(ts_arg_type = "string")] user_id: Text,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> Result<Access> {
        self.now(checked(|| {
            Ok(access_for_user_in(
                account.get("account")?,
                user_id.get("userId")?,
                args::now(now_seconds, "nowSeconds")?,
            ))
        }))
    }

    /// A customer's one-time purchases (paid, pending and refunded), by id.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<Purchase>>")]
    pub fn purchases(
        &self,
        #[napi(ts_arg_type = "string")] customer_id: Text,
    ) -> AsyncTask<Call<Vec<Purchase>>> {
        self.later(checked(|| Ok(purchases(customer_id.get("customerId")?))))
    }

    /// `purchases` on the calling thread.
    #[napi(catch_unwind)]
    pub fn purchases_sync(
        &self,
        #[napi(ts_arg_type = "string")] customer_id: Text,
    ) -> Result<Vec<Purchase>> {
        self.now(checked(|| Ok(purchases(customer_id.get("customerId")?))))
    }

    /// Products and prices by id (`object`: only `'product'` or only `'price'`), so a page
    /// can show plan names.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<CatalogEntry>>")]
    pub fn catalog(
        &self,
        #[napi(ts_arg_type = "'product' | 'price'")] object: Option<Text>,
    ) -> AsyncTask<Call<Vec<CatalogEntry>>> {
        self.later(checked(|| Ok(catalog(args::opt_text(object, "object")?))))
    }

    /// `catalog` on the calling thread.
    #[napi(catch_unwind)]
    pub fn catalog_sync(
        &self,
        #[napi(ts_arg_type = "'product' | 'price'")] object: Option<Text>,
    ) -> Result<Vec<CatalogEntry>> {
        self.now(checked(|| Ok(catalog(args::opt_text(object, "object")?))))
    }

    /// The active Stripe Entitlements (feature lookup keys, sorted) of a Stripe customer or
    /// of the customer linked to an app user (empty when unknown).
    #[napi(catch_unwind, ts_return_type = "Promise<Array<string>>")]
    pub fn features(
        &self,
        #[napi(ts_arg_type = "string")] user_or_customer: Text,
    ) -> AsyncTask<Call<Vec<String>>> {
        self.later(checked(|| {
            Ok(features(user_or_customer.get("userOrCustomer")?))
        }))
    }

    /// `features` on the calling thread.
    #[napi(catch_unwind)]
    pub fn features_sync(
        &self,
        #[napi(ts_arg_type = "string")] user_or_customer: Text,
    ) -> Result<Vec<String>> {
        self.now(checked(|| {
            Ok(features(user_or_customer.get("userOrCustomer")?))
        }))
    }

    /// Whether a Stripe customer (or an app user's customer) has the active entitlement
    /// `lookupKey`.
    #[napi(catch_unwind, ts_return_type = "Promise<boolean>")]
    pub fn has_feature(
        &self,
        #[napi(ts_arg_type = "string")] user_or_customer: Text,
        #[napi(ts_arg_type = "string")] lookup_key: Text,
    ) -> AsyncTask<Call<bool>> {
        self.later(checked(|| {
            Ok(has_feature(
                user_or_customer.get("userOrCustomer")?,
                lookup_key.get("lookupKey")?,
            ))
        }))
    }

    /// `hasFeature` on the calling thread.
    #[napi(catch_unwind)]
    pub fn has_feature_sync(
        &self,
        #[napi(ts_arg_type = "string")] user_or_customer: Text,
        #[napi(ts_arg_type = "string")] lookup_key: Text,
    ) -> Result<bool> {
        self.now(checked(|| {
            Ok(has_feature(
                user_or_customer.get("userOrCustomer")?,
                lookup_key.get("lookupKey")?,
            ))
        }))
    }

    /// A customer's invoices, newest first.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<Invoice>>")]
    pub fn invoices(
        &self,
        #[napi(ts_arg_type = "string")] customer_id: Text,
    ) -> AsyncTask<Call<Vec<Invoice>>> {
        self.later(checked(|| Ok(invoices(customer_id.get("customerId")?))))
    }

    /// `invoices` on the calling thread.
    #[napi(catch_unwind)]
    pub fn invoices_sync(
        &self,
        #[napi(ts_arg_type = "string")] customer_id: Text,
    ) -> Result<Vec<Invoice>> {
        self.now(checked(|| Ok(invoices(customer_id.get("customerId")?))))
    }

    /// What the checkout success page may say about a Checkout Session (`pending` when no
    /// webhook for it has been processed yet).
    #[napi(catch_unwind, ts_return_type = "Promise<CheckoutStatus>")]
    pub fn checkout_status(
        &self,
        #[napi(ts_arg_type = "string")] session_id: Text,
    ) -> AsyncTask<Call<CheckoutStatus>> {
        self.later(checked(|| {
            Ok(checkout_status(session_id.get("sessionId")?))
        }))
    }

    /// `checkoutStatus` on the calling thread.
    #[napi(catch_unwind)]
    pub fn checkout_status_sync(
        &self,
        #[napi(ts_arg_type = "string")] session_id: Text,
    ) -> Result<CheckoutStatus> {
        self.now(checked(|| {
            Ok(checkout_status(session_id.get("sessionId")?))
        }))
    }

    /// Applies an object freshly fetched from the Stripe API (a subscription, invoice,
    /// customer or checkout session) as the authoritative state at `fetchedAtSeconds`: it
    /// replaces the stored row unless that row was written by a newer event. An object is
    /// serialized with `JSON.stringify`; a string or bytes are used as is.
    #[napi(
        catch_unwind,
        ts_args_type = "stripeObject: object | string | Uint8Array | ArrayBuffer | DataView, fetchedAtSeconds?: number | undefined | null",
        ts_return_type = "Promise<SnapshotApplied>"
    )]
    pub fn apply_snapshot(
        &self,
        env: Env,
        stripe_object: Unknown<'_>,
        fetched_at_seconds: Option<Num>,
    ) -> AsyncTask<Call<SnapshotApplied>> {
        self.later(snapshot_call(&env, &stripe_object, fetched_at_seconds))
    }

    /// `applySnapshot` on the calling thread.
    #[napi(
        catch_unwind,
        ts_args_type = "stripeObject: object | string | Uint8Array | ArrayBuffer | DataView, fetchedAtSeconds?: number | undefined | null"
    )]
    pub fn apply_snapshot_sync(
        &self,
        env: Env,
        stripe_object: Unknown<'_>,
        fetched_at_seconds: Option<Num>,
    ) -> Result<SnapshotApplied> {
        self.now(snapshot_call(&env, &stripe_object, fetched_at_seconds))
    }

    /// Leases up to `limit` due jobs (of `kinds`, or all) for `leaseSeconds`. Run each job's
    /// side effect with its `key` as the idempotency key, then `completeJob` or `failJob`
    /// with its `leaseToken`.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<ClaimedJob>>")]
    pub fn claim_jobs(&self, options: ClaimOptions) -> AsyncTask<Call<Vec<ClaimedJob>>> {
        self.later(or_failed(claim_jobs(options)))
    }

    /// `claimJobs` on the calling thread.
    #[napi(catch_unwind)]
    pub fn claim_jobs_sync(&self, options: ClaimOptions) -> Result<Vec<ClaimedJob>> {
        self.now(claim_jobs(options).map_err(to_napi)?)
    }

    /// Marks a claimed job done. Rejects with `LEASE_LOST` when the lease expired or another
    /// worker holds the job now, `JOB_NOT_FOUND` for an unknown id.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn complete_job(
        &self,
        #[napi(ts_arg_type = "number")] id: Num,
        #[napi(ts_arg_type = "number")] lease_token: Num,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> AsyncTask<Call<()>> {
        self.later(checked(|| {
            Ok(complete_job(
                args::id(&id, "id")?,
                args::id(&lease_token, "leaseToken")?,
                args::now(now_seconds, "nowSeconds")?,
            ))
        }))
    }

    /// `completeJob` on the calling thread.
    #[napi(catch_unwind)]
    pub fn complete_job_sync(
        &self,
        #[napi(ts_arg_type = "number")] id: Num,
        #[napi(ts_arg_type = "number")] lease_token: Num,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> Result<()> {
        self.now(checked(|| {
            Ok(complete_job(
                args::id(&id, "id")?,
                args::id(&lease_token, "leaseToken")?,
                args::now(now_seconds, "nowSeconds")?,
            ))
        }))
    }

    /// Records a failed attempt: retry with backoff, or dead-letter after `maxAttempts`.
    /// `whsec_`/`sk_`-style secrets in `message` are redacted before it is stored. Rejects
    /// with `LEASE_LOST` / `JOB_NOT_FOUND` like `completeJob`.
    #[napi(catch_unwind, ts_return_type = "Promise<FailResult>")]
    pub fn fail_job(
        &self,
        #[napi(ts_arg_type = "number")] id: Num,
        #[napi(ts_arg_type = "number")] lease_token: Num,
        #[napi(ts_arg_type = "string")] message: Text,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> AsyncTask<Call<FailResult>> {
        self.later(checked(|| {
            Ok(fail_job(
                args::id(&id, "id")?,
                args::id(&lease_token, "leaseToken")?,
                message.get("message")?,
                args::now(now_seconds, "nowSeconds")?,
            ))
        }))
    }

    /// `failJob` on the calling thread.
    #[napi(catch_unwind)]
    pub fn fail_job_sync(
        &self,
        #[napi(ts_arg_type = "number")] id: Num,
        #[napi(ts_arg_type = "number")] lease_token: Num,
        #[napi(ts_arg_type = "string")] message: Text,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> Result<FailResult> {
        self.now(checked(|| {
            Ok(fail_job(
                args::id(&id, "id")?,
                args::id(&lease_token, "leaseToken")?,
                message.get("message")?,
                args::now(now_seconds, "nowSeconds")?,
            ))
        }))
    }

    /// Jobs, newest first, optionally filtered.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<Job>>")]
    pub fn jobs(&self, filter: Option<JobsFilter>) -> AsyncTask<Call<Vec<Job>>> {
        self.later(or_failed(jobs(filter)))
    }

    /// `jobs` on the calling thread.
    #[napi(catch_unwind)]
    pub fn jobs_sync(&self, filter: Option<JobsFilter>) -> Result<Vec<Job>> {
        self.now(jobs(filter).map_err(to_napi)?)
    }

    /// Dead-lettered jobs, newest first.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<Job>>")]
    pub fn dead_jobs(&self) -> AsyncTask<Call<Vec<Job>>> {
        self.later(dead_jobs())
    }

    /// `deadJobs` on the calling thread.
    #[napi(catch_unwind)]
    pub fn dead_jobs_sync(&self) -> Result<Vec<Job>> {
        self.now(dead_jobs())
    }

    /// Puts a dead job back in the queue; resolves to the id of the job that will run.
    #[napi(catch_unwind, ts_return_type = "Promise<number>")]
    pub fn replay_job(
        &self,
        #[napi(ts_arg_type = "number")] id: Num,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> AsyncTask<Call<i64>> {
        self.later(checked(|| {
            Ok(replay_job(
                args::id(&id, "id")?,
                args::now(now_seconds, "nowSeconds")?,
            ))
        }))
    }

    /// `replayJob` on the calling thread.
    #[napi(catch_unwind)]
    pub fn replay_job_sync(
        &self,
        #[napi(ts_arg_type = "number")] id: Num,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> Result<i64> {
        self.now(checked(|| {
            Ok(replay_job(
                args::id(&id, "id")?,
                args::now(now_seconds, "nowSeconds")?,
            ))
        }))
    }

    /// A customer by Stripe id, email or app user id (tried in that order), or `null`.
    #[napi(catch_unwind, ts_return_type = "Promise<Customer | null>")]
    pub fn find_customer(
        &self,
        #[napi(ts_arg_type = "string")] needle: Text,
    ) -> AsyncTask<Call<Option<Customer>>> {
        self.later(checked(|| Ok(find_customer(needle.get("needle")?))))
    }

    /// `findCustomer` on the calling thread.
    #[napi(catch_unwind)]
    pub fn find_customer_sync(
        &self,
        #[napi(ts_arg_type = "string")] needle: Text,
    ) -> Result<Option<Customer>> {
        self.now(checked(|| Ok(find_customer(needle.get("needle")?))))
    }

    /// The metrics report (deliveries, latency, lag, queue depth, failure rate) as an object,
    /// with the keys of the core's JSON report (snake_case).
    #[napi(catch_unwind, ts_return_type = "Promise<Record<string, any>>")]
    pub fn metrics(
        &self,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> AsyncTask<Call<Value>> {
        self.later(checked(|| {
            Ok(metrics(args::now(now_seconds, "nowSeconds")?))
        }))
    }

    /// `metrics` on the calling thread.
    #[napi(catch_unwind, ts_return_type = "Record<string, any>")]
    pub fn metrics_sync(
        &self,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> Result<Value> {
        self.now(checked(|| {
            Ok(metrics(args::now(now_seconds, "nowSeconds")?))
        }))
    }

    /// Prometheus text exposition (format 0.0.4), for a `/metrics` route.
    #[napi(catch_unwind, ts_return_type = "Promise<string>")]
    pub fn prometheus(
        &self,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> AsyncTask<Call<String>> {
        self.later(checked(|| {
            Ok(prometheus(args::now(now_seconds, "nowSeconds")?))
        }))
    }

    /// `prometheus` on the calling thread.
    #[napi(catch_unwind)]
    pub fn prometheus_sync(
        &self,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> Result<String> {
        self.now(checked(|| {
            Ok(prometheus(args::now(now_seconds, "nowSeconds")?))
        }))
    }

    /// Health: `{ ok, alerts, failure_rate, deliveries_window }` (keys as the core's JSON has
    /// them). `ok` is false while an alert fires.
    #[napi(
        catch_unwind,
        ts_return_type = "Promise<{ ok: boolean; alerts: any[]; [key: string]: any }>"
    )]
    pub fn health(
        &self,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> AsyncTask<Call<Value>> {
        self.later(checked(|| {
            Ok(health(args::now(now_seconds, "nowSeconds")?))
        }))
    }

    /// `health` on the calling thread.
    #[napi(
        catch_unwind,
        ts_return_type = "{ ok: boolean; alerts: any[]; [key: string]: any }"
    )]
    pub fn health_sync(
        &self,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> Result<Value> {
        self.now(checked(|| {
            Ok(health(args::now(now_seconds, "nowSeconds")?))
        }))
    }

    /// Flushes buffered log rows and closes the database. Calls made after `close()` reject
    /// (or throw) `CLOSED` at once, even before the returned Promise settles; closing twice, or
    /// closing an instance that never opened its store, is a no-op.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn close(&self) -> AsyncTask<Call<()>> {
        self.later(close(&self.shared))
    }

    /// `close` on the calling thread.
    #[napi(catch_unwind)]
    pub fn close_sync(&self) -> Result<()> {
        self.now(close(&self.shared))
    }
}

#[cfg(test)]
mod tests {
    //! The panic boundary as the exports use it: the `...Sync` path ([`Tollbooth::now`]) and
    //! the Promise path ([`Call`]'s `compute`, on a worker thread) both turn a panic in the
    //! engine call into code `PANIC`, and the instance keeps working afterwards.

    use napi::Task;

    use super::*;

    fn instance() -> Tollbooth {
        Tollbooth::with_config(Config::new(":memory:", &["whsec_p"]).unwrap())
    }

    fn panics() -> Work<Access> {
        on_engine(|_| panic!("deliberate"))
    }

    #[test]
    fn a_panic_in_a_sync_call_is_thrown_as_panic_and_the_instance_goes_on() {
        let tb = instance();
        let e = tb.now(panics()).map(|_| ()).unwrap_err();
        assert_eq!(e.status, ErrorCode::Panic);
        let after = tb.now(access("cus_1".into(), 1)).unwrap();
        assert_eq!(after.state, "none");
    }

    #[test]
    fn a_panic_in_a_promise_call_rejects_with_panic_on_a_worker_thread() {
        let tb = instance();
        let shared = Arc::clone(&tb.shared);
        let worker = std::thread::spawn(move || {
            let mut failing = Call::new(Arc::clone(&shared), panics());
            let first = failing.compute().unwrap().map(|_| ()).unwrap_err();
            let mut next = Call::new(shared, access("cus_1".into(), 1));
            (first, next.compute().unwrap().unwrap())
        });
        let (first, next) = worker.join().expect("the worker thread did not unwind");
        assert_eq!(first.code(), ErrorCode::Panic);
        assert_eq!(next.state, "none");
    }
}
