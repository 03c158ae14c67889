//! A product or price event: the catalog entry the portal names plans from.

use super::{Plan, Write};
use crate::billing::Watermark;
use crate::sync_state::CatalogEntry;

/// Stamped with the event's `created`; the store keeps the newest (see
/// `StoreTx::put_catalog_entry`), so a late `product.updated` never overwrites a newer name.
pub(super) fn plan(entry: &CatalogEntry, wm: &Watermark) -> Plan {
    Plan {
        writes: vec![Write::Catalog(CatalogEntry {
            fetched_at: wm.created,
            ..entry.clone()
        })],
        ..Plan::default()
    }
}
