//! Per-kind claim throttles: at most `max_claims` claims of a kind in any `period_secs`
//! window, and at most `burst` in any `period_secs * burst / max_claims` window, counted over
//! every worker process sharing the store (the count and the claim are one write
//! transaction). A backfill that enqueues thousands of CRM syncs then drains at the CRM's pace
//! (HubSpot: about 100 calls per 10 s) instead of in one 429 storm. Inngest's `throttle` is
//! the model users know.
//!
//! A sliding-window log (one row per claim inside the window) rather than a token bucket:
//! "no window of `period_secs` ever holds more than `max_claims` claims" is then exactly true,
//! which is what a downstream rate limit checks. Jobs held back stay due in their order, so
//! the throttle keeps first-in-first-out. This module is the pure rule; a backend stores the
//! log and asks [`JobThrottle::allowance`].

use serde::Serialize;

use crate::error::{Error, ErrorCode, Result};

/// A claim throttle for one job kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct JobThrottle {
    /// Claims allowed in any window of `period_secs`.
    pub max_claims: u32,
    /// The window, in seconds.
    pub period_secs: u32,
    /// Claims allowed at once (in any `period_secs * burst / max_claims` window); equal to
    /// `max_claims` for a plain sliding window, smaller to spread claims out.
    pub burst: u32,
}

impl JobThrottle {
    /// `max_claims` per `period_secs`, burst = `max_claims`.
    pub fn per(max_claims: u32, period_secs: u32) -> JobThrottle {
        JobThrottle {
            max_claims,
            period_secs,
            burst: max_claims,
        }
    }

    /// `INVALID_ARGUMENT` unless every field is at least 1.
    pub fn validate(&self) -> Result<()> {
        if self.max_claims == 0 || self.period_secs == 0 || self.burst == 0 {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "a throttle needs max_claims, period_secs and burst of at least 1",
            ));
        }
        Ok(())
    }

    /// The period in seconds.
    pub fn period(&self) -> i64 {
        i64::from(self.period_secs)
    }

    /// The burst window in whole seconds (at least 1).
    pub fn burst_window(&self) -> i64 {
        let burst = i64::from(self.burst.min(self.max_claims));
        (self.period() * burst / i64::from(self.max_claims)).max(1)
    }

    /// Claims still allowed, given the claims recorded in the period and in the burst window
    /// ending now.
    pub fn allowance(&self, in_period: i64, in_burst: i64) -> i64 {
        let left_period = i64::from(self.max_claims) - in_period;
        let left_burst = i64::from(self.burst.min(self.max_claims)) - in_burst;
        left_period.min(left_burst).max(0)
    }
}

/// The throttle's own time for a claim at `now`: never before the newest recorded claim
/// (`newest`), so a worker whose clock lags (or who read the clock before waiting for the
/// write lock) counts and records on the same monotone timeline as the others, and forgetting
/// claims by the leader's time never drops one the laggard still needs.
pub fn throttle_now(newest: Option<i64>, now: i64) -> i64 {
    newest.map_or(now, |n| n.max(now))
}

/// The throttles that apply to one claim: what each throttled kind may still take, and what
/// this claim took (the store records that in the same transaction). Each store supplies the
/// counts ([`ThrottleGate::open`]'s `counts`: the newest claim time, then the claims in a
/// window) and writes the taken claims; the bookkeeping is here, once.
#[derive(Debug, Default)]
pub struct ThrottleGate {
    kinds: Vec<Gated>,
}

/// One throttled kind within a claim.
#[derive(Debug)]
struct Gated {
    kind: String,
    throttle: JobThrottle,
    /// The throttle's time for this claim (see [`throttle_now`]).
    at: i64,
    /// Claims still allowed.
    left: i64,
    /// Claims taken by this claim.
    taken: i64,
}

/// What a store reports about one throttled kind before a claim.
pub trait ThrottleCounts {
    /// The newest recorded claim of `kind`, if any.
    fn newest(&mut self, kind: &str) -> Result<Option<i64>>;
    /// Recorded claims of `kind` after `since`.
    fn claims_after(&mut self, kind: &str, since: i64) -> Result<i64>;
}

/// The kinds a throttled claim may pick from ([`ThrottleGate::narrow`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindPick {
    /// Only these kinds.
    Only(Vec<String>),
    /// Every kind but these.
    Except(Vec<String>),
}

impl ThrottleGate {
    /// The gate for a claim of `kinds` (all when empty) at `now`, under `all` throttles.
    pub fn open(
        all: Vec<(String, JobThrottle)>,
        kinds: &[&str],
        now: i64,
        counts: &mut dyn ThrottleCounts,
    ) -> Result<ThrottleGate> {
        let mut gate = ThrottleGate::default();
        for (kind, throttle) in all {
            if kinds.is_empty() || kinds.contains(&kind.as_str()) {
                let at = throttle_now(counts.newest(&kind)?, now);
                let in_period = counts.claims_after(&kind, at - throttle.period())?;
                let in_burst = counts.claims_after(&kind, at - throttle.burst_window())?;
                gate.kinds.push(Gated {
                    left: throttle.allowance(in_period, in_burst),
                    kind,
                    throttle,
                    at,
                    taken: 0,
                });
            }
        }
        Ok(gate)
    }

    /// The claim's time: `now`, or the throttle time of a throttled kind when that is later.
    pub fn now(&self, now: i64) -> i64 {
        self.kinds.iter().map(|k| k.at).fold(now, i64::max)
    }

    /// Which kinds a claim of `kinds` (all when empty) may still pick from: every kind but the
    /// exhausted ones, or the named kinds that are not exhausted; `None` when every named
    /// kind is exhausted (nothing to claim).
    pub fn narrow(&self, kinds: &[&str]) -> Option<KindPick> {
        let exhausted = self.exhausted();
        if kinds.is_empty() {
            return Some(KindPick::Except(exhausted));
        }
        let open: Vec<String> = kinds
            .iter()
            .filter(|k| !exhausted.iter().any(|e| e == *k))
            .map(|k| k.to_string())
            .collect();
        (!open.is_empty()).then_some(KindPick::Only(open))
    }

    /// Throttled kinds with nothing left.
    pub fn exhausted(&self) -> Vec<String> {
        self.kinds
            .iter()
            .filter(|k| k.left == 0)
            .map(|k| k.kind.clone())
            .collect()
    }

    /// Whether a job of `kind` may be claimed now (counting it if so).
    pub fn take(&mut self, kind: &str) -> bool {
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

    /// The claims to record: `(kind, throttle, how many, at)`.
    pub fn taken(&self) -> impl Iterator<Item = (&str, &JobThrottle, i64, i64)> {
        self.kinds
            .iter()
            .filter(|k| k.taken > 0)
            .map(|k| (k.kind.as_str(), &k.throttle, k.taken, k.at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_and_the_burst_bound_the_allowance() {
        let t = JobThrottle {
            max_claims: 10,
            period_secs: 10,
            burst: 4,
        };
        assert_eq!(t.burst_window(), 4);
        assert_eq!(t.allowance(0, 0), 4);
        assert_eq!(t.allowance(4, 4), 0);
        assert_eq!(t.allowance(8, 0), 2);
        assert_eq!(t.allowance(12, 0), 0);
        assert_eq!(JobThrottle::per(100, 10).burst_window(), 10);
        assert_eq!(JobThrottle::per(100, 10).allowance(37, 37), 63);
        assert!(JobThrottle::per(0, 10).validate().is_err());
        assert_eq!(throttle_now(Some(50), 40), 50);
        assert_eq!(throttle_now(None, 40), 40);
    }
}
