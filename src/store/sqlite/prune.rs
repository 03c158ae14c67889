//! Retention and backups on SQLite: batched deletes by rowid (bounded work per transaction,
//! no index on time needed on the write path), and the online backup API.

use std::path::Path;

use rusqlite::params;

use super::SqliteDb;
use crate::error::Result;
use crate::retention::{Cutoffs, Pruned};

impl SqliteDb {
    pub(crate) fn prune(&mut self, c: &Cutoffs, batch: u32) -> Result<Pruned> {
        self.write(|tx| {
            let conn = &tx.tx;
            // Bodies first (the bulk of the bytes), then whole rows. `length(body) > 0` skips
            // rows already emptied; quarantined events keep theirs for reprocess.
            let bodies = conn
                .prepare_cached(
                    "UPDATE events SET body = X'' WHERE rowid IN (SELECT rowid FROM events \
                     WHERE received_at < ?1 AND outcome <> 'quarantined' AND length(body) > 0 LIMIT ?2)",
                )?
                .execute(params![c.bodies, batch])? as u64;
            let events = conn
                .prepare_cached(
                    "DELETE FROM events WHERE rowid IN (SELECT rowid FROM events \
                     WHERE received_at < ?1 AND outcome <> 'quarantined' LIMIT ?2)",
                )?
                .execute(params![c.events, batch])? as u64;
            let deliveries = conn
                .prepare_cached(
                    "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE at < ?1 ORDER BY id LIMIT ?2)",
                )?
                .execute(params![c.deliveries, batch])? as u64;
            let delivery_stats = conn
                .prepare_cached(
                    "DELETE FROM delivery_stats WHERE (minute, outcome, reason) IN \
                     (SELECT minute, outcome, reason FROM delivery_stats WHERE minute < ?1 LIMIT ?2)",
                )?
                .execute(params![c.deliveries.div_euclid(60), batch])? as u64;
            let finished: Vec<i64> = conn
                .prepare_cached(
                    "SELECT id FROM jobs WHERE state IN ('done', 'superseded') AND updated_at < ?1 LIMIT ?2",
                )?
                .query_map(params![c.jobs, batch], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut attempts = conn.prepare_cached("DELETE FROM job_attempts WHERE job_id = ?1")?;
            let mut job = conn.prepare_cached("DELETE FROM jobs WHERE id = ?1")?;
            let (mut job_attempts, mut jobs) = (0, 0);
            for id in &finished {
                job_attempts += attempts.execute([id])? as u64;
                jobs += job.execute([id])? as u64;
            }
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

    /// Copies the live database to `path` page by page.
    pub(crate) fn backup(&self, path: &Path) -> Result<()> {
        let mut dest = rusqlite::Connection::open(path)?;
        let b = rusqlite::backup::Backup::new(self.conn(), &mut dest)?;
        // Pages in steps with pauses, so writers keep going while a large store is copied.
        b.run_to_completion(256, std::time::Duration::from_millis(1), None)?;
        Ok(())
    }
}

/// Replaces the database at `to` with the backup at `from` (SQLite's backup API in reverse).
/// Run it with the app stopped; a restored store answers as it did when the backup was taken,
/// and Stripe's redeliveries of anything newer are processed normally.
pub fn restore(from: &Path, to: &Path) -> Result<()> {
    let src =
        rusqlite::Connection::open_with_flags(from, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let version: i64 = src.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == 0 {
        return Err(crate::error::Error::new(
            crate::error::ErrorCode::StoreOpenFailed,
            "the backup file is not a tollbooth store",
        ));
    }
    let mut dest = rusqlite::Connection::open(to)?;
    let b = rusqlite::backup::Backup::new(&src, &mut dest)?;
    b.run_to_completion(256, std::time::Duration::from_millis(0), None)?;
    Ok(())
}
