//! Checks of the store, as pure functions of [`StoreFacts`] (read through the engine) and the
//! secrets the doctor was given (counted and shape-checked, never shown).

use tollbooth::engine::{AlertThresholds, StoreFacts};

use super::check::Check;
use crate::output::age;

/// Runs every store check.
pub fn check_store(f: &StoreFacts, t: &AlertThresholds, secrets: &[String]) -> Vec<Check> {
    vec![
        schema_version(f),
        last_authentic_delivery(f),
        failure_rate(f),
        unauthenticated_requests(f),
        quarantined_events(f),
        dead_jobs(f),
        stalled_queues(f, t),
        other_alerts(f),
        livemode(f),
        secrets_configured(secrets),
    ]
}

fn schema_version(f: &StoreFacts) -> Check {
    if f.schema_version == f.schema_version_expected {
        Check::pass(
            "schema_version",
            format!("schema v{} (this build's)", f.schema_version),
        )
    } else {
        Check::warn(
            "schema_version",
            format!(
                "schema v{}, this build writes v{}",
                f.schema_version, f.schema_version_expected
            ),
            "run the same tollbooth version in the app and the CLI",
        )
    }
}

fn last_authentic_delivery(f: &StoreFacts) -> Check {
    const NAME: &str = "last_authentic_delivery";
    let a = &f.report.activity;
    let Some(silent) = a.silent_secs else {
        return Check::warn(
            NAME,
            "no authentic delivery stored yet",
            "send a test event (Stripe Dashboard → Webhooks → the endpoint → Send test event, or \
             `stripe trigger customer.created`), then run doctor again; if it does not arrive, \
             run `tollbooth doctor --url <your webhook URL> --secret <whsec>`",
        );
    };
    let regular = if a.regular {
        format!(
            "; deliveries were regular before (in {} of {} periods)",
            a.active_periods, a.history_periods
        )
    } else {
        String::new()
    };
    if f.alerts.iter().any(|x| x.name == "deliveries_stopped") {
        Check::fail(
            NAME,
            format!(
                "the last authentic delivery was {} ago{regular}",
                age(silent)
            ),
            "Stripe has stopped reaching the route: run `tollbooth doctor --url <your webhook \
             URL> --secret <whsec>`, check the endpoint is enabled in the Stripe Dashboard, fix \
             what it finds, then catch up on the missed events (Stripe retries for three days; \
             after that, `tollbooth import` an events export)",
        )
    } else {
        Check::pass(
            NAME,
            format!(
                "the last authentic delivery was {} ago{regular}",
                age(silent)
            ),
        )
    }
}

fn reason_fix(reason: &str) -> &'static str {
    match reason {
        "SIGNATURE_MISMATCH" => {
            "SIGNATURE_MISMATCH: the deployment's STRIPE_WEBHOOK_SECRET is not this endpoint's \
             signing secret (or a proxy rewrites the body)"
        }
        "SIGNATURE_HEADER_MISSING" | "SIGNATURE_HEADER_INVALID" => {
            "unsigned requests: scanners, or a proxy that drops the stripe-signature header"
        }
        "TIMESTAMP_OUT_OF_TOLERANCE" => "TIMESTAMP_OUT_OF_TOLERANCE: the server clock is off",
        "LIVEMODE_MISMATCH" => {
            "LIVEMODE_MISMATCH: a test-mode endpoint points at a live deployment (or the reverse)"
        }
        r if r.starts_with("STORE_") => "STORE_*: check the disk and the database file",
        _ => "see `tollbooth events` and the error table",
    }
}

/// Codes of requests that were not authentic deliveries (counted apart from the failure rate).
fn unauthenticated_code(code: &str) -> bool {
    code.starts_with("SIGNATURE_") || code.starts_with("TIMESTAMP_") || code == "PAYLOAD_TOO_LARGE"
}

/// `n × CODE` for the window's reasons that `keep` selects, and the fix for each.
fn reasons(f: &StoreFacts, keep: fn(&str) -> bool) -> (String, String) {
    let rs: Vec<&(String, u64)> = f
        .report
        .window
        .by_reason
        .iter()
        .filter(|(c, _)| keep(c))
        .collect();
    let listed: Vec<String> = rs.iter().map(|(c, n)| format!("{n} × {c}")).collect();
    let fixes: Vec<&str> = rs.iter().map(|(c, _)| reason_fix(c)).collect();
    let listed = if listed.is_empty() {
        String::new()
    } else {
        format!(" ({})", listed.join(", "))
    };
    (listed, fixes.join("; "))
}

fn failure_rate(f: &StoreFacts) -> Check {
    const NAME: &str = "failure_rate";
    let r = &f.report;
    let authentic = r.window.total.saturating_sub(r.unauthenticated_window);
    let (listed, fixes) = reasons(f, |c| !unauthenticated_code(c));
    let summary = format!(
        "{:.2}% of {authentic} authentic deliveries in the last {} min failed on our side{listed}",
        r.failure_rate * 100.0,
        r.window_secs / 60,
    );
    if f.alerts.iter().any(|a| a.name == "webhook_failure_rate") {
        Check::fail(NAME, summary, fixes)
    } else if r.ingest_errors_window > 0 {
        Check::warn(NAME, summary, fixes)
    } else {
        Check::pass(NAME, summary)
    }
}

