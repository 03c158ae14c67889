//! Tollbooth's own Stripe API work and claim throttles on PostgreSQL: the SQL of
//! `store/sqlite/{stripe_sync,throttle}.rs` (rules in `outbox::throttle`, types in
//! `sync_state`).

use postgres::types::Type;

use super::PgStore;
use super::tx::{INT8, PgTx, TEXT};
use crate::error::Result;
use crate::outbox::{JobThrottle, ThrottleCounts};
use crate::sync_state::{CatalogEntry, SyncCursor, SyncPage};

const CURSOR_COLS: &str =
    "stream, scope, starting_after, applied, started_at, updated_at, completed_at";

fn cursor(tx: &mut PgTx<'_>, r: &postgres::Row) -> Result<SyncCursor> {
    Ok(SyncCursor {
        stream: tx.get(r, 0)?,
        scope: tx.get(r, 1)?,
        starting_after: tx.get(r, 2)?,
        applied: tx.get(r, 3)?,
        started_at: tx.get(r, 4)?,
        updated_at: tx.get(r, 5)?,
        completed_at: tx.get(r, 6)?,
    })
}

/// Every throttle, by kind.
pub(super) fn throttles(tx: &mut PgTx<'_>) -> Result<Vec<(String, JobThrottle)>> {
    let rows = tx.rows(
        "SELECT kind, max_claims, period_secs, burst FROM job_throttles ORDER BY kind",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            let n = |tx: &mut PgTx<'_>, i| -> Result<u32> {
                Ok(u32::try_from(tx.get::<i64>(r, i)?).unwrap_or(u32::MAX))
            };
            Ok((
                tx.get(r, 0)?,
                JobThrottle {
                    max_claims: n(tx, 1)?,
                    period_secs: n(tx, 2)?,
                    burst: n(tx, 3)?,
                },
            ))
        })
        .collect()
}

/// The counts a [`crate::outbox::ThrottleGate`] needs, read inside the claim's transaction.
pub(super) struct Counts<'t, 'c>(pub(super) &'t mut PgTx<'c>);

impl ThrottleCounts for Counts<'_, '_> {
    fn newest(&mut self, kind: &str) -> Result<Option<i64>> {
        let r = self.0.row(
            "SELECT max(at) FROM job_throttle_claims WHERE kind = $1",
            &[(&kind, TEXT)],
        )?;
        match r {
            Some(r) => self.0.get(&r, 0),
            None => Ok(None),
        }
    }
    fn claims_after(&mut self, kind: &str, since: i64) -> Result<i64> {
        let r = self.0.row(
            "SELECT count(*)::int8 FROM job_throttle_claims WHERE kind = $1 AND at > $2",
            &[(&kind, TEXT), (&since, INT8)],
        )?;
        match r {
            Some(r) => self.0.get(&r, 0),
            None => Ok(0),
        }
    }
}

/// Records `n` claims of `kind` at `at` and forgets claims that left every window.
pub(super) fn record(
    tx: &mut PgTx<'_>,
    kind: &str,
    t: &JobThrottle,
    n: i64,
    at: i64,
) -> Result<()> {
    let old = at - t.period();
    tx.exec(
        "DELETE FROM job_throttle_claims WHERE kind = $1 AND at <= $2",
        &[(&kind, TEXT), (&old, INT8)],
    )?;
    tx.exec(
        "INSERT INTO job_throttle_claims (kind, at) SELECT $1, $2 FROM generate_series(1, $3)",
        &[(&kind, TEXT), (&at, INT8), (&n, INT8)],
    )?;
    Ok(())
}

impl PgStore {
    /// See [`crate::store::Store::set_job_throttle`].
    pub fn set_job_throttle(&self, kind: &str, t: &JobThrottle) -> Result<()> {
        t.validate()?;
        let (m, p, b) = (
            i64::from(t.max_claims),
            i64::from(t.period_secs),
            i64::from(t.burst),
        );
        self.write(|tx| {
            tx.exec(
                "INSERT INTO job_throttles (kind, max_claims, period_secs, burst) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (kind) DO UPDATE SET max_claims = $2, period_secs = $3, burst = $4",
                &[(&kind, TEXT), (&m, INT8), (&p, INT8), (&b, INT8)],
            )?;
            Ok(())
        })
    }

    /// See [`crate::store::Store::remove_job_throttle`].
    pub fn remove_job_throttle(&self, kind: &str) -> Result<bool> {
        self.write(|tx| {
            let n = tx.exec(
                "DELETE FROM job_throttles WHERE kind = $1",
                &[(&kind, TEXT)],
            )?;
            tx.exec(
                "DELETE FROM job_throttle_claims WHERE kind = $1",
                &[(&kind, TEXT)],
            )?;
            Ok(n > 0)
        })
    }

    /// See [`crate::store::Store::job_throttles`].
    pub fn job_throttles(&self) -> Result<Vec<(String, JobThrottle)>> {
        self.read(throttles)
    }

    /// See [`crate::store::Store::sync_cursor`].
    pub fn sync_cursor(&self, stream: &str) -> Result<Option<SyncCursor>> {
        let sql = format!("SELECT {CURSOR_COLS} FROM stripe_sync_cursors WHERE stream = $1");
        self.read(|tx| match tx.row(&sql, &[(&stream, TEXT)])? {
            Some(r) => Ok(Some(cursor(tx, &r)?)),
            None => Ok(None),
        })
    }

