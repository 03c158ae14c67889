//! Backfill from a Stripe events export, through the same dedupe and state rules as live
//! webhooks but without signatures (the export is trusted operator input). Used by
//! `tollbooth import`, the Node `importEvents` and anything else that catches up.
//!
//! Accepted shapes: JSON lines (one event per line), a JSON array of events, or the list
//! object Stripe's `GET /v1/events` returns (`{"object":"list","data":[...]}`). Each event's
//! exact bytes are kept: the line for JSON lines, the element's raw text otherwise. Events are
//! applied oldest first (file order within a second); a store failure stops the import, and
//! rerunning it is safe (already stored events are duplicates).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::event::LivemodeCounts;

/// Most per-event errors an [`ImportReport`] lists.
pub const MAX_REPORTED_ERRORS: usize = 50;

/// One event of an export: where it was and its exact bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportEvent<'a> {
    /// 1-based line (JSON lines) or element number.
    pub pos: usize,
    /// The exact bytes.
    pub bytes: &'a [u8],
    /// `created`, or `i64::MIN` when missing (the engine rejects it; sorted first).
    pub created: i64,
    /// `livemode`, when the event has it.
    pub livemode: Option<bool>,
}

/// How an import treats an export of the other Stripe mode than the store's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Import an export even though it holds events of the other mode than the store (the
    /// configured `livemode`, else the mode of the newest stored events). Off by default: a
    /// test-mode export must not grant access in a live store. A configured `livemode` still
    /// quarantines each event of the other mode, as it does for webhooks.
    pub allow_livemode_mismatch: bool,
}

/// An event that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportError {
    /// Its line or element number.
    pub at: usize,
    /// The error code.
    pub code: &'static str,
    /// What was wrong (never the event body).
    pub message: String,
}

/// An export split into events, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export<'a> {
    /// The events, oldest first.
    pub events: Vec<ExportEvent<'a>>,
    /// Entries that are not JSON at all.
    pub errors: Vec<ImportError>,
    /// What a position counts: `line` or `element`.
    pub unit: &'static str,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Events read.
    pub total: u64,
    /// Events per outcome (`processed`, `duplicate`, `ignored`, `stale`, `rejected`).
    pub by_outcome: BTreeMap<String, u64>,
    /// Jobs written.
    pub jobs_written: u64,
    /// The first [`MAX_REPORTED_ERRORS`] rejected events.
    pub errors: Vec<ImportError>,
    /// What an error's position counts: `line` or `element`.
    pub unit: &'static str,
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
    livemode: Option<bool>,
}

fn invalid(msg: String) -> Error {
    Error::new(ErrorCode::PayloadInvalidJson, msg)
}

fn numbered<'a>(elems: &[&'a RawValue]) -> Vec<(usize, &'a str)> {
    elems
        .iter()
        .enumerate()
        .map(|(i, r)| (i + 1, r.get()))
        .collect()
}

/// Splits an export into its events, oldest first.
pub fn parse_export(text: &str) -> Result<Export<'_>> {
    let trimmed = text.trim_start();
    let (mut raw, newest_first, unit) = if trimmed.starts_with('[') {
        let elems: Vec<&RawValue> = serde_json::from_str(text)
            .map_err(|e| invalid(format!("not a JSON array of events: {e}")))?;
        (numbered(&elems), false, "element")
    } else if let Some(data) = serde_json::from_str::<ListObject<'_>>(text)
        .ok()
        .filter(|l| l.object == Some("list"))
        .map(|l| l.data)
    {
        let data = data.ok_or_else(|| invalid("a list object without \"data\"".into()))?;
        let elems: Vec<&RawValue> = serde_json::from_str(data.get())
            .map_err(|e| invalid(format!("the list's \"data\" is not an array: {e}")))?;
        (numbered(&elems), true, "element")
    } else {
        let lines = text
            .split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
            .filter(|(_, l)| !l.trim().is_empty())
            .collect();
        (lines, false, "line")
    };
    if newest_first {
        raw.reverse();
    }
    let mut events = Vec::with_capacity(raw.len());
    let mut errors = Vec::new();
    for (pos, s) in raw {
        match serde_json::from_str::<Created>(s) {
            Ok(c) => events.push(ExportEvent {
                pos,
                bytes: s.as_bytes(),
                created: c.created.unwrap_or(i64::MIN),
                livemode: c.livemode,
            }),
            Err(e) => errors.push(ImportError {
                at: pos,
                code: ErrorCode::PayloadInvalidJson.as_str(),
                message: e.to_string(),
            }),
        }
    }
    // Oldest first, file order within a second (stable sort).
    events.sort_by_key(|e| e.created);
    Ok(Export {
        events,
        errors,
        unit,
    })
}

/// The mode an export must be in for this store: the configured one, else the one every
/// sampled stored event is in (`None`: an empty or mixed store, or a backend that does not
/// count).
fn store_mode(configured: Option<bool>, stored: Option<LivemodeCounts>) -> Option<bool> {
    configured.or(match stored {
        Some(LivemodeCounts { live, test: 0 }) if live > 0 => Some(true),
        Some(LivemodeCounts { live: 0, test }) if test > 0 => Some(false),
        _ => None,
    })
}

fn mode_name(live: bool) -> &'static str {
    if live { "live" } else { "test" }
}

