//! `import <file>`: backfill from a Stripe events export, through the same dedupe and state
//! rules as live webhooks but without signatures (the file is trusted operator input).
//!
//! Accepted shapes: JSON lines (one event per line), a JSON array of events, or the list
//! object Stripe's `GET /v1/events` returns (`{"object":"list","data":[...]}`). Each event's
//! exact bytes are kept: the line for JSON lines, the element's raw text otherwise.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;

use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use crate::{App, EXIT_OK, Res, fail};

/// One event to import: where it was in the file and its exact bytes.
struct Item<'a> {
    /// 1-based line (JSON lines) or element number.
    pos: usize,
    bytes: &'a [u8],
    created: i64,
}

#[derive(Deserialize)]
struct ListObject<'a> {
    object: Option<&'a str>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Created {
    created: Option<i64>,
}

/// The events of a file, in file order.
struct Split<'a> {
    events: Vec<(usize, &'a str)>,
    /// A Stripe list object: newest first.
    newest_first: bool,
    /// What a position counts: `line` or `element`.
    unit: &'static str,
}

fn split(text: &str) -> Res<Split<'_>> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let elems: Vec<&RawValue> = serde_json::from_str(text)
            .map_err(|e| fail(format!("not a JSON array of events: {e}")))?;
        return Ok(Split {
            events: numbered(&elems),
            newest_first: false,
            unit: "element",
        });
    }
    if let Ok(list) = serde_json::from_str::<ListObject<'_>>(text) {
        if list.object == Some("list") {
            let data = list
                .data
                .ok_or_else(|| fail("a list object without \"data\""))?;
            let elems: Vec<&RawValue> = serde_json::from_str(data.get())
                .map_err(|e| fail(format!("the list's \"data\" is not an array: {e}")))?;
            return Ok(Split {
                events: numbered(&elems),
                newest_first: true,
                unit: "element",
            });
        }
    }
    let lines = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    Ok(Split {
        events: lines,
        newest_first: false,
        unit: "line",
    })
}

fn numbered<'a>(elems: &[&'a RawValue]) -> Vec<(usize, &'a str)> {
    elems
        .iter()
        .enumerate()
        .map(|(i, r)| (i + 1, r.get()))
        .collect()
}

pub fn run(app: &App, file: &Path) -> Res<u8> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| fail(format!("cannot read {}: {e}", file.display())))?;
    let Split {
        events: mut raw,
        newest_first,
        unit,
    } = split(&text)?;
    if newest_first {
        raw.reverse();
    }
    let mut items = Vec::with_capacity(raw.len());
    let mut errors = Vec::new();
    for (pos, s) in raw {
        match serde_json::from_str::<Created>(s) {
            Ok(c) => items.push(Item {
                pos,
                bytes: s.as_bytes(),
                // A missing `created` is the engine's to reject; sort it first.
                created: c.created.unwrap_or(i64::MIN),
            }),
            Err(e) => errors.push(
                json!({ "at": pos, "code": "PAYLOAD_INVALID_JSON", "message": e.to_string() }),
            ),
        }
    }
    // Oldest first, file order within a second (stable sort).
    items.sort_by_key(|i| i.created);

    let engine = app.engine_create()?;
    let bar = (!app.out.json && std::io::stderr().is_terminal() && items.len() >= 200).then(|| {
        let b = indicatif::ProgressBar::new(items.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} events {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut jobs = 0usize;
    for item in &items {
        match engine.ingest_trusted(item.bytes, app.now) {
            Ok(h) => {
                *counts.entry(h.outcome.as_str()).or_default() += 1;
                jobs += h.jobs.len();
            }
            Err(e) if e.code().is_client_error() => {
                *counts.entry("rejected").or_default() += 1;
                errors.push(
                    json!({ "at": item.pos, "code": e.code().as_str(), "message": e.message() }),
                );
            }
            // A store failure stops the import; rerunning it later is safe (duplicates).
            Err(e) => return Err(e.into()),
        }
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let unreadable = errors.len() as u64 - counts.get("rejected").copied().unwrap_or(0);
    if unreadable > 0 {
        *counts.entry("rejected").or_default() += unreadable;
    }
    let total: u64 = counts.values().sum();
    let out = &app.out;
    out.json(&json!({
        "file": file.display().to_string(),
        "total": total,
        "by_outcome": counts,
        "jobs_written": jobs,
        "errors": errors.iter().take(50).collect::<Vec<_>>(),
    }));
    out.line(format!("imported {total} events from {}", file.display()));
    for outcome in [
        "processed",
        "duplicate",
        "stale",
        "ignored",
        "quarantined",
        "rejected",
    ] {
        let n = counts.get(outcome).copied().unwrap_or(0);
        if n > 0 {
            out.line(format!("  {n:>7} {}", out.status(outcome)));
        }
    }
    out.line(format!("  {jobs:>7} jobs written"));
    for e in errors.iter().take(10) {
        out.line(format!(
            "  {} {unit} {}: {} {}",
            out.red("rejected"),
            e["at"],
            e["code"].as_str().unwrap_or(""),
            e["message"].as_str().unwrap_or("")
        ));
    }
    Ok(EXIT_OK)
}
