//! The worker side: claim, complete, fail, dead-letter list, replay.

use tollbooth::{ClaimedJob, FailOutcome, Job, JobState};

use crate::boundary::{Owned, free_view, into_raw_view};
use crate::engine::{array_ptr, resolve_now, tb_engine};
use crate::results::tb_result;
use crate::strings::tb_str;

/// A job handed to a worker (an element of `tb_job_batch.jobs`). Strings borrow from the
/// batch.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct tb_claimed_job {
    /// Job id: give it back to `tb_engine_job_complete` / `tb_engine_job_fail`.
    pub id: i64,
    /// Proof of the lease: give it back with the id.
    pub lease_token: i64,
    /// The lease ends at this unix second; finish before then.
    pub lease_until: i64,
    /// This attempt's number (1 for the first).
    pub attempt: i64,
    /// Kind, e.g. "crm.sync_customer".
    pub kind: tb_str,
    /// Deterministic key: pass it on as the idempotency key / external id.
    pub key: tb_str,
    /// The customer it concerns; `{NULL, 0}` when none.
    pub customer_id: tb_str,
    /// The job's payload, a JSON object (UTF-8 text).
    pub payload: tb_str,
}

/// Jobs claimed by `tb_engine_job_claim`.
///
/// Owned by the caller; release with `tb_job_batch_free` (after completing or failing the
/// jobs, or not: an unfinished lease simply expires). `jobs` and every `tb_str` in it borrow
/// from the batch and are valid until then. Read-only.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct tb_job_batch {
    /// `len` jobs; NULL when `len` is 0.
    pub jobs: *const tb_claimed_job,
    /// Number of jobs (0 when nothing is due).
    pub len: usize,
}

type BatchKeep = (Vec<ClaimedJob>, Vec<tb_claimed_job>);

/// Frees a `tb_job_batch`. NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn tb_job_batch_free(batch: *mut tb_job_batch) {
    ffi_boundary! {
        // SAFETY: the header requires NULL or a batch from `tb_engine_job_claim`, freed once.
        unsafe { free_view::<tb_job_batch, BatchKeep>(batch) }
    }
}

/// Claims up to `limit` due jobs, each leased for `lease_secs` seconds from `now` (unix
/// seconds, or `TB_NOW`). `kinds` (UTF-8) is a comma-separated list of job kinds to claim,
/// e.g. "crm.sync_customer,support.open_ticket"; length 0 claims every kind.
///
/// On `TB_RESULT_OK` `*batch_out` receives a new `tb_job_batch` (empty when nothing is due)
/// that the caller owns and must release with `tb_job_batch_free`. Safe to call from several
/// threads and processes: a job is handed to one worker at a time.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_job_claim(
    engine: *const tb_engine,
    kinds: *const u8,
    kinds_len: usize,
    limit: u32,
    lease_secs: i64,
    now: i64,
    batch_out: *mut *mut tb_job_batch,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(batch_out);
        let kinds = try_str!(kinds, kinds_len);
        let kinds: Vec<&str> = kinds
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect();
        let now = resolve_now(now);
        engine.run(
            |e| e.claim(&kinds, limit, lease_secs, now),
            |claimed| {
                let views: Vec<tb_claimed_job> = claimed
                    .iter()
                    .map(|j| tb_claimed_job {
                        id: j.id,
                        lease_token: j.lease_token,
                        lease_until: j.lease_until,
                        attempt: j.attempt,
                        kind: tb_str::of(&j.kind),
                        key: tb_str::of(&j.key),
                        customer_id: tb_str::opt(j.customer_id.as_ref()),
                        payload: tb_str::of(&j.payload),
                    })
                    .collect();
                let view = tb_job_batch {
                    jobs: array_ptr(&views),
                    len: views.len(),
                };
                *out = into_raw_view(Owned {
                    view,
                    _keep: (claimed, views),
                });
            },
        )
    }
}

