//! Where tollbooth's own Stripe API work stands: the resumable cursors of `sync` and
//! `catch-up`, and the product/price catalog `sync` fills. Plain types and one pure parser;
//! a backend stores them (see the `Store` trait's "Stripe API work" methods).

use serde::Serialize;

use crate::error::{Error, ErrorCode, Result};

/// One applied page of a sync or catch-up stream: the last object's id (where the next page
/// starts) and how many objects it held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncPage<'a> {
    /// The id the next page starts after.
    pub starting_after: &'a str,
    /// Objects on this page.
    pub applied: i64,
}

/// Where a sync or catch-up stream stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncCursor {
    /// `customer`, `subscription`, ... or `events`.
    pub stream: String,
    /// The run's filters as text; a resume only continues a run with the same scope.
    pub scope: String,
    /// The last object applied (`None` before the first page).
    pub starting_after: Option<String>,
    /// Objects applied in this run.
    pub applied: i64,
    /// When the run started.
    pub started_at: i64,
    /// Last progress.
    pub updated_at: i64,
    /// When the run finished (`None` while unfinished).
    pub completed_at: Option<i64>,
}

/// A product or price seen by `sync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogEntry {
    /// `prod_…` or `price_…`.
    pub id: String,
    /// `product` or `price`.
    pub object: String,
    /// Whether it can be bought.
    pub active: Option<bool>,
    /// The product's name, or the price's nickname.
    pub name: Option<String>,
    /// A price's product.
    pub product_id: Option<String>,
    /// A price's amount in the smallest currency unit.
    pub unit_amount: Option<i64>,
    /// A price's currency.
    pub currency: Option<String>,
    /// A recurring price's interval (`month`, `year`, ...).
    pub recurring_interval: Option<String>,
    /// When the fetch that last changed it was made.
    pub fetched_at: i64,
}

impl CatalogEntry {
    /// The fields of a product or price the catalog keeps, from the API's JSON. Other object
    /// types: `SNAPSHOT_UNSUPPORTED`; no string id: `EVENT_FIELD_MISSING`.
    pub fn parse(json: &[u8], fetched_at: i64) -> Result<CatalogEntry> {
        let v: serde_json::Value = serde_json::from_slice(json).map_err(|e| {
            Error::new(
                ErrorCode::PayloadInvalidJson,
                format!("catalog object: {e}"),
            )
        })?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        let object = s("object").unwrap_or_default();
        if object != "product" && object != "price" {
            return Err(Error::new(
                ErrorCode::SnapshotUnsupported,
                "catalog object type is not product or price",
            ));
        }
        let id = s("id").ok_or_else(|| {
            Error::new(
                ErrorCode::EventFieldMissing,
                "catalog object has no string id",
            )
        })?;
        let product_id = match v.get("product") {
            Some(serde_json::Value::String(p)) => Some(p.clone()),
            Some(p) => p.get("id").and_then(|x| x.as_str()).map(str::to_owned),
            None => None,
        };
        Ok(CatalogEntry {
            id,
            name: if object == "product" {
                s("name")
            } else {
                s("nickname")
            },
            object,
            active: v.get("active").and_then(|x| x.as_bool()),
            product_id,
            unit_amount: v.get("unit_amount").and_then(|x| x.as_i64()),
            currency: s("currency"),
            recurring_interval: v
                .get("recurring")
                .and_then(|r| r.get("interval"))
                .and_then(|x| x.as_str())
                .map(str::to_owned),
            fetched_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_and_prices_parse_and_others_do_not() {
        let p = CatalogEntry::parse(
            br#"{"id":"price_1","object":"price","active":true,"product":{"id":"prod_1"},
                "unit_amount":900,"currency":"usd","recurring":{"interval":"year"},"nickname":"Y"}"#,
            7,
        )
        .unwrap();
        assert_eq!(p.product_id.as_deref(), Some("prod_1"));
        assert_eq!(p.recurring_interval.as_deref(), Some("year"));
        assert_eq!(p.name.as_deref(), Some("Y"));
        let e = CatalogEntry::parse(br#"{"id":"cus_1","object":"customer"}"#, 7).unwrap_err();
        assert_eq!(e.code(), ErrorCode::SnapshotUnsupported);
        let e = CatalogEntry::parse(br#"{"object":"product"}"#, 7).unwrap_err();
        assert_eq!(e.code(), ErrorCode::EventFieldMissing);
    }
}
