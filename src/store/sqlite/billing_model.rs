//! One-time purchases and entitlement summaries (migrations/0009_billing_model.sql): the
//! statements the ingest transaction and the portal's reads share.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::SqliteDb;
use super::rows::json_col;
use crate::billing::{PurchaseRecord, Watermark};
use crate::error::Result;
use crate::event::EntitlementsRecord;
use crate::store::json_cols::encode;

const PURCHASE_COLS: &str = "id, customer_id, user_id, checkout_session_id, items, amount, currency, purchase, \
     paid_at, refunded_at, amount_refunded";

fn purchase_row(r: &Row<'_>) -> rusqlite::Result<PurchaseRecord> {
    Ok(PurchaseRecord {
        id: r.get(0)?,
        customer_id: r.get(1)?,
        user_id: r.get(2)?,
        checkout_session_id: r.get(3)?,
        items: json_col(r, 4)?,
        amount: r.get(5)?,
        currency: r.get(6)?,
        purchase: r.get(7)?,
        paid_at: r.get(8)?,
        refunded_at: r.get(9)?,
        amount_refunded: r.get(10)?,
    })
}

pub(super) fn purchase(conn: &Connection, id: &str) -> Result<Option<PurchaseRecord>> {
    let sql = format!("SELECT {PURCHASE_COLS} FROM purchases WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], purchase_row)
        .optional()?)
}

pub(super) fn put_purchase(conn: &Connection, p: &PurchaseRecord) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO purchases (id, customer_id, user_id, checkout_session_id, items, amount, currency, \
         purchase, paid_at, refunded_at, amount_refunded) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        p.id,
        p.customer_id,
        p.user_id,
        p.checkout_session_id,
        encode(&p.items),
        p.amount,
        p.currency,
        p.purchase,
        p.paid_at,
        p.refunded_at,
        p.amount_refunded
    ])?;
    Ok(())
}

pub(super) fn entitlements(
    conn: &Connection,
    customer_id: &str,
) -> Result<Option<(EntitlementsRecord, Watermark)>> {
    Ok(conn
        .prepare_cached(
            "SELECT customer_id, features, wm_event, wm_created, wm_snapshot FROM customer_features \
             WHERE customer_id = ?1",
        )?
        .query_row([customer_id], |r| {
            Ok((
                EntitlementsRecord {
                    customer_id: r.get(0)?,
                    features: json_col(r, 1)?,
                },
                Watermark {
                    event_id: r.get(2)?,
                    created: r.get(3)?,
                    snapshot: r.get(4)?,
                },
            ))
        })
        .optional()?)
}

pub(super) fn put_entitlements(
    conn: &Connection,
    rec: &EntitlementsRecord,
    wm: &Watermark,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO customer_features (customer_id, features, wm_event, wm_created, wm_snapshot) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        rec.customer_id,
        encode(&rec.features),
        wm.event_id,
        wm.created,
        wm.snapshot
    ])?;
    Ok(())
}

impl SqliteDb {
    /// The one-time purchases of a customer or of an app user (either may be absent), by id.
    pub(crate) fn purchases(
        &self,
        customer_id: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<Vec<PurchaseRecord>> {
        let sql = format!(
            "SELECT {PURCHASE_COLS} FROM purchases WHERE purchase = 1 AND (customer_id = ?1 OR user_id = ?2) \
             ORDER BY id"
        );
        let mut st = self.conn().prepare_cached(&sql)?;
        let rows = st.query_map(params![customer_id, user_id], purchase_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A customer's active entitlement lookup keys (empty when none are known).
    pub(crate) fn features(&self, customer_id: &str) -> Result<Vec<String>> {
        Ok(entitlements(self.conn(), customer_id)?
            .map(|(r, _)| r.features)
            .unwrap_or_default())
    }
}
