//! The delivery log on PostgreSQL: the SQL of `store/deliveries.rs`, and the buffering of
//! duplicate-delivery rows (written with the next write transaction, so that answering a
//! duplicate needs no write of its own).

use std::collections::BTreeMap;

use super::tx::{INT8, Params, PgTx, TEXT};
use super::{PgStore, literal};
use crate::deliveries::{Delivery, DeliveryCounts, DeliveryOutcome};
use crate::error::{ErrorCode, Result};

/// The delivery log's statements, each with one `VALUES` row (`$1…`), for
/// [`LogTail`] to repeat the row and for the fallback that sends one statement per row.
const INSERT_ROW: &str = "INSERT INTO deliveries (at, outcome, reason, event_id, event_type, body_bytes, \
     latency_us, lag_s, secret_index) VALUES ";
const ROW: &str = "($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const COUNT_ROW: &str = "INSERT INTO delivery_stats (minute, outcome, reason, count) VALUES ";
const COUNT_KEY: &str = "($1, $2, $3, ";
const ON_COUNT_CONFLICT: &str = " ON CONFLICT (minute, outcome, reason) DO UPDATE SET count = delivery_stats.count + excluded.count";

/// The delivery-log rows and stats counts of one transaction, written with its `COMMIT` as
/// one multi-row statement each.
///
/// Why: a batch of 8 deliveries sent 16 statements for them, a log row and a stats upsert
/// each (the upserts all on the same row of the minute), and the server parses, plans and
/// runs every one of them while the batch holds the writer lock. Now two, whatever the batch
/// size. Nothing in a write transaction reads the log back, so writing it last changes no
/// answer; a transaction that rolls back drops its tail with it.
#[derive(Default)]
pub(super) struct LogTail {
    /// Rendered `VALUES` rows for `deliveries`.
    rows: Vec<String>,
    /// Counts by rendered `(minute, outcome, reason` key, one row each: a multi-row upsert
    /// may not touch the same row twice.
    counts: BTreeMap<String, i64>,
}

impl LogTail {
    /// The statements for everything added (empty when nothing was), each ending in `; `.
    pub(super) fn take_sql(&mut self) -> String {
        let mut sql = String::new();
        if !self.rows.is_empty() {
            sql.push_str(INSERT_ROW);
            sql.push_str(&self.rows.join(", "));
            sql.push_str("; ");
        }
        if !self.counts.is_empty() {
            sql.push_str(COUNT_ROW);
            let rows: Vec<String> = self
                .counts
                .iter()
                .map(|(key, n)| format!("{key}'{n}'::int8)"))
                .collect();
            sql.push_str(&rows.join(", "));
            sql.push_str(ON_COUNT_CONFLICT);
            sql.push_str("; ");
        }
        self.rows.clear();
        self.counts.clear();
        sql
    }
}

pub(super) fn insert(tx: &mut PgTx<'_>, d: &Delivery) -> Result<()> {
    let outcome = d.outcome.as_str();
    let secret_index = d.secret_index.map(i64::from);
    let params: &Params<'_> = &[
        (&d.at, INT8),
        (&outcome, TEXT),
        (&d.reason, TEXT),
        (&d.event_id, TEXT),
        (&d.event_type, TEXT),
        (&d.body_bytes, INT8),
        (&d.latency_us, INT8),
        (&d.lag_s, INT8),
        (&secret_index, INT8),
    ];
    match literal::render(ROW, params) {
        Some(row) => tx.log_tail().rows.push(row),
        None => tx.defer(&format!("{INSERT_ROW}{ROW}"), params)?,
    }
    count(
        tx,
        d.at.div_euclid(60),
        d.outcome,
        d.reason.unwrap_or(""),
        1,
    )
}