/// Marks claimed job `id` done. `TB_RESULT_LEASE_LOST` when the lease (`lease_token`) expired
/// or another worker holds the job now; `TB_RESULT_JOB_NOT_FOUND` for an unknown id.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_job_complete(
    engine: *const tb_engine,
    id: i64,
    lease_token: i64,
    now: i64,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let now = resolve_now(now);
        engine.run(|e| e.complete(id, lease_token, now), |()| ())
    }
}

/// What `tb_engine_job_fail` did (`tb_fail_outcome.state`, a `uint32_t`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tb_fail_state {
    /// Will run again at `next_attempt_at`.
    Scheduled = 0,
    /// Out of attempts: dead-lettered (see `tb_engine_dead_jobs`, `tb_engine_job_replay`).
    Dead = 1,
    /// A newer job for the same key is already due (`superseded_by`); this one is retired.
    Superseded = 2,
}

/// The result of `tb_engine_job_fail`. A plain value: the caller allocates it (on the stack)
/// and nothing in it needs freeing.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tb_fail_outcome {
    /// A `tb_fail_state` value.
    pub state: u32,
    /// `TB_FAIL_STATE_SCHEDULED`: unix second of the next attempt; otherwise 0.
    pub next_attempt_at: i64,
    /// `TB_FAIL_STATE_SUPERSEDED`: the job that carries on; otherwise 0.
    pub superseded_by: i64,
}

/// The C form of a `FailOutcome`.
fn to_fail_outcome(f: FailOutcome) -> tb_fail_outcome {
    match f {
        FailOutcome::Scheduled { next_attempt_at } => tb_fail_outcome {
            state: tb_fail_state::Scheduled as u32,
            next_attempt_at,
            superseded_by: 0,
        },
        FailOutcome::Dead => tb_fail_outcome {
            state: tb_fail_state::Dead as u32,
            next_attempt_at: 0,
            superseded_by: 0,
        },
        FailOutcome::Superseded { by } => tb_fail_outcome {
            state: tb_fail_state::Superseded as u32,
            next_attempt_at: 0,
            superseded_by: by,
        },
    }
}

/// Records a failed attempt of claimed job `id`: it is retried with backoff, or dead-lettered
/// after the configured max attempts. `error` (UTF-8) is the reason an operator will see;
/// Stripe-style secrets in it are redacted and it is truncated before it is stored.
///
/// On `TB_RESULT_OK` `*outcome_out` is filled in. `TB_RESULT_LEASE_LOST` /
/// `TB_RESULT_JOB_NOT_FOUND` as for `tb_engine_job_complete`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_job_fail(
    engine: *const tb_engine,
    id: i64,
    lease_token: i64,
    error: *const u8,
    error_len: usize,
    now: i64,
    outcome_out: *mut tb_fail_outcome,
) -> tb_result {
    let job = (id, lease_token);
    fail_job(engine, job, (error, error_len), None, now, outcome_out)
}

/// `tb_engine_job_fail` and `tb_engine_job_fail_after`: `job` is `(id, lease_token)`, `error`
/// is `(ptr, len)`, `retry_after` replaces the backoff when given.
pub(crate) fn fail_job(
    engine: *const tb_engine,
    (id, lease_token): (i64, i64),
    (error, error_len): (*const u8, usize),
    retry_after: Option<i64>,
    now: i64,
    outcome_out: *mut tb_fail_outcome,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(outcome_out);
        let error = try_str!(error, error_len);
        let now = resolve_now(now);
        engine.run(
            |e| e.fail_after(id, lease_token, error, retry_after, now),
            |f| *out = to_fail_outcome(f),
        )
    }
}

/// Where a job is in its life (`tb_job.state`, a `uint32_t`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tb_job_state {
    /// Waiting for `run_at`.
    Due = 0,
    /// Claimed by a worker until `lease_until`.
    Leased = 1,
    /// Completed.
    Done = 2,
    /// Out of attempts; waits for `tb_engine_job_replay`.
    Dead = 3,
    /// Replaced by a newer job for the same key.
    Superseded = 4,
}

