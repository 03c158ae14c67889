//! One open transaction on a pooled connection, and the ingest operations ([`StoreTx`]) on it:
//! the SQL of `store/rows.rs` in PostgreSQL's dialect. Every statement is unnamed
//! (`query_typed`), so nothing outlives the transaction on a pooled server connection.

use std::sync::atomic::{AtomicU64, Ordering};

use postgres::types::{ToSql, Type};
use postgres::{Client, Row};

use super::cols::{Col, ColError, Cols, TextRow};
use super::errors::{self, Kind};
use super::prefetch::{AheadRow, CUSTOMER_COLS, Prefetched};
use crate::billing::{CheckoutRow, CheckoutState, PurchaseRecord, SubscriptionView, Watermark};
use crate::deliveries::{Delivery, DeliveryOutcome};
use crate::error::{Error, Result};
use crate::event::{
    CheckoutRecord, CustomerRecord, EntitlementsRecord, InvoiceRecord, SubscriptionRecord,
};
use crate::outbox::EnqueuedJob;
use crate::outbox::NewJob;
use crate::store::{NewEvent, Prefetch, StoreTx};
use crate::sync_state::CatalogEntry;

/// Parameter types, short.
pub(super) const TEXT: Type = Type::TEXT;
pub(super) const INT8: Type = Type::INT8;
pub(super) const BOOL: Type = Type::BOOL;
pub(super) const BYTEA: Type = Type::BYTEA;

/// A parameter list for `query_typed`.
pub(super) type Params<'a> = [(&'a (dyn ToSql + Sync), Type)];

/// An open PostgreSQL transaction (`BEGIN` sent, `COMMIT` / `ROLLBACK` by the store).
pub struct PgTx<'c> {
    client: &'c mut Client,
    /// The store's round-trip counter: one per call to the server ([`PgStore::round_trips`]).
    ///
    /// [`PgStore::round_trips`]: super::PgStore::round_trips
    trips: &'c AtomicU64,
    /// How the last failed statement failed: decides retry / rollback / drop.
    failure: Option<Kind>,
    /// Write-behind: statements whose result nobody reads (row upserts, the event, the
    /// delivery log and its stats), as text with literal parameters, sent in one
    /// simple-protocol message with the next statement that needs an answer, or with `COMMIT`
    /// ([`PgTx::commit_sql`]). A failure there may surface with a later delivery's statement:
    /// the engine then writes the batch again one delivery per transaction, so the blame is
    /// exact (`Engine::write_batch`).
    deferred: String,
    /// The delivery log's rows and counts, written last, with `COMMIT`.
    log: super::deliveries::LogTail,
    /// What [`StoreTx::prefetch`] read ahead for this batch, while it is still true.
    ahead: Option<Box<Prefetched>>,
    /// A statement of a known kind is being sent (see [`PgTx::known`]).
    known: bool,
    /// Round trips this transaction made; the first carried its `BEGIN`.
    sent: u32,
    /// The last failure was a connection dropped without an answer from the server.
    dropped: bool,
}

impl<'c> PgTx<'c> {
    /// A transaction on `client` that `begin` opens: `begin` is sent with the first round
    /// trip (the first statement that needs an answer, or `COMMIT`), not in a trip of its own.
    pub(super) fn new(client: &'c mut Client, trips: &'c AtomicU64, begin: &str) -> Self {
        PgTx {
            client,
            trips,
            failure: None,
            deferred: format!("{begin}; "),
            log: Default::default(),
            ahead: None,
            known: false,
            sent: 0,
            dropped: false,
        }
    }

    /// Round trips made so far (0: not even `BEGIN` has been sent).
    pub(super) fn sent(&self) -> u32 {
        self.sent
    }

    /// Whether the last failure was a connection that dropped without the server answering.
    pub(super) fn dropped(&self) -> bool {
        self.dropped
    }

