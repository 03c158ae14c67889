//! Billing rows: the `StoreTx` implementation for customers, subscriptions, invoices and
//! checkout sessions. Each row is read and written with its watermark.

use rusqlite::{OptionalExtension, Row, params};

use super::SqliteTx;
use crate::billing::{CheckoutRow, CheckoutState, PurchaseRecord, SubscriptionView, Watermark};
use crate::deliveries::{Delivery, DeliveryOutcome};
use crate::error::Result;
use crate::event::{
    CheckoutRecord, CustomerRecord, EntitlementsRecord, InvoiceRecord, SubscriptionRecord,
};
use crate::outbox::EnqueuedJob;
use crate::outbox::NewJob;
use crate::store::{NewEvent, StoreTx};
use crate::sync_state::CatalogEntry;

/// Columns `wm_event, wm_created, wm_snapshot` starting at `i`.
fn watermark(r: &Row<'_>, i: usize) -> rusqlite::Result<Watermark> {
    Ok(Watermark {
        event_id: r.get(i)?,
        created: r.get(i + 1)?,
        snapshot: r.get(i + 2)?,
    })
}

pub(crate) const SUBSCRIPTION_COLS: &str = "id, customer_id, status, price_id, product_id, current_period_end, \
     cancel_at_period_end, cancel_at, canceled_at, ended_at, trial_end, status_since, wm_event, wm_created, wm_snapshot, \
     items, trial_missing_payment_method, has_payment_method";

/// A JSON column, decoded; text that does not decode fails the row (never an empty value).
pub(crate) fn json_col<T: serde::de::DeserializeOwned>(
    r: &Row<'_>,
    i: usize,
) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(crate) fn subscription_row(r: &Row<'_>) -> rusqlite::Result<(SubscriptionView, Watermark)> {
    let record = SubscriptionRecord {
        id: r.get(0)?,
        customer_id: r.get(1)?,
        status: r.get(2)?,
        price_id: r.get(3)?,
        product_id: r.get(4)?,
        current_period_end: r.get(5)?,
        cancel_at_period_end: r.get(6)?,
        cancel_at: r.get(7)?,
        canceled_at: r.get(8)?,
        ended_at: r.get(9)?,
        trial_end: r.get(10)?,
        user_id: None,
        items: json_col(r, 15)?,
        trial_missing_payment_method: r.get(16)?,
        has_payment_method: r.get(17)?,
    };
    Ok((
        SubscriptionView {
            record,
            status_since: r.get(11)?,
        },
        watermark(r, 12)?,
    ))
}

pub(crate) const INVOICE_COLS: &str = "id, customer_id, subscription_id, number, status, amount_due, amount_paid, \
     amount_remaining, currency, hosted_invoice_url, invoice_pdf, attempt_count, next_payment_attempt, created, \
     billing_reason, wm_event, wm_created, wm_snapshot";

pub(crate) fn invoice_row(r: &Row<'_>) -> rusqlite::Result<(InvoiceRecord, Watermark)> {
    Ok((
        InvoiceRecord {
            id: r.get(0)?,
            customer_id: r.get(1)?,
            subscription_id: r.get(2)?,
            number: r.get(3)?,
            status: r.get(4)?,
            amount_due: r.get(5)?,
            amount_paid: r.get(6)?,
            amount_remaining: r.get(7)?,
            currency: r.get(8)?,
            hosted_invoice_url: r.get(9)?,
            invoice_pdf: r.get(10)?,
            attempt_count: r.get(11)?,
            next_payment_attempt: r.get(12)?,
            created: r.get(13)?,
            billing_reason: r.get(14)?,
        },
        watermark(r, 15)?,
    ))
}

pub(crate) const CHECKOUT_COLS: &str = "id, customer_id, user_id, mode, status, payment_status, state, subscription_id, wm_event, wm_created, wm_snapshot";

pub(crate) fn checkout_row(r: &Row<'_>) -> rusqlite::Result<(CheckoutRow, Watermark)> {
    let state: String = r.get(6)?;
    Ok((
        CheckoutRow {
            record: CheckoutRecord {
                id: r.get(0)?,
                customer_id: r.get(1)?,
                user_id: r.get(2)?,
                mode: r.get(3)?,
                status: r.get(4)?,
                payment_status: r.get(5)?,
                subscription_id: r.get(7)?,
                ..Default::default()
            },
            state: CheckoutState::parse(&state).map_err(|e| super::corrupt(6, e))?,
        },
        watermark(r, 8)?,
    ))
}

