//! `status`, `metrics`, `health`.

use serde_json::json;
use tollbooth::deliveries::Delivery;
use tollbooth::engine::{DeliveryActivity, Health, MetricsReport};
use tollbooth::outbox::KindStats;

use crate::output::{Out, Table, age, opt, time};
use crate::{App, EXIT_ALERTS, EXIT_OK, Res};

/// Prints firing alerts (or "healthy") for people.
pub fn print_health(out: &Out, h: &Health) {
    if h.ok {
        out.line(format!("  {} no alerts firing", out.green("healthy:")));
    }
    for a in &h.alerts {
        out.line(format!(
            "  {:<8} {:<22} {}",
            out.status(a.severity),
            a.name,
            a.message
        ));
    }
}

fn exit_for(h: &Health) -> u8 {
    if h.ok { EXIT_OK } else { EXIT_ALERTS }
}

pub fn status(app: &App) -> Res<u8> {
    let engine = app.engine()?;
    let now = app.now;
    let report = engine.metrics(now)?;
    let health = engine.health(now)?;
    let recent = engine.recent_deliveries(10)?;
    let last_event = engine.last_event_created()?;
    let cursors = engine.sync_cursors()?;
    let out = &app.out;
    out.json(&json!({
        "db": tollbooth::store::redact_database(&app.db.to_string_lossy()),
        "now": now,
        "health": health,
        "failure_rate": report.failure_rate,
        "window_secs": report.window_secs,
        "deliveries_window": report.window.total,
        "queue": report.queue,
        "dead_jobs": report.dead_jobs,
        "activity": report.activity,
        "recent_deliveries": recent,
        "last_event_created": last_event,
        "sync_cursors": cursors,
    }));
    out.line(format!(
        "{} {}  {}",
        out.bold("tollbooth"),
        tollbooth::store::redact_database(&app.db.to_string_lossy()),
        out.dim(&format!("at {}", time(now)))
    ));
    out.heading("Health");
    print_health(out, &health);
    webhook_lines(out, &report);
    stripe_lines(out, now, last_event, &cursors);
    activity_line(out, &report.activity);
    queue_table(out, &report.queue);
    deliveries_table(out, &recent);
    Ok(exit_for(&health))
}

/// The webhook deliveries of the metrics window: counts by outcome and rejections by reason.
fn webhook_lines(out: &Out, report: &MetricsReport) {
    out.heading(&format!("Webhooks (last {} min)", report.window_secs / 60));
    let counts: Vec<String> = report
        .window
        .by_outcome
        .iter()
        .map(|(o, n)| format!("{n} {}", out.status(o.as_str())))
        .collect();
    out.line(format!(
        "  {} deliveries, failure rate {:.2}%{}",
        report.window.total,
        report.failure_rate * 100.0,
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        }
    ));
    for (reason, n) in &report.window.by_reason {
        out.line(format!("    {n} × {reason}"));
    }
}

/// When the last authentic delivery came, and whether deliveries were regular before.
fn activity_line(out: &Out, a: &DeliveryActivity) {
    out.line(match (a.last_authentic_at, a.silent_secs) {
        (Some(at), Some(silent)) => format!(
            "  last authentic delivery {} ago ({}){}",
            age(silent),
            time(at),
            if a.regular {
                format!(
                    "; regular before: {} of {} periods had deliveries",
                    a.active_periods, a.history_periods
                )
            } else {
                String::new()
            }
        ),
        _ => "  no authentic delivery yet".to_owned(),
    });
}

/// Jobs by kind and state.
fn queue_table(out: &Out, queue: &[KindStats]) {
    out.heading("Queue");
    let mut t = Table::new(&[
        "kind",
        "due",
        "due now",
        "leased",
        "done",
        "dead",
        "oldest due",
    ]);
    for k in queue {
        t.row(vec![
            k.kind.clone(),
            k.due.to_string(),
            k.due_now.to_string(),
            k.leased.to_string(),
            k.done.to_string(),
            if k.dead > 0 {
                out.red(&k.dead.to_string())
            } else {
                "0".into()
            },
            k.oldest_due_age_s.map_or("-".into(), age),
        ]);
    }
    out.table(&t, "no jobs");
}

/// The most recent deliveries.
fn deliveries_table(out: &Out, recent: &[Delivery]) {
    out.heading("Last deliveries");
    let mut t = Table::new(&["at", "outcome", "event", "type", "reason", "latency"]);
    for d in recent {
        t.row(vec![
            time(d.at),
            out.status(d.outcome.as_str()),
            opt(d.event_id.as_deref()),
            opt(d.event_type.as_deref()),
            opt(d.reason),
            format!("{} µs", d.latency_us),
        ]);
    }
    out.table(&t, "no deliveries yet");
}

pub fn metrics(app: &App, prometheus: bool) -> Res<u8> {
    let engine = app.engine()?;
    if prometheus {
        print!("{}", app.out.redact(&engine.prometheus(app.now)?));
    } else {
        let report = engine.metrics(app.now)?;
        // The report is JSON for people too: it is meant for dashboards and scripts.
        let text = serde_json::to_string_pretty(&report)?;
        println!("{}", app.out.redact(&text));
    }
    Ok(EXIT_OK)
}

pub fn health(app: &App) -> Res<u8> {
    let engine = app.engine()?;
    let h = engine.health(app.now)?;
    app.out.json(&h);
    print_health(&app.out, &h);
    Ok(exit_for(&h))
}

/// Points to `catch-up` when the newest event is old, and to `sync` / `catch-up` when a run
/// was interrupted.
fn stripe_lines(out: &Out, now: i64, last_event: Option<i64>, cursors: &[tollbooth::SyncCursor]) {
    if let Some(last) = last_event {
        let quiet = now - last;
        if quiet > SILENT_SECS {
            out.line(format!(
                "  {} the newest stored event is {} old: if webhooks stopped (endpoint disabled, outage longer than Stripe's 3 days of retries), run `tollbooth catch-up`",
                out.yellow("note:"),
                age(quiet)
            ));
        }
    }
    for c in cursors.iter().filter(|c| c.completed_at.is_none()) {
        let cmd = if c.stream == "events" {
            "catch-up"
        } else {
            "sync"
        };
        out.line(format!(
            "  {} an interrupted {cmd} of {} stopped after {} objects ({} ago): run `tollbooth {cmd}` to resume",
            out.yellow("note:"),
            c.stream,
            c.applied,
            age(now - c.updated_at)
        ));
    }
}

/// A day without any event is unusual for a live account with subscribers.
const SILENT_SECS: i64 = 86_400;
