//! `events`: stored events with filters.

use tollbooth::event::EventFilter;

use crate::output::{Table, opt, time};
use crate::{App, EXIT_OK, Res, resolve_customer};

pub struct Filter {
    pub event_type: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub customer: Option<String>,
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
