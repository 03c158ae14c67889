//! `customer <id | email | user id>`: one customer's timeline.

use std::collections::HashMap;

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
    let names = plan_names(&engine)?;
    print_customer(app, &tl);
    print_access(app, &tl, &names);
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

/// The access decision and what it rests on: subscriptions, one-time purchases, features.
fn print_access(app: &App, tl: &CustomerTimeline, names: &HashMap<String, String>) {
    let (out, access) = (&app.out, &tl.access);
    out.heading("Access");
    out.line(format!(
        "  {}  {}  {}",
        out.status(access.state.as_str()),
        out.access(access.has_access),
        access.reason
    ));
    subscription_lines(app, &tl.subscriptions, names);
    out.heading("Purchases");
    out.table(
        &purchase_table(app, &tl.purchases, names),
        "no one-time purchases",
    );
    out.heading("Features");
    out.line(if tl.features.is_empty() {
        "  none (no active Stripe Entitlements)".to_owned()
    } else {
        format!("  {}", tl.features.join(", "))
    });
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

/// `features <who> [--has KEY]`: the active entitlements of a customer or app user.
pub fn features(app: &App, who: &str, has: Option<&str>) -> Res<u8> {
    let engine = app.engine()?;
    let out = &app.out;
    match has {
        Some(key) => {
            let yes = engine.has_feature(who, key)?;
            if out.json {
                out.json(&serde_json::json!({ "who": who, "feature": key, "active": yes }));
            } else {
                out.line(if yes { "yes" } else { "no" });
            }
        }
        None => {
            let features = engine.features(who)?;
            if out.json {
                out.json(&serde_json::json!({ "who": who, "features": features }));
            } else if features.is_empty() {
                out.line(format!("{who}: no active features"));
            } else {
                for f in &features {
                    out.line(f);
                }
            }
        }
    }
    Ok(EXIT_OK)
}

/// Product and price names from the catalog (`sync` and the `product.*`/`price.*` events).
fn plan_names(engine: &tollbooth::Engine) -> Res<HashMap<String, String>> {
    Ok(engine
        .catalog(None)?
        .into_iter()
        .filter_map(|c| Some((c.id, c.name?)))
        .collect())
}

/// `Name (id)` when the catalog knows the id, else the id.
fn named(names: &HashMap<String, String>, id: Option<&str>) -> String {
    match id {
        Some(id) => match names.get(id) {
            Some(n) => format!("{n} ({id})"),
            None => id.to_owned(),
        },
        None => "-".into(),
    }
}

/// One line per subscription, then one per item with its quantity (seats).
fn subscription_lines(
    app: &App,
    subs: &[tollbooth::event::SubscriptionRecord],
    names: &HashMap<String, String>,
) {
    let out = &app.out;
    for r in subs {
        out.line(format!(
            "  {} {} {} period ends {}{}",
            out.dim(&r.id),
            out.status(&r.status),
            named(names, r.product_id.as_deref().or(r.price_id.as_deref())),
            r.current_period_end.map_or("-".into(), date),
            if r.cancel_at_period_end {
                ", cancels at period end"
            } else {
                ""
            }
        ));
        for i in &r.items {
            out.line(format!(
                "      {} × {}  {}",
                i.quantity,
                named(names, i.product_id.as_deref()),
                out.dim(i.price_id.as_deref().unwrap_or("-"))
            ));
        }
    }
}

fn purchase_table(
    app: &App,
    purchases: &[tollbooth::PurchaseRecord],
    names: &HashMap<String, String>,
) -> Table {
    let out = &app.out;
    let mut t = Table::new(&["bought", "amount", "paid", "refunded", "purchase"]);
    for p in purchases {
        let bought: Vec<_> = p
            .items
            .iter()
            .map(|i| named(names, i.product_id.as_deref().or(i.price_id.as_deref())))
            .collect();
        t.row(vec![
            if bought.is_empty() {
                "-".into()
            } else {
                bought.join(", ")
            },
            money(p.amount, &p.currency),
            p.paid_at.map_or("-".into(), date),
            match p.refunded_at {
                Some(r) => out.red(&format!("refunded {}", date(r))),
                None => "-".into(),
            },
            out.dim(&p.id),
        ]);
    }
    t
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
