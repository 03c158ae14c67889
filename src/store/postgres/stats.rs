//! Durable queue figures for metrics and alerts on PostgreSQL: the SQL of `store/stats.rs`,
//! and the mode of the newest stored events (`tollbooth doctor`).

use super::PgStore;
use super::tx::INT8;
use crate::error::Result;
use crate::event::LivemodeCounts;
use crate::outbox::KindStats;

impl PgStore {
    /// Counts live and test events among the newest `limit` stored events (by arrival), read
    /// backwards along `events_received`, so the cost is bounded by `limit`.
    pub fn livemode_counts(&self, limit: u32) -> Result<LivemodeCounts> {
        let limit = i64::from(limit);
        self.read(|tx| {
            let row = tx.row(
                "SELECT count(*) FILTER (WHERE livemode)::int8, count(*) FILTER (WHERE NOT livemode)::int8 \
                 FROM (SELECT livemode FROM events ORDER BY received_at DESC LIMIT $1) newest",
                &[(&limit, INT8)],
            )?;
            Ok(match row {
                Some(r) => LivemodeCounts {
                    live: tx.get::<i64>(&r, 0)? as u64,
                    test: tx.get::<i64>(&r, 1)? as u64,
                },
                None => LivemodeCounts { live: 0, test: 0 },
            })
        })
    }

    /// Per-kind job counts now and over the window since `since`.
    ///
    /// Long only for its three SQL statements (jobs by state, failed attempts, expired
    /// leases) and their row mappings; the only logic is matching rows to their kind.
    pub fn queue_stats(&self, now: i64, since: i64) -> Result<Vec<KindStats>> {
        self.read(|tx| {
            let rows = tx.rows(
                "SELECT kind, \
                   count(*) FILTER (WHERE state = 'due')::int8, \
                   count(*) FILTER (WHERE state = 'due' AND run_at <= $1)::int8, \
                   count(*) FILTER (WHERE state = 'leased')::int8, \
                   count(*) FILTER (WHERE state = 'done')::int8, \
                   count(*) FILTER (WHERE state = 'dead')::int8, \
                   min(run_at) FILTER (WHERE state = 'due' AND run_at <= $1), \
                   count(*) FILTER (WHERE created_at >= $2)::int8, \
                   count(*) FILTER (WHERE state IN ('done', 'dead') AND updated_at >= $2)::int8 \
                 FROM jobs GROUP BY kind ORDER BY kind",
                &[(&now, INT8), (&since, INT8)],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let oldest: Option<i64> = tx.get(r, 6)?;
                out.push(KindStats {
                    kind: tx.get(r, 0)?,
                    due: tx.get::<i64>(r, 1)? as u64,
                    due_now: tx.get::<i64>(r, 2)? as u64,
                    leased: tx.get::<i64>(r, 3)? as u64,
                    done: tx.get::<i64>(r, 4)? as u64,
                    dead: tx.get::<i64>(r, 5)? as u64,
                    oldest_due_age_s: oldest.map(|t| (now - t).max(0)),
                    enqueued_window: tx.get::<i64>(r, 7)? as u64,
                    finished_window: tx.get::<i64>(r, 8)? as u64,
                    ..KindStats::default()
                });
            }
            let rows = tx.rows(
                "SELECT j.kind, count(*)::int8, count(*) FILTER (WHERE a.finished_at >= $1)::int8 \
                 FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE a.outcome = 'failed' GROUP BY j.kind",
                &[(&since, INT8)],
            )?;
            for r in &rows {
                let kind: String = tx.get(r, 0)?;
                let total: i64 = tx.get(r, 1)?;
                let window: i64 = tx.get(r, 2)?;
                if let Some(k) = out.iter_mut().find(|k| k.kind == kind) {
                    k.failed_attempts = total as u64;
                    k.failed_attempts_window = window as u64;
                }
            }
            let rows = tx.rows(
                "SELECT j.kind, count(*)::int8, max(a.job_id) FROM job_attempts a JOIN jobs j ON j.id = a.job_id \
                 WHERE a.outcome = 'lease_expired' AND a.finished_at >= $1 GROUP BY j.kind",
                &[(&since, INT8)],
            )?;
            for r in &rows {
                let kind: String = tx.get(r, 0)?;
                let n: i64 = tx.get(r, 1)?;
                let job: Option<i64> = tx.get(r, 2)?;
                if let Some(k) = out.iter_mut().find(|k| k.kind == kind) {
                    k.lease_expired_window = n as u64;
                    k.lease_expired_job = job;
                }
            }
            Ok(out)
        })
    }
}