/// Adds `n` to the stats row of `(minute, outcome, reason)`.
pub(super) fn count(
    tx: &mut PgTx<'_>,
    minute: i64,
    outcome: DeliveryOutcome,
    reason: &str,
    n: u64,
) -> Result<()> {
    let outcome = outcome.as_str();
    let n = n as i64;
    let key: &Params<'_> = &[(&minute, INT8), (&outcome, TEXT), (&reason, TEXT)];
    match literal::render(COUNT_KEY, key) {
        Some(key) => *tx.log_tail().counts.entry(key).or_default() += n,
        None => tx.defer(
            &format!("{COUNT_ROW}($1, $2, $3, $4){ON_COUNT_CONFLICT}"),
            &[
                (&minute, INT8),
                (&outcome, TEXT),
                (&reason, TEXT),
                (&n, INT8),
            ],
        )?,
    }
    Ok(())
}

impl PgStore {
    /// Buffers a delivery-log row; flushes when the buffer is large or its oldest row is
    /// older than a second, never waiting for the writer lock. Never fails; returns how many
    /// old rows were folded into counts (see [`crate::deliveries::DeliveryBuffer`]).
    pub fn buffer_delivery(&self, d: Delivery, now: i64) -> usize {
        let (due, before) = {
            let mut buf = self.pending();
            let before = buf.folded();
            (buf.push(d, now), before)
        };
        if due {
            let _ = self.try_flush_deliveries();
        }
        (self.pending().folded() - before) as usize
    }

    /// Writes buffered delivery-log rows now.
    pub fn flush_deliveries(&self) -> Result<()> {
        if self.pending().is_empty() {
            return Ok(());
        }
        self.write(|_| Ok(()))
    }

    /// Writes buffered delivery-log rows now if the writer lock is free.
    pub fn try_flush_deliveries(&self) -> Result<()> {
        if self.pending().is_empty() {
            return Ok(());
        }
        self.try_write(|_| Ok(()))
    }

    /// Writes one delivery-log row in its own transaction.
    pub fn log_delivery_now(&self, d: &Delivery) -> Result<()> {
        self.write(|tx| insert(tx, d))
    }

    /// Delivery counts from the minute of `since` on, from `delivery_stats` (the primary key's
    /// range: a few rows per minute of the window, whatever the traffic).
    pub fn delivery_counts(&self, since: i64) -> Result<DeliveryCounts> {
        let minute = since.div_euclid(60);
        self.read(|tx| {
            let mut out = DeliveryCounts::default();
            let rows = tx.rows(
                "SELECT outcome, reason, sum(count)::int8 FROM delivery_stats WHERE minute >= $1 \
                 GROUP BY outcome, reason ORDER BY outcome, reason",
                &[(&minute, INT8)],
            )?;
            for r in &rows {
                let outcome: String = tx.get(r, 0)?;
                let reason: String = tx.get(r, 1)?;
                let n: i64 = tx.get(r, 2)?;
                out.add(DeliveryOutcome::parse(&outcome)?, &reason, n as u64);
            }
            Ok(out)
        })
    }

    /// The newest `limit` delivery-log rows, newest first.
    pub fn recent_deliveries(&self, limit: u32) -> Result<Vec<Delivery>> {
        let limit = i64::from(limit);
        self.read(|tx| {
            let rows = tx.rows(
                "SELECT at, outcome, reason, event_id, event_type, body_bytes, latency_us, lag_s, secret_index \
                 FROM deliveries \
                 ORDER BY id DESC LIMIT $1",
                &[(&limit, INT8)],
            )?;
            rows.iter()
                .map(|r| {
                    let outcome: String = tx.get(r, 1)?;
                    let reason: Option<String> = tx.get(r, 2)?;
                    Ok(Delivery {
                        at: tx.get(r, 0)?,
                        outcome: DeliveryOutcome::parse(&outcome)?,
                        reason: reason.and_then(|s| {
                            ErrorCode::ALL
                                .iter()
                                .find(|c| c.as_str() == s)
                                .map(|c| c.as_str())
                        }),
                        event_id: tx.get(r, 3)?,
                        event_type: tx.get(r, 4)?,
                        body_bytes: tx.get(r, 5)?,
                        latency_us: tx.get(r, 6)?,
                        lag_s: tx.get(r, 7)?,
                        secret_index: tx
                            .get::<Option<i64>>(r, 8)?
                            .and_then(|i| u32::try_from(i).ok()),
                    })
                })
                .collect()
        })
    }
}
