//! Metrics, Prometheus exposition and health alerts: each alert fires when its condition is
//! created and stays silent without it; the Prometheus text parses.

mod common;

use std::collections::BTreeMap;

use common::*;
use tollbooth::Engine;
use tollbooth::engine::AlertThresholds;
use tollbooth::engine::FaultPoint;
use tollbooth::verify::sign_for_test;

fn engine_with(b: &Backend, t: AlertThresholds, max_attempts: u32) -> Engine {
    let mut cfg = b.config();
    cfg.alerts = t;
    cfg.max_attempts = max_attempts;
    Engine::open(cfg).unwrap()
}

fn alert_names(e: &Engine, now: i64) -> Vec<&'static str> {
    let mut v: Vec<_> = e
        .health(now)
        .unwrap()
        .alerts
        .iter()
        .map(|a| a.name)
        .collect();
    v.dedup();
    v
}

/// `n` signed deliveries at `now`, the first `failed` of them failing on our side (an injected
/// store fault: the delivery is not acknowledged, Stripe would retry it).
fn ingest(e: &Engine, n: usize, failed: usize, now: i64) {
    for i in 0..n {
        let body = event(
            &format!("evt_o{i}"),
            "customer.updated",
            now - 10,
            customer(&format!("cus_o{i}"), "o@example.com"),
        );
        e.set_fault_point((i < failed).then_some(FaultPoint::BeforeCommit));
        let _ = e.handle_webhook_at(&body, &sign_for_test(&body, SECRET, now), now);
    }
    e.set_fault_point(None);
}

/// `n` requests that are not authentic deliveries (no valid signature).
fn junk(e: &Engine, n: usize, now: i64) {
    for i in 0..n {
        let body = format!("junk {i}");
        let header = format!("t={now},v1={}", "0".repeat(64));
        let _ = e.handle_webhook_at(body.as_bytes(), &header, now);
    }
}

#[test]
fn failure_rate_alert_fires_above_one_percent_of_authentic_deliveries() {
    for b in backends() {
        failure_rate_alert_fires_above_one_percent_of_authentic_deliveries_on(&b);
    }
}

fn failure_rate_alert_fires_above_one_percent_of_authentic_deliveries_on(b: &Backend) {
    let now = T0 + 100;
    let quiet = engine_with(b, AlertThresholds::default(), 25);
    ingest(&quiet, 30, 0, now);
    assert!(quiet.health(now).unwrap().ok);
    let small = engine_with(b, AlertThresholds::default(), 25);
    ingest(&small, 10, 1, now);
    assert!(
        !alert_names(&small, now).contains(&"webhook_failure_rate"),
        "below min_deliveries"
    );
    let bad = engine_with(b, AlertThresholds::default(), 25);
    ingest(&bad, 30, 1, now);
    let h = bad.health(now).unwrap();
    assert!(
        h.alerts.iter().any(|a| a.name == "webhook_failure_rate"),
        "{h:?}"
    );
    assert!((h.failure_rate - 1.0 / 30.0).abs() < 1e-9);
    // The window slides: 15 minutes later the failure no longer counts.
    assert!(!alert_names(&bad, now + 960).contains(&"webhook_failure_rate"));
}

#[test]
fn junk_requests_have_their_own_alert_and_never_move_the_failure_rate() {
    for b in backends() {
        junk_requests_have_their_own_alert_and_never_move_the_failure_rate_on(&b);
    }
}

