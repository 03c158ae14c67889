//! Metrics, Prometheus text and health alerts for the engine. The in-process counters
//! (latency, lag, outcomes since start) come from [`crate::metrics::Metrics`]; everything an
//! alert depends on comes from the durable tables, so every process sees the same numbers.

use serde::Serialize;

use super::Engine;
use super::silence::{self, DeliveryActivity, SilenceRule};
use crate::deliveries::{DeliveryCounts, DeliveryOutcome};
use crate::error::{Error, ErrorCode, Result};
use crate::metrics::{self, Counters, LATENCY_BUCKETS_US};
use crate::outbox::KindStats;
use crate::outbox::kinds;

/// Alert thresholds. Defaults follow the seed's monitoring: alert above 1 % webhook failures
/// over 15 minutes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertThresholds {
    /// Sliding window for rates, seconds (default 900).
    pub window_secs: i64,
    /// Failure rate of authentic deliveries (failed on our side over all authentic ones)
    /// that fires `webhook_failure_rate` (default 0.01).
    pub failure_rate: f64,
    /// Fewer authentic deliveries than this in the window never fire the rate alert (default
    /// 20), so one failure on a quiet night does not page anyone.
    pub min_deliveries: u64,
    /// Requests that were not authentic deliveries (bad or missing signature, stale
    /// timestamp, oversized) in the window that fire `unauthenticated_requests` (default 100):
    /// a rotated secret not yet configured, or someone probing the endpoint. A handful of
    /// junk requests fires nothing.
    pub unauthenticated: u64,
    /// A due job older than this fires `queue_stalled` (default 3600 s).
    pub oldest_due_secs: i64,
    /// Backlog depth (due now) above which a growing queue fires `queue_backlog_growing` (default 100).
    pub backlog_depth: u64,
    /// CRM sync failed attempts in the window that fire `crm_sync_failing` (default 5).
    pub crm_failures: u64,
    /// Expired leases of one kind in the window that fire `leases_expiring` (default 3).
    pub lease_expiries: u64,
    /// No authentic delivery for longer than this fires `deliveries_stopped`, when the
    /// history says deliveries were regular (default 21600 s, 6 h: Stripe retries for three
    /// days, so there is time to fix the route and let the retries land).
    pub silence_secs: i64,
    /// How far back `deliveries_stopped` looks for regular deliveries (default 7 days).
    pub silence_history_secs: i64,
    /// Share of the history's silence-long periods that must have had a delivery (default 0.9).
    pub silence_regular_share: f64,
    /// Fewest silence-long periods of history before the alert can fire (default 4).
    pub silence_min_periods: u32,
}

impl AlertThresholds {
    /// The `deliveries_stopped` rule these thresholds describe.
    pub fn silence_rule(&self) -> SilenceRule {
        SilenceRule {
            silence_secs: self.silence_secs,
            history_secs: self.silence_history_secs,
            regular_share: self.silence_regular_share,
            min_periods: self.silence_min_periods,
        }
    }
}

impl Default for AlertThresholds {
    fn default() -> Self {
        AlertThresholds {
            window_secs: 900,
            failure_rate: 0.01,
            min_deliveries: 20,
            unauthenticated: 100,
            oldest_due_secs: 3600,
            backlog_depth: 100,
            crm_failures: 5,
            lease_expiries: 3,
            silence_secs: 6 * 3600,
            silence_history_secs: 7 * 86_400,
            silence_regular_share: 0.9,
            silence_min_periods: 4,
        }
    }
}

/// Latency quantiles (upper bucket bounds), microseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LatencySummary {
    /// Median.
    pub p50_us: Option<u64>,
    /// 95th percentile.
    pub p95_us: Option<u64>,
    /// 99th percentile.
    pub p99_us: Option<u64>,
}

/// Everything the operator screen and `/api/metrics` show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsReport {
    /// When it was computed.
    pub generated_at: i64,
    /// In-process counters since this engine opened.
    pub process: Counters,
    /// Handler latency quantiles (this process).
    pub latency: LatencySummary,
    /// Window length, seconds.
    pub window_secs: i64,
    /// Deliveries in the window, from the durable log (all processes).
    pub window: DeliveryCounts,
    /// Failed / authentic deliveries in the window (requests that were not authentic
    /// deliveries do not count: they have their own figure and alert).
    pub failure_rate: f64,
    /// Authentic deliveries that failed on our side in the window (Stripe retries them).
    pub ingest_errors_window: u64,
    /// Requests in the window that were not authentic deliveries.
    pub unauthenticated_window: u64,
    /// CRM sync failed attempts in the window, apart from ingest errors.
    pub crm_sync_failures_window: u64,
    /// Per-kind queue figures.
    pub queue: Vec<KindStats>,
    /// Dead jobs, all kinds.
    pub dead_jobs: u64,
    /// Stored events waiting in quarantine (authentic, not yet readable).
    pub quarantined_events: u64,
    /// When authentic deliveries last arrived and whether they were regular before.
    pub activity: DeliveryActivity,
}

