//! The job queue on PostgreSQL: the SQL of `store/jobs.rs` (enqueue in the ingest transaction,
//! claim with a lease, complete, fail with backoff, dead-letter, replay) with the same rules.
//!
//! Claims, completions and failures run under the writer lock like every write, so two
//! workers never get the same job and a job never overtakes an older open job of its queue for
//! its customer (the check reads committed state after the lock). `FOR UPDATE SKIP LOCKED`
//! alone would not be enough for that FIFO rule: it skips the older row a concurrent claim
//! holds, so the newer one would look free.

use postgres::Row;

use super::PgStore;
use super::tx::{BOOL, INT8, Params, PgTx, TEXT};
use crate::error::{Error, ErrorCode, Result};
use crate::outbox::{
    ClaimRequest, ClaimedJob, EXPIRED_PER_CLAIM, EndedAttempt, EnqueuedJob, FailOutcome,
    FailedAttempt, Job, JobAttempt, JobFilter, JobState, KindPick, LeasedJob, NewJob, ThrottleGate,
};

pub(super) fn enqueue(
    tx: &mut PgTx<'_>,
    job: &NewJob,
    event_id: Option<&str>,
    now: i64,
) -> Result<Option<EnqueuedJob>> {
    let payload = job.payload.to_string();
    let kind = job.kind;
    if job.coalesce {
        let id = tx.returning_id(
            "UPDATE jobs SET payload = $3, updated_at = $4, event_id = $5 \
             WHERE kind = $1 AND key = $2 AND \"coalesce\" AND state = 'due' RETURNING id",
            &[
                (&kind, TEXT),
                (&job.key, TEXT),
                (&payload, TEXT),
                (&now, INT8),
                (&event_id, TEXT),
            ],
        )?;
        if let Some(id) = id {
            return Ok(Some(EnqueuedJob {
                id,
                kind: kind.to_owned(),
                key: job.key.clone(),
                coalesced: true,
            }));
        }
    }
    let queue = crate::outbox::queue_of(kind);
    let reserved = tx.reserved_job_id();
    let params: &Params<'_> = &[
        (&kind, TEXT),
        (&job.key, TEXT),
        (&job.customer_id, TEXT),
        (&job.coalesce, BOOL),
        (&payload, TEXT),
        (&now, INT8),
        (&event_id, TEXT),
        (&queue, TEXT),
        (&reserved, INT8),
    ];
    let enqueued = |id| EnqueuedJob {
        id,
        kind: kind.to_owned(),
        key: job.key.clone(),
        coalesced: false,
    };
    if let Some(id) = reserved {
        // In a batch that read ahead: the id is known, so the insert rides with the next
        // round trip. Without `ON CONFLICT`: a job whose key exists fails the batch, which
        // the engine then writes one delivery per transaction, without a read-ahead, so
        // that delivery gets the exact answer below (no job) and the others are unaffected.
        tx.defer(
            "INSERT INTO jobs (kind, key, customer_id, \"coalesce\", state, payload, run_at, created_at, \
             updated_at, event_id, queue, id) OVERRIDING SYSTEM VALUE \
             VALUES ($1, $2, $3, $4, 'due', $5, $6, $6, $6, $7, $8, $9)",
            params,
        )?;
        return Ok(Some(enqueued(id)));
    }
    let id = tx.returning_id(
        "INSERT INTO jobs (kind, key, customer_id, \"coalesce\", state, payload, run_at, created_at, updated_at, \
         event_id, queue) VALUES ($1, $2, $3, $4, 'due', $5, $6, $6, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id",
        &params[..8],
    )?;
    Ok(id.map(enqueued))
}

/// The claim pick: due jobs, oldest first, an ordered index range stopping at the limit; a
/// job waits while an older open job of its queue for its customer exists. `$2` is the kind
/// list (empty: every kind). Expired leases are not picked here: `expire_leases` first turns
/// them into failed attempts (backoff, dead-letter), which makes them due again.
const CLAIM_PICK: &str = "SELECT id, kind FROM jobs j WHERE state = 'due' AND run_at <= $1 \
     AND (cardinality($2::text[]) = 0 OR kind = ANY($2)) AND kind <> ALL($4::text[]) \
     AND NOT_OLDER ORDER BY run_at, id LIMIT $3";

const NOT_OLDER: &str = "(customer_id IS NULL OR NOT EXISTS (SELECT 1 FROM jobs o WHERE o.queue = j.queue \
     AND o.customer_id = j.customer_id AND o.id < j.id AND o.state IN ('due', 'leased')))";

