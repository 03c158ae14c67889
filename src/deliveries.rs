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
