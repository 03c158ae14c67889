//! `demo`: Ada Lovelace's whole customer history (signup, a failed renewal, two partial
//! refunds and a dispute, cancellation), signed and delivered like Stripe does
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
use crate::scenarios::{ApiVersion, Ctx, DAY, LIFETIME_PRICE};
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
            out.access(a.has_access),
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

/// What the story leaves for the summary: the books, the queue and the workers' run.
struct Ending {
    invoices: Vec<tollbooth::event::InvoiceRecord>,
    queued: Vec<tollbooth::Job>,
    workers: Workers,
    path: PathBuf,
    kept: bool,
}

/// The workers' two runs: before and after the operator replays the dead-lettered jobs.
struct Workers {
    world: World,
    dead: Vec<i64>,
    replayed: Vec<(i64, i64)>,
    health_before: Health,
    health: Health,
}

fn play(app: &App, path: &std::path::Path, kept: bool) -> Res<u8> {
    let mut config = Config::new(path.to_string_lossy(), &[DEMO_SECRET])?;
    config.max_attempts = MAX_ATTEMPTS;
    config.purchase_grants = vec![tollbooth::PurchaseGrant {
        id: LIFETIME_PRICE.into(),
        duration_secs: None,
    }];
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
    let ended = subscription_story(&mut s, t0)?;
    lifetime_purchase(&mut s, ended + 5 * DAY)?;
    let invoices = show_invoices(&s)?;
    let queued = show_queue(&s)?;
    let workers = work_the_queue(&mut s, ended + 60)?;
    summary(
        &s,
        &Ending {
            invoices,
            queued,
            workers,
            path: path.to_path_buf(),
            kept,
        },
    )
}

/// Chapters 1–5: signup, a failed renewal, recovery, cancellation, the period's end.
/// Returns when the subscription ended.
fn subscription_story(s: &mut Story<'_>, t0: i64) -> Res<i64> {
    signup(s, t0)?;
    let t1 = t0 + 30 * DAY;
    s.step(2, "Renewal fails", t1);
    let c = s.ctx.clone();
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
    refund_and_dispute(s, t2 + 5 * DAY)?;
    cancellation(s, t0 + 45 * DAY, t1)
}

/// Chapter 3½: two partial refunds of the renewal's charge (a ticket each, keyed by refund
/// id), then a dispute that names only the charge: its ticket finds Ada through it, and the
/// close carries the outcome.
fn refund_and_dispute(s: &mut Story<'_>, t: i64) -> Res<()> {
    let c = s.ctx.clone();
    s.app
        .out
        .heading(&format!("3½. Refunds and a dispute  ({})", date(t)));
    let mut charge = c.charge(t - 5 * DAY, false);
    charge["status"] = json!("succeeded");
    charge["invoice"] = json!(format!("in_{}_2", c.tag));
    s.deliver(
        "charge.succeeded",
        t - 5 * DAY,
        charge,
        "the renewal's charge (names Ada)",
        t,
    )?;
    for (n, (amount, note)) in [
        (1000, "$10.00 back, a ticket"),
        (500, "$5.00 more: its own ticket"),
    ]
    .into_iter()
    .enumerate()
    {
        let refund = json!({
            "id": format!("re_{}_{}", c.tag, n + 1), "object": "refund", "amount": amount,
            "charge": format!("ch_{}", c.tag), "payment_intent": format!("pi_{}", c.tag),
            "currency": "usd", "reason": "requested_by_customer", "status": "succeeded",
            "created": t + n as i64,
        });
        s.deliver(
            "refund.created",
            t + n as i64,
            refund,
            note,
            t + 10 + n as i64,
        )?;
    }
    s.deliver(
        "charge.dispute.created",
        t + DAY,
        c.dispute(t + DAY),
        "her bank disputes the charge",
        t + DAY + 1,
    )?;
    let mut won = c.dispute(t + DAY);
    won["status"] = json!("won");
    s.deliver(
        "charge.dispute.closed",
        t + 20 * DAY,
        won,
        "evidence accepted: won",
        t + 20 * DAY + 1,
    )?;
    s.portal("refunds and a dispute", t + 20 * DAY + 10)
}

/// Chapter 1: checkout, the customer, the subscription (its update arrives first) and the
/// first invoice, then the success page's answer.
fn signup(s: &mut Story<'_>, t0: i64) -> Res<()> {
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
    let out = &s.app.out;
    out.line(format!(
        "  {} {}",
        out.bold("success page:"),
        out.status(checkout.state.as_str())
    ));
    s.portal("signup", t0 + 10)
}

/// Chapters 4–5: cancel at period end at `t3`, the period (started `t1`) ends 30 days later.
fn cancellation(s: &mut Story<'_>, t3: i64, t1: i64) -> Res<i64> {
    let c = s.ctx.clone();
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
    Ok(t4)
}