    /// Runs `f`, whose statements only touch what the caller keeps the read-ahead true for
    /// (an event stored, a row written and forgotten, a job, a log row, a read).
    fn known<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let outer = std::mem::replace(&mut self.known, true);
        let out = f(self);
        self.known = outer;
        out
    }

    /// Called by every helper that sends a statement: one that is not of a known kind may
    /// have written anything, so the read-ahead is dropped.
    fn sending(&mut self) {
        if !self.known {
            self.ahead = None;
        }
    }

    /// The read-ahead, when there is one.
    fn ahead(&mut self) -> Option<&mut Prefetched> {
        self.ahead.as_deref_mut()
    }

    /// A job id the read-ahead reserved, if one is left: a job inserted with it needs no
    /// round trip for its `RETURNING id` (see `jobs::enqueue`).
    pub(super) fn reserved_job_id(&mut self) -> Option<i64> {
        self.ahead().and_then(|a| a.job_ids.pop_front())
    }

    /// Runs `f`, which writes the `row` with `id` (and nothing else read ahead): that row's
    /// next read goes to the server.
    fn writing_row<T>(
        &mut self,
        row: AheadRow,
        id: &str,
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        if let Some(a) = self.ahead() {
            a.forget(row, id);
        }
        self.known(f)
    }

    /// The deferred statements followed by `COMMIT`: the transaction's last round trip. A
    /// deferred statement that fails there fails the transaction (the store rolls it back).
    pub(super) fn commit_sql(&mut self) -> String {
        let mut sql = std::mem::take(&mut self.deferred);
        sql.push_str(&self.log.take_sql());
        sql.push_str("COMMIT");
        sql
    }

    /// The delivery log's rows and counts waiting for `COMMIT`.
    pub(super) fn log_tail(&mut self) -> &mut super::deliveries::LogTail {
        &mut self.log
    }

    /// Sends the deferred statements now (one round trip), if there are any.
    fn flush(&mut self) -> Result<()> {
        if self.deferred.is_empty() {
            return Ok(());
        }
        let sql = std::mem::take(&mut self.deferred);
        self.simple(&sql)
    }

    /// Runs `sql` (with `params`) later, with the next round trip: its result is not needed
    /// and its failure surfaces at that round trip. A statement
    /// whose parameters have no literal form is sent now instead.
    pub(super) fn defer(&mut self, sql: &str, params: &Params<'_>) -> Result<()> {
        self.sending();
        match super::literal::render(sql, params) {
            Some(text) => {
                self.deferred.push_str(&text);
                self.deferred.push_str("; ");
                Ok(())
            }
            None => self.exec(sql, params).map(|_| ()),
        }
    }

    /// The first column of the rows of `text` (a rendered statement), sent after the deferred
    /// statements in one simple-protocol round trip. For reads whose answer is one small
    /// value: an existence check, an id `RETURNING`.
    pub(super) fn first_column(&mut self, text: &str) -> Result<Vec<Option<String>>> {
        Ok(self
            .text_rows(text, 1)?
            .into_iter()
            .map(|mut r| r.swap_remove(0))
            .collect())
    }

    /// The first `n` columns of the rows of `text` (one statement), as text, after the
    /// deferred statements in one simple-protocol round trip.
    pub(super) fn text_rows(&mut self, text: &str, n: usize) -> Result<Vec<Vec<Option<String>>>> {
        let last = self.text_results(text, 1)?.pop().unwrap_or_default();
        Ok(last
            .into_iter()
            .map(|TextRow(mut cols)| {
                cols.truncate(n);
                cols
            })
            .collect())
    }

    /// The rows of each of the last `statements` statements of `text`, in order, after the
    /// deferred statements, in one simple-protocol round trip. Only those statements' rows
    /// count: the deferred ones may return rows too (the writer lock's `SELECT` in `BEGIN`).
    pub(super) fn text_results(
        &mut self,
        text: &str,
        statements: usize,
    ) -> Result<Vec<Vec<TextRow>>> {
        self.sending();
        let mut batch = std::mem::take(&mut self.deferred);
        batch.push_str(text);
        self.trip();
        let messages = match self.client.simple_query(&batch) {
            Ok(messages) => messages,
            Err(e) => return Err(self.fail(&e)),
        };
        let (mut rows, mut done) = (Vec::new(), Vec::new());
        for m in &messages {
            match m {
                postgres::SimpleQueryMessage::Row(r) => rows.push(TextRow(
                    (0..r.len())
                        .map(|i| r.try_get(i).ok().flatten().map(str::to_owned))
                        .collect(),
                )),
                postgres::SimpleQueryMessage::CommandComplete(_) => {
                    done.push(std::mem::take(&mut rows));
                }
                _ => {}
            }
        }
        // Fewer results than statements would read as rows that do not exist: refuse instead.
        let Some(first) = done.len().checked_sub(statements) else {
            return Err(Error::new(
                crate::error::ErrorCode::StoreCorrupt,
                format!(
                    "the server answered {} statements where {statements} were sent",
                    done.len()
                ),
            ));
        };
        Ok(done.split_off(first))
    }

    /// Whether `sql` returns a row, in one round trip with the deferred statements.
    pub(super) fn exists(&mut self, sql: &str, params: &Params<'_>) -> Result<bool> {
        match super::literal::render(sql, params) {
            Some(text) => Ok(!self.first_column(&text)?.is_empty()),
            None => Ok(!self.rows(sql, params)?.is_empty()),
        }
    }

    /// The `int8` id `sql` returns (`RETURNING id`), if any, in one round trip with the
    /// deferred statements.
    pub(super) fn returning_id(&mut self, sql: &str, params: &Params<'_>) -> Result<Option<i64>> {
        let Some(text) = super::literal::render(sql, params) else {
            return match self.row(sql, params)? {
                Some(r) => self.get(&r, 0),
                None => Ok(None),
            };
        };
        match self.first_column(&text)?.into_iter().next().flatten() {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                Error::new(
                    crate::error::ErrorCode::StoreCorrupt,
                    format!("the server returned {v:?} for an id"),
                )
            }),
        }
    }

    pub(super) fn failure(&self) -> Option<Kind> {
        self.failure
    }

    fn trip(&mut self) {
        self.sent += 1;
        self.trips.fetch_add(1, Ordering::Relaxed);
    }

    fn fail(&mut self, e: &postgres::Error) -> Error {
        let kind = errors::kind(e);
        if kind == Kind::Broken {
            self.dropped = e.as_db_error().is_none();
        }
        // Keep the most severe: a broken connection wins over a retryable conflict.
        if self.failure != Some(Kind::Broken) {
            self.failure = Some(kind);
        }
        errors::map(e)
    }

    /// Runs simple-protocol statements in one round trip.
    fn simple(&mut self, sql: &str) -> Result<()> {
        self.trip();
        match self.client.batch_execute(sql) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(&e)),
        }
    }

    /// All rows of a statement (after the deferred ones).
    pub(super) fn rows(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        self.sending();
        self.flush()?;
        self.trip();
        match self.client.query_typed(sql, params) {
            Ok(rows) => Ok(rows),
            Err(e) => Err(self.fail(&e)),
        }
    }

    /// At most one row.
    pub(super) fn row(&mut self, sql: &str, params: &Params<'_>) -> Result<Option<Row>> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }

    /// Rows changed (after the deferred statements).
    pub(super) fn exec(&mut self, sql: &str, params: &Params<'_>) -> Result<u64> {
        self.sending();
        self.flush()?;
        self.trip();
        match self.client.execute_typed(sql, params) {
            Ok(n) => Ok(n),
            Err(e) => Err(self.fail(&e)),
        }
    }

    /// Column `i` of a row, with a type mismatch as an error instead of a panic.
    pub(super) fn get<'r, T: postgres::types::FromSql<'r>>(
        &mut self,
        row: &'r Row,
        i: usize,
    ) -> Result<T> {
        match row.try_get(i) {
            Ok(v) => Ok(v),
            Err(e) => Err(self.fail(&e)),
        }
    }

    /// Column `i` of a typed or text row, for the row decoders (see `cols.rs`).
    pub(super) fn col<T: Col>(&mut self, r: &impl Cols, i: usize) -> Result<T> {
        match r.col(i) {
            Ok(v) => Ok(v),
            Err(ColError::Typed(e)) => Err(self.fail(&e)),
            Err(ColError::Text(i)) => Err(Error::new(
                crate::error::ErrorCode::StoreCorrupt,
                format!("the server sent column {i} in a form this build does not read"),
            )),
        }
    }

    pub(super) fn schema_version(&mut self) -> Result<i64> {
        let row = self.row(
            "SELECT coalesce(max(version), 0)::int8 FROM schema_migrations",
            &[],
        )?;
        match row {
            Some(r) => self.get(&r, 0),
            None => Ok(0),
        }
    }

    /// A JSON column, decoded (`STORE_CORRUPT` when it does not decode).
    pub(super) fn json<T: serde::de::DeserializeOwned>(
        &mut self,
        r: &impl Cols,
        i: usize,
        table: &str,
        column: &str,
    ) -> Result<T> {
        let text: String = self.col(r, i)?;
        crate::store::json_cols::decode(&text, table, column)
    }

    pub(super) fn watermark(&mut self, r: &impl Cols, i: usize) -> Result<Watermark> {
        Ok(Watermark {
            event_id: self.col(r, i)?,
            created: self.col(r, i + 1)?,
            snapshot: self.col(r, i + 2)?,
        })
    }

    pub(super) fn subscription_row(
        &mut self,
        r: &impl Cols,
    ) -> Result<(SubscriptionView, Watermark)> {
        let record = SubscriptionRecord {
            id: self.col(r, 0)?,
            customer_id: self.col(r, 1)?,
            status: self.col(r, 2)?,
            price_id: self.col(r, 3)?,
            product_id: self.col(r, 4)?,
            current_period_end: self.col(r, 5)?,
            cancel_at_period_end: self.col(r, 6)?,
            cancel_at: self.col(r, 7)?,
            canceled_at: self.col(r, 8)?,
            ended_at: self.col(r, 9)?,
            trial_end: self.col(r, 10)?,
            user_id: None,
            items: self.json(r, 15, "subscriptions", "items")?,
            trial_missing_payment_method: self.col(r, 16)?,
            has_payment_method: self.col(r, 17)?,
        };
        Ok((
            SubscriptionView {
                record,
                status_since: self.col(r, 11)?,
            },
            self.watermark(r, 12)?,
        ))
    }

    /// A customer row of [`CUSTOMER_COLS`].
    pub(super) fn customer_row(&mut self, r: &impl Cols) -> Result<(CustomerRecord, Watermark)> {
        Ok((
            CustomerRecord {
                id: self.col(r, 0)?,
                email: self.col(r, 1)?,
                name: self.col(r, 2)?,
                user_id: None,
                deleted: self.col(r, 3)?,
                has_payment_method: self.col(r, 7)?,
            },
            self.watermark(r, 4)?,
        ))
    }

    pub(super) fn invoice_row(&mut self, r: &impl Cols) -> Result<(InvoiceRecord, Watermark)> {
        Ok((
            InvoiceRecord {
                id: self.col(r, 0)?,
                customer_id: self.col(r, 1)?,
                subscription_id: self.col(r, 2)?,
                number: self.col(r, 3)?,
                status: self.col(r, 4)?,
                amount_due: self.col(r, 5)?,
                amount_paid: self.col(r, 6)?,
                amount_remaining: self.col(r, 7)?,
                currency: self.col(r, 8)?,
                hosted_invoice_url: self.col(r, 9)?,
                invoice_pdf: self.col(r, 10)?,
                attempt_count: self.col(r, 11)?,
                next_payment_attempt: self.col(r, 12)?,
                created: self.col(r, 13)?,
                billing_reason: self.col(r, 14)?,
            },
            self.watermark(r, 15)?,
        ))
    }

    pub(super) fn checkout_row(&mut self, r: &impl Cols) -> Result<(CheckoutRow, Watermark)> {
        let state: String = self.col(r, 6)?;
        Ok((
            CheckoutRow {
                record: CheckoutRecord {
                    id: self.col(r, 0)?,
                    customer_id: self.col(r, 1)?,
                    user_id: self.col(r, 2)?,
                    mode: self.col(r, 3)?,
                    status: self.col(r, 4)?,
                    payment_status: self.col(r, 5)?,
                    subscription_id: self.col(r, 7)?,
                    ..Default::default()
                },
                state: CheckoutState::parse(&state)?,
            },
            self.watermark(r, 8)?,
        ))
    }
}

