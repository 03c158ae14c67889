//! `tb_engine`: open, close, last error, and the webhook entry point.

use std::sync::Mutex;

use tollbooth::{Engine, EnqueuedJob, Error, Handled, Outcome, SnapshotApplied};

use crate::boundary::{Owned, free_view, into_raw_view};
use crate::config::tb_config;
use crate::results::{bounded_message, copy_text, tb_result};
use crate::strings::tb_str;

/// Pass as `now` to read the system clock (unix seconds) instead of giving the time.
pub const TB_NOW: i64 = i64::MIN;

/// `now`, or the clock when it is the `TB_NOW` sentinel.
pub(crate) fn resolve_now(now: i64) -> i64 {
    if now == TB_NOW {
        tollbooth::unix_now()
    } else {
        now
    }
}

/// An open engine: the database plus the verification settings. Opaque; made by
/// `tb_engine_open`, freed by `tb_engine_free`.
///
/// THREAD SAFETY: a `tb_engine*` may be used from several threads at once: every function
/// that takes a `const tb_engine*` is safe to call concurrently (an internal mutex serialises
/// database work). Only `tb_engine_free` needs exclusive use: call it once, after every other
/// call on the engine has returned.
#[allow(non_camel_case_types)]
pub struct tb_engine {
    engine: Engine,
    last_error: Mutex<String>,
}

impl tb_engine {
    /// Records a failure's detail (see `tb_engine_last_error`) and returns its code.
    pub(crate) fn fail(&self, e: &Error) -> tb_result {
        let mut slot = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        *slot = bounded_message(&e.to_string());
        e.into()
    }

    /// Runs `f` on the engine: `Ok` goes to `store`, an error is recorded and returned.
    pub(crate) fn run<T>(
        &self,
        f: impl FnOnce(&Engine) -> tollbooth::Result<T>,
        store: impl FnOnce(T),
    ) -> tb_result {
        match f(&self.engine) {
            Ok(v) => {
                store(v);
                tb_result::Ok
            }
            Err(e) => self.fail(&e),
        }
    }
}

/// Opens (creating and migrating) the database named in `config` and validates the settings.
///
/// On `TB_RESULT_OK` `*engine_out` receives a new engine that the caller owns and must release
/// with `tb_engine_free`. `config` is copied and may be freed right after. Errors:
/// `TB_RESULT_CONFIG_INVALID` (no secret, tolerance <= 0, ...), `TB_RESULT_STORE_OPEN_FAILED`,
/// `TB_RESULT_STORE_SCHEMA_TOO_NEW`, `TB_RESULT_STORE_CORRUPT`, ...; the detail is then
/// available from `tb_config_last_error(config, ...)`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_open(
    config: *const tb_config,
    engine_out: *mut *mut tb_engine,
) -> tb_result {
    ffi_boundary! {
        let config = try_ref!(config);
        let out = try_mut!(engine_out);
        match Engine::open(config.config().clone()) {
            Ok(engine) => {
                *out = Box::into_raw(Box::new(tb_engine {
                    engine,
                    last_error: Mutex::new(String::new()),
                }));
                tb_result::Ok
            }
            Err(e) => config.fail(&e),
        }
    }
}

/// Flushes buffered log rows and closes the database. Later calls on the engine return
/// `TB_RESULT_CLOSED`; the handle itself stays valid until `tb_engine_free`. Closing twice is
/// `TB_RESULT_OK`. Optional: `tb_engine_free` closes too, but cannot report a failure.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_close(engine: *const tb_engine) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        engine.run(|e| e.close(), |()| ())
    }
}

/// Closes (ignoring errors) and frees an engine. NULL is a no-op. No other call may be using
/// the engine, and it must not be used afterwards. Every object the engine returned
/// (`tb_handled`, `tb_access`, `tb_string`, ...) is independent and stays valid.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_free(engine: *mut tb_engine) {
    ffi_boundary! {
        if !engine.is_null() {
            // SAFETY: the header requires `engine` to come from `tb_engine_open`, to be freed
            // once, and to be in use by no other thread.
            let engine = unsafe { Box::from_raw(engine) };
            let _ = engine.engine.close();
        }
    }
}

