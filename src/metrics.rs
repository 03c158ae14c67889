//! In-process counters and histograms, fed by the engine. No global registry: each engine
//! owns one `Metrics`, so tests and several engines in one process never share numbers.
//! Figures that must be right across processes and restarts (the failure rate) come from the
//! durable delivery log instead; see `Engine::metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

use crate::deliveries::{Delivery, DeliveryOutcome};

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
    /// Verified deliveries per index of the secret that verified them: while rotating, the
    /// old secret (index 0) can go once its count stops growing.
    pub verified_by_secret: BTreeMap<u32, u64>,
    /// Handler latency, microseconds.
    pub latency_us: Histogram,
    /// `received - event.created` for accepted events, seconds.
    pub lag_s: Histogram,
    /// Buffered delivery-log rows (duplicates, failed writes) kept only as counts because the
    /// store stayed busy past the buffer's bound (read from the store at report time).
    pub log_rows_folded: u64,
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
        if let (Some(r), DeliveryOutcome::Rejected | DeliveryOutcome::Failed) =
            (d.reason, d.outcome)
        {
            *c.rejections.entry(r).or_default() += 1;
        }
        if let Some(i) = d.secret_index {
            *c.verified_by_secret.entry(i).or_default() += 1;
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

/// Escapes a Prometheus label value.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
}

fn histogram(out: &mut String, name: &str, help: &str, h: &Histogram, bounds: &[u64], scale: f64) {
    header(out, name, "histogram", help);
    let mut cumulative = 0;
    for (i, b) in bounds.iter().enumerate() {
        cumulative += h.counts.get(i).copied().unwrap_or(0);
        out.push_str(&format!(
            "{name}_bucket{{le=\"{}\"}} {cumulative}\n",
            *b as f64 / scale
        ));
    }
    out.push_str(&format!("{name}_bucket{{le=\"+Inf\"}} {}\n", h.count));
    out.push_str(&format!(
        "{name}_sum {}\n{name}_count {}\n",
        h.sum as f64 / scale,
        h.count
    ));
}

/// Renders a report as Prometheus text exposition (version 0.0.4): this process's counters,
/// the window's figures (all processes), the queue, the firing alerts.
pub fn prometheus_text(
    r: &crate::engine::MetricsReport,
    firing: &[crate::engine::Alert],
) -> String {
    let mut o = String::with_capacity(4096);
    process_counters(&mut o, &r.process);
    window_gauges(&mut o, r);
    queue_figures(&mut o, &r.queue);
    header(
        &mut o,
        "tollbooth_alert_firing",
        "gauge",
        "1 for each firing alert.",
    );
    for a in firing {
        o.push_str(&format!(
            "tollbooth_alert_firing{{alert=\"{}\",kind=\"{}\"}} 1\n",
            a.name,
            label(a.kind.as_deref().unwrap_or(""))
        ));
    }
    o
}

/// A metric with one sample and no labels.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    header(out, name, kind, help);
    out.push_str(&format!("{name} {value}\n"));
}

/// A metric with one label: its header, then one sample per `(label value, figure)`.
fn by_label<V: std::fmt::Display, N: std::fmt::Display>(
    out: &mut String,
    (name, kind, help): (&str, &str, &str),
    key: &str,
    samples: impl IntoIterator<Item = (V, N)>,
) {
    header(out, name, kind, help);
    for (v, n) in samples {
        let v = label(&v.to_string());
        out.push_str(&format!("{name}{{{key}=\"{v}\"}} {n}\n"));
    }
}

/// This process's counters and histograms since the engine opened.
fn process_counters(o: &mut String, c: &Counters) {
    by_label(
        o,
        (
            "tollbooth_deliveries_total",
            "counter",
            "Webhook deliveries handled by this process, by outcome.",
        ),
        "outcome",
        DeliveryOutcome::ALL.iter().map(|outcome| {
            let n = c.deliveries.get(outcome.as_str()).copied().unwrap_or(0);
            (outcome.as_str(), n)
        }),
    );
    by_label(
        o,
        (
            "tollbooth_rejections_total",
            "counter",
            "Rejected or failed deliveries by this process, by error code.",
        ),
        "reason",
        &c.rejections,
    );
    by_label(
        o,
        (
            "tollbooth_verified_deliveries_total",
            "counter",
            "Deliveries by this process verified by each configured secret (its index), for rotation.",
        ),
        "secret_index",
        &c.verified_by_secret,
    );
    single(
        o,
        "tollbooth_delivery_log_rows_folded_total",
        "counter",
        "Buffered delivery-log rows kept only as counts because the store stayed busy.",
        c.log_rows_folded,
    );
    histogram(
        o,
        "tollbooth_handler_latency_seconds",
        "Time spent in handle_webhook.",
        &c.latency_us,
        LATENCY_BUCKETS_US,
        1e6,
    );
    histogram(
        o,
        "tollbooth_event_lag_seconds",
        "Delay from event.created to processing.",
        &c.lag_s,
        LAG_BUCKETS_S,
        1.0,
    );
}

/// Figures of the alert window and the store, from every process.
fn window_gauges(o: &mut String, r: &crate::engine::MetricsReport) {
    by_label(
        o,
        (
            "tollbooth_window_deliveries",
            "gauge",
            "Deliveries in the alert window (all processes), by outcome.",
        ),
        "outcome",
        DeliveryOutcome::ALL
            .iter()
            .map(|&outcome| (outcome.as_str(), r.window.count(outcome))),
    );
    single(
        o,
        "tollbooth_quarantined_events",
        "gauge",
        "Authentic events stored but not yet readable (all processes); reprocess after an upgrade.",
        r.quarantined_events,
    );
    single(
        o,
        "tollbooth_webhook_failure_rate",
        "gauge",
        "Share of deliveries rejected or failed in the alert window.",
        r.failure_rate,
    );
    let name = "tollbooth_last_authentic_delivery_age_seconds";
    header(
        o,
        name,
        "gauge",
        "Seconds since the newest authentic (signature-verified) delivery, all processes.",
    );
    if let Some(s) = r.activity.silent_secs {
        o.push_str(&format!("{name} {s}\n"));
    }
    single(
        o,
        "tollbooth_crm_sync_failures_window",
        "gauge",
        "Failed CRM sync attempts in the alert window.",
        r.crm_sync_failures_window,
    );
}

/// Jobs by kind and state, failed attempts and the oldest due job's age.
fn queue_figures(o: &mut String, queue: &[crate::outbox::KindStats]) {
    header(o, "tollbooth_jobs", "gauge", "Jobs by kind and state.");
    for k in queue {
        for (state, n) in [
            ("due", k.due),
            ("leased", k.leased),
            ("done", k.done),
            ("dead", k.dead),
        ] {
            o.push_str(&format!(
                "tollbooth_jobs{{kind=\"{}\",state=\"{state}\"}} {n}\n",
                label(&k.kind)
            ));
        }
    }
    by_label(
        o,
        (
            "tollbooth_job_failed_attempts_total",
            "counter",
            "Failed job attempts, by kind.",
        ),
        "kind",
        queue.iter().map(|k| (&k.kind, k.failed_attempts)),
    );
    by_label(
        o,
        (
            "tollbooth_queue_oldest_due_age_seconds",
            "gauge",
            "Age of the oldest job due now, by kind.",
        ),
        "kind",
        queue
            .iter()
            .map(|k| (&k.kind, k.oldest_due_age_s.unwrap_or(0))),
    );
}