/// A firing alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Stable name (`webhook_failure_rate`, `deliveries_stopped`, `queue_backlog_growing`,
    /// `dead_letter`, `queue_stalled`, `crm_sync_failing`, `quarantined_events`,
    /// `unauthenticated_requests`, `leases_expiring`).
    pub name: &'static str,
    /// `critical` or `warning`.
    pub severity: &'static str,
    /// What is wrong, with the numbers.
    pub message: String,
    /// The job kind concerned, if any.
    pub kind: Option<String>,
}

/// The health answer: ok when no alert fires.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    /// No alert firing.
    pub ok: bool,
    /// Firing alerts.
    pub alerts: Vec<Alert>,
    /// The figures they were computed from.
    pub failure_rate: f64,
    /// Authentic deliveries in the window.
    pub deliveries_window: u64,
}

/// Pure: the alerts a report fires under `t`, deliveries first, then each queue's, then
/// quarantine and CRM sync.
pub fn alerts(r: &MetricsReport, t: &AlertThresholds) -> Vec<Alert> {
    let mut out: Vec<Alert> = [
        failure_rate_alert(r, t),
        silence_alert(&r.activity, t),
        unauthenticated_alert(r, t),
    ]
    .into_iter()
    .flatten()
    .collect();
    for k in &r.queue {
        out.extend(queue_alerts(k, t));
    }
    out.extend([quarantine_alert(r), crm_alert(r, t)].into_iter().flatten());
    out
}

/// Too large a share of authentic deliveries failed (given enough of them to judge).
fn failure_rate_alert(r: &MetricsReport, t: &AlertThresholds) -> Option<Alert> {
    let authentic = r.window.total - r.unauthenticated_window;
    if authentic < t.min_deliveries || r.failure_rate <= t.failure_rate {
        return None;
    }
    Some(Alert {
        name: "webhook_failure_rate",
        severity: "critical",
        message: format!(
            "{:.2}% of {authentic} authentic webhook deliveries failed in the last {} min (threshold {:.2}%)",
            r.failure_rate * 100.0,
            r.window_secs / 60,
            t.failure_rate * 100.0
        ),
        kind: None,
    })
}

/// Authentic deliveries stopped arriving where they usually do ([`silence`]).
fn silence_alert(a: &DeliveryActivity, t: &AlertThresholds) -> Option<Alert> {
    if !silence::deliveries_stopped(a, &t.silence_rule()) {
        return None;
    }
    let (last, silent) = (a.last_authentic_at?, a.silent_secs?);
    Some(Alert {
        name: "deliveries_stopped",
        severity: "critical",
        message: format!(
            "no authentic webhook delivery for {} (last at unix {last}); before that, deliveries \
             arrived in {} of {} {}-period(s). Run `tollbooth doctor --url <your webhook URL>`, \
             then catch up on what was missed",
            span(silent),
            a.active_periods,
            a.history_periods,
            span(t.silence_secs)
        ),
        kind: None,
    })
}

/// Many requests that were not authentic deliveries.
fn unauthenticated_alert(r: &MetricsReport, t: &AlertThresholds) -> Option<Alert> {
    (r.unauthenticated_window >= t.unauthenticated).then(|| Alert {
        name: "unauthenticated_requests",
        severity: "warning",
        message: format!(
            "{} requests in the last {} min were not authentic deliveries (threshold {}): a rotated secret not yet configured, or someone probing the endpoint",
            r.unauthenticated_window,
            r.window_secs / 60,
            t.unauthenticated
        ),
        kind: None,
    })
}

/// One queue's alerts: dead letters, a stalled head, expiring leases, a growing backlog.
fn queue_alerts(k: &KindStats, t: &AlertThresholds) -> Vec<Alert> {
    let alert = |name, severity, message| Alert {
        name,
        severity,
        message,
        kind: Some(k.kind.clone()),
    };
    let mut out = Vec::new();
    if k.dead > 0 {
        let message = format!("{} {} job(s) in dead-letter", k.dead, k.kind);
        out.push(alert("dead_letter", "warning", message));
    }
    if let Some(age) = k.oldest_due_age_s.filter(|a| *a > t.oldest_due_secs) {
        let message = format!(
            "oldest due {} job has waited {age} s (threshold {} s)",
            k.kind, t.oldest_due_secs
        );
        out.push(alert("queue_stalled", "critical", message));
    }
    if k.lease_expired_window >= t.lease_expiries {
        let message = format!(
            "{} {} lease(s) expired in the window: workers crash or hang on these jobs (latest: job {}); they retry with backoff and are dead-lettered after max_attempts",
            k.lease_expired_window,
            k.kind,
            k.lease_expired_job
                .map_or("?".to_owned(), |j| j.to_string())
        );
        out.push(alert("leases_expiring", "warning", message));
    }
    if k.due_now > t.backlog_depth && k.enqueued_window > k.finished_window {
        let message = format!(
            "{} {} jobs due; {} enqueued vs {} finished in the window",
            k.due_now, k.kind, k.enqueued_window, k.finished_window
        );
        out.push(alert("queue_backlog_growing", "warning", message));
    }
    out
}