pub(super) const SUBSCRIPTION_COLS: &str = "id, customer_id, status, price_id, product_id, current_period_end, \
     cancel_at_period_end, cancel_at, canceled_at, ended_at, trial_end, status_since, wm_event, wm_created, wm_snapshot, \
     items, trial_missing_payment_method, has_payment_method";

pub(super) const INVOICE_COLS: &str = "id, customer_id, subscription_id, number, status, amount_due, amount_paid, \
     amount_remaining, currency, hosted_invoice_url, invoice_pdf, attempt_count, next_payment_attempt, created, \
     billing_reason, wm_event, wm_created, wm_snapshot";

pub(super) const CHECKOUT_COLS: &str = "id, customer_id, user_id, mode, status, payment_status, state, subscription_id, wm_event, wm_created, wm_snapshot";

impl StoreTx for PgTx<'_> {
    fn payments(&mut self) -> &mut dyn crate::store::PaymentsTx {
        self
    }

    fn purchase(&mut self, id: &str) -> Result<Option<PurchaseRecord>> {
        self.purchase_by_id(id)
    }

    fn put_purchase(&mut self, p: &PurchaseRecord) -> Result<()> {
        self.write_purchase(p)
    }

    fn entitlements(
        &mut self,
        customer_id: &str,
    ) -> Result<Option<(EntitlementsRecord, Watermark)>> {
        self.entitlements_of(customer_id)
    }

    fn put_entitlements(&mut self, rec: &EntitlementsRecord, wm: &Watermark) -> Result<()> {
        self.write_entitlements(rec, wm)
    }

    fn put_catalog_entry(&mut self, e: &CatalogEntry) -> Result<bool> {
        self.put_catalog(e)
    }

    fn prefetch(&mut self, keys: &Prefetch<'_>) -> Result<bool> {
        let ahead = self.known(|tx| tx.read_ahead(keys))?;
        self.ahead = Some(Box::new(ahead));
        Ok(true)
    }

    fn event_exists(&mut self, id: &str) -> Result<bool> {
        if let Some(&stored) = self.ahead().and_then(|a| a.events.get(id)) {
            return Ok(stored);
        }
        self.known(|tx| tx.exists("SELECT 1 FROM events WHERE id = $1", &[(&id, TEXT)]))
    }

    fn insert_event(&mut self, e: &NewEvent<'_>) -> Result<()> {
        if let Some(a) = self.ahead() {
            a.events.insert(e.id.to_owned(), true);
        }
        self.known(|tx| {
            tx.defer(
                "INSERT INTO events (id, type, created, livemode, api_version, account, object_id, customer_id, \
                 outcome, received_at, body, error_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                &[
                    (&e.id, TEXT),
                    (&e.event_type, TEXT),
                    (&e.created, INT8),
                    (&e.livemode, BOOL),
                    (&e.api_version, TEXT),
                    (&e.account, TEXT),
                    (&e.object_id, TEXT),
                    (&e.customer_id, TEXT),
                    (&e.outcome, TEXT),
                    (&e.received_at, INT8),
                    (&e.body, BYTEA),
                    (&e.error_code, TEXT),
                ],
            )
        })
    }

    fn mark_event_applied(
        &mut self,
        id: &str,
        outcome: &str,
        customer_id: Option<&str>,
    ) -> Result<()> {
        // Changes no event's existence.
        self.known(|tx| {
            tx.defer(
                "UPDATE events SET outcome = $2, customer_id = coalesce($3, customer_id), error_code = NULL \
                 WHERE id = $1",
                &[(&id, TEXT), (&outcome, TEXT), (&customer_id, TEXT)],
            )
        })
    }

    fn customer(&mut self, id: &str) -> Result<Option<(CustomerRecord, Watermark)>> {
        if let Some(row) = self.ahead().and_then(|a| a.customers.get(id)) {
            return Ok(row.clone());
        }
        let sql = format!("SELECT {CUSTOMER_COLS} FROM customers WHERE id = $1");
        let Some(r) = self.known(|tx| tx.row(&sql, &[(&id, TEXT)]))? else {
            return Ok(None);
        };
        Ok(Some(self.customer_row(&r)?))
    }

    fn put_customer(&mut self, c: &CustomerRecord, wm: &Watermark) -> Result<()> {
        self.writing_row(AheadRow::Customer, &c.id, |tx| tx.defer(
            "INSERT INTO customers (id, email, name, deleted, wm_event, wm_created, wm_snapshot, has_payment_method) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO UPDATE SET email = excluded.email, \
             name = excluded.name, deleted = excluded.deleted, wm_event = excluded.wm_event, \
             wm_created = excluded.wm_created, wm_snapshot = excluded.wm_snapshot, \
             has_payment_method = excluded.has_payment_method",
            &[
                (&c.id, TEXT),
                (&c.email, TEXT),
                (&c.name, TEXT),
                (&c.deleted, BOOL),
                (&wm.event_id, TEXT),
                (&wm.created, INT8),
                (&wm.snapshot, BOOL),
                (&c.has_payment_method, BOOL),
            ],
        ))?;
        Ok(())
    }

    fn link_user(&mut self, customer_id: &str, user_id: &str, created: i64) -> Result<bool> {
        // A row that exists only as a link gets a watermark older than any event.
        let n = self.writing_row(AheadRow::Customer, customer_id, |tx| tx.exec(
            "INSERT INTO customers (id, user_id, user_created, wm_event, wm_created) VALUES ($1, $2, $3, '', -1) \
             ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, user_created = excluded.user_created \
             WHERE customers.user_id IS NULL OR (customers.user_id <> excluded.user_id \
                AND (customers.user_created < excluded.user_created \
                OR (customers.user_created = excluded.user_created AND customers.user_id < excluded.user_id)))",
            &[(&customer_id, TEXT), (&user_id, TEXT), (&created, INT8)],
        ))?;
        Ok(n > 0)
    }

    fn fill_contact(
        &mut self,
        customer_id: &str,
        email: Option<&str>,
        name: Option<&str>,
    ) -> Result<()> {
        self.writing_row(AheadRow::Customer, customer_id, |tx| tx.defer(
            "UPDATE customers SET email = coalesce(email, $2), name = coalesce(name, $3) WHERE id = $1",
            &[(&customer_id, TEXT), (&email, TEXT), (&name, TEXT)],
        ))?;
        Ok(())
    }

    fn subscription(&mut self, id: &str) -> Result<Option<(SubscriptionView, Watermark)>> {
        if let Some(row) = self.ahead().and_then(|a| a.subscriptions.get(id)) {
            return Ok(row.clone());
        }
        let sql = format!("SELECT {SUBSCRIPTION_COLS} FROM subscriptions WHERE id = $1");
        match self.known(|tx| tx.row(&sql, &[(&id, TEXT)]))? {
            Some(r) => Ok(Some(self.subscription_row(&r)?)),
            None => Ok(None),
        }
    }

    fn put_subscription(&mut self, v: &SubscriptionView, wm: &Watermark) -> Result<()> {
        let s = &v.record;
        self.writing_row(AheadRow::Subscription, &v.record.id, |tx| tx.defer(
            "INSERT INTO subscriptions (id, customer_id, status, price_id, product_id, current_period_end, \
             cancel_at_period_end, cancel_at, canceled_at, ended_at, trial_end, status_since, wm_event, wm_created, \
             wm_snapshot, items, trial_missing_payment_method, has_payment_method) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
             ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, status = excluded.status, \
             price_id = excluded.price_id, product_id = excluded.product_id, \
             current_period_end = excluded.current_period_end, cancel_at_period_end = excluded.cancel_at_period_end, \
             cancel_at = excluded.cancel_at, canceled_at = excluded.canceled_at, ended_at = excluded.ended_at, \
             trial_end = excluded.trial_end, status_since = excluded.status_since, wm_event = excluded.wm_event, \
             wm_created = excluded.wm_created, wm_snapshot = excluded.wm_snapshot, items = excluded.items, \
             trial_missing_payment_method = excluded.trial_missing_payment_method, \
             has_payment_method = excluded.has_payment_method",
            &[
                (&s.id, TEXT),
                (&s.customer_id, TEXT),
                (&s.status, TEXT),
                (&s.price_id, TEXT),
                (&s.product_id, TEXT),
                (&s.current_period_end, INT8),
                (&s.cancel_at_period_end, BOOL),
                (&s.cancel_at, INT8),
                (&s.canceled_at, INT8),
                (&s.ended_at, INT8),
                (&s.trial_end, INT8),
                (&v.status_since, INT8),
                (&wm.event_id, TEXT),
                (&wm.created, INT8),
                (&wm.snapshot, BOOL),
                (&crate::store::json_cols::encode(&s.items), TEXT),
                (&s.trial_missing_payment_method, TEXT),
                (&s.has_payment_method, BOOL),
            ],
        ))?;
        Ok(())
    }

    fn customer_subscriptions(&mut self, customer_id: &str) -> Result<Vec<SubscriptionView>> {
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLS} FROM subscriptions WHERE customer_id = $1 ORDER BY id"
        );
        let rows = self.known(|tx| tx.rows(&sql, &[(&customer_id, TEXT)]))?;
        rows.iter()
            .map(|r| self.subscription_row(r).map(|(v, _)| v))
            .collect()
    }

    fn invoice(&mut self, id: &str) -> Result<Option<(InvoiceRecord, Watermark)>> {
        if let Some(row) = self.ahead().and_then(|a| a.invoices.get(id)) {
            return Ok(row.clone());
        }
        let sql = format!("SELECT {INVOICE_COLS} FROM invoices WHERE id = $1");
        match self.known(|tx| tx.row(&sql, &[(&id, TEXT)]))? {
            Some(r) => Ok(Some(self.invoice_row(&r)?)),
            None => Ok(None),
        }
    }

    fn put_invoice(&mut self, i: &InvoiceRecord, wm: &Watermark) -> Result<()> {
        self.writing_row(AheadRow::Invoice, &i.id, |tx| tx.defer(
            "INSERT INTO invoices (id, customer_id, subscription_id, number, status, amount_due, \
             amount_paid, amount_remaining, currency, hosted_invoice_url, invoice_pdf, attempt_count, \
             next_payment_attempt, created, billing_reason, wm_event, wm_created, wm_snapshot) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
             ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, \
             subscription_id = excluded.subscription_id, number = excluded.number, status = excluded.status, \
             amount_due = excluded.amount_due, amount_paid = excluded.amount_paid, \
             amount_remaining = excluded.amount_remaining, currency = excluded.currency, \
             hosted_invoice_url = excluded.hosted_invoice_url, invoice_pdf = excluded.invoice_pdf, \
             attempt_count = excluded.attempt_count, next_payment_attempt = excluded.next_payment_attempt, \
             created = excluded.created, billing_reason = excluded.billing_reason, wm_event = excluded.wm_event, \
             wm_created = excluded.wm_created, wm_snapshot = excluded.wm_snapshot",
            &[
                (&i.id, TEXT),
                (&i.customer_id, TEXT),
                (&i.subscription_id, TEXT),
                (&i.number, TEXT),
                (&i.status, TEXT),
                (&i.amount_due, INT8),
                (&i.amount_paid, INT8),
                (&i.amount_remaining, INT8),
                (&i.currency, TEXT),
                (&i.hosted_invoice_url, TEXT),
                (&i.invoice_pdf, TEXT),
                (&i.attempt_count, INT8),
                (&i.next_payment_attempt, INT8),
                (&i.created, INT8),
                (&i.billing_reason, TEXT),
                (&wm.event_id, TEXT),
                (&wm.created, INT8),
                (&wm.snapshot, BOOL),
            ],
        ))?;
        Ok(())
    }

    fn checkout(&mut self, id: &str) -> Result<Option<(CheckoutRow, Watermark)>> {
        let sql = format!("SELECT {CHECKOUT_COLS} FROM checkout_sessions WHERE id = $1");
        match self.row(&sql, &[(&id, TEXT)])? {
            Some(r) => Ok(Some(self.checkout_row(&r)?)),
            None => Ok(None),
        }
    }

    fn put_checkout(&mut self, row: &CheckoutRow, wm: &Watermark) -> Result<()> {
        let c = &row.record;
        let state = row.state.as_str();
        self.defer(
            "INSERT INTO checkout_sessions (id, customer_id, user_id, mode, status, payment_status, state, \
             subscription_id, wm_event, wm_created, wm_snapshot) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, user_id = excluded.user_id, \
             mode = excluded.mode, status = excluded.status, payment_status = excluded.payment_status, \
             state = excluded.state, subscription_id = excluded.subscription_id, wm_event = excluded.wm_event, \
             wm_created = excluded.wm_created, wm_snapshot = excluded.wm_snapshot",
            &[
                (&c.id, TEXT),
                (&c.customer_id, TEXT),
                (&c.user_id, TEXT),
                (&c.mode, TEXT),
                (&c.status, TEXT),
                (&c.payment_status, TEXT),
                (&state, TEXT),
                (&c.subscription_id, TEXT),
                (&wm.event_id, TEXT),
                (&wm.created, INT8),
                (&wm.snapshot, BOOL),
            ],
        )?;
        Ok(())
    }

    fn customer_user(&mut self, customer_id: &str) -> Result<Option<String>> {
        let row = self.known(|tx| {
            tx.row(
                "SELECT user_id FROM customers WHERE id = $1",
                &[(&customer_id, TEXT)],
            )
        })?;
        match row {
            Some(r) => self.get(&r, 0),
            None => Ok(None),
        }
    }

    fn enqueue(
        &mut self,
        job: &NewJob,
        event_id: Option<&str>,
        now: i64,
    ) -> Result<Option<EnqueuedJob>> {
        // Jobs only: nothing read ahead changes.
        self.known(|tx| super::jobs::enqueue(tx, job, event_id, now))
    }

    fn log_delivery(&mut self, d: &Delivery) -> Result<()> {
        self.known(|tx| super::deliveries::insert(tx, d))
    }

    fn count_deliveries(
        &mut self,
        minute: i64,
        outcome: DeliveryOutcome,
        reason: &str,
        n: u64,
    ) -> Result<()> {
        self.known(|tx| super::deliveries::count(tx, minute, outcome, reason, n))
    }
}
