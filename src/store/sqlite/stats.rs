//! Durable figures for metrics and alerts, computed from the tables themselves so they are
//! right across processes and restarts.

use rusqlite::params;

use super::SqliteDb;
use crate::error::Result;
use crate::outbox::KindStats;

impl SqliteDb {
    /// Per-kind queue figures; `since` starts the window.
    ///
    /// Long only for its three SQL statements (jobs by state, failed attempts, expired
    /// leases) and their row mappings; the only logic is matching rows to their kind.
    pub(crate) fn queue_stats(&self, now: i64, since: i64) -> Result<Vec<KindStats>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT kind, \
               sum(state = 'due'), sum(state = 'due' AND run_at <= ?1), sum(state = 'leased'), \
               sum(state = 'done'), sum(state = 'dead'), \
               min(CASE WHEN state = 'due' AND run_at <= ?1 THEN run_at END), \
               sum(created_at >= ?2), sum(state IN ('done', 'dead') AND updated_at >= ?2) \
             FROM jobs GROUP BY kind ORDER BY kind",
        )?;
        let mut out = st
            .query_map(params![now, since], |r| {
                let oldest: Option<i64> = r.get(6)?;
                Ok(KindStats {
                    kind: r.get(0)?,
                    due: r.get::<_, i64>(1)? as u64,
                    due_now: r.get::<_, i64>(2)? as u64,
                    leased: r.get::<_, i64>(3)? as u64,
                    done: r.get::<_, i64>(4)? as u64,
                    dead: r.get::<_, i64>(5)? as u64,
                    oldest_due_age_s: oldest.map(|t| (now - t).max(0)),
                    enqueued_window: r.get::<_, i64>(7)? as u64,
                    finished_window: r.get::<_, i64>(8)? as u64,
                    ..KindStats::default()
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut fails = conn.prepare_cached(
            "SELECT j.kind, count(*), sum(a.finished_at >= ?1) FROM job_attempts a JOIN jobs j ON j.id = a.job_id \
             WHERE a.outcome = 'failed' GROUP BY j.kind",
        )?;
        let rows = fails.query_map([since], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
            ))
        })?;
        for row in rows {
            let (kind, total, window) = row?;
            if let Some(k) = out.iter_mut().find(|k| k.kind == kind) {
                k.failed_attempts = total;
                k.failed_attempts_window = window;
            }
        }
        let mut expired = conn.prepare_cached(
            "SELECT j.kind, count(*), max(a.job_id) FROM job_attempts a JOIN jobs j ON j.id = a.job_id \
             WHERE a.outcome = 'lease_expired' AND a.finished_at >= ?1 GROUP BY j.kind",
        )?;
        let rows = expired.query_map([since], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, Option<i64>>(2)?,
            ))
        })?;
        for row in rows {
            let (kind, n, job) = row?;
            if let Some(k) = out.iter_mut().find(|k| k.kind == kind) {
                k.lease_expired_window = n;
                k.lease_expired_job = job;
            }
        }
        Ok(out)
    }
}
