//! `jobs`, `replay-job`, `reprocess`.

use serde_json::json;
use tollbooth::{JobFilter, JobState, Outcome};

use crate::customer::attempts_cell;
use crate::output::{Table, age, opt};
use crate::{App, EXIT_OK, Res, resolve_customer};

/// The flags of `jobs`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only this kind (e.g. crm.sync_customer)
    #[arg(long)]
    pub kind: Option<String>,
    /// Only this state
    #[arg(long, value_parser = ["due", "leased", "done", "dead", "superseded"], conflicts_with = "dead")]
    pub state: Option<String>,
    /// Only dead-lettered jobs (same as --state dead)
    #[arg(long)]
    pub dead: bool,
    /// Only this customer (id, email or user id)
    #[arg(long)]
    pub customer: Option<String>,
    /// At most this many
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

impl ListArgs {
    /// `--state S` / `--dead` as a state filter (`--dead` wins).
    fn state(&self) -> Res<Option<JobState>> {
        if self.dead {
            return Ok(Some(JobState::Dead));
        }
        self.state
            .as_deref()
            .map(JobState::parse)
            .transpose()
            .map_err(|_| {
                tollbooth::Error::new(
                    tollbooth::ErrorCode::InvalidArgument,
                    "--state must be one of due, leased, done, dead, superseded",
                )
                .into()
            })
    }
}

pub fn list(app: &App, args: ListArgs) -> Res<u8> {
    let state = args.state()?;
    let engine = app.engine()?;
    let out = &app.out;
    let customer_id = resolve_customer(&engine, args.customer.as_deref())?;
    let jobs = engine.jobs(&JobFilter {
        kind: args.kind,
        state,
        customer_id,
        limit: Some(args.limit),
    })?;
    if out.json {
        out.json(&jobs);
        return Ok(EXIT_OK);
    }
    let mut t = Table::new(&[
        "id",
        "kind",
        "key",
        "customer",
        "state",
        "attempts",
        "runs",
        "last error",
    ]);
    for j in &jobs {
        let attempts = engine.job_attempts(j.id)?;
        let runs = match j.state {
            JobState::Due if j.run_at > app.now => format!("in {}", age(j.run_at - app.now)),
            JobState::Due => format!("due {} ago", age(app.now - j.run_at)),
            _ => "-".into(),
        };
        t.row(vec![
            j.id.to_string(),
            j.kind.clone(),
            j.key.clone(),
            opt(j.customer_id.as_deref()),
            out.status(j.state.as_str()),
            attempts_cell(&attempts),
            runs,
            opt(j.last_error.as_deref()),
        ]);
    }
    out.table(&t, "no jobs match");
    Ok(EXIT_OK)
}

/// `reprocess --quarantined`: replays every quarantined event. Exit 0 when none is left.
pub fn reprocess_quarantined(app: &App) -> Res<u8> {
    let engine = app.engine()?;
    let r = engine.reprocess_quarantined(app.now)?;
    app.out.json(&r);
    app.out.line(format!(
        "{} quarantined event(s) applied, {} still quarantined",
        r.applied, r.still_quarantined
    ));
    Ok(if r.still_quarantined == 0 {
        EXIT_OK
    } else {
        crate::EXIT_ALERTS
    })
}

pub fn replay(app: &App, id: i64) -> Res<u8> {
    let engine = app.engine()?;
    let runs_as = engine.replay(id, app.now)?;
    let job = engine.job(runs_as)?;
    app.out
        .json(&json!({ "replayed": id, "runs_as": runs_as, "job": job }));
    if runs_as == id {
        app.out.line(format!(
            "job {id} ({} {}) is due again; attempts start over",
            job.kind, job.key
        ));
    } else {
        app.out.line(format!(
            "job {id} was superseded: job {runs_as} ({} {}) already carries the newest state and is due",
            job.kind, job.key
        ));
    }
    Ok(EXIT_OK)
}

pub fn reprocess(app: &App, event_id: &str) -> Res<u8> {
    let engine = app.engine()?;
    let h = engine.reprocess(event_id, app.now)?;
    // The engine reports "duplicate" when the event was already fully applied.
    let noop = h.outcome == Outcome::Duplicate;
    app.out
        .json(&json!({ "event_id": h.event_id, "noop": noop, "handled": h }));
    if noop {
        app.out.line(format!(
            "no-op: {event_id} ({}) is already fully applied; nothing changed",
            h.event_type
        ));
    } else {
        app.out.line(format!(
            "reprocessed {event_id} ({}): state updated, {} job(s) written",
            h.event_type,
            h.jobs.len()
        ));
        for j in &h.jobs {
            app.out.line(format!("  job {} {} {}", j.id, j.kind, j.key));
        }
    }
    Ok(EXIT_OK)
}
