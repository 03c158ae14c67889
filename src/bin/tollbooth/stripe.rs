//! `sync`, `catch-up`, `reconcile`, `work-stripe` and `throttle`: tollbooth's own calls to the Stripe API,
//! and the claim throttle that paces what a sync sets off.
//!
//! The API key comes from `--stripe-key` or `STRIPE_API_KEY` and is never printed: it is in
//! the output's redaction list, and the client's errors never contain it.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;
use tollbooth::JobThrottle;
use tollbooth::outbox::kinds::STRIPE_RECONCILE;
use tollbooth::stripe_api::catchup::DEFAULT_MARGIN_SECS;
use tollbooth::stripe_api::{
    ApiKey, CatchUpOptions, ClientOptions, Clock, DEFAULT_BASE_URL, STRIPE_JOB_KINDS, StripeClient,
    SyncObject, SyncOptions, SyncReport, SystemClock, catch_up, sync, work_reconcile_jobs,
    work_stripe_jobs,
};

use crate::output::{Out, time};
use crate::{App, EXIT_OK, Res, fail};

/// The arguments of `reconcile` and `work-stripe`, which differ only in the job kinds they work.
#[derive(Debug, clap::Args)]
pub struct WorkArgs {
    /// Jobs per claim
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Lease per claim, seconds
    #[arg(long, default_value_t = 120)]
    pub lease: i64,
    #[command(flatten)]
    pub stripe: StripeArgs,
}

/// Where and how to reach Stripe.
#[derive(Debug, clap::Args)]
pub struct StripeArgs {
    /// Stripe secret or restricted key, read-only is enough (never printed)
    #[arg(
        long,
        env = "STRIPE_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub stripe_key: Option<String>,
    /// Stripe API base URL (https://, or http:// to a loopback stub)
    #[arg(long, env = "TOLLBOOTH_STRIPE_API_BASE", default_value = DEFAULT_BASE_URL, value_name = "URL")]
    pub stripe_api_base: String,
    /// A Connect account to act for (Stripe-Account header)
    #[arg(long, value_name = "ACCT")]
    pub stripe_account: Option<String>,
}

/// The CLI's clock: `--now` pins the time objects are stamped with; sleeping is real.
struct CliClock(Option<i64>);

impl Clock for CliClock {
    fn now(&self) -> i64 {
        self.0.unwrap_or_else(|| SystemClock.now())
    }
    fn sleep(&self, d: Duration) {
        SystemClock.sleep(d);
    }
}