fn junk_requests_have_their_own_alert_and_never_move_the_failure_rate_on(b: &Backend) {
    let now = T0 + 100;
    // A handful of junk on a quiet endpoint fires nothing (it used to page on-call).
    let quiet = engine_with(b, AlertThresholds::default(), 25);
    junk(&quiet, 20, now);
    assert!(quiet.health(now).unwrap().ok, "{:?}", quiet.health(now));
    // A flood: its own warning, and the authentic deliveries' failure rate stays 0.
    let flooded = engine_with(b, AlertThresholds::default(), 25);
    ingest(&flooded, 30, 0, now);
    junk(&flooded, 5_000, now);
    let m = flooded.metrics(now).unwrap();
    assert_eq!((m.unauthenticated_window, m.failure_rate), (5_000, 0.0));
    assert_eq!(alert_names(&flooded, now), vec!["unauthenticated_requests"]);
    // Counted, never logged one row each: one sample row per minute and code.
    let log = flooded.recent_deliveries(10_000).unwrap();
    let rejected = log
        .iter()
        .filter(|d| d.outcome == tollbooth::deliveries::DeliveryOutcome::Rejected)
        .count();
    assert_eq!(rejected, 1, "5,000 junk requests, one sample row");
    assert_eq!(
        flooded.delivery_counts(0).unwrap().by_reason,
        vec![("SIGNATURE_MISMATCH".to_owned(), 5_000)]
    );
}

fn seed_tickets(e: &Engine, n: usize, now: i64) {
    for i in 0..n {
        let body = event(
            &format!("evt_t{i}"),
            "invoice.payment_failed",
            now,
            invoice(
                &format!("in_{i}"),
                &format!("cus_{i}"),
                "sub",
                "open",
                1,
                now,
                Shape::Basil,
            ),
        );
        deliver(e, &body, now).unwrap();
    }
}

#[test]
fn dead_letter_alert() {
    for b in backends() {
        dead_letter_alert_on(&b);
    }
}

fn dead_letter_alert_on(b: &Backend) {
    let e = engine_with(b, AlertThresholds::default(), 1);
    seed_tickets(&e, 1, T0);
    assert!(!alert_names(&e, T0 + 2).contains(&"dead_letter"));
    let j = e.claim(&[], 1, 60, T0 + 2).unwrap().pop().unwrap();
    e.fail(j.id, j.lease_token, "helpdesk down", T0 + 3)
        .unwrap();
    assert!(alert_names(&e, T0 + 4).contains(&"dead_letter"));
    e.replay(j.id, T0 + 5).unwrap();
    assert!(!alert_names(&e, T0 + 6).contains(&"dead_letter"));
}

#[test]
fn stalled_queue_alert() {
    for b in backends() {
        stalled_queue_alert_on(&b);
    }
}

fn stalled_queue_alert_on(b: &Backend) {
    let e = engine_with(b, AlertThresholds::default(), 25);
    seed_tickets(&e, 1, T0);
    assert!(!alert_names(&e, T0 + 100).contains(&"queue_stalled"));
    assert!(alert_names(&e, T0 + 1 + 3_601).contains(&"queue_stalled"));
}

#[test]
fn backlog_growing_alert() {
    for b in backends() {
        backlog_growing_alert_on(&b);
    }
}

fn backlog_growing_alert_on(b: &Backend) {
    let t = AlertThresholds {
        backlog_depth: 5,
        ..AlertThresholds::default()
    };
    let e = engine_with(b, t, 25);
    seed_tickets(&e, 4, T0);
    assert!(!alert_names(&e, T0 + 10).contains(&"queue_backlog_growing"));
    let e2 = engine_with(b, t, 25);
    seed_tickets(&e2, 10, T0);
    assert!(alert_names(&e2, T0 + 10).contains(&"queue_backlog_growing"));
}

#[test]
fn crm_failures_are_reported_apart_from_ingest_errors() {
    for b in backends() {
        crm_failures_are_reported_apart_from_ingest_errors_on(&b);
    }
}

