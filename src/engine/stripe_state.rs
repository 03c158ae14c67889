//! Engine methods for the state of tollbooth's own Stripe API work (sync and catch-up cursors,
//! the product/price catalog), on the `Store` trait's "Stripe API work" methods (SQLite:
//! `store/sqlite/stripe_sync.rs`); the API calls themselves
//! are in `stripe_api`, which only talks to the store through these methods.

use super::Engine;
use crate::error::Result;
use crate::sync_state::{CatalogEntry, SyncCursor, SyncPage};

impl Engine {
    /// One stream's cursor (`customer`, `subscription`, ..., or `events`).
    pub fn sync_cursor(&self, stream: &str) -> Result<Option<SyncCursor>> {
        self.with_store(|s| s.sync_cursor(stream))
    }

    /// Every stream's cursor.
    pub fn sync_cursors(&self) -> Result<Vec<SyncCursor>> {
        self.with_store(|s| s.sync_cursors())
    }

    /// Starts a new run of `stream` with `scope` (forgetting an earlier run's position).
    pub fn start_sync_cursor(&self, stream: &str, scope: &str, now: i64) -> Result<()> {
        self.with_store(|s| s.start_sync_cursor(stream, scope, now))
    }

    /// Records that a page was applied up to `starting_after` (`applied` objects).
    pub fn advance_sync_cursor(&self, stream: &str, page: &SyncPage<'_>, now: i64) -> Result<()> {
        self.with_store(|s| s.advance_sync_cursor(stream, page, now))
    }

    /// Marks a run of `stream` finished.
    pub fn complete_sync_cursor(&self, stream: &str, now: i64) -> Result<()> {
        self.with_store(|s| s.complete_sync_cursor(stream, now))
    }

    /// `created` of the newest stored event.
    pub fn last_event_created(&self) -> Result<Option<i64>> {
        self.with_store(|s| s.last_event_created())
    }

    /// Stores a product or price fetched from the API at `fetched_at` (unless a later fetch is
    /// stored). Returns whether the row was written. Other object types: `SNAPSHOT_UNSUPPORTED`.
    pub fn apply_catalog_object(&self, object_json: &[u8], fetched_at: i64) -> Result<bool> {
        let entry = CatalogEntry::parse(object_json, fetched_at)?;
        self.with_store(|s| s.put_catalog_entry(&entry))
    }

    /// Products and prices (`object`: `product`, `price`, or `None` for both).
    pub fn catalog(&self, object: Option<&str>) -> Result<Vec<CatalogEntry>> {
        self.with_store(|s| s.catalog(object))
    }
}
