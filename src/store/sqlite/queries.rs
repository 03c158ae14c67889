//! The portal's read side: what `access`, `invoices` and `checkout_status` need, each a single
//! indexed lookup on the WAL snapshot (no write lock).

use rusqlite::{OptionalExtension, params};

use super::SqliteDb;
use super::rows::{
    CHECKOUT_COLS, INVOICE_COLS, SUBSCRIPTION_COLS, checkout_row, invoice_row, subscription_row,
};
use crate::billing::{CheckoutRow, CustomerRow, SubscriptionView};
use crate::error::Result;
use crate::event::{EventFilter, EventRow, InvoiceRecord};

/// A customer from the columns `id, email, name, user_id, deleted`.
pub(crate) fn customer_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CustomerRow> {
    Ok(CustomerRow {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        user_id: r.get(3)?,
        deleted: r.get(4)?,
        has_payment_method: r.get(5)?,
    })
}

impl SqliteDb {
    /// A customer by Stripe id.
    pub(crate) fn customer(&self, id: &str) -> Result<Option<CustomerRow>> {
        self.customer_where("id = ?1", id)
    }

    /// The customer linked to an app user (the most recently linked, if several).
    pub(crate) fn customer_for_user(&self, user_id: &str) -> Result<Option<CustomerRow>> {
        self.customer_where(
            "user_id = ?1 AND account IS NULL ORDER BY user_created DESC, id LIMIT 1",
            user_id,
        )
    }

    /// The customer with this email (the most recently written, if several).
    pub(crate) fn customer_for_email(&self, email: &str) -> Result<Option<CustomerRow>> {
        self.customer_where("email = ?1 ORDER BY wm_created DESC, id LIMIT 1", email)
    }

    fn customer_where(&self, cond: &str, arg: &str) -> Result<Option<CustomerRow>> {
        let sql = format!(
            "SELECT id, email, name, user_id, deleted, has_payment_method FROM customers WHERE {cond}"
        );
        let mut st = self.conn().prepare_cached(&sql)?;
        Ok(st.query_row([arg], customer_row).optional()?)
    }

    /// All subscriptions of a customer.
    pub(crate) fn subscriptions(&self, customer_id: &str) -> Result<Vec<SubscriptionView>> {
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLS} FROM subscriptions WHERE customer_id = ?1 ORDER BY id"
        );
        let mut st = self.conn().prepare_cached(&sql)?;
        let rows = st.query_map([customer_id], subscription_row)?;
        Ok(rows
            .map(|r| r.map(|(v, _)| v))
            .collect::<rusqlite::Result<_>>()?)
    }

    /// A customer's invoices, newest first.
    pub(crate) fn invoices(&self, customer_id: &str) -> Result<Vec<InvoiceRecord>> {
        let sql = format!(
            "SELECT {INVOICE_COLS} FROM invoices WHERE customer_id = ?1 ORDER BY created DESC, id DESC"
        );
        let mut st = self.conn().prepare_cached(&sql)?;
        let rows = st.query_map([customer_id], invoice_row)?;
        Ok(rows
            .map(|r| r.map(|(v, _)| v))
            .collect::<rusqlite::Result<_>>()?)
    }

    /// A checkout session.
    pub(crate) fn checkout(&self, id: &str) -> Result<Option<CheckoutRow>> {
        let sql = format!("SELECT {CHECKOUT_COLS} FROM checkout_sessions WHERE id = ?1");
        let mut st = self.conn().prepare_cached(&sql)?;
        Ok(st
            .query_row([id], checkout_row)
            .optional()?
            .map(|(row, _)| row))
    }

    /// Stored events, newest first.
    pub(crate) fn events(&self, f: &EventFilter) -> Result<Vec<EventRow>> {
        let mut st = self.conn().prepare_cached(
            "SELECT id, type, created, outcome, customer_id, object_id, received_at, error_code FROM events \
             WHERE (?1 IS NULL OR type = ?1) AND (?2 IS NULL OR outcome = ?2) AND (?3 IS NULL OR customer_id = ?3) \
               AND (?4 IS NULL OR created >= ?4) AND (?5 IS NULL OR created < ?5) \
             ORDER BY created DESC, id DESC LIMIT ?6",
        )?;
        let rows = st.query_map(
            params![
                f.event_type,
                f.outcome,
                f.customer_id,
                f.since,
                f.until,
                f.limit.unwrap_or(100)
            ],
            |r| {
                Ok(EventRow {
                    id: r.get(0)?,
                    event_type: r.get(1)?,
                    created: r.get(2)?,
                    outcome: r.get(3)?,
                    customer_id: r.get(4)?,
                    object_id: r.get(5)?,
                    received_at: r.get(6)?,
                    error_code: r.get(7)?,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many stored events are quarantined (the partial index `events_quarantined`).
    pub(crate) fn quarantined_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT count(*) FROM events WHERE outcome = 'quarantined'")?
            .query_row([], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// The exact bytes of a stored event.
    pub(crate) fn event_body(&self, id: &str) -> Result<Option<Vec<u8>>> {
        let mut st = self
            .conn()
            .prepare_cached("SELECT body FROM events WHERE id = ?1")?;
        Ok(st.query_row([id], |r| r.get(0)).optional()?)
    }
}