fn crm_failures_are_reported_apart_from_ingest_errors_on(b: &Backend) {
    let t = AlertThresholds {
        crm_failures: 2,
        ..AlertThresholds::default()
    };
    let e = engine_with(b, t, 25);
    deliver(
        &e,
        &event(
            "evt_crm",
            "customer.created",
            T0,
            customer("cus_crm", "c@example.com"),
        ),
        T0,
    )
    .unwrap();
    let mut now = T0 + 10;
    for _ in 0..2 {
        let j = e
            .claim(&["crm.sync_customer"], 1, 60, now)
            .unwrap()
            .pop()
            .unwrap();
        let out = e.fail(j.id, j.lease_token, "CRM 500", now).unwrap();
        if let tollbooth::FailOutcome::Scheduled { next_attempt_at } = out {
            now = next_attempt_at;
        }
    }
    let h = e.health(now).unwrap();
    let a = h
        .alerts
        .iter()
        .find(|a| a.name == "crm_sync_failing")
        .expect("crm alert");
    assert_eq!(a.kind.as_deref(), Some("crm.sync_customer"));
    assert!(
        !h.alerts.iter().any(|a| a.name == "webhook_failure_rate"),
        "ingest is healthy"
    );
    let m = e.metrics(now).unwrap();
    assert_eq!(m.crm_sync_failures_window, 2);
    assert_eq!(m.ingest_errors_window, 0);
}

/// A strict reader of the Prometheus text format (0.0.4): every sample belongs to a declared
/// family, names and labels are well formed, values parse, histograms are cumulative.
fn parse_prometheus(text: &str) -> BTreeMap<String, f64> {
    let mut types = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "family declared twice: {name}"
            );
            continue;
        }
        if line.starts_with("# HELP ") || line.is_empty() {
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment: {line}");
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
                for pair in labels[1..labels.len() - 1].split("\",") {
                    let (k, v) = pair
                        .split_once("=\"")
                        .unwrap_or_else(|| panic!("bad label: {line}"));
                    assert!(
                        k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "{line}"
                    );
                    assert!(
                        !v.trim_end_matches('"').contains('"') || v.contains("\\\""),
                        "{line}"
                    );
                }
            }
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "sample before its TYPE: {line}");
        samples.insert(series.to_owned(), value);
    }
    samples
}

#[test]
fn prometheus_text_parses_and_matches_the_report() {
    for b in backends() {
        prometheus_text_parses_and_matches_the_report_on(&b);
    }
}

fn prometheus_text_parses_and_matches_the_report_on(b: &Backend) {
    let e = engine_with(b, AlertThresholds::default(), 1);
    ingest(&e, 30, 2, T0 + 100);
    junk(&e, 2, T0 + 100);
    seed_tickets(&e, 1, T0 + 100);
    let j = e
        .claim(&["support.open_ticket"], 1, 60, T0 + 101)
        .unwrap()
        .pop()
        .unwrap();
    e.fail(j.id, j.lease_token, "down", T0 + 102).unwrap();
    let text = e.prometheus(T0 + 103).unwrap();
    let s = parse_prometheus(&text);
    assert_eq!(s["tollbooth_deliveries_total{outcome=\"processed\"}"], 29.0);
    assert_eq!(s["tollbooth_deliveries_total{outcome=\"rejected\"}"], 2.0);
    assert_eq!(s["tollbooth_deliveries_total{outcome=\"failed\"}"], 2.0);
    assert_eq!(
        s["tollbooth_rejections_total{reason=\"SIGNATURE_MISMATCH\"}"],
        2.0
    );
    assert_eq!(s["tollbooth_rejections_total{reason=\"STORE_ERROR\"}"], 2.0);
    assert_eq!(
        s["tollbooth_jobs{kind=\"support.open_ticket\",state=\"dead\"}"],
        1.0
    );
    assert_eq!(
        s["tollbooth_alert_firing{alert=\"webhook_failure_rate\",kind=\"\"}"],
        1.0
    );
    let count = s["tollbooth_handler_latency_seconds_count"];
    assert_eq!(
        s["tollbooth_handler_latency_seconds_bucket{le=\"+Inf\"}"],
        count
    );
    let mut last = 0.0;
    for (k, v) in &s {
        if k.starts_with("tollbooth_handler_latency_seconds_bucket") && !k.contains("+Inf") {
            assert!(*v <= count);
            last = f64::max(last, *v);
        }
    }
    assert!(last <= count);
    let json: serde_json::Value = serde_json::from_str(&e.metrics_json(T0 + 103).unwrap()).unwrap();
    assert_eq!(json["dead_jobs"], 1);
    assert!(json["latency"]["p99_us"].as_u64().is_some());
}