    /// See [`crate::store::Store::sync_cursors`].
    pub fn sync_cursors(&self) -> Result<Vec<SyncCursor>> {
        let sql = format!("SELECT {CURSOR_COLS} FROM stripe_sync_cursors ORDER BY stream");
        self.read(|tx| {
            let rows = tx.rows(&sql, &[])?;
            rows.iter().map(|r| cursor(tx, r)).collect()
        })
    }

    /// See [`crate::store::Store::start_sync_cursor`].
    pub fn start_sync_cursor(&self, stream: &str, scope: &str, now: i64) -> Result<()> {
        self.write(|tx| {
            tx.exec(
                "INSERT INTO stripe_sync_cursors (stream, scope, starting_after, applied, started_at, updated_at, completed_at) \
                 VALUES ($1, $2, NULL, 0, $3, $3, NULL) \
                 ON CONFLICT (stream) DO UPDATE SET scope = $2, starting_after = NULL, applied = 0, \
                 started_at = $3, updated_at = $3, completed_at = NULL",
                &[(&stream, TEXT), (&scope, TEXT), (&now, INT8)],
            )?;
            Ok(())
        })
    }

    /// See [`crate::store::Store::advance_sync_cursor`].
    pub fn advance_sync_cursor(&self, stream: &str, page: &SyncPage<'_>, now: i64) -> Result<()> {
        self.write(|tx| {
            tx.exec(
                "UPDATE stripe_sync_cursors SET starting_after = $2, applied = applied + $3, updated_at = $4 \
                 WHERE stream = $1",
                &[
                    (&stream, TEXT),
                    (&page.starting_after, TEXT),
                    (&page.applied, INT8),
                    (&now, INT8),
                ],
            )?;
            Ok(())
        })
    }

    /// See [`crate::store::Store::complete_sync_cursor`].
    pub fn complete_sync_cursor(&self, stream: &str, now: i64) -> Result<()> {
        self.write(|tx| {
            tx.exec(
                "UPDATE stripe_sync_cursors SET completed_at = $2, updated_at = $2 WHERE stream = $1",
                &[(&stream, TEXT), (&now, INT8)],
            )?;
            Ok(())
        })
    }

    /// See [`crate::store::Store::put_catalog_entry`].
    pub fn put_catalog_entry(&self, e: &CatalogEntry) -> Result<bool> {
        self.write(|tx| tx.put_catalog(e))
    }

    /// See [`crate::store::Store::catalog`].
    pub fn catalog(&self, object: Option<&str>) -> Result<Vec<CatalogEntry>> {
        self.read(|tx| {
            let rows = tx.rows(
                "SELECT id, object, active, name, product_id, unit_amount, currency, recurring_interval, fetched_at \
                 FROM stripe_catalog WHERE ($1::text IS NULL OR object = $1) ORDER BY id",
                &[(&object, TEXT)],
            )?;
            rows.iter()
                .map(|r| {
                    Ok(CatalogEntry {
                        id: tx.get(r, 0)?,
                        object: tx.get(r, 1)?,
                        active: tx.get(r, 2)?,
                        name: tx.get(r, 3)?,
                        product_id: tx.get(r, 4)?,
                        unit_amount: tx.get(r, 5)?,
                        currency: tx.get(r, 6)?,
                        recurring_interval: tx.get(r, 7)?,
                        fetched_at: tx.get(r, 8)?,
                    })
                })
                .collect()
        })
    }

    /// See [`crate::store::Store::last_event_created`].
    pub fn last_event_created(&self) -> Result<Option<i64>> {
        self.read(|tx| match tx.row("SELECT max(created) FROM events", &[])? {
            Some(r) => tx.get(&r, 0),
            None => Ok(None),
        })
    }
}

impl PgTx<'_> {
    /// Writes a catalog entry unless the stored one was fetched later or is the same; true
    /// when it wrote. Shared by `sync` and the `product.*` / `price.*` events in ingest.
    pub(super) fn put_catalog(&mut self, e: &CatalogEntry) -> Result<bool> {
        let n = self.exec(
            "INSERT INTO stripe_catalog AS c (id, object, active, name, product_id, unit_amount, currency, \
             recurring_interval, fetched_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET object = $2, active = $3, name = $4, product_id = $5, \
             unit_amount = $6, currency = $7, recurring_interval = $8, fetched_at = $9 \
             WHERE c.fetched_at <= $9 AND (c.object, c.active, c.name, c.product_id, c.unit_amount, \
             c.currency, c.recurring_interval) IS DISTINCT FROM ($2, $3, $4, $5, $6, $7, $8)",
            &[
                (&e.id, TEXT),
                (&e.object, TEXT),
                (&e.active, Type::BOOL),
                (&e.name, TEXT),
                (&e.product_id, TEXT),
                (&e.unit_amount, INT8),
                (&e.currency, TEXT),
                (&e.recurring_interval, TEXT),
                (&e.fetched_at, INT8),
            ],
        )?;
        Ok(n > 0)
    }
}