const JOB_COLS: &str = "id, kind, key, customer_id, state, attempts, run_at, lease_until, created_at, updated_at, \
     last_error, event_id, payload";

fn job_row(tx: &mut PgTx<'_>, r: &Row) -> Result<Job> {
    let state: String = tx.get(r, 4)?;
    Ok(Job {
        id: tx.get(r, 0)?,
        kind: tx.get(r, 1)?,
        key: tx.get(r, 2)?,
        customer_id: tx.get(r, 3)?,
        state: JobState::parse(&state)?,
        attempts: tx.get(r, 5)?,
        run_at: tx.get(r, 6)?,
        lease_until: tx.get(r, 7)?,
        created_at: tx.get(r, 8)?,
        updated_at: tx.get(r, 9)?,
        last_error: tx.get(r, 10)?,
        event_id: tx.get(r, 11)?,
        payload: tx.get(r, 12)?,
    })
}

/// `LEASE_LOST` when the job exists, `JOB_NOT_FOUND` otherwise.
fn lease_error(tx: &mut PgTx<'_>, id: i64) -> Result<Error> {
    let exists = tx
        .row("SELECT 1 FROM jobs WHERE id = $1", &[(&id, INT8)])?
        .is_some();
    Ok(if exists {
        Error::new(
            ErrorCode::LeaseLost,
            format!("job {id}: this lease expired or another worker holds the job"),
        )
    } else {
        Error::new(ErrorCode::JobNotFound, format!("no job {id}"))
    })
}

fn coalesced_twin(tx: &mut PgTx<'_>, kind: &str, key: &str) -> Result<Option<i64>> {
    match tx.row(
        "SELECT id FROM jobs WHERE kind = $1 AND key = $2 AND \"coalesce\" AND state = 'due'",
        &[(&kind, TEXT), (&key, TEXT)],
    )? {
        Some(r) => Ok(Some(tx.get(&r, 0)?)),
        None => Ok(None),
    }
}

/// Closes the attempt row and moves the job as [`EndedAttempt::next`] decides (the same rule
/// as the SQLite store: retry with backoff, dead-letter at `max_attempts`, or retire it for a
/// newer due twin).
fn end_attempt(
    tx: &mut PgTx<'_>,
    e: &EndedAttempt<'_>,
    max_attempts: u32,
    now: i64,
) -> Result<FailOutcome> {
    tx.exec(
        "UPDATE job_attempts SET finished_at = $3, outcome = $4, error = $5 WHERE job_id = $1 AND attempt = $2",
        &[
            (&e.id, INT8),
            (&e.attempt, INT8),
            (&now, INT8),
            (&e.outcome, TEXT),
            (&e.error, TEXT),
        ],
    )?;
    let twin = if e.coalesce {
        coalesced_twin(tx, e.kind, e.key)?
    } else {
        None
    };
    let (state, run_at, outcome) = e.next(max_attempts, twin, now);
    let state = state.as_str();
    tx.exec(
        "UPDATE jobs SET state = $2, run_at = $3, lease_until = NULL, last_error = $4, updated_at = $5 \
         WHERE id = $1",
        &[
            (&e.id, INT8),
            (&state, TEXT),
            (&run_at, INT8),
            (&e.error, TEXT),
            (&now, INT8),
        ],
    )?;
    Ok(outcome)
}

/// Ends every lease that ran out by `now` as [`LeasedJob::lease_expired`] says (the SQL only; the
/// decision lives in `outbox`, shared with the SQLite store).
fn expire_leases(tx: &mut PgTx<'_>, max_attempts: u32, now: i64) -> Result<()> {
    let rows = tx.rows(
        "SELECT id, coalesce(lease_token, 0), attempts, \"coalesce\", kind, key FROM jobs \
         WHERE state = 'leased' AND lease_until <= $1 ORDER BY lease_until, id LIMIT $2",
        &[(&now, INT8), (&i64::from(EXPIRED_PER_CLAIM), INT8)],
    )?;
    let mut expired = Vec::with_capacity(rows.len());
    for r in &rows {
        expired.push(LeasedJob {
            id: tx.get(r, 0)?,
            lease_token: tx.get(r, 1)?,
            attempts: tx.get(r, 2)?,
            coalesce: tx.get(r, 3)?,
            kind: tx.get(r, 4)?,
            key: tx.get(r, 5)?,
        });
    }
    for lease in &expired {
        end_attempt(tx, &lease.lease_expired(), max_attempts, now)?;
    }
    Ok(())
}

