//! The portal's read side on PostgreSQL: the SQL of `store/queries.rs`, each a single indexed
//! lookup in a read-only transaction (no writer lock).

use super::PgStore;
use super::tx::{CHECKOUT_COLS, INT8, INVOICE_COLS, SUBSCRIPTION_COLS, TEXT};
use crate::billing::{CheckoutRow, CustomerRow, SubscriptionView};
use crate::error::Result;
use crate::event::{EventFilter, EventRow, InvoiceRecord};

/// A customer from the columns `id, email, name, user_id, deleted`.
pub(super) fn customer_row(tx: &mut super::tx::PgTx<'_>, r: &postgres::Row) -> Result<CustomerRow> {
    Ok(CustomerRow {
        id: tx.get(r, 0)?,
        email: tx.get(r, 1)?,
        name: tx.get(r, 2)?,
        user_id: tx.get(r, 3)?,
        deleted: tx.get(r, 4)?,
        has_payment_method: tx.get(r, 5)?,
    })
}

impl PgStore {
    /// A customer by id.
    pub fn customer(&self, id: &str) -> Result<Option<CustomerRow>> {
        self.customer_where("id = $1", id)
    }

    /// The customer linked to an app user (the newest link wins).
    pub fn customer_for_user(&self, user_id: &str) -> Result<Option<CustomerRow>> {
        self.customer_where(
            "user_id = $1 AND account IS NULL ORDER BY user_created DESC, id LIMIT 1",
            user_id,
        )
    }

    /// The customer with this email (the newest wins).
    pub fn customer_for_email(&self, email: &str) -> Result<Option<CustomerRow>> {
        self.customer_where("email = $1 ORDER BY wm_created DESC, id LIMIT 1", email)
    }

    fn customer_where(&self, cond: &str, arg: &str) -> Result<Option<CustomerRow>> {
        let sql = format!(
            "SELECT id, email, name, user_id, deleted, has_payment_method FROM customers WHERE {cond}"
        );
        self.read(|tx| match tx.row(&sql, &[(&arg, TEXT)])? {
            Some(r) => customer_row(tx, &r).map(Some),
            None => Ok(None),
        })
    }

    /// A customer's subscriptions, by id.
    pub fn subscriptions(&self, customer_id: &str) -> Result<Vec<SubscriptionView>> {
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLS} FROM subscriptions WHERE customer_id = $1 ORDER BY id"
        );
        self.read(|tx| {
            let rows = tx.rows(&sql, &[(&customer_id, TEXT)])?;
            rows.iter()
                .map(|r| tx.subscription_row(r).map(|(v, _)| v))
                .collect()
        })
    }

    /// A customer's invoices, newest first.
    pub fn invoices(&self, customer_id: &str) -> Result<Vec<InvoiceRecord>> {
        let sql = format!(
            "SELECT {INVOICE_COLS} FROM invoices WHERE customer_id = $1 ORDER BY created DESC, id DESC"
        );
        self.read(|tx| {
            let rows = tx.rows(&sql, &[(&customer_id, TEXT)])?;
            rows.iter()
                .map(|r| tx.invoice_row(r).map(|(v, _)| v))
                .collect()
        })
    }

    /// A checkout session.
    pub fn checkout(&self, id: &str) -> Result<Option<CheckoutRow>> {
        let sql = format!("SELECT {CHECKOUT_COLS} FROM checkout_sessions WHERE id = $1");
        self.read(|tx| match tx.row(&sql, &[(&id, TEXT)])? {
            Some(r) => Ok(Some(tx.checkout_row(&r)?.0)),
            None => Ok(None),
        })
    }

    /// Stored events, newest first.
    pub fn events(&self, f: &EventFilter) -> Result<Vec<EventRow>> {
        let limit = i64::from(f.limit.unwrap_or(100));
        self.read(|tx| {
            let rows = tx.rows(
                "SELECT id, type, created, outcome, customer_id, object_id, received_at, error_code FROM events \
                 WHERE ($1::text IS NULL OR type = $1) AND ($2::text IS NULL OR outcome = $2) \
                   AND ($3::text IS NULL OR customer_id = $3) \
                   AND ($4::int8 IS NULL OR created >= $4) AND ($5::int8 IS NULL OR created < $5) \
                 ORDER BY created DESC, id DESC LIMIT $6",
                &[
                    (&f.event_type, TEXT),
                    (&f.outcome, TEXT),
                    (&f.customer_id, TEXT),
                    (&f.since, INT8),
                    (&f.until, INT8),
                    (&limit, INT8),
                ],
            )?;
            rows.iter()
                .map(|r| {
                    Ok(EventRow {
                        id: tx.get(r, 0)?,
                        event_type: tx.get(r, 1)?,
                        created: tx.get(r, 2)?,
                        outcome: tx.get(r, 3)?,
                        customer_id: tx.get(r, 4)?,
                        object_id: tx.get(r, 5)?,
                        received_at: tx.get(r, 6)?,
                        error_code: tx.get(r, 7)?,
                    })
                })
                .collect()
        })
    }

    /// How many stored events are quarantined (the partial index `events_quarantined`).
    pub fn quarantined_count(&self) -> Result<u64> {
        self.read(|tx| {
            match tx.row(
                "SELECT count(*)::int8 FROM events WHERE outcome = 'quarantined'",
                &[],
            )? {
                Some(r) => Ok(tx.get::<i64>(&r, 0)? as u64),
                None => Ok(0),
            }
        })
    }

    /// The exact bytes of a stored event.
    pub fn event_body(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.read(
            |tx| match tx.row("SELECT body FROM events WHERE id = $1", &[(&id, TEXT)])? {
                Some(r) => Ok(Some(tx.get(&r, 0)?)),
                None => Ok(None),
            },
        )
    }
}
