//! `catch-up`: after an outage longer than Stripe's three days of webhook retries (or while
//! an endpoint was disabled), fetch the missed events from `GET /v1/events` and feed each one
//! through the normal ingest path for trusted events ([`Engine::ingest_trusted`]).
//!
//! It starts at the newest stored event minus a safety margin (events created shortly before
//! the outage may have been delivered out of order), at most [`EVENT_RETENTION_SECS`] back:
//! Stripe lists only the last 30 days of events, and the report says when the gap is older,
//! so the operator knows to run `sync` for the rest. Overlap is harmless (dedupe by event id),
//! and so is order: the list comes newest first, each page is applied oldest first, and the
//! watermark rules keep an older event from overwriting a newer one.
//!
//! Resumable like `sync`: the `events` stream keeps its window and cursor, so a killed
//! catch-up continues with the same window instead of recomputing it from the (now partly
//! filled) event history.

use serde::Serialize;

use super::client::StripeClient;
use crate::engine::{Engine, Outcome};
use crate::error::{Error, ErrorCode, Result};
use crate::sync_state::SyncPage;

/// How long Stripe keeps events listable: 30 days.
pub const EVENT_RETENTION_SECS: i64 = 30 * 86_400;

/// The default safety margin before the newest stored event: one hour.
pub const DEFAULT_MARGIN_SECS: i64 = 3_600;

/// The cursor stream of catch-up.
pub const EVENTS_STREAM: &str = "events";

/// What to catch up.
#[derive(Debug, Clone)]
pub struct CatchUpOptions {
    /// Start here (unix seconds) instead of the newest stored event minus the margin.
    pub since: Option<i64>,
    /// Seconds before the newest stored event to start at.
    pub margin_secs: i64,
    /// Start a new window even when an unfinished catch-up could resume.
    pub restart: bool,
    /// A Connect account (`Stripe-Account` header).
    pub account: Option<String>,
}

impl Default for CatchUpOptions {
    fn default() -> Self {
        CatchUpOptions {
            since: None,
            margin_secs: DEFAULT_MARGIN_SECS,
            restart: false,
            account: None,
        }
    }
}

/// What a catch-up did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CatchUpReport {
    /// The window's start (`created[gte]`).
    pub from: i64,
    /// The window's end (`created[lte]`): the time the run started.
    pub until: i64,
    /// The start that was asked for (or derived), before clamping to Stripe's retention.
    pub wanted_from: i64,
    /// `true` when `wanted_from` is older than Stripe keeps: events before `from` are gone
    /// from the API for good (run `sync` to refresh state instead).
    pub gap_exceeds_retention: bool,
    /// `true` when no event was stored yet (the window is Stripe's whole retention).
    pub no_history: bool,
    /// Whether this call continued an unfinished catch-up.
    pub resumed: bool,
    /// Events fetched.
    pub fetched: i64,
    /// New events applied.
    pub processed: i64,
    /// Already stored (delivered by webhook, or an earlier catch-up).
    pub duplicate: i64,
    /// New, but of a type that moves no state.
    pub ignored: i64,
    /// New, but older than the state.
    pub stale: i64,
    /// Stored but not applied because tollbooth could not normalize them (see the quarantine).
    pub quarantined: i64,
    /// Refused by the engine; see the delivery log.
    pub rejected: i64,
    /// Pages fetched.
    pub pages: i64,
}

fn scope_text(from: i64, until: i64) -> String {
    format!("created[gte]={from}&created[lte]={until}")
}

fn parse_scope(scope: &str) -> Option<(i64, i64)> {
    let (a, b) = scope.split_once('&')?;
    Some((
        a.strip_prefix("created[gte]=")?.parse().ok()?,
        b.strip_prefix("created[lte]=")?.parse().ok()?,
    ))
}

/// Runs a catch-up. `progress` gets the number of events fetched so far after each page.
pub fn catch_up(
    engine: &Engine,
    client: &StripeClient,
    opts: &CatchUpOptions,
    progress: &mut dyn FnMut(i64),
) -> Result<CatchUpReport> {
    let clock = client.clock();
    let mut rep = CatchUpReport::default();
    let mut after = resume_or_start(engine, opts, clock.now(), &mut rep)?;
    let filters = [
        ("created[gte]", rep.from.to_string()),
        ("created[lte]", rep.until.to_string()),
    ];
    loop {
        let page = client.list_page(
            "/v1/events",
            &filters,
            after.as_deref(),
            opts.account.as_deref(),
        )?;
        rep.pages += 1;
        // Newest first from Stripe; each page is applied oldest first.
        for item in page.items.iter().rev() {
            rep.fetched += 1;
            match engine.ingest_trusted(item.json.as_bytes(), clock.now()) {
                Ok(h) => rep.count(h.outcome),
                Err(e) if e.code().is_client_error() => rep.rejected += 1,
                Err(e) => return Err(e),
            }
        }
        if let Some(last) = page.items.last() {
            let applied = SyncPage {
                starting_after: &last.id,
                applied: page.items.len() as i64,
            };
            engine.advance_sync_cursor(EVENTS_STREAM, &applied, clock.now())?;
            after = Some(last.id.clone());
        }
        progress(rep.fetched);
        if !page.has_more {
            engine.complete_sync_cursor(EVENTS_STREAM, clock.now())?;
            return Ok(rep);
        }
        if page.items.is_empty() {
            return Err(Error::new(
                ErrorCode::StripeResponseInvalid,
                "GET /v1/events: an empty page says has_more",
            ));
        }
    }
}

/// Where the catch-up starts: an unfinished earlier run's window and position (unless
/// `restart`), else a new window from the newest stored event (less the margin), or `since`,
/// cut to what Stripe still lists. Fills the window's fields of `rep`; returns the position.
fn resume_or_start(
    engine: &Engine,
    opts: &CatchUpOptions,
    now: i64,
    rep: &mut CatchUpReport,
) -> Result<Option<String>> {
    let resumable = engine
        .sync_cursor(EVENTS_STREAM)?
        .filter(|c| !opts.restart && c.completed_at.is_none())
        .and_then(|c| parse_scope(&c.scope).map(|w| (w, c.starting_after)));
    if let Some(((from, until), after)) = resumable {
        rep.resumed = true;
        rep.from = from;
        rep.until = until;
        rep.wanted_from = from;
        return Ok(after);
    }
    let oldest_listable = now - EVENT_RETENTION_SECS;
    let last = engine.last_event_created()?;
    rep.no_history = last.is_none() && opts.since.is_none();
    rep.wanted_from = match (opts.since, last) {
        (Some(s), _) => s,
        (None, Some(last)) => last - opts.margin_secs.max(0),
        (None, None) => oldest_listable,
    };
    rep.gap_exceeds_retention = rep.wanted_from < oldest_listable && !rep.no_history;
    rep.from = rep.wanted_from.max(oldest_listable);
    rep.until = now;
    engine.start_sync_cursor(EVENTS_STREAM, &scope_text(rep.from, rep.until), now)?;
    Ok(None)
}

impl CatchUpReport {
    /// Counts one ingested event's outcome.
    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Processed => self.processed += 1,
            Outcome::Duplicate => self.duplicate += 1,
            Outcome::Ignored => self.ignored += 1,
            Outcome::Stale => self.stale += 1,
            Outcome::Quarantined => self.quarantined += 1,
            // A probe is never in Stripe's event list; nothing was stored.
            Outcome::Probe => self.ignored += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_round_trips() {
        assert_eq!(parse_scope(&scope_text(10, 20)), Some((10, 20)));
        assert_eq!(parse_scope("all"), None);
    }
}