/// Authentic events wait in quarantine.
fn quarantine_alert(r: &MetricsReport) -> Option<Alert> {
    (r.quarantined_events > 0).then(|| Alert {
        name: "quarantined_events",
        severity: "warning",
        message: format!(
            "{} authentic event(s) could not be read and wait in quarantine: upgrade tollbooth, then `tollbooth reprocess --quarantined`",
            r.quarantined_events
        ),
        kind: None,
    })
}

/// CRM sync attempts keep failing.
fn crm_alert(r: &MetricsReport, t: &AlertThresholds) -> Option<Alert> {
    (r.crm_sync_failures_window >= t.crm_failures).then(|| Alert {
        name: "crm_sync_failing",
        severity: "warning",
        message: format!(
            "{} CRM sync attempts failed in the window (ingest is unaffected: {} webhook errors)",
            r.crm_sync_failures_window, r.ingest_errors_window
        ),
        kind: Some(kinds::CRM_SYNC_CUSTOMER.to_owned()),
    })
}

/// `45 s`, `12 min`, `7 h`, `3 d`.
fn span(secs: i64) -> String {
    if secs < 120 {
        format!("{secs} s")
    } else if secs < 7200 {
        format!("{} min", secs / 60)
    } else if secs < 172_800 {
        format!("{} h", secs / 3600)
    } else {
        format!("{} d", secs / 86_400)
    }
}

fn json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::new(ErrorCode::InvalidArgument, e.to_string()))
}

impl Engine {
    /// Computes the metrics report at `now`. Flushes buffered delivery-log rows first so the
    /// window is exact.
    pub fn metrics(&self, now: i64) -> Result<MetricsReport> {
        let window_secs = self.config.alerts.window_secs;
        let since = now - window_secs;
        // Never waits for the write lock: a busy store answers from the counts written so
        // far (at most a second or two behind).
        let _ = self.try_flush_rejections(now);
        let (window, queue, quarantined_events, times, folded) = self.with_store(|s| {
            let _ = s.try_flush_deliveries();
            Ok((
                s.delivery_counts(since)?,
                s.queue_stats(now, since)?,
                s.quarantined_count()?,
                s.authentic_delivery_times(silence::HISTORY_SCAN_ROWS)?,
                s.delivery_rows_folded(),
            ))
        })?;
        let activity = silence::activity(
            now,
            &times.times,
            times.truncated,
            &self.config.alerts.silence_rule(),
        );
        let mut process = self.metrics.snapshot();
        process.log_rows_folded = folded;
        let unauthenticated = window.count(DeliveryOutcome::Rejected);
        let authentic = window.total - unauthenticated;
        let errors = window.count(DeliveryOutcome::Failed);
        let failure_rate = if authentic == 0 {
            0.0
        } else {
            errors as f64 / authentic as f64
        };
        let crm = queue
            .iter()
            .find(|k| k.kind == kinds::CRM_SYNC_CUSTOMER)
            .map_or(0, |k| k.failed_attempts_window);
        let q = |p| process.latency_us.quantile(LATENCY_BUCKETS_US, p);
        Ok(MetricsReport {
            generated_at: now,
            latency: LatencySummary {
                p50_us: q(0.50),
                p95_us: q(0.95),
                p99_us: q(0.99),
            },
            process,
            window_secs,
            failure_rate,
            ingest_errors_window: errors,
            unauthenticated_window: unauthenticated,
            crm_sync_failures_window: crm,
            dead_jobs: queue.iter().map(|k| k.dead).sum(),
            quarantined_events,
            queue,
            window,
            activity,
        })
    }

    /// The metrics report as JSON.
    pub fn metrics_json(&self, now: i64) -> Result<String> {
        json(&self.metrics(now)?)
    }

    /// Prometheus text exposition (format 0.0.4) for a `/api/metrics` route.
    pub fn prometheus(&self, now: i64) -> Result<String> {
        let report = self.metrics(now)?;
        let firing = alerts(&report, &self.config.alerts);
        Ok(metrics::prometheus_text(&report, &firing))
    }

    /// Firing alerts at `now`.
    pub fn health(&self, now: i64) -> Result<Health> {
        let report = self.metrics(now)?;
        let alerts = alerts(&report, &self.config.alerts);
        Ok(Health {
            ok: alerts.is_empty(),
            alerts,
            failure_rate: report.failure_rate,
            deliveries_window: report.window.total - report.unauthenticated_window,
        })
    }

    /// [`Engine::health`] as JSON.
    pub fn health_json(&self, now: i64) -> Result<String> {
        json(&self.health(now)?)
    }
}
