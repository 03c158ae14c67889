//! Stored events as operators list them (without their bodies).

use serde::Serialize;

/// A stored raw event, without its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRow {
    /// Event id.
    pub id: String,
    /// Event type.
    pub event_type: String,
    /// `event.created`.
    pub created: i64,
    /// processed | ignored | stale | quarantined.
    pub outcome: String,
    /// For a quarantined event, the code that stopped it (e.g. `EVENT_FIELD_MISSING`).
    pub error_code: Option<String>,
    /// The customer it concerns.
    pub customer_id: Option<String>,
    /// `data.object.id`.
    pub object_id: Option<String>,
    /// When it was received.
    pub received_at: i64,
}

/// Filter for listing events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this type.
    pub event_type: Option<String>,
    /// Only this outcome.
    pub outcome: Option<String>,
    /// Only this customer.
    pub customer_id: Option<String>,
    /// `created >= since`.
    pub since: Option<i64>,
    /// `created < until`.
    pub until: Option<i64>,
    /// At most this many (default 100).
    pub limit: Option<u32>,
}

/// Live and test events among the newest stored events (`tollbooth doctor`'s livemode check).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LivemodeCounts {
    /// Live-mode events.
    pub live: u64,
    /// Test-mode events.
    pub test: u64,
}
