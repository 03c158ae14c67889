//! `demo`: Ada Lovelace's whole customer history, signed and delivered like Stripe does
//! (twice, some out of order), then workers against a simulated CRM and helpdesk, a
//! dead-lettered job, the operator's replay, and the health check.

use std::path::PathBuf;

use serde_json::{Value, json};
use tollbooth::engine::Health;
use tollbooth::event::EventFilter;
use tollbooth::verify::sign_for_test;
use tollbooth::{Config, Engine, JobFilter, Outcome};

use crate::customer::invoice_table;
use crate::output::{Table, date, opt};
use crate::scenarios::{ApiVersion, Ctx, DAY};
use crate::sim::{World, run_workers};
use crate::status::print_health;
use crate::{App, EXIT_OK, Res, fail};

/// The demo's own signing secret (a demo database never sees a real one).
const DEMO_SECRET: &str = "whsec_tollbooth_demo_only";
/// Seed of the simulated outages: the same story every run.
const SEED: u64 = 7;
/// Small on purpose, so the story reaches dead-letter quickly.
const MAX_ATTEMPTS: u32 = 3;

struct Story<'a> {
    app: &'a App,
    engine: Engine,
    ctx: Ctx,
    seq: u32,
    steps: Vec<Value>,
    deliveries: Vec<Value>,
    worker_log: Vec<Value>,
}

impl Story<'_> {
    /// Signs and delivers an event at `at`, then Stripe's redelivery a little later; one line.
    fn deliver(
        &mut self,
        event_type: &str,
        created: i64,
        object: Value,
        note: &str,
        at: i64,
    ) -> Res<()> {
        self.seq += 1;
        let event = self.ctx.event(self.seq, event_type, created, object);
        let body = serde_json::to_vec(&event)?;
        let mut outcomes = Vec::new();
        for t in [at, at + 7] {
            let header = sign_for_test(&body, DEMO_SECRET, t);
            outcomes.push(self.engine.handle_webhook_at(&body, &header, t)?.outcome);
        }
        let out = &self.app.out;
        let first = match outcomes[0] {
            Outcome::Stale => format!(
                "{} (older than the stored state: kept, not applied)",
                out.status("stale")
            ),
            o => out.status(o.as_str()),
        };
        out.line(format!(
            "  {:<31} {:<36} {first}  {}",
            event_type,
            note,
            out.dim(&format!("redelivered: {}", outcomes[1].as_str()))
        ));
        self.deliveries.push(json!({
            "event_id": event["id"], "type": event_type, "created": created,
            "first": outcomes[0], "redelivery": outcomes[1],
        }));
        Ok(())
    }

    /// Prints the portal's answer for user_42 after a step.
    fn portal(&mut self, title: &str, at: i64) -> Res<()> {
        let a = self.engine.access_for_user(&self.ctx.user, at)?;
        let out = &self.app.out;
        out.line(format!(
            "  {} {} · {} · \"{}\"",
            out.bold("portal:"),
            out.status(a.state.as_str()),
            if a.has_access {
                out.green("has access")
            } else {
                out.red("no access")
            },
            a.reason
        ));
        let deliveries = std::mem::take(&mut self.deliveries);
        self.steps
            .push(json!({ "step": title, "at": at, "deliveries": deliveries, "access": a }));
        Ok(())
    }

    fn step(&self, n: u32, title: &str, at: i64) {
        self.app
            .out
            .heading(&format!("{n}. {title}  ({})", date(at)));
    }
}

fn demo_path(db: Option<PathBuf>) -> Res<(PathBuf, bool)> {
    match db {
        Some(p) => {
            if std::fs::metadata(&p).is_ok_and(|m| m.len() > 0) {
                return Err(fail(format!(
                    "{} already exists; the demo needs a new database file",
                    p.display()
                )));
            }
            Ok((p, true))
        }
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let name = format!("tollbooth-demo-{}-{nanos}.db", std::process::id());
            Ok((std::env::temp_dir().join(name), false))
        }
    }
}