/// Chapter 6: Ada comes back for the one-time lifetime deal (its PaymentIntent's event
/// arrives first): the purchase, not a subscription, now decides access.
fn lifetime_purchase(s: &mut Story<'_>, t5: i64) -> Res<()> {
    let c = s.ctx.clone();
    s.step(6, "Ada buys the lifetime deal (one-time, $199)", t5);
    s.deliver(
        "payment_intent.succeeded",
        t5 + 1,
        c.lifetime_payment_intent(t5),
        "paid (arrives before the session)",
        t5 + 2,
    )?;
    s.deliver(
        "checkout.session.completed",
        t5,
        c.lifetime_checkout(t5),
        "mode payment, metadata.price_id",
        t5 + 3,
    )?;
    s.portal("lifetime deal", t5 + 10)
}

fn show_invoices(s: &Story<'_>) -> Res<Vec<tollbooth::event::InvoiceRecord>> {
    s.app.out.heading("Invoices");
    let invoices = s.engine.invoices(&s.ctx.customer)?;
    s.app
        .out
        .table(&invoice_table(s.app, &invoices), "no invoices");
    Ok(invoices)
}

fn show_queue(s: &Story<'_>) -> Res<Vec<tollbooth::Job>> {
    let out = &s.app.out;
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
    Ok(queued)
}

/// Workers against the simulated CRM and helpdesk from `w0`; the operator fixes the helpdesk
/// and replays what was dead-lettered; the workers run again.
fn work_the_queue(s: &mut Story<'_>, w0: i64) -> Res<Workers> {
    let out = &s.app.out;
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
    Ok(Workers {
        world,
        dead,
        replayed,
        health_before,
        health,
    })
}

/// The figures the summary prints and the JSON carries, read back from the engine.
struct Tally {
    deliveries: u64,
    duplicates: u64,
    stale: u64,
    events: usize,
    failed_attempts: usize,
    replays: Vec<Value>,
}

fn tally(s: &Story<'_>, replayed: &[(i64, i64)]) -> Res<Tally> {
    use tollbooth::deliveries::DeliveryOutcome as D;
    let counts = s.engine.delivery_counts(i64::MIN)?;
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
    let mut replays = Vec::new();
    for (id, runs_as) in replayed {
        let job = s.engine.job(*runs_as)?;
        replays.push(json!({ "id": id, "runs_as": runs_as, "state": job.state, "kind": job.kind }));
    }
    Ok(Tally {
        deliveries: counts.total,
        duplicates: counts.count(D::Duplicate),
        stale: counts.count(D::Stale),
        events: events.len(),
        failed_attempts,
        replays,
    })
}

fn summary(s: &Story<'_>, end: &Ending) -> Res<u8> {
    let t = tally(s, &end.workers.replayed)?;
    print_summary(s, end, &t);
    let w = &end.workers;
    let world = &w.world;
    s.app.out.json(&json!({
        "db": if end.kept { Some(end.path.display().to_string()) } else { None },
        "events": t.events,
        "deliveries": t.deliveries,
        "duplicates": t.duplicates,
        "stale": t.stale,
        "steps": s.steps,
        "invoices": end.invoices,
        "jobs_queued": end.queued,
        "worker_log": s.worker_log,
        "crm_contacts": world.contacts.len(),
        "crm_calls": world.crm_calls,
        "contacts": world.contacts.values().collect::<Vec<_>>(),
        "tickets": world.tickets.len(),
        "ticket_list": world.tickets.values().collect::<Vec<_>>(),
        "failed_payment_attempts": t.failed_attempts,
        "helpdesk_calls": world.helpdesk_calls,
        "dead_jobs": w.dead,
        "replayed": t.replays,
        "health_before_replay": w.health_before,
        "health": w.health,
        "user": opt(Some(&s.ctx.user)),
    }));
    Ok(EXIT_OK)
}

fn print_summary(s: &Story<'_>, end: &Ending, t: &Tally) {
    let out = &s.app.out;
    let world = &end.workers.world;
    let replays_done = t.replays.iter().filter(|r| r["state"] == "done").count();
    out.heading("Summary");
    out.line(format!(
        "  {} deliveries of {} events: {} duplicates ignored, {} stale (kept, not applied)",
        t.deliveries, t.events, t.duplicates, t.stale
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
        "  Helpdesk tickets: {} for {} failed payment attempt(s), {closed} closed after recovery ({} helpdesk calls)",
        world.tickets.len(),
        t.failed_attempts,
        world.helpdesk_calls
    ));
    out.line(format!(
        "  Dead-letter: {} job(s); {replays_done} replayed by the operator and completed",
        end.workers.dead.len()
    ));
    out.line(format!(
        "  Health: {}",
        if end.workers.health.ok {
            out.green("ok, no alerts")
        } else {
            out.red("alerts firing")
        }
    ));
    if end.kept {
        let path = end.path.display();
        out.line(format!(
            "  Database kept: {path}  {}",
            out.dim(&format!("(try: tollbooth --db {path} customer user_42)"))
        ));
    }
}
