//! `import <file>`: backfill from a Stripe events export through `Engine::import_export`
//! (the shapes it accepts and the order it applies them in are documented in
//! `tollbooth::import`).

use std::io::IsTerminal;
use std::path::Path;

use serde_json::json;
use tollbooth::import::ImportReport;

use crate::output::Out;
use crate::{App, EXIT_OK, Res, fail};

pub fn run(app: &App, file: &Path, opts: tollbooth::import::ImportOptions) -> Res<u8> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| fail(format!("cannot read {}: {e}", file.display())))?;
    let engine = app.engine_create()?;
    let mut bar: Option<indicatif::ProgressBar> = None;
    let show = !app.out.json && std::io::stderr().is_terminal();
    let report = engine.import_export_with(&text, app.now, opts, |done, total| {
        if show && total >= 200 {
            let b = bar.get_or_insert_with(|| {
                let b = indicatif::ProgressBar::new(total as u64);
                b.set_style(
                    indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} events {eta}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b
            });
            b.set_position(done as u64);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    print_report(&app.out, file, &report);
    Ok(EXIT_OK)
}

/// What an import did: totals by outcome, jobs written, the first ten rejected events.
fn print_report(out: &Out, file: &Path, report: &ImportReport) {
    out.json(&json!({
        "file": file.display().to_string(),
        "total": report.total,
        "by_outcome": report.by_outcome,
        "jobs_written": report.jobs_written,
        "errors": report.errors,
    }));
    out.line(format!(
        "imported {} events from {}",
        report.total,
        file.display()
    ));
    for outcome in [
        "processed",
        "duplicate",
        "stale",
        "ignored",
        "quarantined",
        "rejected",
    ] {
        let n = report.by_outcome.get(outcome).copied().unwrap_or(0);
        if n > 0 {
            out.line(format!("  {n:>7} {}", out.status(outcome)));
        }
    }
    out.line(format!("  {:>7} jobs written", report.jobs_written));
    for e in report.errors.iter().take(10) {
        out.line(format!(
            "  {} {} {}: {} {}",
            out.red("rejected"),
            report.unit,
            e.at,
            e.code,
            e.message
        ));
    }
}
