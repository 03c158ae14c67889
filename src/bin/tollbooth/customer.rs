//! `customer <id | email | user id>`: one customer's timeline.

use serde_json::json;
use tollbooth::Engine;
use tollbooth::JobFilter;
use {tollbooth::billing::CustomerRow, tollbooth::event::EventFilter};

use crate::output::{Table, date, money, opt, time};
use crate::{App, EXIT_OK, Res, fail};

pub fn run(app: &App, who: &str) -> Res<u8> {
    let engine = app.engine()?;
    let out = &app.out;
    let customer = match engine.find_customer(who)? {
        Some(c) => c,
        // Known only from its subscriptions or events (no customer.* event seen yet).
        None if known_elsewhere(&engine, who)? => CustomerRow {
            id: who.to_owned(),
            email: None,
            name: None,
            user_id: None,
            deleted: false,
        },
        None => {
            return Err(fail(format!(
                "no customer matches {who:?} (tried Stripe customer id, email and user id)"
            )));
        }
    };
    let cid = customer.id.clone();
    let access = engine.access(&cid, app.now)?;
    let subscriptions = engine.subscriptions(&cid)?;
    let mut events = engine.events(&EventFilter {
        customer_id: Some(cid.clone()),
        limit: Some(10_000),
        ..EventFilter::default()
    })?;
    events.reverse(); // oldest first: a timeline
    let invoices = engine.invoices(&cid)?;
    let jobs = engine.jobs(&JobFilter {
        customer_id: Some(cid.clone()),
        limit: Some(1000),
        ..JobFilter::default()
    })?;
    let mut job_rows = Vec::with_capacity(jobs.len());
    for j in &jobs {
        job_rows.push((j, engine.job_attempts(j.id)?));
    }

    if out.json {
        let jobs_json: Vec<_> = job_rows
            .iter()
            .map(|(j, a)| json!({ "job": j, "attempts": a }))
            .collect();
        let subs: Vec<_> = subscriptions.iter().map(|s| &s.record).collect();
        out.json(&json!({
            "customer": customer,
            "access": access,
            "subscriptions": subs,
            "events": events,
            "invoices": invoices,
            "jobs": jobs_json,
        }));
        return Ok(EXIT_OK);
    }

    out.line(format!(
        "{} {}  {} {}",
        out.bold(customer.name.as_deref().unwrap_or("(no name)")),
        opt(customer.email.as_deref()),
        out.dim(&cid),
        out.dim(&format!("user {}", opt(customer.user_id.as_deref())))
    ));
    if customer.deleted {
        out.line(format!("  {}", out.red("deleted in Stripe")));
    }
    out.heading("Access");
    out.line(format!(
        "  {}  {}  {}",
        out.status(access.state.as_str()),
        if access.has_access {
            out.green("has access")
        } else {
            out.red("no access")
        },
        access.reason
    ));
    for s in &subscriptions {
        let r = &s.record;
        out.line(format!(
            "  {} {} {} period ends {}{}",
            out.dim(&r.id),
            out.status(&r.status),
            opt(r.price_id.as_deref()),
            r.current_period_end.map_or("-".into(), date),
            if r.cancel_at_period_end {
                ", cancels at period end"
            } else {
                ""
            }
        ));
    }
    out.heading("Events");
    let mut t = Table::new(&["created", "type", "outcome", "object", "event"]);
    for e in &events {
        t.row(vec![
            time(e.created),
            e.event_type.clone(),
            out.status(&e.outcome),
            opt(e.object_id.as_deref()),
            out.dim(&e.id),
        ]);
    }
    out.table(&t, "no events");
    out.heading("Invoices");
    out.table(&invoice_table(app, &invoices), "no invoices");
    out.heading("Jobs");
    let mut t = Table::new(&["id", "kind", "key", "state", "attempts", "last error"]);
    for (j, attempts) in &job_rows {
        t.row(vec![
            j.id.to_string(),
            j.kind.clone(),
            j.key.clone(),
            out.status(j.state.as_str()),
            attempts_cell(attempts),
            opt(j.last_error.as_deref()),
        ]);
    }
    out.table(&t, "no jobs");
    Ok(EXIT_OK)
}

fn known_elsewhere(engine: &Engine, id: &str) -> Res<bool> {
    if !engine.subscriptions(id)?.is_empty() {
        return Ok(true);
    }
    let events = engine.events(&EventFilter {
        customer_id: Some(id.to_owned()),
        limit: Some(1),
        ..EventFilter::default()
    })?;
    Ok(!events.is_empty())
}

/// `✗✗✓` style attempt history.
pub fn attempts_cell(attempts: &[tollbooth::outbox::JobAttempt]) -> String {
    if attempts.is_empty() {
        return "-".into();
    }
    attempts
        .iter()
        .map(|a| match a.outcome.as_deref() {
            Some("completed") => '✓',
            Some("failed") => '✗',
            Some(_) => '⌛',
            None => '…',
        })
        .collect()
}

pub fn invoice_table(app: &App, invoices: &[tollbooth::event::InvoiceRecord]) -> Table {
    let out = &app.out;
    let mut t = Table::new(&[
        "number", "status", "amount", "paid", "attempts", "reason", "created", "invoice",
    ]);
    for i in invoices {
        t.row(vec![
            opt(i.number.as_deref()),
            out.status(i.status.as_deref().unwrap_or("-")),
            money(i.amount_due, &i.currency),
            money(i.amount_paid, &i.currency),
            i.attempt_count.to_string(),
            opt(i.billing_reason.as_deref()),
            date(i.created),
            out.dim(&i.id),
        ]);
    }
    t
}
