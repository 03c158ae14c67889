//! Retention on PostgreSQL: the SQL of `store/sqlite/prune.rs`, batched by key so each
//! transaction is short (`ctid` for events, which has no integer key).

use super::PgStore;
use super::tx::INT8;
use crate::error::Result;
use crate::retention::{Cutoffs, Pruned};

impl PgStore {
    /// One batch of [`crate::store::Store::prune`].
    pub fn prune(&self, c: &Cutoffs, batch: u32) -> Result<Pruned> {
        let batch = i64::from(batch);
        let minute = c.deliveries.div_euclid(60);
        self.write(|tx| {
            let bodies = tx.exec(
                "UPDATE events SET body = ''::bytea WHERE ctid IN (SELECT ctid FROM events \
                 WHERE received_at < $1 AND outcome <> 'quarantined' AND length(body) > 0 LIMIT $2)",
                &[(&c.bodies, INT8), (&batch, INT8)],
            )?;
            let events = tx.exec(
                "DELETE FROM events WHERE ctid IN (SELECT ctid FROM events \
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
                &[(&minute, INT8), (&batch, INT8)],
            )?;
            let job_attempts = tx.exec(
                "DELETE FROM job_attempts WHERE job_id IN (SELECT id FROM jobs \
                 WHERE state IN ('done', 'superseded') AND updated_at < $1 ORDER BY id LIMIT $2)",
                &[(&c.jobs, INT8), (&batch, INT8)],
            )?;
            let jobs = tx.exec(
                "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs \
                 WHERE state IN ('done', 'superseded') AND updated_at < $1 ORDER BY id LIMIT $2)",
                &[(&c.jobs, INT8), (&batch, INT8)],
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
