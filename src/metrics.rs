//! In-process counters and histograms, fed by the engine. No global registry: each engine
//! owns one `Metrics`, so tests and several engines in one process never share numbers.
//! Figures that must be right across processes and restarts (the failure rate) come from the
//! durable delivery log instead; see `Engine::metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

use crate::store::{Delivery, DeliveryOutcome};

/// Upper bounds (inclusive) of the latency histogram buckets, microseconds.
pub const LATENCY_BUCKETS_US: &[u64] = &[
    10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
    500_000, 1_000_000,
];
/// Upper bounds (inclusive) of the delivery-lag histogram buckets, seconds.
pub const LAG_BUCKETS_S: &[u64] = &[1, 5, 30, 60, 300, 900, 3_600, 21_600, 86_400, 259_200];

/// A fixed-bucket histogram (Prometheus style: cumulative on export).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Histogram {
    /// Per-bucket counts (not cumulative); the last entry counts values above every bound.
    pub counts: Vec<u64>,
    /// Sum of observed values.
    pub sum: u64,
    /// Number of observations.
    pub count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[u64], v: u64) {
        if self.counts.is_empty() {
            self.counts = vec![0; bounds.len() + 1];
        }
        let i = bounds.iter().position(|b| v <= *b).unwrap_or(bounds.len());
        self.counts[i] += 1;
        self.sum = self.sum.saturating_add(v);
        self.count += 1;
    }

    /// The bucket bound under which `q` (0..=1) of observations fall: an upper estimate.
    pub fn quantile(&self, bounds: &[u64], q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let target = ((self.count as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= target {
                return Some(bounds.get(i).copied().unwrap_or(u64::MAX));
            }
        }
        None
    }
}

/// A snapshot of the in-process counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Deliveries per outcome since the engine opened.
    pub deliveries: BTreeMap<&'static str, u64>,
    /// Rejected / failed deliveries per reason code.
    pub rejections: BTreeMap<&'static str, u64>,
    /// Handler latency, microseconds.
    pub latency_us: Histogram,
    /// `received - event.created` for accepted events, seconds.
    pub lag_s: Histogram,
}

/// The engine's in-process metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Counters>,
}

impl Metrics {
    /// Records one delivery.
    pub fn observe(&self, d: &Delivery) {
        let mut c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *c.deliveries.entry(d.outcome.as_str()).or_default() += 1;
        if let Some(r) = d.reason {
            *c.rejections.entry(r).or_default() += 1;
        }
        c.latency_us
            .observe(LATENCY_BUCKETS_US, d.latency_us.max(0) as u64);
        if let (
            Some(lag),
            DeliveryOutcome::Processed | DeliveryOutcome::Stale | DeliveryOutcome::Ignored,
        ) = (d.lag_s, d.outcome)
        {
            c.lag_s.observe(LAG_BUCKETS_S, lag.max(0) as u64);
        }
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> Counters {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
