//! The job queue's SQL on the outbox table: enqueue (inside the ingest transaction), claim
//! with a lease, complete, fail, dead-letter and replay. Types and the retry rule live in
//! [`crate::outbox`]. Every claim is an attempt row,
//! so an operator can see why a job keeps failing.
//!
//! A lease is identified by `lease_token`, a per-job counter bumped on every claim. Completing
//! or failing needs the token of the current, unexpired lease: a worker whose lease ran out
//! (and whose job another worker may now hold) gets `LEASE_LOST` instead of overwriting the
//! newer attempt.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::SqliteDb;
use super::throttle;
use crate::error::{Error, ErrorCode, Result};
use crate::outbox::{
    ClaimRequest, ClaimedJob, EXPIRED_PER_CLAIM, EndedAttempt, EnqueuedJob, FailOutcome,
    FailedAttempt, Job, JobAttempt, JobFilter, JobState, KindPick, LeasedJob, NewJob, ThrottleGate,
};

pub(super) fn enqueue(
    conn: &Connection,
    job: &NewJob,
    event_id: Option<&str>,
    now: i64,
) -> Result<Option<EnqueuedJob>> {
    let payload = job.payload.to_string();
    if job.coalesce {
        let mut up = conn.prepare_cached(
            "UPDATE jobs SET payload = ?3, updated_at = ?4, event_id = ?5 \
             WHERE kind = ?1 AND key = ?2 AND coalesce = 1 AND state = 'due' RETURNING id",
        )?;
        if let Some(id) = up
            .query_row(params![job.kind, job.key, payload, now, event_id], |r| {
                r.get::<_, i64>(0)
            })
            .optional()?
        {
            return Ok(Some(EnqueuedJob {
                id,
                kind: job.kind.to_owned(),
                key: job.key.clone(),
                coalesced: true,
            }));
        }
    }
    let mut ins = conn.prepare_cached(
        "INSERT INTO jobs (kind, key, customer_id, coalesce, state, payload, run_at, created_at, updated_at, event_id, queue) \
         VALUES (?1, ?2, ?3, ?4, 'due', ?5, ?6, ?6, ?6, ?7, ?8) ON CONFLICT DO NOTHING RETURNING id",
    )?;
    let id = ins
        .query_row(
            params![
                job.kind,
                job.key,
                job.customer_id,
                job.coalesce,
                payload,
                now,
                event_id,
                crate::outbox::queue_of(job.kind)
            ],
            |r| r.get::<_, i64>(0),
        )
        .optional()?;
    Ok(id.map(|id| EnqueuedJob {
        id,
        kind: job.kind.to_owned(),
        key: job.key.clone(),
        coalesced: false,
    }))
}

/// The pick of [`Store::claim`] for a kind filter: due jobs, an ordered index range that stops
/// at the limit (so a claim never reads the whole backlog); a job waits while an older open job
/// of its queue (`support.*`, `crm.*`, ...) for its customer exists: a close-ticket never
/// overtakes its open-ticket. Expired leases are not picked here: `expire_leases` first turns
/// them into failed attempts (backoff, dead-letter), which makes them due again.
macro_rules! claim_pick {
    ($kind:literal) => {
        concat!(
            "SELECT id FROM jobs j WHERE state = 'due' AND run_at <= ?1 AND ",
            $kind,
            claim_pick!(@order),
            " ORDER BY run_at, id LIMIT ?3"
        )
    };
    (@order) => {
        " AND (customer_id IS NULL OR NOT EXISTS (SELECT 1 FROM jobs o WHERE o.queue = j.queue \
         AND o.customer_id = j.customer_id AND o.id < j.id AND o.state IN ('due', 'leased')))"
    };
}

/// `claim` picks for: every kind (index jobs_due_any), one kind (jobs_due: state, kind, run_at
/// in order, the usual one-worker-per-kind case), several kinds (filtered).
const CLAIM_PICK_ANY: &str = claim_pick!("?2 = ?2");
const CLAIM_PICK_ONE: &str = claim_pick!("kind = ?2 ->> 0");
const CLAIM_PICK_MANY: &str = claim_pick!("kind IN (SELECT value FROM json_each(?2))");
/// Every kind but the throttled kinds that are out of allowance (only when throttles exist).
const CLAIM_PICK_EXCEPT: &str = claim_pick!("kind NOT IN (SELECT value FROM json_each(?2))");