/// The livemode guard for a whole export: `LIVEMODE_MISMATCH` when it holds events of the
/// other mode than `mode`. The message has counts only, never an event.
fn check_export_mode(events: &[ExportEvent<'_>], mode: Option<bool>) -> Result<()> {
    let Some(live) = mode else {
        return Ok(());
    };
    let other = events.iter().filter(|e| e.livemode == Some(!live)).count();
    if other == 0 {
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::LivemodeMismatch,
        format!(
            "the export holds {other} {}-mode event(s) and this store is {}-mode; nothing was \
             imported (override: allow_livemode_mismatch / --allow-livemode-mismatch)",
            mode_name(!live),
            mode_name(live)
        ),
    ))
}

impl Engine {
    /// Imports a Stripe events export (see the module docs) at `now` under the livemode
    /// guard (see [`ImportOptions`]); `progress` is called after each event with the
    /// number done and the total.
    pub fn import_export(
        &self,
        text: &str,
        now: i64,
        progress: impl FnMut(usize, usize),
    ) -> Result<ImportReport> {
        self.import_export_with(text, now, ImportOptions::default(), progress)
    }

    /// [`Engine::import_export`] with options.
    pub fn import_export_with(
        &self,
        text: &str,
        now: i64,
        opts: ImportOptions,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<ImportReport> {
        let Export {
            events,
            mut errors,
            unit,
        } = parse_export(text)?;
        if !opts.allow_livemode_mismatch {
            let stored = self.livemode_sample()?;
            check_export_mode(&events, store_mode(self.config().livemode, stored))?;
        }
        let mut by_outcome: BTreeMap<String, u64> = BTreeMap::new();
        let mut jobs_written = 0u64;
        for (i, ev) in events.iter().enumerate() {
            match self.ingest_trusted(ev.bytes, now) {
                Ok(h) => {
                    *by_outcome.entry(h.outcome.as_str().to_owned()).or_default() += 1;
                    jobs_written += h.jobs.len() as u64;
                }
                Err(e) if e.code().is_client_error() => errors.push(ImportError {
                    at: ev.pos,
                    code: e.code().as_str(),
                    message: e.message().to_owned(),
                }),
                Err(e) => return Err(e),
            }
            progress(i + 1, events.len());
        }
        if !errors.is_empty() {
            *by_outcome.entry("rejected".to_owned()).or_default() += errors.len() as u64;
        }
        errors.sort_by_key(|e| e.at);
        errors.truncate(MAX_REPORTED_ERRORS);
        Ok(ImportReport {
            total: by_outcome.values().sum(),
            by_outcome,
            jobs_written,
            errors,
            unit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_shapes_split_to_the_same_events_oldest_first() {
        let a = r#"{"id":"evt_a","created":2}"#;
        let b = r#"{"id":"evt_b","created":1}"#;
        let lines = format!("{a}\n\n{b}\r\n");
        let array = format!("[{a}, {b}]");
        let list = format!(r#"{{"object":"list","data":[{a},{b}]}}"#);
        for (text, unit) in [(&lines, "line"), (&array, "element"), (&list, "element")] {
            let e = parse_export(text).unwrap();
            assert_eq!(e.unit, unit);
            let ids: Vec<_> = e.events.iter().map(|x| x.bytes).collect();
            assert_eq!(ids, [b.as_bytes(), a.as_bytes()], "{text}");
        }
        // A list object is newest first: equal `created` keeps reversed file order.
        let x = r#"{"id":"evt_x","created":5}"#;
        let y = r#"{"id":"evt_y","created":5}"#;
        let text = format!(r#"{{"object":"list","data":[{x},{y}]}}"#);
        let e = parse_export(&text).unwrap();
        assert_eq!(e.events[0].bytes, y.as_bytes());
    }

    #[test]
    fn an_export_of_the_other_mode_is_refused_whole() {
        let text = "{\"id\":\"evt_1\",\"created\":1,\"livemode\":false}\n\
                    {\"id\":\"evt_2\",\"created\":2,\"livemode\":true}\n";
        let e = parse_export(text).unwrap();
        let live_store = Some(LivemodeCounts { live: 3, test: 0 });
        let err = check_export_mode(&e.events, store_mode(None, live_store)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::LivemodeMismatch);
        assert!(err.message().contains("1 test-mode event"), "{err}");
        assert!(!err.message().contains("evt_1"), "{err}");
        // The configured mode wins over what is stored; an empty or mixed store guards nothing.
        assert!(check_export_mode(&e.events, store_mode(Some(false), live_store)).is_err());
        assert_eq!(
            store_mode(None, Some(LivemodeCounts { live: 2, test: 1 })),
            None
        );
        assert_eq!(store_mode(None, Some(LivemodeCounts::default())), None);
        assert_eq!(store_mode(None, None), None);
        let live_only = parse_export("{\"created\":1,\"livemode\":true}").unwrap();
        assert!(check_export_mode(&live_only.events, Some(true)).is_ok());
    }

    #[test]
    fn unreadable_entries_are_errors_with_their_position() {
        let e = parse_export("{\"created\":1}\nnot json\n").unwrap();
        assert_eq!(e.events.len(), 1);
        assert_eq!(e.errors[0].at, 2);
        assert_eq!(e.errors[0].code, "PAYLOAD_INVALID_JSON");
        assert_eq!(
            parse_export("[1, ").unwrap_err().code(),
            ErrorCode::PayloadInvalidJson
        );
    }
}
