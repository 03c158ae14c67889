//! The job queue on the outbox table: enqueue (inside the ingest transaction), claim with a
//! lease, complete, fail with backoff, dead-letter and replay. Every claim is an attempt row,
//! so an operator can see why a job keeps failing.
//!
//! A lease is identified by `lease_token`, a per-job counter bumped on every claim. Completing
//! or failing needs the token of the current, unexpired lease: a worker whose lease ran out
//! (and whose job another worker may now hold) gets `LEASE_LOST` instead of overwriting the
//! newer attempt.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::Store;
use super::throttle::{self, JobThrottle};
use crate::error::{Error, ErrorCode, Result};
use crate::outbox::{NewJob, backoff_secs, jitter_for};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for `run_at`.
    Due,
    /// Claimed by a worker until `lease_until`.
    Leased,
    /// Completed.
    Done,
    /// Out of attempts; waits for an operator's replay.
    Dead,
    /// A coalesced job replaced by a newer one for the same key before it ran again.
    Superseded,
}

impl JobState {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Due => "due",
            JobState::Leased => "leased",
            JobState::Done => "done",
            JobState::Dead => "dead",
            JobState::Superseded => "superseded",
        }
    }
    /// Parses [`JobState::as_str`].
    pub fn parse(s: &str) -> Option<JobState> {
        [
            JobState::Due,
            JobState::Leased,
            JobState::Done,
            JobState::Dead,
            JobState::Superseded,
        ]
        .into_iter()
        .find(|j| j.as_str() == s)
    }
}

/// A job written by the ingest transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnqueuedJob {
    /// Row id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// Deterministic key.
    pub key: String,
    /// `true` when an existing due job was updated instead of a new one written.
    pub coalesced: bool,
}

/// A job as listed for operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Job {
    /// Row id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// Deterministic key.
    pub key: String,
    /// The customer it concerns.
    pub customer_id: Option<String>,
    /// State.
    pub state: JobState,
    /// Attempts since enqueue or the last replay.
    pub attempts: i64,
    /// When it is (or was) due.
    pub run_at: i64,
    /// End of the current lease.
    pub lease_until: Option<i64>,
    /// Enqueue time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// Last failure message (truncated, redacted).
    pub last_error: Option<String>,
    /// The event that enqueued (or last refreshed) it.
    pub event_id: Option<String>,
    /// JSON payload.
    pub payload: String,
}

/// A job handed to a worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimedJob {
    /// Row id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// Deterministic key: pass it on as the idempotency key / external id.
    pub key: String,
    /// The customer it concerns.
    pub customer_id: Option<String>,
    /// This attempt's number (1 for the first).
    pub attempt: i64,
    /// Proof of the lease; give it back to `complete` / `fail`.
    pub lease_token: i64,
    /// The lease ends at this unix second.
    pub lease_until: i64,
    /// JSON payload.
    pub payload: String,
}

/// One attempt of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobAttempt {
    /// Claim number (never reset, also across replays).
    pub lease_token: i64,
    /// Claim time.
    pub started_at: i64,
    /// Completion / failure time.
    pub finished_at: Option<i64>,
    /// completed | failed | lease_expired; `None` while running.
    pub outcome: Option<String>,
    /// The failure message.
    pub error: Option<String>,
}

/// What `fail` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FailOutcome {
    /// Will run again at `next_attempt_at`.
    Scheduled {
        /// Unix second of the next attempt.
        next_attempt_at: i64,
    },
    /// Out of attempts: moved to dead-letter.
    Dead,
    /// A newer coalesced job for the same key is already due; this one is retired.
    Superseded {
        /// The job that carries on.
        by: i64,
    },
}

/// Filter for listing jobs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this state.
    pub state: Option<JobState>,
    /// Only this customer.
    pub customer_id: Option<String>,
    /// At most this many (default 100).
    pub limit: Option<u32>,
}

const MAX_ERROR_CHARS: usize = 1000;

/// The longest "retry after" a failed job may ask for (a day): a bogus header never parks a
/// job for months.
pub const MAX_RETRY_AFTER_SECS: i64 = 86_400;

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

