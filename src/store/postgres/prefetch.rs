//! Read-ahead for a batch ([`StoreTx::prefetch`]): the in-lock dedupe and the row each
//! delivery's object is compared with, for every delivery of a group-commit batch in one round
//! trip (the one that carries the batch's `BEGIN` and writer lock), instead of two round trips
//! per delivery while the writer lock is held; and one job id per delivery reserved from the
//! jobs' sequence in the same trip, so a job's insert needs no `RETURNING` round trip of its
//! own (`jobs::enqueue`). The rows come back as text (simple protocol) and are decoded by the
//! same decoders as typed rows (`cols.rs`).
//!
//! Why it is safe to answer later reads from memory: the batch holds the writer lock (taken
//! by its `BEGIN`, before this runs), so no other transaction writes these rows until it
//! commits; and this transaction's own writes keep the answers true: storing an event marks
//! it stored, writing an invoice, subscription or customer forgets that row (its next read
//! goes to the server, after the deferred writes), and any statement the transaction sends
//! that is not one of those known ones forgets everything ([`PgTx`]'s helpers do that
//! themselves, so a write added later cannot leave a stale answer behind).
//!
//! [`StoreTx::prefetch`]: crate::store::StoreTx::prefetch

use std::collections::{HashMap, VecDeque};

use super::cols::TextRow;
use super::literal;
use super::tx::{INVOICE_COLS, PgTx, SUBSCRIPTION_COLS};
use crate::billing::{SubscriptionView, Watermark};
use crate::error::Result;
use crate::event::{CustomerRecord, InvoiceRecord};
use crate::store::Prefetch;

/// A row read ahead: `None` when the row does not exist.
type Ahead<T> = Option<(T, Watermark)>;

/// What one batch read ahead, by id. An id missing from a map was not read ahead (or was
/// written since): its read goes to the server.
#[derive(Default)]
pub(super) struct Prefetched {
    pub(super) events: HashMap<String, bool>,
    pub(super) invoices: HashMap<String, Ahead<InvoiceRecord>>,
    pub(super) subscriptions: HashMap<String, Ahead<SubscriptionView>>,
    pub(super) customers: HashMap<String, Ahead<CustomerRecord>>,
    /// Job ids taken from the jobs' identity sequence, one per delivery, in order: a job
    /// inserted with one answers its caller without a `RETURNING` round trip.
    pub(super) job_ids: VecDeque<i64>,
}

/// A kind of row read ahead, for [`Prefetched::forget`].
#[derive(Debug, Clone, Copy)]
pub(super) enum AheadRow {
    Invoice,
    Subscription,
    Customer,
}

impl Prefetched {
    /// Forgets one row (it is being written): its next read goes to the server.
    pub(super) fn forget(&mut self, row: AheadRow, id: &str) {
        match row {
            AheadRow::Invoice => drop(self.invoices.remove(id)),
            AheadRow::Subscription => drop(self.subscriptions.remove(id)),
            AheadRow::Customer => drop(self.customers.remove(id)),
        }
    }
}

/// The columns `StoreTx::customer` reads, in its order.
pub(super) const CUSTOMER_COLS: &str =
    "id, email, name, deleted, wm_event, wm_created, wm_snapshot, has_payment_method";