const JOB_COLS: &str = "id, kind, key, customer_id, state, attempts, run_at, lease_until, created_at, updated_at, last_error, event_id, payload";

fn job_row(r: &Row<'_>) -> rusqlite::Result<Job> {
    let state: String = r.get(4)?;
    let state = JobState::parse(&state).map_err(|e| super::corrupt(4, e))?;
    Ok(Job {
        id: r.get(0)?,
        kind: r.get(1)?,
        key: r.get(2)?,
        customer_id: r.get(3)?,
        state,
        attempts: r.get(5)?,
        run_at: r.get(6)?,
        lease_until: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
        last_error: r.get(10)?,
        event_id: r.get(11)?,
        payload: r.get(12)?,
    })
}

/// Closes the attempt row and moves the job as [`EndedAttempt::next`] decides: retry with
/// backoff (or after the downstream's `retry_after_secs`), dead-letter at `max_attempts`, or
/// retire it for a newer due twin.
fn end_attempt(
    conn: &Connection,
    e: &EndedAttempt<'_>,
    max_attempts: u32,
    now: i64,
) -> Result<FailOutcome> {
    conn.prepare_cached(
        "UPDATE job_attempts SET finished_at = ?3, outcome = ?4, error = ?5 WHERE job_id = ?1 AND attempt = ?2",
    )?
    .execute(params![e.id, e.attempt, now, e.outcome, e.error])?;
    let twin: Option<i64> = if e.coalesce {
        conn.prepare_cached(
            "SELECT id FROM jobs WHERE kind = ?1 AND key = ?2 AND coalesce = 1 AND state = 'due'",
        )?
        .query_row(params![e.kind, e.key], |r| r.get(0))
        .optional()?
    } else {
        None
    };
    let (state, run_at, outcome) = e.next(max_attempts, twin, now);
    conn.prepare_cached(
        "UPDATE jobs SET state = ?2, run_at = ?3, lease_until = NULL, last_error = ?4, updated_at = ?5 WHERE id = ?1",
    )?
    .execute(params![e.id, state.as_str(), run_at, e.error, now])?;
    Ok(outcome)
}

