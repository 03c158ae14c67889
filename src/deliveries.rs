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

/// At most this many delivery-log rows wait in memory for a write; beyond it the oldest
/// rows keep only their counts (see [`DeliveryBuffer`]).
pub const MAX_BUFFERED_DELIVERIES: usize = 10_000;
/// A buffer asks to be flushed when it holds this many rows...
pub const BUFFER_FLUSH_ROWS: usize = 256;
/// ...or when its oldest row is this old (seconds).
pub const BUFFER_FLUSH_SECS: i64 = 1;

/// Delivery-log rows that only need logging (duplicates, a failed write's own row), held in
/// memory and written with the next write transaction (group commit), so that answering
/// them never waits for the write lock. Shared by every store.
///
/// Bounded and never silently lossy: beyond [`MAX_BUFFERED_DELIVERIES`] rows (a store that
/// keeps refusing writes) the oldest rows are folded into per-minute counts, which are
/// written to the stats with the next write, so metrics and health stay exact; only the
/// rows' detail is lost, and [`DeliveryBuffer::folded`] counts how many.
#[derive(Debug, Default)]
pub struct DeliveryBuffer {
    rows: Vec<Delivery>,
    /// `(minute, outcome, reason)` -> rows folded into counts, not yet written.
    counts: std::collections::BTreeMap<(i64, DeliveryOutcome, &'static str), u64>,
    /// Rows folded into counts since the buffer was made (a monotonic counter).
    folded: u64,
}

/// What a [`DeliveryBuffer`] hands to a write transaction.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BufferedLog {
    /// Rows to log whole.
    pub rows: Vec<Delivery>,
    /// `(minute, outcome, reason, count)` of rows that were folded into counts.
    pub counts: Vec<(i64, DeliveryOutcome, &'static str, u64)>,
}

impl BufferedLog {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.counts.is_empty()
    }
}

impl DeliveryBuffer {
    /// Adds a row; returns whether the buffer should be flushed now (it is large, or its
    /// oldest row is older than [`BUFFER_FLUSH_SECS`] at `now`).
    pub fn push(&mut self, d: Delivery, now: i64) -> bool {
        self.rows.push(d);
        self.fold_excess();
        let oldest = self.rows.first().map_or(now, |d| d.at);
        self.rows.len() >= BUFFER_FLUSH_ROWS || now.saturating_sub(oldest) >= BUFFER_FLUSH_SECS
    }

    /// Folds the oldest rows beyond [`MAX_BUFFERED_DELIVERIES`] into counts.
    fn fold_excess(&mut self) {
        let excess = self.rows.len().saturating_sub(MAX_BUFFERED_DELIVERIES);
        for d in self.rows.drain(..excess) {
            let key = (d.at.div_euclid(60), d.outcome, d.reason.unwrap_or(""));
            *self.counts.entry(key).or_default() += 1;
            self.folded += 1;
        }
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.counts.is_empty()
    }

    /// Rows whose detail was dropped (their counts were kept), since the buffer was made.
    pub fn folded(&self) -> u64 {
        self.folded
    }

    /// Takes everything waiting, for a write transaction.
    pub fn take(&mut self) -> BufferedLog {
        BufferedLog {
            rows: std::mem::take(&mut self.rows),
            counts: std::mem::take(&mut self.counts)
                .into_iter()
                .map(|((m, o, r), n)| (m, o, r, n))
                .collect(),
        }
    }

    /// Puts back what a transaction that did not commit took, in front of anything buffered
    /// meanwhile (then folds the excess, oldest first).
    pub fn restore(&mut self, log: BufferedLog) {
        let newer = std::mem::replace(&mut self.rows, log.rows);
        self.rows.extend(newer);
        for (m, o, r, n) in log.counts {
            *self.counts.entry((m, o, r)).or_default() += n;
        }
        self.fold_excess();
    }
}

/// Writes a [`BufferedLog`] in `tx`: the rows, then the folded counts.
pub fn write_buffered(tx: &mut dyn crate::store::StoreTx, log: &BufferedLog) -> Result<()> {
    for d in &log.rows {
        tx.log_delivery(d)?;
    }
    for (minute, outcome, reason, n) in &log.counts {
        tx.count_deliveries(*minute, *outcome, reason, *n)?;
    }
    Ok(())
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

    fn duplicate(at: i64) -> Delivery {
        Delivery {
            outcome: DeliveryOutcome::Duplicate,
            reason: None,
            ..rejected(at, "")
        }
    }

    #[test]
    fn a_buffer_asks_for_a_flush_when_large_or_a_second_old() {
        let mut b = DeliveryBuffer::default();
        assert!(!b.push(duplicate(100), 100));
        assert!(b.push(duplicate(100), 101), "a second old");
        let mut b = DeliveryBuffer::default();
        let due: Vec<bool> = (0..BUFFER_FLUSH_ROWS)
            .map(|_| b.push(duplicate(5), 5))
            .collect();
        assert_eq!(due.iter().filter(|d| **d).count(), 1, "only at the bound");
        assert!(due[BUFFER_FLUSH_ROWS - 1]);
    }

    #[test]
    fn an_overfull_buffer_folds_its_oldest_rows_into_counts_never_losing_one() {
        let mut b = DeliveryBuffer::default();
        let n = MAX_BUFFERED_DELIVERIES + 2_500;
        for i in 0..n {
            b.push(duplicate(i as i64 / 100), 0);
        }
        assert_eq!(b.folded(), 2_500);
        let log = b.take();
        assert_eq!(log.rows.len(), MAX_BUFFERED_DELIVERIES, "bounded");
        let counted: u64 = log.counts.iter().map(|c| c.3).sum();
        assert_eq!(
            log.rows.len() as u64 + counted,
            n as u64,
            "every row still counts"
        );
        assert!(log.counts.iter().all(|c| c.1 == DeliveryOutcome::Duplicate));
        assert_eq!(log.counts[0].0, 0, "oldest minute first");
        assert!(b.is_empty());
        // A write that failed puts everything back, ahead of newer rows; still bounded.
        b.push(duplicate(999), 999);
        b.restore(log);
        assert_eq!(b.rows.len(), MAX_BUFFERED_DELIVERIES);
        assert_eq!(
            b.rows.last().map(|d| d.at),
            Some(999),
            "the newest row kept whole"
        );
        let again = b.take();
        let counted: u64 = again.counts.iter().map(|c| c.3).sum();
        assert_eq!(again.rows.len() as u64 + counted, n as u64 + 1);
    }
}
