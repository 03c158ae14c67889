//! Payment lookups, orphan ticket jobs and pending payment actions on PostgreSQL: the SQL of
//! `sqlite/payments.rs` in PostgreSQL's dialect.

use super::PgStore;
use super::queries::customer_row;
use super::tx::{INT8, PgTx, TEXT};
use crate::billing::{CustomerRow, PaymentAction};
use crate::error::Result;
use crate::store::{NULL_CUSTOMER, PaymentsTx};

impl PaymentsTx for PgTx<'_> {
    fn payment_ref(&mut self, id: &str) -> Result<Option<String>> {
        match self.row(
            "SELECT customer_id FROM payment_refs WHERE id = $1",
            &[(&id, TEXT)],
        )? {
            Some(r) => Ok(Some(self.get(&r, 0)?)),
            None => Ok(None),
        }
    }

    fn put_payment_ref(&mut self, id: &str, customer_id: &str, created: i64) -> Result<bool> {
        Ok(self.exec(
            "INSERT INTO payment_refs (id, customer_id, created) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
            &[(&id, TEXT), (&customer_id, TEXT), (&created, INT8)],
        )? > 0)
    }

    fn note_orphan_job(&mut self, ref_id: &str, job_id: i64) -> Result<()> {
        self.exec(
            "INSERT INTO orphan_jobs (ref_id, job_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[(&ref_id, TEXT), (&job_id, INT8)],
        )?;
        Ok(())
    }

    fn adopt_orphan_jobs(&mut self, ref_id: &str, customer_id: &str) -> Result<u64> {
        let n = self.exec(
            "UPDATE jobs SET customer_id = $2, payload = replace(payload, $3, '\"customer_id\":' || to_json($2::text)::text) \
             WHERE id IN (SELECT job_id FROM orphan_jobs WHERE ref_id = $1) AND customer_id IS NULL AND state = 'due'",
            &[(&ref_id, TEXT), (&customer_id, TEXT), (&NULL_CUSTOMER, TEXT)],
        )?;
        self.exec(
            "DELETE FROM orphan_jobs WHERE ref_id = $1",
            &[(&ref_id, TEXT)],
        )?;
        Ok(n)
    }

    fn set_customer_account(&mut self, customer_id: &str, account: &str) -> Result<()> {
        self.exec(
            "INSERT INTO customers (id, account, wm_event, wm_created) VALUES ($1, $2, '', -1) \
             ON CONFLICT (id) DO UPDATE SET account = EXCLUDED.account",
            &[(&customer_id, TEXT), (&account, TEXT)],
        )?;
        Ok(())
    }

    fn put_payment_action(
        &mut self,
        invoice_id: &str,
        customer_id: &str,
        created: i64,
    ) -> Result<bool> {
        Ok(self.exec(
            "INSERT INTO payment_actions (invoice_id, customer_id, created) VALUES ($1, $2, $3) \
             ON CONFLICT (invoice_id) DO UPDATE SET created = GREATEST(payment_actions.created, EXCLUDED.created)",
            &[(&invoice_id, TEXT), (&customer_id, TEXT), (&created, INT8)],
        )? > 0)
    }
}

impl PgStore {
    /// The customer of connected account `account` linked to `user_id` (the newest link).
    pub fn customer_for_user_in(
        &self,
        account: &str,
        user_id: &str,
    ) -> Result<Option<CustomerRow>> {
        self.read(|tx| {
            match tx.row(
                "SELECT id, email, name, user_id, deleted, has_payment_method FROM customers WHERE account = $1 AND user_id = $2 \
                 ORDER BY user_created DESC, id LIMIT 1",
                &[(&account, TEXT), (&user_id, TEXT)],
            )? {
                Some(r) => customer_row(tx, &r).map(Some),
                None => Ok(None),
            }
        })
    }

    /// A customer's pending payment actions, newest first.
    pub fn payment_actions(&self, customer_id: &str) -> Result<Vec<PaymentAction>> {
        self.read(|tx| {
            let rows = tx.rows(
                "SELECT a.invoice_id, i.subscription_id, i.hosted_invoice_url, i.amount_due, i.currency, a.created \
                 FROM payment_actions a JOIN invoices i ON i.id = a.invoice_id \
                 WHERE a.customer_id = $1 AND i.status = 'open' ORDER BY a.created DESC, a.invoice_id",
                &[(&customer_id, TEXT)],
            )?;
            rows.iter()
                .map(|r| {
                    Ok(PaymentAction {
                        invoice_id: tx.get(r, 0)?,
                        subscription_id: tx.get(r, 1)?,
                        hosted_invoice_url: tx.get(r, 2)?,
                        amount_due: tx.get(r, 3)?,
                        currency: tx.get(r, 4)?,
                        since: tx.get(r, 5)?,
                    })
                })
                .collect()
        })
    }
}
