//! What the store's own history says about deliveries: when authentic ones arrived (for the
//! `deliveries_stopped` alert) and which mode the stored events are in (`tollbooth doctor`).
//! Every read here is bounded by a row limit, so its cost never grows with traffic.

use super::SqliteDb;
use crate::deliveries::AuthenticTimes;
use crate::error::Result;
use crate::event::LivemodeCounts;

impl SqliteDb {
    /// Reads at most `scan` of the newest delivery-log rows (two columns only) and returns the
    /// authentic ones' times. Rows are appended in time order, so the newest rows are the
    /// recent history.
    pub(crate) fn authentic_delivery_times(&self, scan: u32) -> Result<AuthenticTimes> {
        let mut st = self
            .conn()
            .prepare_cached("SELECT at, outcome FROM deliveries ORDER BY id DESC LIMIT ?1")?;
        let mut read = 0u32;
        let mut times = Vec::new();
        let mut rows = st.query([scan])?;
        while let Some(r) = rows.next()? {
            read += 1;
            if r.get_ref(1)?.as_str().ok() != Some("rejected") {
                times.push(r.get(0)?);
            }
        }
        Ok(AuthenticTimes {
            times,
            truncated: read >= scan,
        })
    }

    /// Counts live and test events among the newest `limit` stored events.
    pub(crate) fn livemode_counts(&self, limit: u32) -> Result<LivemodeCounts> {
        let mut st = self.conn().prepare_cached(
            "SELECT coalesce(sum(livemode != 0), 0), coalesce(sum(livemode = 0), 0) \
             FROM (SELECT livemode FROM events ORDER BY rowid DESC LIMIT ?1)",
        )?;
        Ok(st.query_row([limit], |r| {
            Ok(LivemodeCounts {
                live: r.get::<_, i64>(0)? as u64,
                test: r.get::<_, i64>(1)? as u64,
            })
        })?)
    }
}