impl PgStore {
    /// Lists jobs, newest first.
    pub fn jobs(&self, f: &JobFilter) -> Result<Vec<Job>> {
        let sql = format!(
            "SELECT {JOB_COLS} FROM jobs WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR state = $2) \
             AND ($3::text IS NULL OR customer_id = $3) ORDER BY id DESC LIMIT $4"
        );
        let state = f.state.map(JobState::as_str);
        let limit = i64::from(f.limit.unwrap_or(100));
        self.read(|tx| {
            let rows = tx.rows(
                &sql,
                &[
                    (&f.kind, TEXT),
                    (&state, TEXT),
                    (&f.customer_id, TEXT),
                    (&limit, INT8),
                ],
            )?;
            rows.iter().map(|r| job_row(tx, r)).collect()
        })
    }

    /// One job by id.
    pub fn job(&self, id: i64) -> Result<Job> {
        let sql = format!("SELECT {JOB_COLS} FROM jobs WHERE id = $1");
        self.read(|tx| match tx.row(&sql, &[(&id, INT8)])? {
            Some(r) => job_row(tx, &r),
            None => Err(Error::new(ErrorCode::JobNotFound, format!("no job {id}"))),
        })
    }

    /// A job's attempts, oldest first.
    pub fn job_attempts(&self, id: i64) -> Result<Vec<JobAttempt>> {
        self.read(|tx| {
            let rows = tx.rows(
                "SELECT attempt, started_at, finished_at, outcome, error FROM job_attempts \
                 WHERE job_id = $1 ORDER BY attempt",
                &[(&id, INT8)],
            )?;
            rows.iter()
                .map(|r| {
                    Ok(JobAttempt {
                        lease_token: tx.get(r, 0)?,
                        started_at: tx.get(r, 1)?,
                        finished_at: tx.get(r, 2)?,
                        outcome: tx.get(r, 3)?,
                        error: tx.get(r, 4)?,
                    })
                })
                .collect()
        })
    }

    /// Hands out up to `limit` due jobs of `kinds` (all kinds when empty), oldest first, each
    /// leased for `lease_secs`; the same rules as the SQLite store's `claim`.
    pub fn claim(&self, request: &ClaimRequest<'_>, now: i64) -> Result<Vec<ClaimedJob>> {
        let lease_secs = request.lease_secs.max(1);
        let limit = i64::from(request.limit);
        let pick = CLAIM_PICK.replace("NOT_OLDER", NOT_OLDER);
        self.write(|tx| {
            expire_leases(tx, request.max_attempts, now)?;
            // Per-kind throttles (the rule and its bookkeeping: outbox::ThrottleGate).
            let throttled = super::stripe_state::throttles(tx)?;
            let mut gate = ThrottleGate::default();
            let mut wanted: Vec<String> = request.kinds.iter().map(|k| k.to_string()).collect();
            let mut except: Vec<String> = Vec::new();
            if !throttled.is_empty() {
                let counts = &mut super::stripe_state::Counts(&mut *tx);
                gate = ThrottleGate::open(throttled, request.kinds, now, counts)?;
                match gate.narrow(request.kinds) {
                    None => return Ok(Vec::new()),
                    Some(KindPick::Only(open)) => wanted = open,
                    Some(KindPick::Except(exhausted)) => except = exhausted,
                }
            }
            let rows = tx.rows(
                &pick,
                &[
                    (&now, INT8),
                    (&wanted, Type::TEXT_ARRAY),
                    (&limit, INT8),
                    (&except, Type::TEXT_ARRAY),
                ],
            )?;
            let picked: Vec<i64> = rows
                .iter()
                .map(|r| Ok((tx.get(r, 0)?, tx.get::<String>(r, 1)?)))
                .collect::<Result<Vec<(i64, String)>>>()?
                .into_iter()
                .filter(|(_, kind)| gate.take(kind))
                .map(|(id, _)| id)
                .collect();
            let taken: Vec<(String, crate::outbox::JobThrottle, i64, i64)> = gate
                .taken()
                .map(|(k, t, n, at)| (k.to_owned(), *t, n, at))
                .collect();
            for (kind, t, n, at) in &taken {
                super::stripe_state::record(tx, kind, t, *n, *at)?;
            }
            // Claims of throttled kinds start on the throttle's monotone timeline.
            lease_picked(tx, &picked, gate.now(now), lease_secs)
        })
    }

