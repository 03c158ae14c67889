//! `prune`, `backup` and `restore`: keep a store bounded, and copy it safely.

use std::path::Path;

use serde_json::json;
use tollbooth::retention::Retention;

use crate::{App, EXIT_OK, Res, fail};

/// `prune`: drops history older than the given ages (defaults: bodies 30 days, event ids 90,
/// delivery log 30, finished jobs 30).
pub fn prune(app: &App, r: Retention) -> Res<u8> {
    let engine = app.engine()?;
    let p = engine.prune(&r, app.now)?;
    app.out.json(&json!({ "pruned": p }));
    app.out.line(format!(
        "pruned {} event bodies, {} events, {} delivery rows ({} count rows), {} finished jobs ({} attempts)",
        p.bodies, p.events, p.deliveries, p.delivery_stats, p.jobs, p.job_attempts
    ));
    Ok(EXIT_OK)
}

/// `backup FILE`: a consistent copy while the app keeps writing.
pub fn backup(app: &App, file: &Path) -> Res<u8> {
    if file.exists() {
        return Err(fail(format!(
            "{} exists: choose a new file",
            file.display()
        )));
    }
    let engine = app.engine()?;
    engine.backup(file)?;
    app.out
        .json(&json!({ "backup": file.display().to_string() }));
    app.out.line(format!("backed up to {}", file.display()));
    Ok(EXIT_OK)
}

/// `restore FILE`: replaces the database with a backup (stop the app first).
pub fn restore(app: &App, file: &Path) -> Res<u8> {
    if !file.exists() {
        return Err(fail(format!("no backup at {}", file.display())));
    }
    tollbooth::store::sqlite::restore(file, &app.db)?;
    // Opening it checks and migrates the restored schema like any other start.
    app.engine()?.close()?;
    app.out
        .json(&json!({ "restored": file.display().to_string() }));
    app.out.line(format!(
        "restored {} from {}; Stripe's redeliveries of anything newer will be processed as usual",
        app.db.display(),
        file.display()
    ));
    Ok(EXIT_OK)
}
