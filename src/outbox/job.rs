//! Jobs as the outbox sees them, whatever store holds them: their states, what a worker is
//! handed, and the one rule for what a failed attempt leads to. Pure: each store writes the SQL
//! and calls [`after_failure`] for the decision, so retry policy exists exactly once.

use serde::Serialize;

use super::{backoff_secs, jitter_for};
use crate::error::{Error, ErrorCode, Result};

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
    /// Every state.
    pub const ALL: [JobState; 5] = [
        JobState::Due,
        JobState::Leased,
        JobState::Done,
        JobState::Dead,
        JobState::Superseded,
    ];

    /// Parses [`JobState::as_str`]; an unknown name is a corrupt row (`STORE_CORRUPT`), never
    /// silently some other state.
    pub fn parse(s: &str) -> Result<JobState> {
        Self::ALL
            .into_iter()
            .find(|j| j.as_str() == s)
            .ok_or_else(|| Error::new(ErrorCode::StoreCorrupt, format!("unknown job state {s:?}")))
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

impl FailOutcome {
    /// The `state` names, in the order the C enum numbers them (the serde tag).
    pub const STATES: [&'static str; 3] = ["scheduled", "dead", "superseded"];

    /// This outcome's `state` name.
    pub fn state(&self) -> &'static str {
        match self {
            FailOutcome::Scheduled { .. } => Self::STATES[0],
            FailOutcome::Dead => Self::STATES[1],
            FailOutcome::Superseded { .. } => Self::STATES[2],
        }
    }
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

/// Queue figures for one job kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KindStats {
    /// Job kind.
    pub kind: String,
    /// Waiting to run (including retries in backoff).
    pub due: u64,
    /// Due now (`run_at <= now`).
    pub due_now: u64,
    /// Held by a worker.
    pub leased: u64,
    /// Completed, ever.
    pub done: u64,
    /// In dead-letter.
    pub dead: u64,
    /// Age of the oldest job that is due now, seconds.
    pub oldest_due_age_s: Option<i64>,
    /// Jobs enqueued in the window.
    pub enqueued_window: u64,
    /// Jobs completed or dead-lettered in the window.
    pub finished_window: u64,
    /// Failed attempts in the window.
    pub failed_attempts_window: u64,
    /// Failed attempts, ever.
    pub failed_attempts: u64,
    /// Attempts whose lease ran out in the window (the worker crashed or hung).
    pub lease_expired_window: u64,
    /// The job whose lease ran out most recently in the window.
    pub lease_expired_job: Option<i64>,
}

/// An attempt that ended without completing: a worker's `fail`, or a lease that expired.
/// Each store closes it with its own SQL and moves the job as [`after_failure`] decides.
#[derive(Debug, Clone, Copy)]
pub struct EndedAttempt<'a> {
    /// The job.
    pub id: i64,
    /// The attempt's number (its lease token).
    pub attempt: i64,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// Whether the job is coalesced (a newer due twin may retire it).
    pub coalesce: bool,
    /// Its kind.
    pub kind: &'a str,
    /// Its key.
    pub key: &'a str,
    /// `failed` or `lease_expired`.
    pub outcome: &'a str,
    /// The error recorded on the attempt and the job.
    pub error: &'a str,
    /// A downstream service's `Retry-After`, replacing the backoff (see [`after_failure`]).
    pub retry_after_secs: Option<i64>,
}

impl EndedAttempt<'_> {
    /// Where the job goes next: [`after_failure`] for this attempt, given the newer due job of
    /// the same coalesced key the store found (`due_twin`), if any.
    pub fn next(
        &self,
        max_attempts: u32,
        due_twin: Option<i64>,
        now: i64,
    ) -> (JobState, i64, FailOutcome) {
        after_failure(
            self.id,
            self.attempts,
            max_attempts,
            due_twin,
            self.retry_after_secs,
            now,
        )
    }
}

/// A worker's claim as the engine hands it to the store: which kinds (all when empty), how
/// many jobs at most, how long each lease lasts, and the attempts after which a job whose
/// lease ran out is dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimRequest<'a> {
    /// The kinds to claim; every kind when empty.
    pub kinds: &'a [&'a str],
    /// Most jobs handed out.
    pub limit: u32,
    /// Seconds each lease lasts.
    pub lease_secs: i64,
    /// Attempts after which a job is dead-lettered.
    pub max_attempts: u32,
}

