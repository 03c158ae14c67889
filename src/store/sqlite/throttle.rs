//! SQL of the per-kind claim throttles on SQLite (the rule is [`crate::outbox::JobThrottle`]):
//! the configuration table and the log of throttled claims inside the window, read and
//! written inside the claim's `BEGIN IMMEDIATE` transaction so every worker process sees the
//! same count.

use rusqlite::{Connection, params};

use super::SqliteDb;
use crate::error::Result;
use crate::outbox::{JobThrottle, ThrottleCounts};

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

/// The counts a [`crate::outbox::ThrottleGate`] needs, read inside the claim's transaction.
pub(super) struct Counts<'c>(pub(super) &'c Connection);

impl ThrottleCounts for Counts<'_> {
    fn newest(&mut self, kind: &str) -> Result<Option<i64>> {
        Ok(self
            .0
            .prepare_cached("SELECT max(at) FROM job_throttle_claims WHERE kind = ?1")?
            .query_row([kind], |r| r.get(0))?)
    }
    fn claims_after(&mut self, kind: &str, since: i64) -> Result<i64> {
        Ok(self
            .0
            .prepare_cached("SELECT count(*) FROM job_throttle_claims WHERE kind = ?1 AND at > ?2")?
            .query_row(params![kind, since], |r| r.get(0))?)
    }
}

/// Records `n` claims of `kind` at `at` (a throttle time) and forgets claims that left every
/// window.
pub(super) fn record(
    conn: &Connection,
    kind: &str,
    t: &JobThrottle,
    n: i64,
    at: i64,
) -> Result<()> {
    conn.prepare_cached("DELETE FROM job_throttle_claims WHERE kind = ?1 AND at <= ?2")?
        .execute(params![kind, at - t.period()])?;
    let mut ins =
        conn.prepare_cached("INSERT INTO job_throttle_claims (kind, at) VALUES (?1, ?2)")?;
    for _ in 0..n {
        ins.execute(params![kind, at])?;
    }
    Ok(())
}

impl SqliteDb {
    pub(crate) fn set_job_throttle(&mut self, kind: &str, t: &JobThrottle) -> Result<()> {
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

    pub(crate) fn remove_job_throttle(&mut self, kind: &str) -> Result<bool> {
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

    pub(crate) fn job_throttles(&self) -> Result<Vec<(String, JobThrottle)>> {
        throttles(self.conn())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteOptions;

    #[test]
    fn the_window_and_the_burst_bound_the_allowance() {
        let mut db = SqliteDb::open(
            ":memory:",
            &SqliteOptions::default(),
            Default::default(),
            1000,
        )
        .unwrap();
        let t = JobThrottle {
            max_claims: 10,
            period_secs: 10,
            burst: 4,
        };
        db.set_job_throttle("crm.sync_customer", &t).unwrap();
        assert_eq!(
            db.job_throttles().unwrap(),
            vec![("crm.sync_customer".into(), t)]
        );
        let c = db.conn();
        let k = "crm.sync_customer";
        let allowance =
            |c: &Connection, k: &str, t: &JobThrottle, now: i64| -> Result<(i64, i64)> {
                let gate = crate::outbox::ThrottleGate::open(
                    vec![(k.to_owned(), *t)],
                    &[],
                    now,
                    &mut Counts(c),
                )?;
                let at = gate.now(i64::MIN);
                let mut g = gate;
                let mut left = 0;
                while g.take(k) {
                    left += 1;
                }
                Ok((at, left))
            };
        assert_eq!(allowance(c, k, &t, 100).unwrap(), (100, 4));
        record(c, k, &t, 4, 100).unwrap();
        // The burst window is 10 * 4 / 10 = 4 s.
        assert_eq!(allowance(c, k, &t, 103).unwrap().1, 0);
        assert_eq!(allowance(c, k, &t, 104).unwrap().1, 4);
        record(c, k, &t, 4, 104).unwrap();
        record(c, k, &t, 2, 108).unwrap();
        // 10 in (99, 109]: the period is full until the claims at 100 leave it.
        assert_eq!(allowance(c, k, &t, 109).unwrap().1, 0);
        assert_eq!(allowance(c, k, &t, 110).unwrap().1, 2);
        // A clock behind the newest claim counts at the newest claim's time.
        assert_eq!(allowance(c, k, &t, 50).unwrap(), (108, 0));
        assert!(db.remove_job_throttle(k).unwrap());
        assert!(db.job_throttles().unwrap().is_empty());
    }
}
