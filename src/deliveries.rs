//! The delivery log: one row per `handle_webhook` call, accepted or rejected. It is what makes
//! the failure rate right across processes and restarts. It never holds a secret or the body
//! of a rejected call: only time, outcome, reason code, size and latency. These are its
//! types; each store writes and reads the rows.

use serde::Serialize;

use crate::error::{Error, ErrorCode, Result};

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
    /// Authentic, but it does not normalize (or is of the other livemode): stored raw with
    /// its code and acknowledged, for `reprocess` after an upgrade.
    Quarantined,
    /// Refused before storing (signature, size): not an authentic delivery (HTTP 400).
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
            DeliveryOutcome::Quarantined => "quarantined",
            DeliveryOutcome::Rejected => "rejected",
            DeliveryOutcome::Failed => "failed",
        }
    }

    /// Every outcome.
    pub const ALL: [DeliveryOutcome; 7] = [
        DeliveryOutcome::Processed,
        DeliveryOutcome::Duplicate,
        DeliveryOutcome::Ignored,
        DeliveryOutcome::Stale,
        DeliveryOutcome::Quarantined,
        DeliveryOutcome::Rejected,
        DeliveryOutcome::Failed,
    ];

    /// Parses [`DeliveryOutcome::as_str`]; an unknown name is a corrupt row
    /// (`STORE_CORRUPT`), never silently some other outcome.
    pub fn parse(s: &str) -> Result<DeliveryOutcome> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::StoreCorrupt,
                    format!("unknown delivery outcome {s:?}"),
                )
            })
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
    /// Which configured secret verified it (see `Handled::secret_index`).
    pub secret_index: Option<u32>,
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
    /// Adds `n` deliveries of `outcome` (and of `reason`, when not empty).
    pub fn add(&mut self, outcome: DeliveryOutcome, reason: &str, n: u64) {
        match self.by_outcome.iter_mut().find(|(o, _)| *o == outcome) {
            Some((_, c)) => *c += n,
            None => {
                self.by_outcome.push((outcome, n));
                self.by_outcome.sort();
            }
        }
        if !reason.is_empty() {
            match self.by_reason.iter_mut().find(|(r, _)| r == reason) {
                Some((_, c)) => *c += n,
                None => {
                    self.by_reason.push((reason.to_owned(), n));
                    self.by_reason.sort();
                }
            }
        }
        self.total += n;
    }

    /// Rows with `outcome`.
    pub fn count(&self, outcome: DeliveryOutcome) -> u64 {
        self.by_outcome
            .iter()
            .find(|(o, _)| *o == outcome)
            .map_or(0, |(_, n)| *n)
    }
}

/// The newest authentic delivery times from a bounded scan of the delivery log (for the
/// `deliveries_stopped` alert).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthenticTimes {
    /// `at` of each authentic delivery (every outcome but `rejected`: its signature verified),
    /// newest first.
    pub times: Vec<i64>,
    /// The scan stopped at its row limit: older history exists that was not read.
    pub truncated: bool,
}

impl AuthenticTimes {
    /// From delivery-log rows read newest first with a row limit of `scan`.
    pub fn from_rows(rows: &[Delivery], scan: u32) -> AuthenticTimes {
        AuthenticTimes {
            times: rows
                .iter()
                .filter(|d| d.outcome != DeliveryOutcome::Rejected)
                .map(|d| d.at)
                .collect(),
            truncated: rows.len() >= scan as usize,
        }
    }
}

