//! The delivery log: one row per `handle_webhook` call, accepted or rejected. It is what makes
//! the failure rate right across processes and restarts. It never holds a secret or the body
//! of a rejected call: only time, outcome, reason code, size and latency.

use rusqlite::{Connection, params};
use serde::Serialize;

use super::Store;
use crate::error::Result;

/// What happened to a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// New event, state applied.
    Processed,
    /// Event id already stored.
    Duplicate,
    /// Stored, but not a type that moves state.
    Ignored,
    /// Stored, but older than the state it would have written.
    Stale,
    /// Refused before storing (signature, payload, livemode): the sender's problem (HTTP 400).
    Rejected,
    /// Failed on our side (store busy, disk full): not acknowledged, Stripe retries (HTTP 500).
    Failed,
}

impl DeliveryOutcome {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Processed => "processed",
            DeliveryOutcome::Duplicate => "duplicate",
            DeliveryOutcome::Ignored => "ignored",
            DeliveryOutcome::Stale => "stale",
            DeliveryOutcome::Rejected => "rejected",
            DeliveryOutcome::Failed => "failed",
        }
    }

    /// Every outcome.
    pub const ALL: [DeliveryOutcome; 6] = [
        DeliveryOutcome::Processed,
        DeliveryOutcome::Duplicate,
        DeliveryOutcome::Ignored,
        DeliveryOutcome::Stale,
        DeliveryOutcome::Rejected,
        DeliveryOutcome::Failed,
    ];

    fn parse(s: &str) -> Option<DeliveryOutcome> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// One delivery-log row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// When it arrived (unix seconds).
    pub at: i64,
    /// What happened.
    pub outcome: DeliveryOutcome,
    /// The error code for rejected / failed deliveries.
    pub reason: Option<&'static str>,
    /// The event id, once the body was verified and parsed.
    pub event_id: Option<String>,
    /// The event type, once known.
    pub event_type: Option<String>,
    /// Body size in bytes.
    pub body_bytes: i64,
    /// Time spent in the engine, microseconds.
    pub latency_us: i64,
    /// `at - event.created`: how late Stripe delivered it.
    pub lag_s: Option<i64>,
}

pub(super) fn insert(conn: &Connection, d: &Delivery) -> Result<()> {
    let mut st = conn.prepare_cached(
        "INSERT INTO deliveries (at, outcome, reason, event_id, event_type, body_bytes, latency_us, lag_s) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    st.execute(params![
        d.at,
        d.outcome.as_str(),
        d.reason,
        d.event_id,
        d.event_type,
        d.body_bytes,
        d.latency_us,
        d.lag_s
    ])?;
    Ok(())
}

/// Counts of deliveries in a time window, from the durable log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryCounts {
    /// Rows per outcome.
    pub by_outcome: Vec<(DeliveryOutcome, u64)>,
    /// Rejected and failed rows per reason code.
    pub by_reason: Vec<(String, u64)>,
    /// All rows.
    pub total: u64,
}

impl DeliveryCounts {
    /// Rows with `outcome`.
    pub fn count(&self, outcome: DeliveryOutcome) -> u64 {
        self.by_outcome
            .iter()
            .find(|(o, _)| *o == outcome)
            .map_or(0, |(_, n)| *n)
    }
}

impl Store {
    /// Appends a delivery-log row in its own transaction (rejections: logged at once).
    pub fn log_delivery_now(&mut self, d: &Delivery) -> Result<()> {
        self.write(|tx| super::StoreTx::log_delivery(tx, d))
    }

    /// Counts deliveries with `at >= since`.
    ///
    /// The log has no index on `at` (one page less per webhook): rows are appended in time
    /// order, so the window is found by walking back from the newest row to the first one
    /// before `since`. Cost: the rows in the window.
    pub fn delivery_counts(&self, since: i64) -> Result<DeliveryCounts> {
        let conn = self.conn();
        let mut out = DeliveryCounts::default();
        let mut st = conn.prepare_cached(
            "SELECT outcome, count(*) FROM deliveries WHERE id > coalesce((SELECT id FROM deliveries \
             WHERE at < ?1 ORDER BY id DESC LIMIT 1), 0) GROUP BY outcome",
        )?;
        let rows = st.query_map([since], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (o, n) = row?;
            if let Some(o) = DeliveryOutcome::parse(&o) {
                out.by_outcome.push((o, n as u64));
                out.total += n as u64;
            }
        }
        out.by_outcome.sort();
        let mut st = conn.prepare_cached(
            "SELECT reason, count(*) FROM deliveries WHERE id > coalesce((SELECT id FROM deliveries \
             WHERE at < ?1 ORDER BY id DESC LIMIT 1), 0) AND reason IS NOT NULL GROUP BY reason ORDER BY reason",
        )?;
        let rows = st.query_map([since], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        out.by_reason = rows.collect::<rusqlite::Result<_>>()?;
        Ok(out)
    }

    /// The most recent delivery-log rows, newest first.
    pub fn recent_deliveries(&self, limit: u32) -> Result<Vec<Delivery>> {
        let mut st = self.conn().prepare_cached(
            "SELECT at, outcome, reason, event_id, event_type, body_bytes, latency_us, lag_s FROM deliveries \
             ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = st.query_map([limit], |r| {
            let outcome: String = r.get(1)?;
            let reason: Option<String> = r.get(2)?;
            Ok(Delivery {
                at: r.get(0)?,
                outcome: DeliveryOutcome::parse(&outcome).unwrap_or(DeliveryOutcome::Failed),
                reason: reason.and_then(|s| {
                    crate::ErrorCode::ALL
                        .iter()
                        .find(|c| c.as_str() == s)
                        .map(|c| c.as_str())
                }),
                event_id: r.get(3)?,
                event_type: r.get(4)?,
                body_bytes: r.get(5)?,
                latency_us: r.get(6)?,
                lag_s: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