from_same_variants!(JobState => tb_job_state { Due, Leased, Done, Dead, Superseded });

/// A job as listed for operators (an element of `tb_job_list.jobs`). Strings borrow from the
/// list.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct tb_job {
    /// Job id.
    pub id: i64,
    /// A `tb_job_state` value.
    pub state: u32,
    /// Kind.
    pub kind: tb_str,
    /// Deterministic key.
    pub key: tb_str,
    /// The customer it concerns, when any.
    pub customer_id: tb_str,
    /// Attempts since enqueue or the last replay.
    pub attempts: i64,
    /// When it is (or was) due, unix seconds.
    pub run_at: i64,
    /// Whether `lease_until` is set.
    pub has_lease_until: bool,
    /// End of the current lease, unix seconds.
    pub lease_until: i64,
    /// Enqueue time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// Last failure message (truncated, redacted), when any.
    pub last_error: tb_str,
    /// The event that enqueued (or last refreshed) it, when any.
    pub event_id: tb_str,
    /// The payload, a JSON object (UTF-8 text).
    pub payload: tb_str,
}

/// A list of jobs, newest first.
///
/// Owned by the caller; release with `tb_job_list_free`. `jobs` and every `tb_str` in it
/// borrow from the list and are valid until then. Read-only.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct tb_job_list {
    /// `len` jobs; NULL when `len` is 0.
    pub jobs: *const tb_job,
    /// Number of jobs.
    pub len: usize,
}

type ListKeep = (Vec<Job>, Vec<tb_job>);

/// Frees a `tb_job_list`. NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn tb_job_list_free(list: *mut tb_job_list) {
    ffi_boundary! {
        // SAFETY: the header requires NULL or a list from `tb_engine_dead_jobs`, freed once.
        unsafe { free_view::<tb_job_list, ListKeep>(list) }
    }
}

/// Dead-lettered jobs, newest first (at most 1000).
///
/// On `TB_RESULT_OK` `*list_out` receives a new `tb_job_list` (possibly empty) that the caller
/// owns and must release with `tb_job_list_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_dead_jobs(
    engine: *const tb_engine,
    list_out: *mut *mut tb_job_list,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(list_out);
        engine.run(
            |e| e.dead_jobs(),
            |jobs| {
                let views: Vec<tb_job> = jobs
                    .iter()
                    .map(|j| tb_job {
                        id: j.id,
                        state: tb_job_state::from(j.state) as u32,
                        kind: tb_str::of(&j.kind),
                        key: tb_str::of(&j.key),
                        customer_id: tb_str::opt(j.customer_id.as_ref()),
                        attempts: j.attempts,
                        run_at: j.run_at,
                        has_lease_until: j.lease_until.is_some(),
                        lease_until: j.lease_until.unwrap_or(0),
                        created_at: j.created_at,
                        updated_at: j.updated_at,
                        last_error: tb_str::opt(j.last_error.as_ref()),
                        event_id: tb_str::opt(j.event_id.as_ref()),
                        payload: tb_str::of(&j.payload),
                    })
                    .collect();
                let view = tb_job_list {
                    jobs: array_ptr(&views),
                    len: views.len(),
                };
                *out = into_raw_view(Owned {
                    view,
                    _keep: (jobs, views),
                });
            },
        )
    }
}

/// Puts dead job `id` back in the queue at `now` (unix seconds, or `TB_NOW`). On
/// `TB_RESULT_OK` `*job_id_out` receives the id of the job that will run.
/// `TB_RESULT_JOB_NOT_FOUND` when no dead job has this id.
#[unsafe(no_mangle)]
pub extern "C" fn tb_engine_job_replay(
    engine: *const tb_engine,
    id: i64,
    now: i64,
    job_id_out: *mut i64,
) -> tb_result {
    ffi_boundary! {
        let engine = try_ref!(engine);
        let out = try_mut!(job_id_out);
        let now = resolve_now(now);
        engine.run(|e| e.replay(id, now), |new_id| *out = new_id)
    }
}
