//! The delivery log's SQL (types in [`crate::deliveries`]).

use rusqlite::{Connection, params};

use super::SqliteDb;
use crate::deliveries::{Delivery, DeliveryCounts, DeliveryOutcome};
use crate::error::Result;

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
    Ok(())
}

impl SqliteDb {
    /// Appends a delivery-log row in its own transaction (rejections: logged at once).
    pub(crate) fn log_delivery_now(&mut self, d: &Delivery) -> Result<()> {
        self.write(|tx| crate::store::StoreTx::log_delivery(tx, d))
    }

    /// Counts deliveries with `at >= since`.
    ///
    /// The log has no index on `at` (one page less per webhook): rows are appended in time
    /// order, so the window is found by walking back from the newest row to the first one
    /// before `since`. Cost: the rows in the window.
    pub(crate) fn delivery_counts(&self, since: i64) -> Result<DeliveryCounts> {
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
            let o = DeliveryOutcome::parse(&o)?;
            out.by_outcome.push((o, n as u64));
            out.total += n as u64;
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
