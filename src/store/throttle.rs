//! Per-kind claim throttles: at most `max_claims` claims of a kind in any `period_secs`
//! window, and at most `burst` in any `period_secs * burst / max_claims` window, counted over
//! every worker process sharing the database (the count and the claim are one `BEGIN
//! IMMEDIATE` transaction). A backfill that enqueues thousands of CRM syncs then drains at
//! the CRM's pace (HubSpot: about 100 calls per 10 s) instead of in one 429 storm.
//!
//! A sliding-window log (one row per claim inside the window) rather than a token bucket:
//! "no window of `period_secs` ever holds more than `max_claims` claims" is then exactly true,
//! which is what a downstream rate limit checks. Jobs held back stay due in their order, so
//! the throttle keeps first-in-first-out.

use rusqlite::{Connection, params};
use serde::Serialize;

use super::Store;
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

    fn validate(&self) -> Result<()> {
        if self.max_claims == 0 || self.period_secs == 0 || self.burst == 0 {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "a throttle needs max_claims, period_secs and burst of at least 1",
            ));
        }
        Ok(())
    }

    /// The burst window in whole seconds (at least 1).
    fn burst_window(&self) -> i64 {
        let burst = self.burst.min(self.max_claims) as i64;
        ((self.period_secs as i64 * burst) / self.max_claims as i64).max(1)
    }
}

/// Every throttle, by kind (a handful of rows at most).
pub(super) fn throttles(conn: &Connection) -> Result<Vec<(String, JobThrottle)>> {
    let mut st = conn.prepare_cached(
        "SELECT kind, max_claims, period_secs, burst FROM job_throttles ORDER BY kind",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            JobThrottle {
                max_claims: r.get(1)?,
                period_secs: r.get(2)?,
                burst: r.get(3)?,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The throttle's own time for a claim at `now`: never before the newest recorded claim, so a
/// worker whose clock lags (or who read the clock before waiting for the write lock) counts and
/// records on the same monotone timeline as the others, and pruning by the leader's time never
/// drops a claim the laggard still needs.
pub(super) fn throttle_now(conn: &Connection, kind: &str, now: i64) -> Result<i64> {
    let newest: Option<i64> = conn
        .prepare_cached("SELECT max(at) FROM job_throttle_claims WHERE kind = ?1")?
        .query_row([kind], |r| r.get(0))?;
    Ok(newest.map_or(now, |n| n.max(now)))
}

/// How many more claims of `kind` the throttle allows at `now` (a [`throttle_now`] time).
pub(super) fn allowance(conn: &Connection, kind: &str, t: &JobThrottle, now: i64) -> Result<i64> {
    let mut count = conn
        .prepare_cached("SELECT count(*) FROM job_throttle_claims WHERE kind = ?1 AND at > ?2")?;
    let in_period: i64 =
        count.query_row(params![kind, now - t.period_secs as i64], |r| r.get(0))?;
    let in_burst: i64 = count.query_row(params![kind, now - t.burst_window()], |r| r.get(0))?;
    let left_period = t.max_claims as i64 - in_period;
    let left_burst = t.burst.min(t.max_claims) as i64 - in_burst;
    Ok(left_period.min(left_burst).max(0))
}

/// Records `n` claims of `kind` at `now` (a [`throttle_now`] time) and forgets claims that
/// left every window.
pub(super) fn record(
    conn: &Connection,
    kind: &str,
    t: &JobThrottle,
    n: i64,
    now: i64,
) -> Result<()> {
    conn.prepare_cached("DELETE FROM job_throttle_claims WHERE kind = ?1 AND at <= ?2")?
        .execute(params![kind, now - t.period_secs as i64])?;
    let mut ins =
        conn.prepare_cached("INSERT INTO job_throttle_claims (kind, at) VALUES (?1, ?2)")?;
    for _ in 0..n {
        ins.execute(params![kind, now])?;
    }
    Ok(())
}

impl Store {
    /// Sets (or replaces) the throttle of `kind`.
    pub fn set_job_throttle(&mut self, kind: &str, t: &JobThrottle) -> Result<()> {
        t.validate()?;
        self.write(|tx| {
            tx.tx
                .prepare_cached(
                    "INSERT INTO job_throttles (kind, max_claims, period_secs, burst) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (kind) DO UPDATE SET max_claims = ?2, period_secs = ?3, burst = ?4",
                )?
                .execute(params![kind, t.max_claims, t.period_secs, t.burst])?;
            Ok(())
        })
    }

    /// Removes the throttle of `kind`; returns whether there was one.
    pub fn remove_job_throttle(&mut self, kind: &str) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .tx
                .prepare_cached("DELETE FROM job_throttles WHERE kind = ?1")?
                .execute([kind])?;
            tx.tx
                .prepare_cached("DELETE FROM job_throttle_claims WHERE kind = ?1")?
                .execute([kind])?;
            Ok(n > 0)
        })
    }

    /// Every throttle, by kind.
    pub fn job_throttles(&self) -> Result<Vec<(String, JobThrottle)>> {
        throttles(self.conn())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    #[test]
    fn the_window_and_the_burst_bound_the_allowance() {
        let mut s = Store::open(&StoreOptions::default()).unwrap();
        let t = JobThrottle {
            max_claims: 10,
            period_secs: 10,
            burst: 4,
        };
        s.set_job_throttle("crm.sync_customer", &t).unwrap();
        assert_eq!(
            s.job_throttles().unwrap(),
            vec![("crm.sync_customer".into(), t)]
        );
        let c = s.conn();
        assert_eq!(allowance(c, "crm.sync_customer", &t, 100).unwrap(), 4);
        record(c, "crm.sync_customer", &t, 4, 100).unwrap();
        // The burst window is 10 * 4 / 10 = 4 s.
        assert_eq!(allowance(c, "crm.sync_customer", &t, 103).unwrap(), 0);
        assert_eq!(allowance(c, "crm.sync_customer", &t, 104).unwrap(), 4);
        record(c, "crm.sync_customer", &t, 4, 104).unwrap();
        record(c, "crm.sync_customer", &t, 2, 108).unwrap();
        // 10 in (100, 110]: the period is full until the claims at 100 leave it.
        assert_eq!(allowance(c, "crm.sync_customer", &t, 109).unwrap(), 0);
        assert_eq!(allowance(c, "crm.sync_customer", &t, 110).unwrap(), 2);
        assert!(
            s.set_job_throttle("x", &JobThrottle::per(0, 10))
                .unwrap_err()
                .code()
                == ErrorCode::InvalidArgument
        );
        assert!(s.remove_job_throttle("crm.sync_customer").unwrap());
        assert!(s.job_throttles().unwrap().is_empty());
    }
}
