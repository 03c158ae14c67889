//! `customer <id | email | user id>`: one customer's timeline.

use tollbooth::engine::CustomerTimeline;

use crate::output::{Table, date, money, opt, time};
use crate::{App, EXIT_OK, Res, fail};

pub fn run(app: &App, who: &str) -> Res<u8> {
    let engine = app.engine()?;
    let Some(tl) = engine.customer_timeline(who, app.now)? else {
        return Err(fail(format!(
            "no customer matches {who:?} (tried Stripe customer id, email and user id)"
        )));
    };
    if app.out.json {
        app.out.json(&tl);
        return Ok(EXIT_OK);
    }
    print_customer(app, &tl);
    print_access(app, &tl);
    print_events(app, &tl);
    app.out.heading("Invoices");
    app.out
        .table(&invoice_table(app, &tl.invoices), "no invoices");
    print_jobs(app, &tl);
    Ok(EXIT_OK)
}

/// Name, email, ids, and whether Stripe deleted the customer.
fn print_customer(app: &App, tl: &CustomerTimeline) {
    let (out, customer) = (&app.out, &tl.customer);
    out.line(format!(
        "{} {}  {} {}",
        out.bold(customer.name.as_deref().unwrap_or("(no name)")),
        opt(customer.email.as_deref()),
        out.dim(&customer.id),
        out.dim(&format!("user {}", opt(customer.user_id.as_deref())))
    ));
    if customer.deleted {
        out.line(format!("  {}", out.red("deleted in Stripe")));
    }
}

/// The access decision and the subscriptions behind it.
fn print_access(app: &App, tl: &CustomerTimeline) {
    let (out, access) = (&app.out, &tl.access);
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
    for r in &tl.subscriptions {
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
}

fn print_events(app: &App, tl: &CustomerTimeline) {
    let out = &app.out;
    out.heading("Events");
    let mut t = Table::new(&["created", "type", "outcome", "object", "event"]);
    for e in &tl.events {
        t.row(vec![
            time(e.created),
            e.event_type.clone(),
            out.status(&e.outcome),
            opt(e.object_id.as_deref()),
            out.dim(&e.id),
        ]);
    }
    out.table(&t, "no events");
}

fn print_jobs(app: &App, tl: &CustomerTimeline) {
    let out = &app.out;
    out.heading("Jobs");
    let mut t = Table::new(&["id", "kind", "key", "state", "attempts", "last error"]);
    for h in &tl.jobs {
        let j = &h.job;
        t.row(vec![
            j.id.to_string(),
            j.kind.clone(),
            j.key.clone(),
            out.status(j.state.as_str()),
            attempts_cell(&h.attempts),
            opt(j.last_error.as_deref()),
        ]);
    }
    out.table(&t, "no jobs");
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