/// One authentic delivery (a fresh event) every `every` seconds over `[from, to]`; `rejected`
/// adds an unsigned one beside each.
fn steady_traffic(e: &Engine, from: i64, to: i64, every: i64, rejected: bool) {
    let mut t = from;
    while t <= to {
        let body = event(
            &format!("evt_s{t}"),
            "customer.updated",
            t - 1,
            customer(&format!("cus_s{t}"), "s@example.com"),
        );
        e.handle_webhook_at(&body, &sign_for_test(&body, SECRET, t), t)
            .unwrap();
        if rejected {
            let _ = e.handle_webhook_at(&body, "t=1,v1=00", t);
        }
        t += every;
    }
}

const HOUR: i64 = 3600;

#[test]
fn deliveries_stopped_fires_only_after_regular_traffic_goes_silent() {
    for b in backends() {
        let e = engine_with(&b, AlertThresholds::default(), 25);
        let last = T0 + 3 * 24 * HOUR;
        steady_traffic(&e, T0, last, HOUR, false);
        assert!(!alert_names(&e, last + 6 * HOUR).contains(&"deliveries_stopped"));
        let h = e.health(last + 6 * HOUR + 1).unwrap();
        let a = h
            .alerts
            .iter()
            .find(|a| a.name == "deliveries_stopped")
            .unwrap_or_else(|| panic!("{h:?}"));
        assert_eq!(a.severity, "critical");
        assert!(a.message.contains("tollbooth doctor"), "{}", a.message);
        let text = e.prometheus(last + 7 * HOUR).unwrap();
        let s = parse_prometheus(&text);
        assert_eq!(
            s["tollbooth_alert_firing{alert=\"deliveries_stopped\",kind=\"\"}"],
            1.0
        );
        assert_eq!(
            s["tollbooth_last_authentic_delivery_age_seconds"],
            (7 * HOUR) as f64
        );
        // One authentic delivery ends it.
        steady_traffic(&e, last + 8 * HOUR, last + 8 * HOUR, 1, false);
        assert!(!alert_names(&e, last + 8 * HOUR + 60).contains(&"deliveries_stopped"));
    }
}

#[test]
fn deliveries_stopped_ignores_rejections_and_sparse_or_new_stores() {
    for b in backends() {
        // Rejected (unsigned) requests keep arriving, but no authentic delivery does: it fires.
        let e = engine_with(&b, AlertThresholds::default(), 25);
        let last = T0 + 2 * 24 * HOUR;
        steady_traffic(&e, T0, last, HOUR, true);
        for i in 1..=10 {
            let _ = e.handle_webhook_at(b"{}", "t=1,v1=00", last + i * HOUR);
        }
        assert!(alert_names(&e, last + 10 * HOUR).contains(&"deliveries_stopped"));
        // A store with a few deliveries a day: silence is normal there.
        let sparse = engine_with(&b, AlertThresholds::default(), 25);
        steady_traffic(&sparse, T0, T0 + 6 * 24 * HOUR, 20 * HOUR, false);
        assert!(!alert_names(&sparse, T0 + 9 * 24 * HOUR).contains(&"deliveries_stopped"));
        // A new store with half a day of history.
        let new = engine_with(&b, AlertThresholds::default(), 25);
        steady_traffic(&new, T0, T0 + 12 * HOUR, 600, false);
        assert!(!alert_names(&new, T0 + 5 * 24 * HOUR).contains(&"deliveries_stopped"));
        // The window is configurable.
        let t = AlertThresholds {
            silence_secs: HOUR,
            ..AlertThresholds::default()
        };
        let quick = engine_with(&b, t, 25);
        steady_traffic(&quick, T0, T0 + 12 * HOUR, 600, false);
        assert!(!alert_names(&quick, T0 + 13 * HOUR).contains(&"deliveries_stopped"));
        assert!(alert_names(&quick, T0 + 13 * HOUR + 1).contains(&"deliveries_stopped"));
    }
}