/// Writes the detail of the most recent failure on this engine into `buf` (like
/// `sqlite3_errmsg`); `*out_n` receives the byte count (0 when nothing failed yet). The text
/// is `CODE: message`, UTF-8, not NUL-terminated, at most `TB_ERROR_MESSAGE_MAX` bytes, and
/// never contains a secret, a signature or a request body.
///
/// Failures found before the engine is reached (`TB_RESULT_NULL_PARAMETER`,
/// `TB_RESULT_INVALID_UTF8`, `TB_RESULT_BUFFER_TOO_SMALL`) are not recorded. When several
/// threads share the engine the text may describe another thread's failure: the code a call
/// returns is authoritative, the text is for humans.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_last_error(
    engine: *const tb_engine,
    buf: *mut u8,
    len: usize,
    out_n: *mut usize,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out_n = try_mut!(out_n);
        let buf = try_slice_mut!(buf, len);
        let text = engine.last_error.lock().unwrap_or_else(|p| p.into_inner());
        *out_n = try_ok!(copy_text(text.as_bytes(), buf));
        tb_result::Ok
    }
}

/// What a delivery did (`tb_handled.outcome`, a `uint32_t`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tb_outcome {
    /// A new event: state and jobs written.
    Processed = 0,
    /// Already stored: nothing done.
    Duplicate = 1,
    /// Stored, but its type moves no state.
    Ignored = 2,
    /// Stored, but older than the state it would have written: nothing else done.
    Stale = 3,
    /// Authentic but not readable (or of the other livemode): stored raw with its code
    /// (`tb_handled.reason`) and acknowledged; replayed by `tb_engine_reprocess` after an
    /// upgrade.
    Quarantined = 4,
    /// A signed `tollbooth doctor` probe: verified and recognised, nothing stored or changed.
    Probe = 5,
}

from_same_variants!(Outcome => tb_outcome {
    Processed, Duplicate, Ignored, Stale, Quarantined, Probe,
});

/// A job that a delivery wrote (an element of `tb_handled.jobs`). Strings borrow from the
/// `tb_handled`.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct tb_enqueued_job {
    /// Job id.
    pub id: i64,
    /// Kind, e.g. "crm.sync_customer".
    pub kind: tb_str,
    /// Deterministic idempotency key.
    pub key: tb_str,
    /// True when an existing due job was refreshed instead of a new one written.
    pub coalesced: bool,
}

/// The result of `tb_engine_handle_webhook`: acknowledge the delivery with HTTP 200.
///
/// Owned by the caller; release with `tb_handled_free`. Every `tb_str` and the `jobs` array
/// borrow from it and are valid until then. Read-only. Tollbooth only ever appends fields at
/// the end and never asks the caller to allocate one, so reading fields stays ABI-compatible.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct tb_handled {
    /// A `tb_outcome` value.
    pub outcome: u32,
    /// Stripe event id (`evt_...`).
    pub event_id: tb_str,
    /// Stripe event type (`invoice.paid`, ...).
    pub event_type: tb_str,
    /// The customer the event concerns; `{NULL, 0}` when unknown.
    pub customer_id: tb_str,
    /// `jobs_len` jobs written by this delivery; NULL when `jobs_len` is 0.
    pub jobs: *const tb_enqueued_job,
    /// Number of elements in `jobs`.
    pub jobs_len: usize,
    /// For `TB_OUTCOME_QUARANTINED`, the `tb_result` that stopped the event; else 0.
    pub reason: u32,
}

type HandledKeep = (Handled, Vec<tb_enqueued_job>);

fn job_views(jobs: &[EnqueuedJob]) -> Vec<tb_enqueued_job> {
    jobs.iter()
        .map(|j| tb_enqueued_job {
            id: j.id,
            kind: tb_str::of(&j.kind),
            key: tb_str::of(&j.key),
            coalesced: j.coalesced,
        })
        .collect()
}

