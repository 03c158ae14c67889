//! One-time purchases and entitlement summaries on PostgreSQL (migrations/0005_billing_model.sql),
//! the SQL of `sqlite/billing_model.rs` in PostgreSQL's dialect.

use postgres::Row;

use super::PgStore;
use super::tx::{BOOL, INT8, PgTx, TEXT};
use crate::billing::{PurchaseRecord, Watermark};
use crate::error::Result;
use crate::event::EntitlementsRecord;
use crate::store::json_cols::encode;

const PURCHASE_COLS: &str = "id, customer_id, user_id, checkout_session_id, items, amount, currency, purchase, \
     paid_at, refunded_at, amount_refunded";

impl PgTx<'_> {
    fn purchase_row(&mut self, r: &Row) -> Result<PurchaseRecord> {
        Ok(PurchaseRecord {
            id: self.get(r, 0)?,
            customer_id: self.get(r, 1)?,
            user_id: self.get(r, 2)?,
            checkout_session_id: self.get(r, 3)?,
            items: self.json(r, 4, "purchases", "items")?,
            amount: self.get(r, 5)?,
            currency: self.get(r, 6)?,
            purchase: self.get(r, 7)?,
            paid_at: self.get(r, 8)?,
            refunded_at: self.get(r, 9)?,
            amount_refunded: self.get(r, 10)?,
        })
    }

    pub(super) fn purchase_by_id(&mut self, id: &str) -> Result<Option<PurchaseRecord>> {
        let sql = format!("SELECT {PURCHASE_COLS} FROM purchases WHERE id = $1");
        match self.row(&sql, &[(&id, TEXT)])? {
            Some(r) => Ok(Some(self.purchase_row(&r)?)),
            None => Ok(None),
        }
    }

    pub(super) fn write_purchase(&mut self, p: &PurchaseRecord) -> Result<()> {
        self.exec(
            "INSERT INTO purchases (id, customer_id, user_id, checkout_session_id, items, amount, currency, purchase, \
             paid_at, refunded_at, amount_refunded) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, user_id = excluded.user_id, \
             checkout_session_id = excluded.checkout_session_id, items = excluded.items, amount = excluded.amount, \
             currency = excluded.currency, purchase = excluded.purchase, paid_at = excluded.paid_at, \
             refunded_at = excluded.refunded_at, amount_refunded = excluded.amount_refunded",
            &[
                (&p.id, TEXT),
                (&p.customer_id, TEXT),
                (&p.user_id, TEXT),
                (&p.checkout_session_id, TEXT),
                (&encode(&p.items), TEXT),
                (&p.amount, INT8),
                (&p.currency, TEXT),
                (&p.purchase, BOOL),
                (&p.paid_at, INT8),
                (&p.refunded_at, INT8),
                (&p.amount_refunded, INT8),
            ],
        )?;
        Ok(())
    }

    pub(super) fn entitlements_of(
        &mut self,
        customer_id: &str,
    ) -> Result<Option<(EntitlementsRecord, Watermark)>> {
        let Some(r) = self.row(
            "SELECT customer_id, features, wm_event, wm_created, wm_snapshot FROM customer_features \
             WHERE customer_id = $1",
            &[(&customer_id, TEXT)],
        )?
        else {
            return Ok(None);
        };
        Ok(Some((
            EntitlementsRecord {
                customer_id: self.get(&r, 0)?,
                features: self.json(&r, 1, "customer_features", "features")?,
            },
            self.watermark(&r, 2)?,
        )))
    }

    pub(super) fn write_entitlements(
        &mut self,
        rec: &EntitlementsRecord,
        wm: &Watermark,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO customer_features (customer_id, features, wm_event, wm_created, wm_snapshot) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (customer_id) DO UPDATE SET features = excluded.features, \
             wm_event = excluded.wm_event, wm_created = excluded.wm_created, wm_snapshot = excluded.wm_snapshot",
            &[
                (&rec.customer_id, TEXT),
                (&encode(&rec.features), TEXT),
                (&wm.event_id, TEXT),
                (&wm.created, INT8),
                (&wm.snapshot, BOOL),
            ],
        )?;
        Ok(())
    }
}

impl PgStore {
    /// See [`crate::store::Store::purchases`].
    pub fn purchases(
        &self,
        customer_id: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<Vec<PurchaseRecord>> {
        let sql = format!(
            "SELECT {PURCHASE_COLS} FROM purchases WHERE purchase AND (customer_id = $1 OR user_id = $2) ORDER BY id"
        );
        self.read(|tx| {
            let rows = tx.rows(&sql, &[(&customer_id, TEXT), (&user_id, TEXT)])?;
            rows.iter().map(|r| tx.purchase_row(r)).collect()
        })
    }

    /// See [`crate::store::Store::features`].
    pub fn features(&self, customer_id: &str) -> Result<Vec<String>> {
        self.read(|tx| {
            Ok(tx
                .entitlements_of(customer_id)?
                .map(|(r, _)| r.features)
                .unwrap_or_default())
        })
    }
}
