//! `events`: stored events with filters.

use tollbooth::event::EventFilter;

use crate::output::{Table, opt, time};
use crate::{App, EXIT_OK, Res, resolve_customer};

/// The filters of `events` (its flags).
#[derive(Debug, clap::Args)]
pub struct Filter {
    /// Only this event type (e.g. invoice.paid)
    #[arg(long = "type", value_name = "TYPE")]
    pub event_type: Option<String>,
    /// Only this outcome
    #[arg(long, value_parser = ["processed", "ignored", "stale", "quarantined"])]
    pub outcome: Option<String>,
    /// Created at or after (unix seconds)
    #[arg(long, value_name = "UNIX", allow_negative_numbers = true)]
    pub since: Option<i64>,
    /// Created before (unix seconds)
    #[arg(long, value_name = "UNIX", allow_negative_numbers = true)]
    pub until: Option<i64>,
    /// Only this customer (id, email or user id)
    #[arg(long)]
    pub customer: Option<String>,
    /// At most this many
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

pub fn run(app: &App, f: Filter) -> Res<u8> {
    let engine = app.engine()?;
    let out = &app.out;
    let customer_id = resolve_customer(&engine, f.customer.as_deref())?;
    let events = engine.events(&EventFilter {
        event_type: f.event_type,
        outcome: f.outcome,
        customer_id,
        since: f.since,
        until: f.until,
        limit: Some(f.limit),
    })?;
    out.json(&events);
    let mut t = Table::new(&[
        "created", "type", "outcome", "customer", "object", "event", "received",
    ]);
    for e in &events {
        let outcome = match &e.error_code {
            Some(code) => format!("{} {code}", out.status(&e.outcome)),
            None => out.status(&e.outcome),
        };
        t.row(vec![
            time(e.created),
            e.event_type.clone(),
            outcome,
            opt(e.customer_id.as_deref()),
            opt(e.object_id.as_deref()),
            out.dim(&e.id),
            time(e.received_at),
        ]);
    }
    out.table(&t, "no events match");
    Ok(EXIT_OK)
}