/// A pointer to the first element, or NULL for an empty list.
pub(crate) fn array_ptr<T>(v: &[T]) -> *const T {
    if v.is_empty() {
        std::ptr::null()
    } else {
        v.as_ptr()
    }
}

fn new_handled(h: Handled) -> *mut tb_handled {
    view_with_jobs(
        h,
        |h| &h.jobs,
        |h, jobs| tb_handled {
            outcome: tb_outcome::from(h.outcome) as u32,
            event_id: tb_str::of(&h.event_id),
            event_type: tb_str::of(&h.event_type),
            customer_id: tb_str::opt(h.customer_id.as_ref()),
            jobs: array_ptr(jobs),
            jobs_len: jobs.len(),
            reason: h.reason.map_or(0, |c| c.as_u32()),
        },
    )
}

/// Boxes the view `make` builds over `owner` and the `tb_enqueued_job` views of its `jobs`
/// (`tb_handled` and `tb_snapshot` both carry the jobs a call wrote). Moving `owner` and the
/// job views into the box moves only their headers, not the heap buffers the view points into.
fn view_with_jobs<T, V>(
    owner: T,
    jobs: impl FnOnce(&T) -> &[EnqueuedJob],
    make: impl FnOnce(&T, &[tb_enqueued_job]) -> V,
) -> *mut V {
    let job_views = job_views(jobs(&owner));
    let view = make(&owner, &job_views);
    into_raw_view(Owned {
        view,
        _keep: (owner, job_views),
    })
}

/// Frees a `tb_handled`. NULL is a no-op. Its strings and jobs must not be used afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn tb_handled_free(handled: *mut tb_handled) {
    ffi_boundary! {
        // SAFETY: the header requires `handled` to be NULL or a `tb_handled` from
        // `tb_engine_handle_webhook`, freed once; those are made by `new_handled`.
        unsafe { free_view::<tb_handled, HandledKeep>(handled) }
    }
}

/// Handles one Stripe delivery: verify the signature over the raw body, parse, dedupe,
/// persist, move billing state and enqueue jobs, all in one store transaction.
///
/// `body`: the raw request body exactly as received (do not re-serialise JSON); NULL with
/// length 0 is an empty body. `signature`: the `Stripe-Signature` header value; NULL or length
/// 0 when the header is absent (`TB_RESULT_SIGNATURE_HEADER_MISSING`). Both come from the
/// request, so whatever they hold (bytes that are not UTF-8, say) is the request's fault
/// (a `SIGNATURE_HEADER_*` code, HTTP 400) and is logged, never `TB_RESULT_INVALID_UTF8`.
/// `now`: unix seconds, or `TB_NOW` for the clock.
///
/// On `TB_RESULT_OK` (answer 200, including duplicates and quarantined events)
/// `*handled_out` receives a new `tb_handled` that the caller owns and must release with
/// `tb_handled_free`. `tb_result_http_status` gives the status for any other code. The
/// detail goes to `tb_engine_last_error`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_handle_webhook(
    engine: *const tb_engine,
    body: *const u8,
    body_len: usize,
    signature: *const u8,
    signature_len: usize,
    now: i64,
    handled_out: *mut *mut tb_handled,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(handled_out);
        let body = try_slice_or_empty!(body, body_len);
        let signature = try_slice_or_empty!(signature, signature_len);
        // Not UTF-8 cannot be Stripe's header: the replacement characters make the core
        // refuse it as malformed (and log it), like any other bad header.
        let signature = String::from_utf8_lossy(signature);
        let now = resolve_now(now);
        engine.run(
            |e| e.handle_webhook_at(body, &signature, now),
            |h| *out = new_handled(h),
        )
    }
}