impl StoreTx for SqliteTx<'_> {
    fn payments(&mut self) -> &mut dyn crate::store::PaymentsTx {
        self
    }

    fn event_exists(&mut self, id: &str) -> Result<bool> {
        let mut st = self
            .tx
            .prepare_cached("SELECT 1 FROM events WHERE id = ?1")?;
        Ok(st.exists([id])?)
    }

    fn insert_event(&mut self, e: &NewEvent<'_>) -> Result<()> {
        let mut st = self.tx.prepare_cached(
            "INSERT INTO events (id, type, created, livemode, api_version, account, object_id, customer_id, \
             outcome, received_at, body, error_code) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        st.execute(params![
            e.id,
            e.event_type,
            e.created,
            e.livemode,
            e.api_version,
            e.account,
            e.object_id,
            e.customer_id,
            e.outcome,
            e.received_at,
            e.body,
            e.error_code
        ])?;
        Ok(())
    }

    fn mark_event_applied(
        &mut self,
        id: &str,
        outcome: &str,
        customer_id: Option<&str>,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE events SET outcome = ?2, customer_id = coalesce(?3, customer_id), error_code = NULL \
                 WHERE id = ?1",
            )?
            .execute(params![id, outcome, customer_id])?;
        Ok(())
    }

    fn customer(&mut self, id: &str) -> Result<Option<(CustomerRecord, Watermark)>> {
        let mut st = self
            .tx
            .prepare_cached("SELECT id, email, name, deleted, wm_event, wm_created, wm_snapshot, has_payment_method FROM customers WHERE id = ?1")?;
        Ok(st
            .query_row([id], |r| {
                Ok((
                    CustomerRecord {
                        id: r.get(0)?,
                        email: r.get(1)?,
                        name: r.get(2)?,
                        user_id: None,
                        deleted: r.get(3)?,
                        has_payment_method: r.get(7)?,
                    },
                    watermark(r, 4)?,
                ))
            })
            .optional()?)
    }

    fn put_customer(&mut self, c: &CustomerRecord, wm: &Watermark) -> Result<()> {
        let mut st = self.tx.prepare_cached(
            "INSERT INTO customers (id, email, name, deleted, wm_event, wm_created, wm_snapshot, has_payment_method) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO UPDATE SET email = excluded.email, \
             name = excluded.name, deleted = excluded.deleted, wm_event = excluded.wm_event, \
             wm_created = excluded.wm_created, wm_snapshot = excluded.wm_snapshot, \
             has_payment_method = excluded.has_payment_method",
        )?;
        st.execute(params![
            c.id,
            c.email,
            c.name,
            c.deleted,
            wm.event_id,
            wm.created,
            wm.snapshot,
            c.has_payment_method
        ])?;
        Ok(())
    }

    fn link_user(&mut self, customer_id: &str, user_id: &str, created: i64) -> Result<bool> {
        // A row that exists only as a link gets a watermark older than any event.
        let mut st = self.tx.prepare_cached(
            "INSERT INTO customers (id, user_id, user_created, wm_event, wm_created) VALUES (?1, ?2, ?3, '', -1) \
             ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, user_created = excluded.user_created \
             WHERE customers.user_id IS NULL OR (customers.user_id <> excluded.user_id \
                AND (customers.user_created < excluded.user_created \
                OR (customers.user_created = excluded.user_created AND customers.user_id < excluded.user_id)))",
        )?;
        Ok(st.execute(params![customer_id, user_id, created])? > 0)
    }

    fn fill_contact(
        &mut self,
        customer_id: &str,
        email: Option<&str>,
        name: Option<&str>,
    ) -> Result<()> {
        let mut st = self.tx.prepare_cached(
            "UPDATE customers SET email = coalesce(email, ?2), name = coalesce(name, ?3) WHERE id = ?1",
        )?;
        st.execute(params![customer_id, email, name])?;
        Ok(())
    }

    fn subscription(&mut self, id: &str) -> Result<Option<(SubscriptionView, Watermark)>> {
        let sql = format!("SELECT {SUBSCRIPTION_COLS} FROM subscriptions WHERE id = ?1");
        let mut st = self.tx.prepare_cached(&sql)?;
        Ok(st.query_row([id], subscription_row).optional()?)
    }

    fn put_subscription(&mut self, v: &SubscriptionView, wm: &Watermark) -> Result<()> {
        let s = &v.record;
        let mut st = self.tx.prepare_cached(
            "INSERT OR REPLACE INTO subscriptions (id, customer_id, status, price_id, product_id, current_period_end, \
             cancel_at_period_end, cancel_at, canceled_at, ended_at, trial_end, status_since, wm_event, wm_created, \
             wm_snapshot, items, trial_missing_payment_method, has_payment_method) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        )?;
        st.execute(params![
            s.id,
            s.customer_id,
            s.status,
            s.price_id,
            s.product_id,
            s.current_period_end,
            s.cancel_at_period_end,
            s.cancel_at,
            s.canceled_at,
            s.ended_at,
            s.trial_end,
            v.status_since,
            wm.event_id,
            wm.created,
            wm.snapshot,
            crate::store::json_cols::encode(&s.items),
            s.trial_missing_payment_method,
            s.has_payment_method
        ])?;
        Ok(())
    }

    fn customer_subscriptions(&mut self, customer_id: &str) -> Result<Vec<SubscriptionView>> {
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLS} FROM subscriptions WHERE customer_id = ?1 ORDER BY id"
        );
        let mut st = self.tx.prepare_cached(&sql)?;
        let rows = st.query_map([customer_id], subscription_row)?;
        Ok(rows
            .map(|r| r.map(|(v, _)| v))
            .collect::<rusqlite::Result<_>>()?)
    }

    fn invoice(&mut self, id: &str) -> Result<Option<(InvoiceRecord, Watermark)>> {
        let sql = format!("SELECT {INVOICE_COLS} FROM invoices WHERE id = ?1");
        let mut st = self.tx.prepare_cached(&sql)?;
        Ok(st.query_row([id], invoice_row).optional()?)
    }

    fn put_invoice(&mut self, i: &InvoiceRecord, wm: &Watermark) -> Result<()> {
        let mut st = self.tx.prepare_cached(
            "INSERT OR REPLACE INTO invoices (id, customer_id, subscription_id, number, status, amount_due, \
             amount_paid, amount_remaining, currency, hosted_invoice_url, invoice_pdf, attempt_count, \
             next_payment_attempt, created, billing_reason, wm_event, wm_created, wm_snapshot) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        )?;
        st.execute(params![
            i.id,
            i.customer_id,
            i.subscription_id,
            i.number,
            i.status,
            i.amount_due,
            i.amount_paid,
            i.amount_remaining,
            i.currency,
            i.hosted_invoice_url,
            i.invoice_pdf,
            i.attempt_count,
            i.next_payment_attempt,
            i.created,
            i.billing_reason,
            wm.event_id,
            wm.created,
            wm.snapshot
        ])?;
        Ok(())
    }

    fn checkout(&mut self, id: &str) -> Result<Option<(CheckoutRow, Watermark)>> {
        let sql = format!("SELECT {CHECKOUT_COLS} FROM checkout_sessions WHERE id = ?1");
        let mut st = self.tx.prepare_cached(&sql)?;
        Ok(st.query_row([id], checkout_row).optional()?)
    }

    fn put_checkout(&mut self, row: &CheckoutRow, wm: &Watermark) -> Result<()> {
        let c = &row.record;
        let mut st = self.tx.prepare_cached(
            "INSERT OR REPLACE INTO checkout_sessions (id, customer_id, user_id, mode, status, payment_status, state, \
             subscription_id, wm_event, wm_created, wm_snapshot) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        st.execute(params![
            c.id,
            c.customer_id,
            c.user_id,
            c.mode,
            c.status,
            c.payment_status,
            row.state.as_str(),
            c.subscription_id,
            wm.event_id,
            wm.created,
            wm.snapshot
        ])?;
        Ok(())
    }

    fn purchase(&mut self, id: &str) -> Result<Option<PurchaseRecord>> {
        super::billing_model::purchase(&self.tx, id)
    }

    fn put_purchase(&mut self, p: &PurchaseRecord) -> Result<()> {
        super::billing_model::put_purchase(&self.tx, p)
    }

    fn entitlements(
        &mut self,
        customer_id: &str,
    ) -> Result<Option<(EntitlementsRecord, Watermark)>> {
        super::billing_model::entitlements(&self.tx, customer_id)
    }

    fn put_entitlements(&mut self, rec: &EntitlementsRecord, wm: &Watermark) -> Result<()> {
        super::billing_model::put_entitlements(&self.tx, rec, wm)
    }

    fn put_catalog_entry(&mut self, e: &CatalogEntry) -> Result<bool> {
        super::stripe_sync::put_catalog_entry(&self.tx, e)
    }

    fn customer_user(&mut self, customer_id: &str) -> Result<Option<String>> {
        let mut st = self
            .tx
            .prepare_cached("SELECT user_id FROM customers WHERE id = ?1")?;
        Ok(st
            .query_row([customer_id], |r| r.get(0))
            .optional()?
            .flatten())
    }

    fn enqueue(
        &mut self,
        job: &NewJob,
        event_id: Option<&str>,
        now: i64,
    ) -> Result<Option<EnqueuedJob>> {
        super::jobs::enqueue(&self.tx, job, event_id, now)
    }

    fn log_delivery(&mut self, d: &Delivery) -> Result<()> {
        super::deliveries::insert(&self.tx, d)
    }

    fn count_deliveries(
        &mut self,
        minute: i64,
        outcome: DeliveryOutcome,
        reason: &str,
        n: u64,
    ) -> Result<()> {
        super::deliveries::count(&self.tx, minute, outcome, reason, n)
    }
}