fn unauthenticated_requests(f: &StoreFacts) -> Check {
    const NAME: &str = "unauthenticated_requests";
    let r = &f.report;
    let (listed, fixes) = reasons(f, unauthenticated_code);
    let summary = format!(
        "{} request(s) in the last {} min were not authentic deliveries{listed}",
        r.unauthenticated_window,
        r.window_secs / 60
    );
    if r.unauthenticated_window == 0 {
        Check::pass(NAME, summary)
    } else {
        Check::warn(NAME, summary, fixes)
    }
}

fn quarantined_events(f: &StoreFacts) -> Check {
    const NAME: &str = "quarantined_events";
    match f.report.quarantined_events {
        0 => Check::pass(NAME, "no quarantined events"),
        n => Check::warn(
            NAME,
            format!("{n} authentic event(s) in quarantine (stored raw, not applied)"),
            "`tollbooth events --outcome quarantined` shows each with the code that stopped it; \
             upgrade tollbooth (or fix the livemode setting), then `tollbooth reprocess --quarantined`",
        ),
    }
}

fn dead_jobs(f: &StoreFacts) -> Check {
    let dead: Vec<String> = f
        .report
        .queue
        .iter()
        .filter(|k| k.dead > 0)
        .map(|k| format!("{} {}", k.dead, k.kind))
        .collect();
    if dead.is_empty() {
        Check::pass("dead_jobs", "no dead-lettered jobs")
    } else {
        Check::warn(
            "dead_jobs",
            format!("dead-lettered jobs: {}", dead.join(", ")),
            "`tollbooth jobs --dead` shows each job's last error; fix the cause (CRM or helpdesk \
             credentials, an outage), then `tollbooth replay-job <id>`",
        )
    }
}

fn stalled_queues(f: &StoreFacts, t: &AlertThresholds) -> Check {
    let stalled: Vec<String> = f
        .report
        .queue
        .iter()
        .filter_map(|k| {
            k.oldest_due_age_s
                .filter(|a| *a > t.oldest_due_secs)
                .map(|a| format!("{} (oldest due {} ago)", k.kind, age(a)))
        })
        .collect();
    if stalled.is_empty() {
        Check::pass(
            "stalled_queues",
            format!("no due job older than {}", age(t.oldest_due_secs)),
        )
    } else {
        Check::fail(
            "stalled_queues",
            format!("stalled: {}", stalled.join(", ")),
            "no worker is claiming these kinds, or it crashes before completing: start or fix \
             the worker (`tollbooth jobs --state due --kind <kind>` shows the jobs)",
        )
    }
}

fn other_alerts(f: &StoreFacts) -> Check {
    let covered = [
        "deliveries_stopped",
        "webhook_failure_rate",
        "dead_letter",
        "queue_stalled",
        "unauthenticated_requests",
        "quarantined_events",
    ];
    let rest: Vec<String> = f
        .alerts
        .iter()
        .filter(|a| !covered.contains(&a.name))
        .map(|a| format!("{}: {}", a.name, a.message))
        .collect();
    if rest.is_empty() {
        Check::pass("other_alerts", "no other alert firing")
    } else {
        Check::warn(
            "other_alerts",
            rest.join("; "),
            "see the alert table in the README (`tollbooth status` shows the figures)",
        )
    }
}

fn livemode(f: &StoreFacts) -> Check {
    const NAME: &str = "livemode";
    let Some(m) = f.livemode else {
        return Check::skip(
            NAME,
            "this store backend does not count live and test events",
        );
    };
    match (m.live, m.test) {
        (0, 0) => Check::skip(NAME, "no stored events yet"),
        (live, 0) => Check::pass(NAME, format!("live mode ({live} recent events)")),
        (0, test) => Check::pass(
            NAME,
            format!(
                "test mode ({test} recent events): switch the endpoint and secret when you go live"
            ),
        ),
        (live, test) => Check::warn(
            NAME,
            format!("mixed: {live} live and {test} test events among the newest stored"),
            "a test-mode and a live-mode endpoint deliver into one database: give each its own \
             database, or set `livemode` in the engine config so the other mode is refused",
        ),
    }
}

fn secrets_configured(secrets: &[String]) -> Check {
    const NAME: &str = "secrets_configured";
    let n = secrets.len();
    if n == 0 {
        return Check::skip(
            NAME,
            "no webhook secret given (--secret or STRIPE_WEBHOOK_SECRET)",
        );
    }
    let odd = secrets.iter().filter(|s| !s.starts_with("whsec_")).count();
    if odd > 0 {
        return Check::fail(
            NAME,
            format!("{n} secret(s) given, {odd} not shaped like a webhook signing secret"),
            "a webhook signing secret has the whsec prefix (Dashboard → Webhooks → the endpoint → \
             Signing secret, or the one `stripe listen` prints); an sk_/rk_ key is an API key",
        );
    }
    Check::pass(
        NAME,
        format!("{n} secret(s) given, each shaped like a signing secret (values never shown)"),
    )
}
