//! `tollbooth doctor`: the founder's first-hour triage, automated. Against a deployed route
//! (`--url`) it makes three requests and judges the answers (`route.rs`); against the store
//! (`--db`) it reads the engine's facts and judges them (`store.rs`). Every check says what is
//! wrong and what to change; the exit code is 4 when any check fails.

mod check;
mod http;
mod route;
mod store;

use std::time::Duration;

use serde_json::json;
use tollbooth::ErrorCode;
use tollbooth::engine::AlertThresholds;

pub use check::{Check, Status};
pub use route::Limits;

use crate::{App, EXIT_OK, Res, fail};

/// Exit code when a check fails.
pub const EXIT_CHECKS_FAILED: u8 = 4;

/// What `doctor` was asked to check.
#[derive(Debug, Clone)]
pub struct Args {
    /// The deployed webhook URL.
    pub url: Option<String>,
    /// Check the store too (`--db` or TOLLBOOTH_DB given, or the default file exists).
    pub store: bool,
    /// Per-request time limit.
    pub timeout: Duration,
    /// Answer-time limits.
    pub limits: route::Limits,
}

/// The secrets given (comma-separated, as the example's STRIPE_WEBHOOK_SECRET), never shown.
fn secrets(app: &App) -> Vec<String> {
    app.secret
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn store_checks(app: &App, secrets: &[String]) -> Vec<Check> {
    let engine = match app.engine() {
        Ok(e) => e,
        Err(e) => {
            let code = e.downcast_ref::<tollbooth::Error>().map(|e| e.code());
            let msg = app.out.redact(&e.to_string());
            return vec![if code == Some(ErrorCode::StoreSchemaTooNew) {
                Check::fail(
                    "schema_version",
                    msg,
                    "the database was written by a newer tollbooth: upgrade this CLI",
                )
            } else {
                Check::fail(
                    "store_open",
                    msg,
                    "give the app's database with --db (or TOLLBOOTH_DB), readable by this user",
                )
            }];
        }
    };
    match engine.store_facts(app.now) {
        Ok(f) => store::check_store(&f, &AlertThresholds::default(), secrets),
        Err(e) => vec![Check::fail(
            "store_read",
            app.out.redact(&e.to_string()),
            "check the disk and the database file",
        )],
    }
}

fn print_section(app: &App, title: &str, checks: &[Check]) {
    let out = &app.out;
    out.heading(title);
    for c in checks {
        let word = match c.status {
            Status::Pass => out.green("pass"),
            Status::Warn => out.yellow("warn"),
            Status::Fail => out.red("FAIL"),
            Status::Skip => out.dim("skip"),
        };
        out.line(format!("  {word}  {:<24} {}", c.name, c.summary));
        if let Some(fix) = c.fix.as_deref().filter(|_| c.status != Status::Pass) {
            out.line(format!("        {} {fix}", out.dim("fix:")));
        }
    }
}

pub fn run(app: &App, args: Args) -> Res<u8> {
    if args.url.is_none() && !args.store {
        return Err(fail(
            "nothing to check: give --url <your webhook URL> and/or --db <the app's database>",
        ));
    }
    let secrets = secrets(app);
    // The store first: the route checks' own unsigned POST must not count in its figures.
    let store_checks = if args.store {
        store_checks(app, &secrets)
    } else {
        Vec::new()
    };
    let route_checks = match &args.url {
        Some(url) => {
            let nonce = format!("{:x}{:x}", app.now, std::process::id());
            let facts = http::gather(url, &secrets, app.now, &nonce, args.timeout)?;
            route::check_route(&facts, &args.limits)
        }
        None => Vec::new(),
    };
    let all: Vec<&Check> = route_checks.iter().chain(&store_checks).collect();
    let count = |s: Status| all.iter().filter(|c| c.status == s).count();
    let (failed, warned) = (count(Status::Fail), count(Status::Warn));
    app.out.json(&json!({
        "ok": failed == 0,
        "failed": failed,
        "warnings": warned,
        "url": args.url,
        "db": args.store.then(|| app.db.display().to_string()),
        "route": route_checks,
        "store": store_checks,
    }));
    if let Some(url) = &args.url {
        print_section(app, &format!("Webhook route {url}"), &route_checks);
    }
    if args.store {
        print_section(app, &format!("Store {}", app.db.display()), &store_checks);
    }
    app.out.line("");
    app.out.line(if failed == 0 {
        format!(
            "{} {warned} warning(s)",
            app.out.green("no problems found;")
        )
    } else {
        format!(
            "{} {failed} problem(s), {warned} warning(s): fix the FAIL lines first",
            app.out.red("doctor found")
        )
    });
    Ok(if failed == 0 {
        EXIT_OK
    } else {
        EXIT_CHECKS_FAILED
    })
}