/// Requests that were not authentic deliveries, counted instead of logged one by one, so a
/// flood of junk costs a counter increment per request and about one small write a second,
/// never a row per request. The first rejection of each code in each minute is kept whole as
/// a sample for diagnosis; the rest only count.
#[derive(Debug, Default)]
pub struct RejectionTally {
    /// `(minute, code)` -> rejections beyond the sample.
    counts: std::collections::BTreeMap<(i64, &'static str), u64>,
    /// `(minute, code)` pairs already sampled (kept for the current and previous minute).
    sampled: std::collections::BTreeSet<(i64, &'static str)>,
    /// Whole rows to log, at most one per `(minute, code)`.
    samples: Vec<Delivery>,
    /// When the oldest pending rejection arrived.
    oldest: Option<i64>,
    /// Pending rejections (samples included).
    pending: u64,
}

/// A batch of rejections to write: the sample rows and the other counts per minute and code.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RejectionBatch {
    /// Rows to log whole (each also counts once).
    pub samples: Vec<Delivery>,
    /// `(minute, code, count)` for the rest.
    pub counts: Vec<(i64, &'static str, u64)>,
}

/// A tally flushes when its oldest rejection is this old (seconds)...
pub const REJECTION_FLUSH_SECS: i64 = 1;
/// ...or when this many are pending.
pub const REJECTION_FLUSH_COUNT: u64 = 10_000;

impl RejectionTally {
    /// Counts one rejected request (`d.outcome` is [`DeliveryOutcome::Rejected`]).
    pub fn add(&mut self, d: Delivery) {
        let key = (d.at.div_euclid(60), d.reason.unwrap_or(""));
        self.oldest = Some(self.oldest.map_or(d.at, |o| o.min(d.at)));
        self.pending += 1;
        if self.sampled.insert(key) {
            self.samples.push(d);
        } else {
            *self.counts.entry(key).or_default() += 1;
        }
    }

    /// Whether the pending rejections should be written now.
    pub fn due(&self, now: i64) -> bool {
        self.pending >= REJECTION_FLUSH_COUNT
            || self
                .oldest
                .is_some_and(|o| now.saturating_sub(o) >= REJECTION_FLUSH_SECS)
    }

    /// Takes the pending batch (empty when nothing is pending). Forgets samples of minutes
    /// before the one previous to `now`'s, so the tally's memory stays bounded (`i64::MIN`
    /// forgets nothing).
    pub fn take(&mut self, now: i64) -> RejectionBatch {
        let minute = now.div_euclid(60);
        self.sampled.retain(|(m, _)| *m >= minute.saturating_sub(1));
        self.oldest = None;
        self.pending = 0;
        RejectionBatch {
            samples: std::mem::take(&mut self.samples),
            counts: std::mem::take(&mut self.counts)
                .into_iter()
                .map(|((m, code), n)| (m, code, n))
                .collect(),
        }
    }

    /// Puts a batch that could not be written back, to go with the next one.
    pub fn restore(&mut self, batch: RejectionBatch) {
        for d in &batch.samples {
            self.oldest = Some(self.oldest.map_or(d.at, |o| o.min(d.at)));
        }
        self.pending += batch.samples.len() as u64;
        self.samples.extend(batch.samples);
        for (m, code, n) in batch.counts {
            *self.counts.entry((m, code)).or_default() += n;
            self.pending += n;
            self.oldest = Some(self.oldest.map_or(m * 60, |o| o.min(m * 60)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(at: i64, code: &'static str) -> Delivery {
        Delivery {
            at,
            outcome: DeliveryOutcome::Rejected,
            reason: Some(code),
            event_id: None,
            event_type: None,
            body_bytes: 10,
            latency_us: 1,
            lag_s: None,
            secret_index: None,
        }
    }

    #[test]
    fn a_flood_is_one_sample_per_minute_and_code_plus_counts() {
        let mut t = RejectionTally::default();
        for i in 0..100_000 {
            t.add(rejected(120 + i % 60, "SIGNATURE_MISMATCH"));
        }
        t.add(rejected(130, "SIGNATURE_HEADER_MISSING"));
        assert!(t.due(130), "10,000 pending");
        let b = t.take(179);
        assert_eq!(b.samples.len(), 2);
        assert_eq!(
            b.counts,
            vec![(2, "SIGNATURE_MISMATCH", 99_999)],
            "the rest only counts"
        );
        assert_eq!(t.take(179), RejectionBatch::default());
        // The same minute again: already sampled, only counted.
        t.add(rejected(150, "SIGNATURE_MISMATCH"));
        assert!(!t.due(150) && t.due(151));
        assert_eq!(t.take(151).samples.len(), 0);
        // Two minutes later the sample set has moved on: bounded memory.
        t.add(rejected(400, "SIGNATURE_MISMATCH"));
        assert_eq!(t.take(400).samples.len(), 1);
        assert!(t.sampled.len() <= 2);
    }

    #[test]
    fn a_batch_that_failed_to_write_goes_with_the_next() {
        let mut t = RejectionTally::default();
        t.add(rejected(60, "SIGNATURE_MISMATCH"));
        t.add(rejected(61, "SIGNATURE_MISMATCH"));
        let b = t.take(62);
        t.restore(b);
        t.add(rejected(63, "SIGNATURE_MISMATCH"));
        assert!(t.due(63));
        let b = t.take(63);
        assert_eq!(b.samples.len(), 1);
        assert_eq!(b.counts, vec![(1, "SIGNATURE_MISMATCH", 2)]);
    }
}