    /// Marks a leased job done. `LEASE_LOST` when the lease expired or was taken over.
    pub fn complete(&self, id: i64, lease_token: i64, now: i64) -> Result<()> {
        self.write(|tx| {
            let n = tx.exec(
                "UPDATE jobs SET state = 'done', lease_until = NULL, updated_at = $3 \
                 WHERE id = $1 AND state = 'leased' AND lease_token = $2 AND lease_until > $3",
                &[(&id, INT8), (&lease_token, INT8), (&now, INT8)],
            )?;
            if n == 0 {
                return Err(lease_error(tx, id)?);
            }
            tx.exec(
                "UPDATE job_attempts SET finished_at = $3, outcome = 'completed' WHERE job_id = $1 AND attempt = $2",
                &[(&id, INT8), (&lease_token, INT8), (&now, INT8)],
            )?;
            Ok(())
        })
    }

    /// Records a failed attempt and applies [`EndedAttempt::next`] (retry with backoff,
    /// dead-letter after `max_attempts`, or superseded by a newer due twin). `error` is already redacted
    /// and truncated by the caller.
    pub fn fail(&self, attempt: &FailedAttempt<'_>, now: i64) -> Result<FailOutcome> {
        self.write(|tx| {
            let row = tx.row(
                "SELECT attempts, \"coalesce\", kind, key FROM jobs \
                 WHERE id = $1 AND state = 'leased' AND lease_token = $2 AND lease_until > $3",
                &[
                    (&attempt.id, INT8),
                    (&attempt.lease_token, INT8),
                    (&now, INT8),
                ],
            )?;
            let Some(r) = row else {
                return Err(lease_error(tx, attempt.id)?);
            };
            let job = LeasedJob {
                id: attempt.id,
                lease_token: attempt.lease_token,
                attempts: tx.get(&r, 0)?,
                coalesce: tx.get(&r, 1)?,
                kind: tx.get(&r, 2)?,
                key: tx.get(&r, 3)?,
            };
            end_attempt(tx, &job.failed(attempt), attempt.max_attempts, now)
        })
    }

    /// Puts a dead job back in the queue; returns the id of the job that will run.
    pub fn replay(&self, id: i64, now: i64) -> Result<i64> {
        self.write(|tx| {
            let row = tx.row(
                "SELECT \"coalesce\", kind, key FROM jobs WHERE id = $1 AND state = 'dead'",
                &[(&id, INT8)],
            )?;
            let Some(r) = row else {
                return Err(Error::new(
                    ErrorCode::JobNotFound,
                    format!("no dead job {id}"),
                ));
            };
            let coalesce: bool = tx.get(&r, 0)?;
            let kind: String = tx.get(&r, 1)?;
            let key: String = tx.get(&r, 2)?;
            if coalesce {
                if let Some(twin) = coalesced_twin(tx, &kind, &key)? {
                    tx.exec(
                        "UPDATE jobs SET state = 'superseded', updated_at = $2 WHERE id = $1",
                        &[(&id, INT8), (&now, INT8)],
                    )?;
                    return Ok(twin);
                }
            }
            tx.exec(
                "UPDATE jobs SET state = 'due', attempts = 0, run_at = $2, updated_at = $2 WHERE id = $1",
                &[(&id, INT8), (&now, INT8)],
            )?;
            Ok(id)
        })
    }
}

/// Leases each picked job from `now` for `lease_secs` and opens its attempt; a job that
/// stopped being due since it was picked is skipped.
fn lease_picked(
    tx: &mut PgTx<'_>,
    picked: &[i64],
    now: i64,
    lease_secs: i64,
) -> Result<Vec<ClaimedJob>> {
    let until = now.saturating_add(lease_secs);
    let mut out = Vec::with_capacity(picked.len());
    for id in picked {
        let Some(r) = tx.row(
            "UPDATE jobs SET state = 'leased', attempts = attempts + 1, \
             lease_token = coalesce(lease_token, 0) + 1, lease_until = $2, updated_at = $3 WHERE id = $1 \
             RETURNING id, kind, key, customer_id, attempts, lease_token, lease_until, payload",
            &[(id, INT8), (&until, INT8), (&now, INT8)],
        )?
        else {
            continue;
        };
        let job = ClaimedJob {
            id: tx.get(&r, 0)?,
            kind: tx.get(&r, 1)?,
            key: tx.get(&r, 2)?,
            customer_id: tx.get(&r, 3)?,
            attempt: tx.get(&r, 4)?,
            lease_token: tx.get(&r, 5)?,
            lease_until: tx.get(&r, 6)?,
            payload: tx.get(&r, 7)?,
        };
        tx.exec(
            "INSERT INTO job_attempts (job_id, attempt, started_at) VALUES ($1, $2, $3)",
            &[(id, INT8), (&job.lease_token, INT8), (&now, INT8)],
        )?;
        out.push(job);
    }
    Ok(out)
}

use postgres::types::Type;
