//! SQL of tollbooth's own Stripe API work on SQLite: resumable cursors for `sync` and
//! `catch-up`, the product and price catalog, and where the event history ends (table
//! definitions in migrations/0005_stripe_api.sql). Small on purpose, so a PostgreSQL store
//! can carry the same few statements.

use rusqlite::{OptionalExtension, Row, params};

use super::SqliteDb;
use crate::error::Result;
use crate::sync_state::{CatalogEntry, SyncCursor, SyncPage};

const CURSOR_COLS: &str =
    "stream, scope, starting_after, applied, started_at, updated_at, completed_at";

fn cursor_row(r: &Row<'_>) -> rusqlite::Result<SyncCursor> {
    Ok(SyncCursor {
        stream: r.get(0)?,
        scope: r.get(1)?,
        starting_after: r.get(2)?,
        applied: r.get(3)?,
        started_at: r.get(4)?,
        updated_at: r.get(5)?,
        completed_at: r.get(6)?,
    })
}

impl SqliteDb {
    pub(crate) fn sync_cursor(&self, stream: &str) -> Result<Option<SyncCursor>> {
        let sql = format!("SELECT {CURSOR_COLS} FROM stripe_sync_cursors WHERE stream = ?1");
        Ok(self
            .conn()
            .prepare_cached(&sql)?
            .query_row([stream], cursor_row)
            .optional()?)
    }

    pub(crate) fn sync_cursors(&self) -> Result<Vec<SyncCursor>> {
        let sql = format!("SELECT {CURSOR_COLS} FROM stripe_sync_cursors ORDER BY stream");
        let mut st = self.conn().prepare_cached(&sql)?;
        let rows = st.query_map([], cursor_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn start_sync_cursor(&mut self, stream: &str, scope: &str, now: i64) -> Result<()> {
        self.write(|tx| {
            tx.tx
                .prepare_cached(
                    "INSERT INTO stripe_sync_cursors (stream, scope, starting_after, applied, started_at, updated_at, completed_at) \
                     VALUES (?1, ?2, NULL, 0, ?3, ?3, NULL) \
                     ON CONFLICT (stream) DO UPDATE SET scope = ?2, starting_after = NULL, applied = 0, \
                     started_at = ?3, updated_at = ?3, completed_at = NULL",
                )?
                .execute(params![stream, scope, now])?;
            Ok(())
        })
    }

    pub(crate) fn advance_sync_cursor(
        &mut self,
        stream: &str,
        page: &SyncPage<'_>,
        now: i64,
    ) -> Result<()> {
        self.write(|tx| {
            tx.tx
                .prepare_cached(
                    "UPDATE stripe_sync_cursors SET starting_after = ?2, applied = applied + ?3, updated_at = ?4 \
                     WHERE stream = ?1",
                )?
                .execute(params![stream, page.starting_after, page.applied, now])?;
            Ok(())
        })
    }

    pub(crate) fn complete_sync_cursor(&mut self, stream: &str, now: i64) -> Result<()> {
        self.write(|tx| {
            tx.tx
                .prepare_cached(
                    "UPDATE stripe_sync_cursors SET completed_at = ?2, updated_at = ?2 WHERE stream = ?1",
                )?
                .execute(params![stream, now])?;
            Ok(())
        })
    }

    pub(crate) fn put_catalog_entry(&mut self, e: &CatalogEntry) -> Result<bool> {
        self.write(|tx| put_catalog_entry(&tx.tx, e))
    }

    pub(crate) fn catalog(&self, object: Option<&str>) -> Result<Vec<CatalogEntry>> {
        let mut st = self.conn().prepare_cached(
            "SELECT id, object, active, name, product_id, unit_amount, currency, recurring_interval, fetched_at \
             FROM stripe_catalog WHERE (?1 IS NULL OR object = ?1) ORDER BY id",
        )?;
        let rows = st.query_map([object], |r| {
            Ok(CatalogEntry {
                id: r.get(0)?,
                object: r.get(1)?,
                active: r.get(2)?,
                name: r.get(3)?,
                product_id: r.get(4)?,
                unit_amount: r.get(5)?,
                currency: r.get(6)?,
                recurring_interval: r.get(7)?,
                fetched_at: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn last_event_created(&self) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT max(created) FROM events")?
            .query_row([], |r| r.get(0))?)
    }
}

/// Writes a catalog entry unless the stored one was fetched later or is the same; true when
/// it wrote. Shared by `sync` and by the `product.*` / `price.*` events inside ingest.
pub(crate) fn put_catalog_entry(conn: &rusqlite::Connection, e: &CatalogEntry) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT INTO stripe_catalog (id, object, active, name, product_id, unit_amount, currency, recurring_interval, fetched_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT (id) DO UPDATE SET object = ?2, active = ?3, name = ?4, product_id = ?5, \
             unit_amount = ?6, currency = ?7, recurring_interval = ?8, fetched_at = ?9 \
             WHERE stripe_catalog.fetched_at <= ?9 AND (object, active, name, product_id, unit_amount, currency, recurring_interval) \
             IS NOT (?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            e.id,
            e.object,
            e.active,
            e.name,
            e.product_id,
            e.unit_amount,
            e.currency,
            e.recurring_interval,
            e.fetched_at
        ])?;
    Ok(n > 0)
}
