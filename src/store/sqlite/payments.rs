//! Payment lookups, orphan ticket jobs, pending payment actions and Connect scopes on SQLite
//! ([`PaymentsTx`], and the portal's reads of actions and scoped user links).

use rusqlite::{OptionalExtension, params};

use super::queries::customer_row;
use super::{SqliteDb, SqliteTx};
use crate::billing::{CustomerRow, PaymentAction};
use crate::error::Result;
use crate::store::{NULL_CUSTOMER, PaymentsTx};

impl PaymentsTx for SqliteTx<'_> {
    fn payment_ref(&mut self, id: &str) -> Result<Option<String>> {
        let mut st = self
            .tx
            .prepare_cached("SELECT customer_id FROM payment_refs WHERE id = ?1")?;
        Ok(st.query_row([id], |r| r.get(0)).optional()?)
    }

    fn put_payment_ref(&mut self, id: &str, customer_id: &str, created: i64) -> Result<bool> {
        let mut st = self.tx.prepare_cached(
            "INSERT INTO payment_refs (id, customer_id, created) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING",
        )?;
        Ok(st.execute(params![id, customer_id, created])? > 0)
    }

    fn note_orphan_job(&mut self, ref_id: &str, job_id: i64) -> Result<()> {
        let mut st = self.tx.prepare_cached(
            "INSERT INTO orphan_jobs (ref_id, job_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?;
        st.execute(params![ref_id, job_id])?;
        Ok(())
    }

    fn adopt_orphan_jobs(&mut self, ref_id: &str, customer_id: &str) -> Result<u64> {
        let mut st = self.tx.prepare_cached(
            "UPDATE jobs SET customer_id = ?2, payload = replace(payload, ?3, '\"customer_id\":' || json_quote(?2)) \
             WHERE id IN (SELECT job_id FROM orphan_jobs WHERE ref_id = ?1) AND customer_id IS NULL AND state = 'due'",
        )?;
        let n = st.execute(params![ref_id, customer_id, NULL_CUSTOMER])?;
        self.tx
            .prepare_cached("DELETE FROM orphan_jobs WHERE ref_id = ?1")?
            .execute([ref_id])?;
        Ok(n as u64)
    }

    fn set_customer_account(&mut self, customer_id: &str, account: &str) -> Result<()> {
        // A row that exists only for its scope gets a watermark older than any event.
        let mut st = self.tx.prepare_cached(
            "INSERT INTO customers (id, account, wm_event, wm_created) VALUES (?1, ?2, '', -1) \
             ON CONFLICT (id) DO UPDATE SET account = excluded.account",
        )?;
        st.execute(params![customer_id, account])?;
        Ok(())
    }

    fn put_payment_action(
        &mut self,
        invoice_id: &str,
        customer_id: &str,
        created: i64,
    ) -> Result<bool> {
        let mut st = self.tx.prepare_cached(
            "INSERT INTO payment_actions (invoice_id, customer_id, created) VALUES (?1, ?2, ?3) \
             ON CONFLICT (invoice_id) DO UPDATE SET created = max(created, excluded.created)",
        )?;
        Ok(st.execute(params![invoice_id, customer_id, created])? > 0)
    }
}

/// The pending actions query, shared with nothing else: an action counts while its invoice is
/// stored and still open.
const ACTIONS_SQL: &str = "SELECT a.invoice_id, i.subscription_id, i.hosted_invoice_url, i.amount_due, i.currency, a.created \
     FROM payment_actions a JOIN invoices i ON i.id = a.invoice_id \
     WHERE a.customer_id = ?1 AND i.status = 'open' ORDER BY a.created DESC, a.invoice_id";

impl SqliteDb {
    /// The customer of connected account `account` linked to `user_id` (the newest link).
    pub(crate) fn customer_for_user_in(
        &self,
        account: &str,
        user_id: &str,
    ) -> Result<Option<CustomerRow>> {
        let mut st = self.conn().prepare_cached(
            "SELECT id, email, name, user_id, deleted, has_payment_method FROM customers WHERE account = ?1 AND user_id = ?2 \
             ORDER BY user_created DESC, id LIMIT 1",
        )?;
        Ok(st.query_row([account, user_id], customer_row).optional()?)
    }

    /// A customer's pending payment actions, newest first.
    pub(crate) fn payment_actions(&self, customer_id: &str) -> Result<Vec<PaymentAction>> {
        let mut st = self.conn().prepare_cached(ACTIONS_SQL)?;
        let rows = st.query_map([customer_id], |r| {
            Ok(PaymentAction {
                invoice_id: r.get(0)?,
                subscription_id: r.get(1)?,
                hosted_invoice_url: r.get(2)?,
                amount_due: r.get(3)?,
                currency: r.get(4)?,
                since: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
