//! Retention on PostgreSQL: the SQL of `store/sqlite/prune.rs` (bodies emptied first, then
//! whole rows; never a billing row, an unfinished job or a quarantined event), one short write
//! transaction per batch.

use postgres::types::Type;

use super::PgStore;
use super::tx::INT8;
use crate::error::Result;
use crate::retention::{Cutoffs, Pruned};

impl PgStore {
    /// Removes up to about `batch` rows per kind older than `c`; the caller repeats while
    /// something was removed.
    pub fn prune(&self, c: &Cutoffs, batch: u32) -> Result<Pruned> {
        let batch = i64::from(batch);
        let stats_minute = c.deliveries.div_euclid(60);
        self.write(|tx| {
            let bodies = tx.exec(
                "UPDATE events SET body = ''::bytea WHERE id IN (SELECT id FROM events \
                 WHERE received_at < $1 AND outcome <> 'quarantined' AND octet_length(body) > 0 LIMIT $2)",
                &[(&c.bodies, INT8), (&batch, INT8)],
            )?;
            let events = tx.exec(
                "DELETE FROM events WHERE id IN (SELECT id FROM events \
                 WHERE received_at < $1 AND outcome <> 'quarantined' LIMIT $2)",
                &[(&c.events, INT8), (&batch, INT8)],
            )?;
            let deliveries = tx.exec(
                "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE at < $1 ORDER BY id LIMIT $2)",
                &[(&c.deliveries, INT8), (&batch, INT8)],
            )?;
            let delivery_stats = tx.exec(
                "DELETE FROM delivery_stats WHERE (minute, outcome, reason) IN \
                 (SELECT minute, outcome, reason FROM delivery_stats WHERE minute < $1 LIMIT $2)",
                &[(&stats_minute, INT8), (&batch, INT8)],
            )?;
            // One set of finished jobs for both deletes: two LIMIT subqueries could pick
            // different rows.
            let rows = tx.rows(
                "SELECT id FROM jobs WHERE state IN ('done', 'superseded') AND updated_at < $1 LIMIT $2",
                &[(&c.jobs, INT8), (&batch, INT8)],
            )?;
            let finished: Vec<i64> = rows.iter().map(|r| tx.get(r, 0)).collect::<Result<_>>()?;
            let job_attempts = tx.exec(
                "DELETE FROM job_attempts WHERE job_id = ANY($1)",
                &[(&finished, Type::INT8_ARRAY)],
            )?;
            let jobs = tx.exec(
                "DELETE FROM jobs WHERE id = ANY($1)",
                &[(&finished, Type::INT8_ARRAY)],
            )?;
            Ok(Pruned {
                bodies,
                events,
                deliveries,
                delivery_stats,
                jobs,
                job_attempts,
            })
        })
    }
}
