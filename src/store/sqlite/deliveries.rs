//! The delivery log's SQL (types in [`crate::deliveries`]).

use rusqlite::{Connection, params};

use super::SqliteDb;
use crate::deliveries::{Delivery, DeliveryCounts, DeliveryOutcome};
use crate::error::Result;

/// Adds `n` to the stats row of `(minute, outcome, reason)`.
pub(super) fn count(
    conn: &Connection,
    minute: i64,
    outcome: DeliveryOutcome,
    reason: &str,
    n: u64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO delivery_stats (minute, outcome, reason, count) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (minute, outcome, reason) DO UPDATE SET count = count + excluded.count",
    )?
    .execute(params![minute, outcome.as_str(), reason, n as i64])?;
    Ok(())
}

pub(super) fn insert(conn: &Connection, d: &Delivery) -> Result<()> {
    let mut st = conn.prepare_cached(
        "INSERT INTO deliveries (at, outcome, reason, event_id, event_type, body_bytes, latency_us, lag_s, \
         secret_index) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    st.execute(params![
        d.at,
        d.outcome.as_str(),
        d.reason,
        d.event_id,
        d.event_type,
        d.body_bytes,
        d.latency_us,
        d.lag_s,
        d.secret_index
    ])?;
    count(
        conn,
        d.at.div_euclid(60),
        d.outcome,
        d.reason.unwrap_or(""),
        1,
    )
}

impl SqliteDb {
    /// Appends a delivery-log row in its own transaction (rejections: logged at once).
    pub(crate) fn log_delivery_now(&mut self, d: &Delivery) -> Result<()> {
        self.write(|tx| crate::store::StoreTx::log_delivery(tx, d))
    }

    /// Counts deliveries from the minute of `since` on, from `delivery_stats` (the primary
    /// key's range: a few rows per minute of the window, whatever the traffic).
    pub(crate) fn delivery_counts(&self, since: i64) -> Result<DeliveryCounts> {
        let mut out = DeliveryCounts::default();
        let mut st = self.conn().prepare_cached(
            "SELECT outcome, reason, sum(count) FROM delivery_stats WHERE minute >= ?1 \
             GROUP BY outcome, reason ORDER BY outcome, reason",
        )?;
        let rows = st.query_map([since.div_euclid(60)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (outcome, reason, n) = row?;
            out.add(DeliveryOutcome::parse(&outcome)?, &reason, n as u64);
        }
        Ok(out)
    }

    /// The most recent delivery-log rows, newest first.
    pub(crate) fn recent_deliveries(&self, limit: u32) -> Result<Vec<Delivery>> {
        let mut st = self.conn().prepare_cached(
            "SELECT at, outcome, reason, event_id, event_type, body_bytes, latency_us, lag_s, secret_index FROM deliveries \
             ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = st.query_map([limit], |r| {
            let outcome: String = r.get(1)?;
            let reason: Option<String> = r.get(2)?;
            Ok(Delivery {
                at: r.get(0)?,
                outcome: DeliveryOutcome::parse(&outcome).map_err(|e| super::corrupt(1, e))?,
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
                secret_index: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
