//! What the store's own history says about deliveries: when authentic ones arrived (for the
//! `deliveries_stopped` alert and `tollbooth doctor`) and which mode the stored events are in.
//! Every read here is bounded by a row limit, so its cost never grows with traffic.

use super::Store;
use crate::error::Result;

/// The newest authentic delivery times from a bounded scan of the delivery log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthenticTimes {
    /// `at` of each authentic delivery (every outcome but `rejected`: its signature verified),
    /// newest first.
    pub times: Vec<i64>,
    /// The scan stopped at its row limit: older history exists that was not read.
    pub truncated: bool,
}

/// Live and test events among the newest stored events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LivemodeCounts {
    /// Live-mode events.
    pub live: u64,
    /// Test-mode events.
    pub test: u64,
}

impl Store {
    /// Reads at most `scan` of the newest delivery-log rows and returns the authentic ones'
    /// times. Rows are appended in time order, so the newest rows are the recent history.
    pub fn authentic_delivery_times(&self, scan: u32) -> Result<AuthenticTimes> {
        let mut st = self
            .conn()
            .prepare_cached("SELECT at, outcome FROM deliveries ORDER BY id DESC LIMIT ?1")?;
        let mut read = 0u32;
        let mut times = Vec::new();
        let mut rows = st.query([scan])?;
        while let Some(r) = rows.next()? {
            read += 1;
            let outcome: String = r.get(1)?;
            if outcome != "rejected" {
                times.push(r.get(0)?);
            }
        }
        Ok(AuthenticTimes {
            times,
            truncated: read >= scan,
        })
    }

    /// Counts live and test events among the newest `limit` stored events.
    pub fn livemode_counts(&self, limit: u32) -> Result<LivemodeCounts> {
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
