//! Retention: how long each kind of history is kept, so a store stays bounded under steady
//! traffic (and a flood) without ever losing state.
//!
//! Pure: [`Retention::cutoffs`] turns ages into unix-second cutoffs for `now`; each store
//! deletes what is older ([`crate::store::Store::prune`]). What is never pruned: billing rows
//! and their watermarks, user links, unfinished jobs (due, leased, dead: a dead job waits for
//! an operator), and quarantined events (they wait for `reprocess`). Event ids outlive their
//! bodies, so a late redelivery is still a duplicate and catch-up still sees where it was.

use serde::Serialize;

use crate::error::{Error, ErrorCode, Result};

const DAY: i64 = 86_400;

/// Ages, in days, after which history is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Raw bodies of applied events (default 30; `reprocess` needs the body).
    pub body_days: u32,
    /// Event rows (ids, for dedupe and catch-up; default 90, at least `body_days` and 30:
    /// Stripe redelivers for three days and lists events for 30).
    pub event_days: u32,
    /// Delivery-log rows and per-minute delivery counts (default 30).
    pub delivery_days: u32,
    /// Finished jobs (done, superseded) and their attempts (default 30).
    pub job_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            body_days: 30,
            event_days: 90,
            delivery_days: 30,
            job_days: 30,
        }
    }
}

/// Unix-second cutoffs: rows older than these go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoffs {
    /// Bodies of events received before this are emptied.
    pub bodies: i64,
    /// Events received before this are deleted.
    pub events: i64,
    /// Delivery rows (and stats minutes) before this are deleted.
    pub deliveries: i64,
    /// Finished jobs last updated before this are deleted with their attempts.
    pub jobs: i64,
}

/// What one prune removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// Event bodies emptied.
    pub bodies: u64,
    /// Event rows deleted.
    pub events: u64,
    /// Delivery rows deleted.
    pub deliveries: u64,
    /// Per-minute delivery-count rows deleted.
    pub delivery_stats: u64,
    /// Finished jobs deleted.
    pub jobs: u64,
    /// Their attempt rows deleted.
    pub job_attempts: u64,
}

impl Pruned {
    /// Adds another batch's counts.
    pub fn add(&mut self, o: Pruned) {
        self.bodies += o.bodies;
        self.events += o.events;
        self.deliveries += o.deliveries;
        self.delivery_stats += o.delivery_stats;
        self.jobs += o.jobs;
        self.job_attempts += o.job_attempts;
    }

    /// Rows touched in total.
    pub fn total(&self) -> u64 {
        self.bodies
            + self.events
            + self.deliveries
            + self.delivery_stats
            + self.jobs
            + self.job_attempts
    }
}

/// Rows deleted per batch (one short write transaction each), so a prune never holds the
/// write lock long enough to delay a webhook noticeably.
pub const PRUNE_BATCH: u32 = 2_000;

impl Retention {
    /// Refuses ages that would break dedupe or lose what `reprocess` needs.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::new(ErrorCode::ConfigInvalid, m));
        if self.event_days < 30 {
            return bad(
                "event_days must be at least 30 (Stripe lists events for 30 days; ids dedupe late redeliveries)",
            );
        }
        if self.body_days == 0 || self.body_days > self.event_days {
            return bad("body_days must be between 1 and event_days");
        }
        if self.delivery_days == 0 || self.job_days == 0 {
            return bad("delivery_days and job_days must be at least 1");
        }
        Ok(())
    }

    /// The cutoffs at `now`.
    pub fn cutoffs(&self, now: i64) -> Cutoffs {
        let ago = |days: u32| now.saturating_sub(i64::from(days) * DAY);
        Cutoffs {
            bodies: ago(self.body_days),
            events: ago(self.event_days),
            deliveries: ago(self.delivery_days),
            jobs: ago(self.job_days),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_cut_at_their_ages() {
        let r = Retention::default();
        r.validate().unwrap();
        let c = r.cutoffs(100 * DAY);
        assert_eq!(c.bodies, 70 * DAY);
        assert_eq!(c.events, 10 * DAY);
        assert_eq!((c.deliveries, c.jobs), (70 * DAY, 70 * DAY));
    }

    #[test]
    fn ages_that_would_break_dedupe_are_refused() {
        for r in [
            Retention {
                event_days: 7,
                ..Retention::default()
            },
            Retention {
                body_days: 0,
                ..Retention::default()
            },
            Retention {
                body_days: 100,
                ..Retention::default()
            },
            Retention {
                job_days: 0,
                ..Retention::default()
            },
        ] {
            assert_eq!(
                r.validate().unwrap_err().code(),
                ErrorCode::ConfigInvalid,
                "{r:?}"
            );
        }
    }
}