impl PgTx<'_> {
    /// Reads `keys` ahead in one simple-protocol round trip that also carries the deferred
    /// statements (the transaction's `BEGIN` and writer lock, when it is the first): which
    /// events are stored, the reserved job ids, and the rows of each kind asked for.
    pub(super) fn read_ahead(&mut self, keys: &Prefetch<'_>) -> Result<Prefetched> {
        let mut ahead = Prefetched::default();
        let events = stored_events_sql(&keys.event_ids);
        let invoices = rows_sql("invoices", INVOICE_COLS, &keys.invoices);
        let subscriptions = rows_sql("subscriptions", SUBSCRIPTION_COLS, &keys.subscriptions);
        let customers = rows_sql("customers", CUSTOMER_COLS, &keys.customers);
        let statements: Vec<&str> = [&events, &invoices, &subscriptions, &customers]
            .into_iter()
            .filter_map(|s| s.as_deref())
            .collect();
        if statements.is_empty() {
            return Ok(ahead);
        }
        let mut results = self
            .text_results(&statements.join("; "), statements.len())?
            .into_iter();
        // Each result is taken in the order its statement was joined, if it was (there is
        // one per statement: `text_results` checks).
        let mut next =
            |asked: &Option<String>| asked.as_ref().map(|_| results.next().unwrap_or_default());
        if let Some(rows) = next(&events) {
            for TextRow(cols) in rows {
                let mut cols = cols.into_iter();
                match (cols.next().flatten(), cols.next().flatten()) {
                    (Some(id), _) => {
                        ahead.events.insert(id, true);
                    }
                    (None, Some(job_id)) => ahead.job_ids.push_back(parse_id(&job_id)?),
                    (None, None) => {}
                }
            }
            for id in &keys.event_ids {
                ahead.events.entry((*id).to_owned()).or_insert(false);
            }
        }
        let rows = next(&invoices);
        ahead.invoices = self.found(rows, &keys.invoices, |tx, r| {
            let (rec, wm) = tx.invoice_row(r)?;
            Ok((rec.id.clone(), (rec, wm)))
        })?;
        let rows = next(&subscriptions);
        ahead.subscriptions = self.found(rows, &keys.subscriptions, |tx, r| {
            let (view, wm) = tx.subscription_row(r)?;
            Ok((view.record.id.clone(), (view, wm)))
        })?;
        let rows = next(&customers);
        ahead.customers = self.found(rows, &keys.customers, |tx, r| {
            let (rec, wm) = tx.customer_row(r)?;
            Ok((rec.id.clone(), (rec, wm)))
        })?;
        Ok(ahead)
    }

    /// The rows read for `ids`, decoded, by id; ids without a row read as absent. Nothing
    /// when they were not read (`None`).
    fn found<T>(
        &mut self,
        rows: Option<Vec<TextRow>>,
        ids: &[&str],
        row: impl Fn(&mut Self, &TextRow) -> Result<(String, (T, Watermark))>,
    ) -> Result<HashMap<String, Ahead<T>>> {
        let mut found = HashMap::new();
        let Some(rows) = rows else {
            return Ok(found);
        };
        for r in &rows {
            let (id, rec) = row(self, r)?;
            found.insert(id, Some(rec));
        }
        absent(&mut found, ids);
        Ok(found)
    }
}

/// The rows of `table` with one of `ids`, the ids as literals; `None` when there are none or
/// one has no literal form (then those rows are not read ahead: each read goes to the
/// server).
fn rows_sql(table: &str, cols: &str, ids: &[&str]) -> Option<String> {
    Some(format!(
        "SELECT {cols} FROM {table} WHERE id IN ({})",
        literals(ids)?
    ))
}

/// `ids` as a list of text literals; `None` when empty or one has no literal form.
fn literals(ids: &[&str]) -> Option<String> {
    if ids.is_empty() {
        return None;
    }
    let each: Option<Vec<String>> = ids.iter().map(|id| literal::text(id)).collect();
    Some(each?.join(", "))
}

/// Marks the ids that returned no row as read and absent.
fn absent<T>(map: &mut HashMap<String, Ahead<T>>, ids: &[&str]) {
    for id in ids {
        map.entry((*id).to_owned()).or_insert(None);
    }
}

/// One statement, two columns: the stored ones among `ids` (`id, NULL`), then one job id
/// per id reserved from the jobs' identity sequence (`NULL, id`). The ids are literals;
/// `None` when there are none or one has no literal form (then each delivery's dedupe reads
/// it itself, and its jobs return their ids).
fn stored_events_sql(ids: &[&str]) -> Option<String> {
    Some(format!(
        "SELECT id, NULL FROM events WHERE id IN ({}) UNION ALL \
         SELECT NULL, nextval(pg_get_serial_sequence('jobs', 'id'))::text FROM generate_series(1, {})",
        literals(ids)?,
        ids.len()
    ))
}

/// A reserved job id, as the server wrote it.
fn parse_id(text: &str) -> Result<i64> {
    text.parse().map_err(|_| {
        crate::error::Error::new(
            crate::error::ErrorCode::StoreCorrupt,
            format!("the server returned {text:?} for a job id"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_events_sql_lists_each_id_as_an_escaped_literal() {
        assert_eq!(
            stored_events_sql(&["evt_1", "evt_'2"]).as_deref(),
            Some(
                "SELECT id, NULL FROM events WHERE id IN (E'evt_1', E'evt_''2') UNION ALL \
                 SELECT NULL, nextval(pg_get_serial_sequence('jobs', 'id'))::text FROM generate_series(1, 2)"
            )
        );
        assert_eq!(stored_events_sql(&[]), None);
        assert_eq!(
            stored_events_sql(&["evt_1", "a\0b"]),
            None,
            "no literal for a NUL"
        );
    }

    #[test]
    fn ids_without_a_row_are_read_as_absent_not_forgotten() {
        let mut m: HashMap<String, Ahead<InvoiceRecord>> = HashMap::new();
        m.insert("in_1".into(), None);
        absent(&mut m, &["in_1", "in_2"]);
        assert_eq!(m.len(), 2);
        assert!(m.values().all(Option::is_none));
    }
}