/// A worker's report that its leased attempt failed, as the engine hands it to the store:
/// the lease it held, the error (already redacted and truncated), a downstream service's
/// `Retry-After` when one was given, and the engine's dead-letter limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedAttempt<'a> {
    /// The job.
    pub id: i64,
    /// The lease token the worker was given by `claim`.
    pub lease_token: i64,
    /// What went wrong, redacted and cut to [`MAX_ERROR_CHARS`].
    pub error: &'a str,
    /// The downstream service's "retry after N seconds", if any.
    pub retry_after_secs: Option<i64>,
    /// Attempts after which the job is dead-lettered.
    pub max_attempts: u32,
}

/// A leased job as a store reads it to end its attempt: a worker's `fail`, or a lease that
/// ran out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeasedJob {
    /// The job.
    pub id: i64,
    /// The lease token (the attempt's number); 0 when none was stored.
    pub lease_token: i64,
    /// Attempts so far, the current one included.
    pub attempts: i64,
    /// Whether the job is coalesced.
    pub coalesce: bool,
    /// Its kind.
    pub kind: String,
    /// Its key.
    pub key: String,
}

impl LeasedJob {
    /// The attempt a worker's `fail` ends: recorded as `failed` with the worker's (already
    /// redacted and truncated) `error`, and its `Retry-After` if a downstream gave one.
    pub fn failed<'a>(&'a self, report: &FailedAttempt<'a>) -> EndedAttempt<'a> {
        self.ended("failed", report.error, report.retry_after_secs)
    }

    /// The attempt an expired lease ends: the worker died or hung, so it counts as a failed
    /// attempt recorded as `lease_expired` with [`LEASE_EXPIRED_ERROR`], and no worker gave a
    /// `Retry-After`. The job then retries with backoff, or is dead-lettered at
    /// `max_attempts` (so a job that kills its workers cannot be handed out forever nor hold
    /// up its queue), or is retired for a newer due twin — [`EndedAttempt::next`].
    pub fn lease_expired(&self) -> EndedAttempt<'_> {
        self.ended("lease_expired", LEASE_EXPIRED_ERROR, None)
    }

    fn ended<'a>(
        &'a self,
        outcome: &'a str,
        error: &'a str,
        retry_after_secs: Option<i64>,
    ) -> EndedAttempt<'a> {
        EndedAttempt {
            id: self.id,
            attempt: self.lease_token,
            attempts: self.attempts,
            coalesce: self.coalesce,
            kind: &self.kind,
            key: &self.key,
            outcome,
            error,
            retry_after_secs,
        }
    }
}

/// Most expired leases a claim ends (each is a few small writes); the rest wait for the
/// next claim.
pub const EXPIRED_PER_CLAIM: u32 = 100;

/// The error recorded for an attempt whose lease ran out.
pub const LEASE_EXPIRED_ERROR: &str =
    "the lease expired before the worker completed or failed the job (worker crashed or hung?)";

/// Longest stored job error, in characters.
pub const MAX_ERROR_CHARS: usize = 1000;

/// Cuts an error message to [`MAX_ERROR_CHARS`] on a character boundary.
pub fn truncate_error(msg: &str) -> String {
    match msg.char_indices().nth(MAX_ERROR_CHARS) {
        Some((i, _)) => format!("{}…", &msg[..i]),
        None => msg.to_owned(),
    }
}

/// The longest "retry after" a failed job may ask for (a day): a bogus header never parks a
/// job for months.
pub const MAX_RETRY_AFTER_SECS: i64 = 86_400;

