//! The worker side of the outbox: list, claim, complete, fail, dead-letter and replay jobs.

use super::Engine;
use crate::error::Result;
use std::sync::atomic::Ordering;

use crate::outbox;
use crate::outbox::{ClaimedJob, FailOutcome, Job, JobAttempt, JobFilter, JobState, JobThrottle};
use crate::retention::{PRUNE_BATCH, Pruned, Retention};

impl Engine {
    /// Jobs, newest first.
    pub fn jobs(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        self.with_store(|s| s.jobs(filter))
    }

    /// One job by id.
    pub fn job(&self, id: i64) -> Result<Job> {
        self.with_store(|s| s.job(id))
    }

    /// A job's attempts.
    pub fn job_attempts(&self, id: i64) -> Result<Vec<JobAttempt>> {
        self.with_store(|s| s.job_attempts(id))
    }

    /// Claims up to `limit` due jobs of `kinds` (all when empty) for `lease_secs`.
    /// `INVALID_ARGUMENT` unless `limit` is `1..=`[`outbox::MAX_CLAIM_LIMIT`], the lease
    /// `1..=`[`outbox::MAX_LEASE_SECS`] and `now` a real time ([`outbox::check_now`]).
    pub fn claim(
        &self,
        kinds: &[&str],
        limit: u32,
        lease_secs: i64,
        now: i64,
    ) -> Result<Vec<ClaimedJob>> {
        outbox::check_claim(limit, lease_secs, now)?;
        if let Some(policy) = &self.config.retention {
            self.prune_if_due(policy, now)?;
        }
        let request = outbox::ClaimRequest {
            kinds,
            limit,
            lease_secs,
            max_attempts: self.config.max_attempts,
        };
        self.with_store(|s| s.claim(&request, now))
    }

    /// Marks a claimed job done; `LEASE_LOST` when the lease is no longer the caller's.
    pub fn complete(&self, id: i64, lease_token: i64, now: i64) -> Result<()> {
        outbox::check_now(now)?;
        self.with_store(|s| s.complete(id, lease_token, now))?;
        Ok(())
    }

    /// Records a failed attempt; retries with backoff or dead-letters. The message is cut to a
    /// bounded size first, then Stripe-style credentials and every configured secret are
    /// redacted in one linear pass, so any message costs bounded work.
    pub fn fail(&self, id: i64, lease_token: i64, error: &str, now: i64) -> Result<FailOutcome> {
        self.fail_after(id, lease_token, error, None, now)
    }

    /// [`Engine::fail`] with the downstream service's "retry after N seconds" (e.g. a CRM's
    /// 429 `Retry-After`), which replaces the backoff for this attempt (clamped to
    /// `0..=`[`outbox::MAX_RETRY_AFTER_SECS`]); the attempt still counts towards dead-lettering.
    pub fn fail_after(
        &self,
        id: i64,
        lease_token: i64,
        error: &str,
        retry_after_secs: Option<i64>,
        now: i64,
    ) -> Result<FailOutcome> {
        outbox::check_now(now)?;
        let secrets = &self.config.webhook_secrets;
        // Keep enough past the stored length that a secret straddling the cut is still whole.
        let keep =
            outbox::MAX_ERROR_CHARS + secrets.iter().map(|s| s.byte_len()).max().unwrap_or(0);
        let cut = error
            .char_indices()
            .nth(keep)
            .map_or(error, |(i, _)| &error[..i]);
        let redacted = outbox::redact_secrets(cut, |t| secrets.iter().any(|s| s.is(t)));
        let error = outbox::truncate_error(&redacted);
        let attempt = outbox::FailedAttempt {
            id,
            lease_token,
            error: &error,
            retry_after_secs,
            max_attempts: self.config.max_attempts,
        };
        self.with_store(|s| s.fail(&attempt, now))
    }

    /// Throttles claims of `kind`: at most `t.max_claims` in any `t.period_secs` window (and
    /// `t.burst` at once), counted across every worker process sharing the store. Jobs held
    /// back stay due, in order.
    pub fn set_job_throttle(&self, kind: &str, t: &JobThrottle) -> Result<()> {
        self.with_store(|s| s.set_job_throttle(kind, t))
    }

    /// Removes the throttle of `kind`; returns whether there was one.
    pub fn remove_job_throttle(&self, kind: &str) -> Result<bool> {
        self.with_store(|s| s.remove_job_throttle(kind))
    }

    /// Every throttle, by kind.
    pub fn job_throttles(&self) -> Result<Vec<(String, JobThrottle)>> {
        self.with_store(|s| s.job_throttles())
    }

    /// Dead-lettered jobs, newest first.
    pub fn dead_jobs(&self) -> Result<Vec<Job>> {
        self.jobs(&JobFilter {
            state: Some(JobState::Dead),
            limit: Some(1000),
            ..JobFilter::default()
        })
    }

    /// Drops history older than `policy` allows ([`crate::retention`]), in short batches;
    /// never a billing row, an unfinished job or a quarantined event.
    pub fn prune(&self, policy: &Retention, now: i64) -> Result<Pruned> {
        policy.validate()?;
        let cutoffs = policy.cutoffs(now);
        let mut total = Pruned::default();
        loop {
            let p = self.with_store(|s| s.prune(&cutoffs, PRUNE_BATCH))?;
            total.add(p);
            if p.total() == 0 {
                return Ok(total);
            }
        }
    }

    /// The automatic policy: at most one prune an hour.
    fn prune_if_due(&self, policy: &Retention, now: i64) -> Result<()> {
        let last = self.last_prune.load(Ordering::Relaxed);
        if now.saturating_sub(last) < 3_600
            || self
                .last_prune
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return Ok(());
        }
        self.prune(policy, now).map(|_| ())
    }

    /// Writes a consistent copy of the whole store to `path` while it stays in use (SQLite;
    /// PostgreSQL is backed up with `pg_dump`).
    pub fn backup(&self, path: &std::path::Path) -> Result<()> {
        self.with_store(|s| s.backup(path))
    }

    /// Puts a dead job back in the queue; returns the id of the job that will run.
    pub fn replay(&self, id: i64, now: i64) -> Result<i64> {
        outbox::check_now(now)?;
        self.with_store(|s| s.replay(id, now))
    }
}