fn client(app: &App, args: &StripeArgs) -> Res<StripeClient> {
    let key = args
        .stripe_key
        .as_deref()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| fail("no Stripe API key: give --stripe-key or set STRIPE_API_KEY"))?;
    let opts = ClientOptions {
        base_url: args.stripe_api_base.clone(),
        ..ClientOptions::default()
    };
    Ok(StripeClient::with_clock(
        ApiKey::new(key)?,
        opts,
        Arc::new(CliClock(app.now_given)),
    )?)
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:>17} {spinner} {pos:>8} objects  {per_sec:>12}  {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

pub fn sync_cmd(
    app: &App,
    only: &[String],
    since: Option<i64>,
    restart: bool,
    args: &StripeArgs,
) -> Res<u8> {
    let objects = sync_objects(only)?;
    let engine = app.engine_create()?;
    let client = client(app, args)?;
    let opts = SyncOptions {
        objects,
        since,
        restart,
        account: args.stripe_account.clone(),
    };
    let show = !app.out.json && std::io::stderr().is_terminal();
    let multi = MultiProgress::new();
    let mut bars: Vec<(SyncObject, ProgressBar)> = Vec::new();
    let started = Instant::now();
    let report = sync(&engine, &client, &opts, &mut |p| {
        if !show {
            return;
        }
        let bar = match bars.iter().find(|(o, _)| *o == p.object) {
            Some((_, b)) => b.clone(),
            None => {
                let b = multi.add(ProgressBar::new_spinner());
                b.set_style(bar_style());
                b.set_prefix(p.object.stream());
                bars.push((p.object, b.clone()));
                b
            }
        };
        bar.set_position(p.applied.max(0) as u64);
        if p.done {
            bar.finish_with_message("done");
        }
    })?;
    drop(bars);
    let _ = multi.clear();
    let secs = started.elapsed().as_secs_f64();
    print_sync(&app.out, &report, secs, &client);
    Ok(EXIT_OK)
}

/// `--only` as object types (every type when empty).
fn sync_objects(only: &[String]) -> Res<Vec<SyncObject>> {
    only
        .iter()
        .map(|o| {
            SyncObject::parse(o).ok_or_else(|| {
                fail(format!(
                    "unknown object type {o:?} (customers, products, prices, subscriptions, invoices, checkout_sessions)"
                ))
            })
        })
        .collect()
}

/// What a sync did: totals, then per object type (with up to five skipped objects each).
fn print_sync(out: &Out, report: &SyncReport, secs: f64, client: &StripeClient) {
    let fetched: i64 = report.types.iter().map(|t| t.fetched).sum();
    out.json(&json!({
        "types": report.types,
        "fetched": fetched,
        "seconds": secs,
        "requests": client.requests_sent(),
        "retries": client.retries(),
    }));
    out.line(format!(
        "synced {fetched} objects in {secs:.1} s ({:.0}/s, {} requests, {} retries)",
        fetched as f64 / secs.max(1e-9),
        client.requests_sent(),
        client.retries()
    ));
    for t in &report.types {
        out.line(format!(
            "  {:<17} {:>7} fetched {:>7} changed {:>6} jobs{}{}",
            t.object,
            t.fetched,
            t.changed,
            t.jobs,
            if t.skipped > 0 {
                format!("  {} skipped", t.skipped)
            } else {
                String::new()
            },
            if t.resumed { "  (resumed)" } else { "" }
        ));
        for e in t.errors.iter().take(5) {
            out.line(format!("    {} {e}", out.red("skipped")));
        }
    }
}

pub fn catch_up_cmd(
    app: &App,
    since: Option<i64>,
    margin: i64,
    restart: bool,
    args: &StripeArgs,
) -> Res<u8> {
    let engine = app.engine_create()?;
    let client = client(app, args)?;
    let opts = CatchUpOptions {
        since,
        margin_secs: margin,
        restart,
        account: args.stripe_account.clone(),
    };
    let show = !app.out.json && std::io::stderr().is_terminal();
    let bar = show.then(|| {
        let b = ProgressBar::new_spinner();
        b.set_style(bar_style());
        b.set_prefix("events");
        b
    });
    let rep = catch_up(&engine, &client, &opts, &mut |n| {
        if let Some(b) = &bar {
            b.set_position(n.max(0) as u64);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let out = &app.out;
    out.json(&rep);
    out.line(format!(
        "caught up on events created {} .. {}{}",
        time(rep.from),
        time(rep.until),
        if rep.resumed {
            " (resumed an unfinished catch-up)"
        } else {
            ""
        }
    ));
    if rep.gap_exceeds_retention {
        out.line(format!(
            "  {} the gap starts at {}, before the 30 days of events Stripe keeps: events before {} are gone from the API. Run `tollbooth sync` to refresh the state they would have changed.",
            out.yellow("warning:"),
            time(rep.wanted_from),
            time(rep.from)
        ));
    }
    if rep.no_history {
        out.line("  no events were stored yet: fetched Stripe's whole 30 days");
    }
    out.line(format!(
        "  {:>7} fetched  {:>7} processed  {:>7} duplicate  {:>7} stale  {:>7} ignored  {:>7} quarantined  {:>7} rejected",
        rep.fetched, rep.processed, rep.duplicate, rep.stale, rep.ignored, rep.quarantined, rep.rejected
    ));
    Ok(EXIT_OK)
}

/// `reconcile` (`every_kind` false: stripe.reconcile only) and `work-stripe` (every Stripe job
/// kind, fetch_event included).
pub fn reconcile_cmd(app: &App, w: &WorkArgs, every_kind: bool) -> Res<u8> {
    let (limit, lease) = (w.limit, w.lease);
    let engine = app.engine_create()?;
    let client = client(app, &w.stripe)?;
    let (mut claimed, mut completed, mut changed) = (0, 0, 0);
    let mut failed = Vec::new();
    // Until nothing is due: a failed job is rescheduled into the future, so this ends.
    loop {
        let rep = if every_kind {
            work_stripe_jobs(&engine, &client, limit, lease)?
        } else {
            work_reconcile_jobs(&engine, &client, limit, lease)?
        };
        if rep.claimed == 0 {
            break;
        }
        claimed += rep.claimed;
        completed += rep.completed;
        changed += rep.changed;
        failed.extend(rep.failed);
    }
    let out = &app.out;
    out.json(&json!({ "claimed": claimed, "completed": completed, "changed": changed, "failed": failed }));
    let what = if every_kind {
        STRIPE_JOB_KINDS.join(" + ")
    } else {
        STRIPE_RECONCILE.to_owned()
    };
    out.line(format!(
        "{what}: {claimed} claimed, {completed} completed ({changed} changed state), {} failed",
        failed.len()
    ));
    for (id, code, outcome) in &failed {
        out.line(format!("  job {id} {} {outcome:?}", out.red(code)));
    }
    Ok(EXIT_OK)
}

pub fn throttle_cmd(
    app: &App,
    kind: Option<String>,
    max: Option<u32>,
    per: Option<u32>,
    burst: Option<u32>,
    remove: bool,
) -> Res<u8> {
    let engine = app.engine_create()?;
    let out = &app.out;
    match (kind, max, per) {
        (Some(kind), _, _) if remove => {
            let had = engine.remove_job_throttle(&kind)?;
            out.json(&json!({ "kind": kind, "removed": had }));
            out.line(if had {
                format!("{kind}: throttle removed")
            } else {
                format!("{kind} had no throttle")
            });
        }
        (Some(kind), Some(max), Some(per)) => {
            let t = JobThrottle {
                max_claims: max,
                period_secs: per,
                burst: burst.unwrap_or(max),
            };
            engine.set_job_throttle(&kind, &t)?;
            out.json(&json!({ "kind": kind, "throttle": t }));
            out.line(format!(
                "{kind}: at most {max} claims per {per} s (burst {}), for every worker on this database",
                t.burst
            ));
        }
        (None, None, None) if !remove => {
            let all = engine.job_throttles()?;
            out.json(&all);
            if all.is_empty() {
                out.line("no throttles");
            }
            for (k, t) in all {
                out.line(format!(
                    "  {k:<24} {} per {} s, burst {}",
                    t.max_claims, t.period_secs, t.burst
                ));
            }
        }
        _ => {
            return Err(fail(
                "give KIND --max N --per SECS [--burst N] to set, KIND --remove to remove, or nothing to list",
            ));
        }
    }
    Ok(EXIT_OK)
}

/// The default safety margin, for the flag's default.
pub const MARGIN_DEFAULT: i64 = DEFAULT_MARGIN_SECS;