/// What a failed attempt leads to: the job's next state, its `run_at`, and the answer.
/// `retry_after_secs` (a downstream service's 429 `Retry-After`) replaces the backoff for this
/// attempt, clamped to `0..=`[`MAX_RETRY_AFTER_SECS`]; it still counts as an attempt.
///
/// `attempts` counts the attempt that just failed; `due_twin` is a newer due job of the same
/// coalesced key, if the store found one. Out of attempts wins over a twin (the operator sees
/// the dead letter), a twin wins over a retry (the newer payload carries on).
pub fn after_failure(
    job_id: i64,
    attempts: i64,
    max_attempts: u32,
    due_twin: Option<i64>,
    retry_after_secs: Option<i64>,
    now: i64,
) -> (JobState, i64, FailOutcome) {
    if attempts >= i64::from(max_attempts) {
        (JobState::Dead, now, FailOutcome::Dead)
    } else if let Some(by) = due_twin {
        (JobState::Superseded, now, FailOutcome::Superseded { by })
    } else {
        let attempt = attempts.clamp(0, i64::from(u32::MAX)) as u32;
        let wait = match retry_after_secs {
            Some(secs) => secs.clamp(0, MAX_RETRY_AFTER_SECS),
            None => backoff_secs(attempt, jitter_for(job_id, attempt)),
        };
        let next = now.saturating_add(wait);
        (
            JobState::Due,
            next,
            FailOutcome::Scheduled {
                next_attempt_at: next,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_after_replaces_the_backoff_within_a_day() {
        let at = |ra| after_failure(1, 2, 25, None, Some(ra), 100).1;
        assert_eq!(at(90), 190);
        assert_eq!(at(-5), 100);
        assert_eq!(at(10_000_000), 100 + MAX_RETRY_AFTER_SECS);
        // Out of attempts and a due twin still win.
        assert_eq!(
            after_failure(1, 25, 25, None, Some(9), 100).2,
            FailOutcome::Dead
        );
    }

    #[test]
    fn an_expired_lease_is_a_failed_attempt_that_backs_off_or_dead_letters() {
        let lease = |attempts, coalesce| LeasedJob {
            id: 7,
            lease_token: attempts,
            attempts,
            coalesce,
            kind: "email.send".into(),
            key: "k".into(),
        };
        let first = lease(1, false);
        let ended = first.lease_expired();
        assert_eq!(
            (ended.outcome, ended.error),
            ("lease_expired", LEASE_EXPIRED_ERROR)
        );
        assert_eq!(
            (ended.id, ended.attempt, ended.kind, ended.key),
            (7, 1, "email.send", "k")
        );
        assert_eq!(
            ended.next(3, None, 100),
            (
                JobState::Due,
                100 + backoff_secs(1, jitter_for(7, 1)),
                FailOutcome::Scheduled {
                    next_attempt_at: 100 + backoff_secs(1, jitter_for(7, 1))
                }
            )
        );
        assert_eq!(
            lease(3, false).lease_expired().next(3, None, 100).2,
            FailOutcome::Dead
        );
        let coalesced = lease(2, true);
        assert!(coalesced.lease_expired().coalesce);
        assert_eq!(
            coalesced.lease_expired().next(3, Some(9), 100).2,
            FailOutcome::Superseded { by: 9 }
        );
    }

    #[test]
    fn dead_beats_twin_beats_retry() {
        assert_eq!(
            after_failure(1, 3, 3, Some(9), None, 100).2,
            FailOutcome::Dead
        );
        assert_eq!(
            after_failure(1, 2, 3, Some(9), None, 100),
            (JobState::Superseded, 100, FailOutcome::Superseded { by: 9 })
        );
        let (state, run_at, out) = after_failure(1, 2, 3, None, None, 100);
        assert_eq!(state, JobState::Due);
        assert_eq!(
            out,
            FailOutcome::Scheduled {
                next_attempt_at: run_at
            }
        );
        assert_eq!(run_at, 100 + backoff_secs(2, jitter_for(1, 2)));
    }

    #[test]
    fn states_round_trip_and_unknown_is_corrupt() {
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()).unwrap(), s);
        }
        assert_eq!(
            JobState::parse("runnning").unwrap_err().code(),
            ErrorCode::StoreCorrupt
        );
    }

    #[test]
    fn truncates_on_a_char_boundary() {
        let long = "é".repeat(MAX_ERROR_CHARS + 5);
        let t = truncate_error(&long);
        assert_eq!(t.chars().count(), MAX_ERROR_CHARS + 1);
        assert!(t.ends_with('…'));
        assert_eq!(truncate_error("short"), "short");
    }
}