/// The pick of [`Store::claim`] for a kind filter: due jobs and expired leases are two ordered
/// index ranges (each half stops at the limit, so a claim never reads the whole backlog), and a
/// job waits while an older open job of its queue (`support.*`, `crm.*`, ...) for its customer
/// exists: a close-ticket never overtakes its open-ticket.
macro_rules! claim_pick {
    ($kind:literal) => {
        concat!(
            "SELECT id, state FROM (SELECT * FROM (SELECT id, state, run_at FROM jobs j \
             WHERE state = 'due' AND run_at <= ?1 AND ", $kind, claim_pick!(@order), " ORDER BY run_at, id LIMIT ?3) \
             UNION ALL SELECT * FROM (SELECT id, state, run_at FROM jobs j \
             WHERE state = 'leased' AND lease_until <= ?1 AND ", $kind, claim_pick!(@order), " ORDER BY run_at, id LIMIT ?3)) \
             ORDER BY run_at, id LIMIT ?3"
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
    Ok(Job {
        id: r.get(0)?,
        kind: r.get(1)?,
        key: r.get(2)?,
        customer_id: r.get(3)?,
        state: JobState::parse(&state).unwrap_or(JobState::Due),
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

/// Cuts an error message to a bounded size on a character boundary.
fn truncate(msg: &str) -> String {
    match msg.char_indices().nth(MAX_ERROR_CHARS) {
        Some((i, _)) => format!("{}…", &msg[..i]),
        None => msg.to_owned(),
    }
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

/// The throttles that apply to one claim: what each throttled kind may still take, and what
/// this claim took (recorded in the same transaction).
#[derive(Default)]
struct ThrottleGate {
    kinds: Vec<Gated>,
}

/// One throttled kind within a claim.
struct Gated {
    kind: String,
    throttle: JobThrottle,
    /// The throttle's time for this claim (see `throttle::throttle_now`).
    at: i64,
    /// Claims still allowed.
    left: i64,
    /// Claims taken by this claim.
    taken: i64,
}

impl ThrottleGate {
    fn open(
        conn: &Connection,
        all: Vec<(String, JobThrottle)>,
        kinds: &[&str],
        now: i64,
    ) -> Result<ThrottleGate> {
        let mut gate = ThrottleGate::default();
        for (kind, throttle) in all {
            if kinds.is_empty() || kinds.contains(&kind.as_str()) {
                let at = throttle::throttle_now(conn, &kind, now)?;
                let left = throttle::allowance(conn, &kind, &throttle, at)?;
                gate.kinds.push(Gated {
                    kind,
                    throttle,
                    at,
                    left,
                    taken: 0,
                });
            }
        }
        Ok(gate)
    }

    /// Throttled kinds with nothing left.
    fn exhausted(&self) -> Vec<String> {
        self.kinds
            .iter()
            .filter(|k| k.left == 0)
            .map(|k| k.kind.clone())
            .collect()
    }

    /// Whether a job of `kind` may be claimed now (counting it if so).
    fn take(&mut self, kind: &str) -> bool {
        match self.kinds.iter_mut().find(|k| k.kind == kind) {
            None => true,
            Some(k) if k.left > 0 => {
                k.left -= 1;
                k.taken += 1;
                true
            }
            Some(_) => false,
        }
    }

    fn record(&self, conn: &Connection) -> Result<()> {
        for k in &self.kinds {
            if k.taken > 0 {
                throttle::record(conn, &k.kind, &k.throttle, k.taken, k.at)?;
            }
        }
        Ok(())
    }
}

impl Store {
    /// Lists jobs, newest first.
    pub fn jobs(&self, f: &JobFilter) -> Result<Vec<Job>> {
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
    pub fn job(&self, id: i64) -> Result<Job> {
        let sql = format!("SELECT {JOB_COLS} FROM jobs WHERE id = ?1");
        self.conn()
            .prepare_cached(&sql)?
            .query_row([id], job_row)
            .optional()?
            .ok_or_else(|| Error::new(ErrorCode::JobNotFound, format!("no job {id}")))
    }

    /// A job's attempts, oldest first.
    pub fn job_attempts(&self, id: i64) -> Result<Vec<JobAttempt>> {
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
    pub fn claim(
        &mut self,
        kinds: &[&str],
        limit: u32,
        lease_secs: i64,
        now: i64,
    ) -> Result<Vec<ClaimedJob>> {
        let kinds_json = serde_json::to_string(kinds)
            .map_err(|e| Error::new(ErrorCode::InvalidArgument, e.to_string()))?;
        let lease_secs = lease_secs.max(1);
        self.write(|tx| {
            let conn = &tx.tx;
            let throttled = throttle::throttles(conn)?;
            let mut gate = ThrottleGate::default();
            let picked = if throttled.is_empty() {
                let mut pick = conn.prepare_cached(match kinds.len() {
                    0 => CLAIM_PICK_ANY,
                    1 => CLAIM_PICK_ONE,
                    _ => CLAIM_PICK_MANY,
                })?;
                pick.query_map(params![now, kinds_json, limit], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?
            } else {
                gate = ThrottleGate::open(conn, throttled, kinds, now)?;
                let (sql, list) = if kinds.is_empty() {
                    (CLAIM_PICK_EXCEPT, gate.exhausted())
                } else {
                    let open: Vec<&str> = kinds.iter().copied().filter(|k| !gate.exhausted().contains(&k.to_string())).collect();
                    if open.is_empty() {
                        return Ok(Vec::new());
                    }
                    (CLAIM_PICK_MANY, open.iter().map(|k| k.to_string()).collect())
                };
                let list = serde_json::to_string(&list).map_err(|e| Error::new(ErrorCode::InvalidArgument, e.to_string()))?;
                let picked = conn
                    .prepare_cached(sql)?
                    .query_map(params![now, list, limit], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let mut kind_of = conn.prepare_cached("SELECT kind FROM jobs WHERE id = ?1")?;
                let mut kept = Vec::with_capacity(picked.len());
                for (id, state) in picked {
                    let kind: String = kind_of.query_row([id], |r| r.get(0))?;
                    if gate.take(&kind) {
                        kept.push((id, state));
                    }
                }
                kept
            };
            gate.record(conn)?;
            let mut expire = conn.prepare_cached(
                "UPDATE job_attempts SET finished_at = ?2, outcome = 'lease_expired' \
                 WHERE job_id = ?1 AND finished_at IS NULL",
            )?;
            let mut lease = conn.prepare_cached(
                "UPDATE jobs SET state = 'leased', attempts = attempts + 1, lease_token = coalesce(lease_token, 0) + 1, \
                 lease_until = ?2, updated_at = ?3 WHERE id = ?1 \
                 RETURNING id, kind, key, customer_id, attempts, lease_token, lease_until, payload",
            )?;
            let mut attempt =
                conn.prepare_cached("INSERT INTO job_attempts (job_id, attempt, started_at) VALUES (?1, ?2, ?3)")?;
            let mut out = Vec::with_capacity(picked.len());
            for (id, state) in picked {
                if state == "leased" {
                    expire.execute(params![id, now])?;
                }
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
        })
    }

    /// Marks a leased job done. `LEASE_LOST` when the lease expired or was taken over.
    pub fn complete(&mut self, id: i64, lease_token: i64, now: i64) -> Result<()> {
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
    pub fn fail(
        &mut self,
        id: i64,
        lease_token: i64,
        error: &str,
        max_attempts: u32,
        now: i64,
    ) -> Result<FailOutcome> {
        self.fail_after(id, lease_token, error, None, max_attempts, now)
    }

    /// [`Store::fail`], with the downstream service's "retry after N seconds" (its 429)
    /// replacing the backoff for this attempt. `N` is clamped to [`MAX_RETRY_AFTER_SECS`]; the
    /// attempt still counts towards dead-lettering.
    pub fn fail_after(
        &mut self,
        id: i64,
        lease_token: i64,
        error: &str,
        retry_after_secs: Option<i64>,
        max_attempts: u32,
        now: i64,
    ) -> Result<FailOutcome> {
        let error = truncate(error);
        self.write(|tx| {
            let conn = &tx.tx;
            let row = conn
                .prepare_cached(
                    "SELECT attempts, coalesce, kind, key FROM jobs \
                     WHERE id = ?1 AND state = 'leased' AND lease_token = ?2 AND lease_until > ?3",
                )?
                .query_row(params![id, lease_token, now], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
                })
                .optional()?;
            let Some((attempts, coalesce, kind, key)) = row else {
                return Err(lease_error(conn, id));
            };
            conn.prepare_cached(
                "UPDATE job_attempts SET finished_at = ?3, outcome = 'failed', error = ?4 WHERE job_id = ?1 AND attempt = ?2",
            )?
            .execute(params![id, lease_token, now, error])?;
            let sibling: Option<i64> = if coalesce {
                conn.prepare_cached("SELECT id FROM jobs WHERE kind = ?1 AND key = ?2 AND coalesce = 1 AND state = 'due'")?
                    .query_row(params![kind, key], |r| r.get(0))
                    .optional()?
            } else {
                None
            };
            let (state, run_at, outcome) = if attempts >= i64::from(max_attempts) {
                ("dead", now, FailOutcome::Dead)
            } else if let Some(by) = sibling {
                ("superseded", now, FailOutcome::Superseded { by })
            } else {
                let wait = match retry_after_secs {
                    Some(secs) => secs.clamp(0, MAX_RETRY_AFTER_SECS),
                    None => backoff_secs(attempts as u32, jitter_for(id, attempts as u32)),
                };
                let next = now.saturating_add(wait);
                ("due", next, FailOutcome::Scheduled { next_attempt_at: next })
            };
            conn.prepare_cached(
                "UPDATE jobs SET state = ?2, run_at = ?3, lease_until = NULL, last_error = ?4, updated_at = ?5 WHERE id = ?1",
            )?
            .execute(params![id, state, run_at, error, now])?;
            Ok(outcome)
        })
    }

    /// Puts a dead job back in the queue: due now, attempts reset, attempt history kept.
    /// Returns the id of the job that will run (a newer due twin of a coalesced job, if any).
    pub fn replay(&mut self, id: i64, now: i64) -> Result<i64> {
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