/// Ingests one raw Stripe event the host trusts without a signature: an event fetched from the
/// Stripe API (`GET /v1/events/{id}`, the full event behind a thin notification), a backfill
/// from an export, or an event from an intake where no signature exists (Amazon EventBridge).
/// Everything `tb_engine_handle_webhook` does after verifying, with the same size limit.
///
/// `body`: the event JSON (NULL with length 0 is an empty body); as for a verified delivery, a
/// body that does not normalize is stored and answered as quarantined, and a thin event
/// becomes a `stripe.fetch_event` job. `now`: unix seconds, or `TB_NOW`. On `TB_RESULT_OK` `*handled_out` receives a
/// new `tb_handled` that the caller owns and must release with `tb_handled_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_ingest_trusted(
    engine: *const tb_engine,
    body: *const u8,
    body_len: usize,
    now: i64,
    handled_out: *mut *mut tb_handled,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(handled_out);
        let body = try_slice_or_empty!(body, body_len);
        let now = resolve_now(now);
        engine.run(
            |e| e.ingest_trusted(body, now),
            |h| *out = new_handled(h),
        )
    }
}

/// The result of `tb_engine_apply_snapshot`.
///
/// Owned by the caller; release with `tb_snapshot_free`. Every `tb_str` and the `jobs` array
/// borrow from it and are valid until then. Read-only; fields are only ever appended.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct tb_snapshot {
    /// Whether a stored row changed.
    pub changed: bool,
    /// `subscription`, `invoice`, `customer` or `checkout.session`.
    pub object_type: tb_str,
    /// The object's id.
    pub object_id: tb_str,
    /// The customer it belongs to; `{NULL, 0}` when unknown.
    pub customer_id: tb_str,
    /// `jobs_len` jobs written (a CRM sync when the customer's state changed); NULL when 0.
    pub jobs: *const tb_enqueued_job,
    /// Number of elements in `jobs`.
    pub jobs_len: usize,
}

type SnapshotKeep = (SnapshotApplied, Vec<tb_enqueued_job>);

fn new_snapshot(a: SnapshotApplied) -> *mut tb_snapshot {
    view_with_jobs(
        a,
        |a| &a.jobs,
        |a, jobs| tb_snapshot {
            changed: a.changed,
            object_type: tb_str::of(&a.object_type),
            object_id: tb_str::of(&a.object_id),
            customer_id: tb_str::opt(a.customer_id.as_ref()),
            jobs: array_ptr(jobs),
            jobs_len: jobs.len(),
        },
    )
}

/// Frees a `tb_snapshot`. NULL is a no-op. Its strings and jobs must not be used afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn tb_snapshot_free(snapshot: *mut tb_snapshot) {
    ffi_boundary! {
        // SAFETY: the header requires `snapshot` to be NULL or a `tb_snapshot` from
        // `tb_engine_apply_snapshot`, freed once; those are made by `new_snapshot`.
        unsafe { free_view::<tb_snapshot, SnapshotKeep>(snapshot) }
    }
}

/// The reconcile path: applies an object freshly fetched from the Stripe API (a
/// subscription, invoice, customer or checkout session, as JSON) as the authoritative state
/// at `fetched_at` (unix seconds, or `TB_NOW`). It replaces the stored row unless an event
/// created after the fetch wrote it; events created at or before the fetch are stale from
/// then on. Call it for each `stripe.reconcile` job.
///
/// On `TB_RESULT_OK` `*snapshot_out` receives a new `tb_snapshot` that the caller owns and
/// must release with `tb_snapshot_free`. Other object types give
/// `TB_RESULT_SNAPSHOT_UNSUPPORTED`; invalid JSON `TB_RESULT_PAYLOAD_INVALID_JSON`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_apply_snapshot(
    engine: *const tb_engine,
    object_json: *const u8,
    object_json_len: usize,
    fetched_at: i64,
    snapshot_out: *mut *mut tb_snapshot,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(snapshot_out);
        let object = try_slice!(object_json, object_json_len);
        let fetched_at = resolve_now(fetched_at);
        engine.run(
            |e| e.apply_snapshot(object, fetched_at),
            |a| *out = new_snapshot(a),
        )
    }
}