fn remove_db(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

pub fn run(app: &App, db: Option<PathBuf>, keep: bool) -> Res<u8> {
    let (path, given) = demo_path(db)?;
    let result = play(app, &path, keep || given);
    if !(keep || given) {
        remove_db(&path);
    }
    result
}

fn play(app: &App, path: &std::path::Path, kept: bool) -> Res<u8> {
    let mut config = Config::new(path.to_string_lossy(), &[DEMO_SECRET])?;
    config.max_attempts = MAX_ATTEMPTS;
    let engine = Engine::open(config)?;
    let t0 = app.now - 62 * DAY;
    let mut s = Story {
        app,
        engine,
        ctx: Ctx::ada(ApiVersion::Basil, "Ada"),
        seq: 0,
        steps: Vec::new(),
        deliveries: Vec::new(),
        worker_log: Vec::new(),
    };
    let out = &app.out;
    out.line(
        out.bold("tollbooth demo: Ada Lovelace (user_42) subscribes to Portal Pro, $29/month"),
    );
    out.line(out.dim(
        "Every event is signed and delivered twice, like Stripe does; some arrive out of order.",
    ));

    let c = s.ctx.clone();
    s.step(1, "Signup and checkout", t0);
    s.deliver(
        "checkout.session.completed",
        t0,
        c.checkout_session(t0),
        "user_42 pays at checkout",
        t0 + 1,
    )?;
    s.deliver(
        "customer.created",
        t0 + 1,
        c.customer(t0 + 1),
        "Ada Lovelace <ada@example.com>",
        t0 + 2,
    )?;
    // Stripe sends the later update first; the earlier "incomplete" arrives after it.
    s.deliver(
        "customer.subscription.updated",
        t0 + 3,
        c.subscription("active", t0, false, None),
        "incomplete → active (arrives first)",
        t0 + 4,
    )?;
    s.deliver(
        "customer.subscription.created",
        t0 + 2,
        c.subscription("incomplete", t0, false, None),
        "incomplete (arrives late)",
        t0 + 5,
    )?;
    s.deliver(
        "invoice.paid",
        t0 + 4,
        c.invoice(1, t0 + 2, "subscription_create", true, 1),
        "first invoice paid",
        t0 + 6,
    )?;
    let checkout = s.engine.checkout_status(&format!("cs_test_{}", c.tag))?;
    out.line(format!(
        "  {} {}",
        out.bold("success page:"),
        out.status(checkout.state.as_str())
    ));
    s.portal("signup", t0 + 10)?;

    let t1 = t0 + 30 * DAY;
    s.step(2, "Renewal fails", t1);
    s.deliver(
        "customer.subscription.updated",
        t1 + 5,
        c.subscription("past_due", t1, false, None),
        "active → past_due (arrives first)",
        t1 + 6,
    )?;
    s.deliver(
        "invoice.payment_failed",
        t1 + 1,
        c.invoice(2, t1, "subscription_cycle", false, 1),
        "card declined, attempt 1",
        t1 + 8,
    )?;
    s.portal("renewal fails", t1 + 10)?;

    let t2 = t1 + 2 * DAY;
    s.step(3, "Card updated, payment recovered", t2);
    s.deliver(
        "invoice.paid",
        t2,
        c.invoice(2, t1, "subscription_cycle", true, 2),
        "paid on attempt 2",
        t2 + 1,
    )?;
    s.deliver(
        "customer.subscription.updated",
        t2 + 1,
        c.subscription("active", t1, false, None),
        "past_due → active",
        t2 + 2,
    )?;
    s.portal("recovered", t2 + 10)?;

    let t3 = t0 + 45 * DAY;
    s.step(4, "Ada cancels (at period end)", t3);
    s.deliver(
        "customer.subscription.updated",
        t3,
        c.subscription("active", t1, true, None),
        "cancel_at_period_end = true",
        t3 + 1,
    )?;
    s.portal("cancel requested", t3 + 10)?;

    let t4 = t1 + 30 * DAY;
    s.step(5, "Period ends", t4);
    s.deliver(
        "customer.subscription.deleted",
        t4,
        c.subscription("canceled", t1, false, Some(t4)),
        "subscription ended",
        t4 + 1,
    )?;
    s.portal("period ended", t4 + 10)?;

    out.heading("Invoices");
    let invoices = s.engine.invoices(&c.customer)?;
    out.table(&invoice_table(app, &invoices), "no invoices");

    out.heading("Jobs queued (the outbox)");
    let queued = s.engine.jobs(&JobFilter::default())?;
    let mut t = Table::new(&["id", "kind", "key", "state"]);
    for j in queued.iter().rev() {
        t.row(vec![
            j.id.to_string(),
            j.kind.clone(),
            j.key.clone(),
            out.status(j.state.as_str()),
        ]);
    }
    out.table(&t, "no jobs");
    out.line(
        out.dim(
            "  CRM updates coalesce: one pending sync per customer, carrying the newest state.",
        ),
    );

    let w0 = t4 + 60;
    let mut now = w0;
    out.heading("Workers: simulated CRM and helpdesk (seeded outages, max 3 attempts)");
    let mut world = World::new(SEED);
    let dead = run_workers(&s.engine, &mut world, out, &mut now, w0, &mut s.worker_log)?;
    let health_before = s.engine.health(now)?;
    print_health(out, &health_before);

    out.heading("Operator: fix the helpdesk, replay the dead job");
    world.close_broken = false;
    let mut replayed = Vec::new();
    for id in &dead {
        let runs_as = s.engine.replay(*id, now)?;
        out.line(format!(
            "  $ tollbooth replay-job {id}   {}",
            out.dim(&format!("→ job {runs_as} is due again"))
        ));
        replayed.push((*id, runs_as));
    }
    run_workers(&s.engine, &mut world, out, &mut now, w0, &mut s.worker_log)?;
    let health = s.engine.health(now)?;
    print_health(out, &health);

    summary(
        &s,
        &world,
        &dead,
        &replayed,
        &health_before,
        &health,
        path,
        kept,
        &invoices,
        &queued,
    )
}

#[allow(clippy::too_many_arguments)]
fn summary(
    s: &Story<'_>,
    world: &World,
    dead: &[i64],
    replayed: &[(i64, i64)],
    health_before: &Health,
    health: &Health,
    path: &std::path::Path,
    kept: bool,
    invoices: &[tollbooth::event::InvoiceRecord],
    queued: &[tollbooth::Job],
) -> Res<u8> {
    let out = &s.app.out;
    let counts = s.engine.delivery_counts(i64::MIN)?;
    let use_o = |o| counts.count(o);
    use tollbooth::deliveries::DeliveryOutcome as D;
    let events = s.engine.events(&EventFilter {
        limit: Some(100_000),
        ..EventFilter::default()
    })?;
    let failed_attempts = s
        .engine
        .events(&EventFilter {
            event_type: Some("invoice.payment_failed".into()),
            outcome: Some("processed".into()),
            limit: Some(100_000),
            ..EventFilter::default()
        })?
        .len();
    let mut replay_results = Vec::new();
    for (id, runs_as) in replayed {
        let job = s.engine.job(*runs_as)?;
        replay_results
            .push(json!({ "id": id, "runs_as": runs_as, "state": job.state, "kind": job.kind }));
    }
    let replays_done = replay_results
        .iter()
        .filter(|r| r["state"] == "done")
        .count();

    out.heading("Summary");
    out.line(format!(
        "  {} deliveries of {} events: {} duplicates ignored, {} stale (kept, not applied)",
        counts.total,
        events.len(),
        use_o(D::Duplicate),
        use_o(D::Stale)
    ));
    out.line(format!(
        "  CRM contacts: {} ({} CRM calls, upserted by customer id)",
        world.contacts.len(),
        world.crm_calls
    ));
    let closed = world
        .tickets
        .values()
        .filter(|t| t.status == "closed")
        .count();
    out.line(format!(
        "  Helpdesk tickets: {} for {failed_attempts} failed payment attempt(s), {closed} closed after recovery ({} helpdesk calls)",
        world.tickets.len(),
        world.helpdesk_calls
    ));
    out.line(format!(
        "  Dead-letter: {} job(s); {replays_done} replayed by the operator and completed",
        dead.len()
    ));
    out.line(format!(
        "  Health: {}",
        if health.ok {
            out.green("ok, no alerts")
        } else {
            out.red("alerts firing")
        }
    ));
    if kept {
        out.line(format!(
            "  Database kept: {}  {}",
            path.display(),
            out.dim(&format!(
                "(try: tollbooth --db {} customer user_42)",
                path.display()
            ))
        ));
    }
    out.json(&json!({
        "db": if kept { Some(path.display().to_string()) } else { None },
        "events": events.len(),
        "deliveries": counts.total,
        "duplicates": use_o(D::Duplicate),
        "stale": use_o(D::Stale),
        "steps": s.steps,
        "invoices": invoices,
        "jobs_queued": queued,
        "worker_log": s.worker_log,
        "crm_contacts": world.contacts.len(),
        "crm_calls": world.crm_calls,
        "contacts": world.contacts.values().collect::<Vec<_>>(),
        "tickets": world.tickets.len(),
        "ticket_list": world.tickets.values().collect::<Vec<_>>(),
        "failed_payment_attempts": failed_attempts,
        "helpdesk_calls": world.helpdesk_calls,
        "dead_jobs": dead,
        "replayed": replay_results,
        "health_before_replay": health_before,
        "health": health,
        "user": opt(Some(&s.ctx.user)),
    }));
    Ok(EXIT_OK)
}
