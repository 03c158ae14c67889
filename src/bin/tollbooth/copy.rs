//! `copy --from <db> --to <db>`: move a store to another database (SQLite to PostgreSQL when
//! one machine is no longer enough, or back), then verify every table on both sides.

use serde_json::json;
use tollbooth::store::{self, SqliteOptions, copy};

use crate::{App, EXIT_ERROR, EXIT_OK, Res, fail};

/// A database string without any password, for messages.
fn shown(db: &str) -> String {
    match (db.find("://"), db.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &db[..scheme], &db[at + 1..])
        }
        _ => db.to_owned(),
    }
}

pub fn run(app: &App, from: &str, to: &str) -> Res<u8> {
    if from == to {
        return Err(fail("--from and --to name the same database"));
    }
    let is_url = |db: &str| db.contains("://");
    if !is_url(from) && !std::path::Path::new(from).exists() {
        return Err(fail(format!("no database at {}", shown(from))));
    }
    let opts = SqliteOptions::default();
    let source = store::open(from, &opts)?;
    let dest = store::open(to, &opts)?;
    let out = &app.out;
    let started = std::time::Instant::now();
    let report = copy::copy(&*source, &*dest, |table, n| {
        if n % 5_000 == 0 {
            out.line(format!("  {table}: {n} rows…"));
        }
    })?;
    source.close()?;
    dest.close()?;
    let all_verified = report.iter().all(|t| t.verified);
    let rows: u64 = report.iter().map(|t| t.rows).sum();
    out.json(&json!({
        "from": shown(from),
        "to": shown(to),
        "tables": report,
        "rows": rows,
        "verified": all_verified,
        "seconds": started.elapsed().as_secs_f64(),
    }));
    out.line(format!("copied {} to {}", shown(from), shown(to)));
    for t in &report {
        let check = if t.verified {
            out.status("ok")
        } else {
            out.status("failed")
        };
        out.line(format!("  {:<18} {:>9} rows  {check}", t.table, t.rows));
    }
    if all_verified {
        out.line(format!(
            "{rows} rows in {:.1} s; both stores hold the same rows (running copy again is safe)",
            started.elapsed().as_secs_f64()
        ));
        Ok(EXIT_OK)
    } else {
        out.line("the destination differs from the source (was the source written during the copy? run copy again)");
        Ok(EXIT_ERROR)
    }
}
