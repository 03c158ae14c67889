//! `customer <id | email | user id>`: one customer's timeline.

use crate::output::{Table, date, money, opt, time};
use crate::{App, EXIT_OK, Res, fail};

pub fn run(app: &App, who: &str) -> Res<u8> {
    let engine = app.engine()?;
    let out = &app.out;
    let Some(tl) = engine.customer_timeline(who, app.now)? else {
        return Err(fail(format!(
            "no customer matches {who:?} (tried Stripe customer id, email and user id)"
        )));
    };
    if out.json {
        out.json(&tl);
        return Ok(EXIT_OK);
    }
    let (customer, access, cid) = (&tl.customer, &tl.access, &tl.customer.id);
    let (events, invoices) = (&tl.events, &tl.invoices);
    let job_rows: Vec<_> = tl.jobs.iter().map(|h| (&h.job, &h.attempts)).collect();

    out.line(format!(
        "{} {}  {} {}",
        out.bold(customer.name.as_deref().unwrap_or("(no name)")),
        opt(customer.email.as_deref()),
        out.dim(cid),
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
    out.heading("Events");
    let mut t = Table::new(&["created", "type", "outcome", "object", "event"]);
    for e in events {
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
    out.table(&invoice_table(app, invoices), "no invoices");
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