/// Ends every lease that ran out by `now` as [`LeasedJob::lease_expired`] says (the SQL only; the
/// decision lives in `outbox`).
fn expire_leases(conn: &Connection, max_attempts: u32, now: i64) -> Result<()> {
    let expired = conn
        .prepare_cached(
            "SELECT id, lease_token, attempts, coalesce, kind, key FROM jobs \
             WHERE state = 'leased' AND lease_until <= ?1 ORDER BY lease_until, id LIMIT ?2",
        )?
        .query_map(params![now, EXPIRED_PER_CLAIM], |r| {
            Ok(LeasedJob {
                id: r.get(0)?,
                lease_token: r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                attempts: r.get(2)?,
                coalesce: r.get(3)?,
                kind: r.get(4)?,
                key: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for lease in &expired {
        end_attempt(conn, &lease.lease_expired(), max_attempts, now)?;
    }
    Ok(())
}

/// The current lease state of a job, for telling `LEASE_LOST` from `JOB_NOT_FOUND`.
fn lease_error(conn: &Connection, id: i64) -> Error {
    let exists = conn
        .query_row("SELECT 1 FROM jobs WHERE id = ?1", [id], |_| Ok(()))
        .optional()
        .ok()
        .flatten()
        .is_some();
    if exists {
        Error::new(
            ErrorCode::LeaseLost,
            format!("job {id}: this lease expired or another worker holds the job"),
        )
    } else {
        Error::new(ErrorCode::JobNotFound, format!("no job {id}"))
    }
}

impl SqliteDb {
    /// Lists jobs, newest first.
    pub(crate) fn jobs(&self, f: &JobFilter) -> Result<Vec<Job>> {
        let sql = format!(
            "SELECT {JOB_COLS} FROM jobs WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR state = ?2) \
             AND (?3 IS NULL OR customer_id = ?3) ORDER BY id DESC LIMIT ?4"
        );
        let mut st = self.conn().prepare_cached(&sql)?;
        let rows = st.query_map(
            params![
                f.kind,
                f.state.map(JobState::as_str),
                f.customer_id,
                f.limit.unwrap_or(100)
            ],
            job_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One job by id.
    pub(crate) fn job(&self, id: i64) -> Result<Job> {
        let sql = format!("SELECT {JOB_COLS} FROM jobs WHERE id = ?1");
        self.conn()
            .prepare_cached(&sql)?
            .query_row([id], job_row)
            .optional()?
            .ok_or_else(|| Error::new(ErrorCode::JobNotFound, format!("no job {id}")))
    }

    /// A job's attempts, oldest first.
    pub(crate) fn job_attempts(&self, id: i64) -> Result<Vec<JobAttempt>> {
        let mut st = self.conn().prepare_cached(
            "SELECT attempt, started_at, finished_at, outcome, error FROM job_attempts WHERE job_id = ?1 ORDER BY attempt",
        )?;
        let rows = st.query_map([id], |r| {
            Ok(JobAttempt {
                lease_token: r.get(0)?,
                started_at: r.get(1)?,
                finished_at: r.get(2)?,
                outcome: r.get(3)?,
                error: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Hands out up to `limit` due jobs of `kinds` (all kinds when empty), oldest first, each
    /// leased for `lease_secs`. A job whose lease ran out is due again. A job is skipped while
    /// an older job of the same queue ([`crate::outbox::queue_of`]: `support.*`, `crm.*`, ...)
    /// for the same customer is due or leased, so one customer's support side effects happen in
    /// order (a close never overtakes its open) while the CRM and the helpdesk stay independent.
    pub(crate) fn claim(
        &mut self,
        request: &ClaimRequest<'_>,
        now: i64,
    ) -> Result<Vec<ClaimedJob>> {
        let kinds_json = serde_json::to_string(request.kinds)
            .map_err(|e| Error::new(ErrorCode::InvalidArgument, e.to_string()))?;
        self.write(|tx| {
            let conn = &tx.tx;
            expire_leases(conn, request.max_attempts, now)?;
            let throttled = throttle::throttles(conn)?;
            let mut gate = ThrottleGate::default();
            let picked = if throttled.is_empty() {
                let mut pick = conn.prepare_cached(match request.kinds.len() {
                    0 => CLAIM_PICK_ANY,
                    1 => CLAIM_PICK_ONE,
                    _ => CLAIM_PICK_MANY,
                })?;
                pick.query_map(params![now, kinds_json, request.limit], |r| {
                    r.get::<_, i64>(0)
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?
            } else {
                gate =
                    ThrottleGate::open(throttled, request.kinds, now, &mut throttle::Counts(conn))?;
                let (sql, list) = match gate.narrow(request.kinds) {
                    None => return Ok(Vec::new()),
                    Some(KindPick::Except(exhausted)) => (CLAIM_PICK_EXCEPT, exhausted),
                    Some(KindPick::Only(open)) => (CLAIM_PICK_MANY, open),
                };
                let list = serde_json::to_string(&list)
                    .map_err(|e| Error::new(ErrorCode::InvalidArgument, e.to_string()))?;
                let picked = conn
                    .prepare_cached(sql)?
                    .query_map(params![now, list, request.limit], |r| r.get::<_, i64>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let mut kind_of = conn.prepare_cached("SELECT kind FROM jobs WHERE id = ?1")?;
                let mut kept = Vec::with_capacity(picked.len());
                for id in picked {
                    let kind: String = kind_of.query_row([id], |r| r.get(0))?;
                    if gate.take(&kind) {
                        kept.push(id);
                    }
                }
                kept
            };
            for (kind, t, n, at) in gate.taken() {
                throttle::record(conn, kind, t, n, at)?;
            }
            // Attempts of throttled kinds start on the throttle's monotone timeline, so a
            // worker that read its clock before waiting for the lock never stamps a claim
            // into a window the others already filled.
            let now = gate.now(now);
            lease_picked(conn, &picked, now, request.lease_secs)
        })
    }

    /// Marks a leased job done. `LEASE_LOST` when the lease expired or was taken over.
    pub(crate) fn complete(&mut self, id: i64, lease_token: i64, now: i64) -> Result<()> {
        self.write(|tx| {
            let conn = &tx.tx;
            let n = conn.prepare_cached(
                "UPDATE jobs SET state = 'done', lease_until = NULL, updated_at = ?3 \
                 WHERE id = ?1 AND state = 'leased' AND lease_token = ?2 AND lease_until > ?3",
            )?
            .execute(params![id, lease_token, now])?;
            if n == 0 {
                return Err(lease_error(conn, id));
            }
            conn.prepare_cached(
                "UPDATE job_attempts SET finished_at = ?3, outcome = 'completed' WHERE job_id = ?1 AND attempt = ?2",
            )?
            .execute(params![id, lease_token, now])?;
            Ok(())
        })
    }

    /// Records a failed attempt: schedules the retry with backoff, or dead-letters the job
    /// after `max_attempts`. `error` is truncated; the caller redacts secrets first.
    pub(crate) fn fail(&mut self, attempt: &FailedAttempt<'_>, now: i64) -> Result<FailOutcome> {
        self.write(|tx| {
            let conn = &tx.tx;
            let row = conn
                .prepare_cached(
                    "SELECT attempts, coalesce, kind, key FROM jobs \
                     WHERE id = ?1 AND state = 'leased' AND lease_token = ?2 AND lease_until > ?3",
                )?
                .query_row(params![attempt.id, attempt.lease_token, now], |r| {
                    Ok(LeasedJob {
                        id: attempt.id,
                        lease_token: attempt.lease_token,
                        attempts: r.get(0)?,
                        coalesce: r.get(1)?,
                        kind: r.get(2)?,
                        key: r.get(3)?,
                    })
                })
                .optional()?;
            let Some(job) = row else {
                return Err(lease_error(conn, attempt.id));
            };
            end_attempt(conn, &job.failed(attempt), attempt.max_attempts, now)
        })
    }

    /// Puts a dead job back in the queue: due now, attempts reset, attempt history kept.
    /// Returns the id of the job that will run (a newer due twin of a coalesced job, if any).
    pub(crate) fn replay(&mut self, id: i64, now: i64) -> Result<i64> {
        self.write(|tx| {
            let conn = &tx.tx;
            let row = conn
                .prepare_cached("SELECT coalesce, kind, key FROM jobs WHERE id = ?1 AND state = 'dead'")?
                .query_row([id], |r| Ok((r.get::<_, bool>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
                .optional()?;
            let Some((coalesce, kind, key)) = row else {
                return Err(Error::new(ErrorCode::JobNotFound, format!("no dead job {id}")));
            };
            if coalesce {
                let twin: Option<i64> = conn
                    .prepare_cached("SELECT id FROM jobs WHERE kind = ?1 AND key = ?2 AND coalesce = 1 AND state = 'due'")?
                    .query_row(params![kind, key], |r| r.get(0))
                    .optional()?;
                if let Some(twin) = twin {
                    conn.prepare_cached("UPDATE jobs SET state = 'superseded', updated_at = ?2 WHERE id = ?1")?
                        .execute(params![id, now])?;
                    return Ok(twin);
                }
            }
            conn.prepare_cached("UPDATE jobs SET state = 'due', attempts = 0, run_at = ?2, updated_at = ?2 WHERE id = ?1")?
                .execute(params![id, now])?;
            Ok(id)
        })
    }
}

/// Leases each picked job from `now` for `lease_secs` and opens its attempt.
fn lease_picked(
    conn: &rusqlite::Transaction<'_>,
    picked: &[i64],
    now: i64,
    lease_secs: i64,
) -> Result<Vec<ClaimedJob>> {
    let mut lease = conn.prepare_cached(
        "UPDATE jobs SET state = 'leased', attempts = attempts + 1, lease_token = coalesce(lease_token, 0) + 1, \
         lease_until = ?2, updated_at = ?3 WHERE id = ?1 \
         RETURNING id, kind, key, customer_id, attempts, lease_token, lease_until, payload",
    )?;
    let mut attempt = conn.prepare_cached(
        "INSERT INTO job_attempts (job_id, attempt, started_at) VALUES (?1, ?2, ?3)",
    )?;
    let mut out = Vec::with_capacity(picked.len());
    for id in picked {
        let job = lease.query_row(params![id, now.saturating_add(lease_secs), now], |r| {
            Ok(ClaimedJob {
                id: r.get(0)?,
                kind: r.get(1)?,
                key: r.get(2)?,
                customer_id: r.get(3)?,
                attempt: r.get(4)?,
                lease_token: r.get(5)?,
                lease_until: r.get(6)?,
                payload: r.get(7)?,
            })
        })?;
        attempt.execute(params![id, job.lease_token, now])?;
        out.push(job);
    }
    Ok(out)
}
