//! `sync`: page through a Stripe account's existing objects and apply each one as an
//! authoritative snapshot, so a founder who adopts tollbooth with paying customers gives them
//! access at once instead of waiting for some event about each of them.
//!
//! Each object goes through the snapshot path ([`Engine::apply_snapshots`], one transaction
//! per page of 100) stamped with the time its page was fetched, so the usual watermark rule holds: a snapshot never overwrites a row written by a
//! newer event (a webhook that arrives during the sync wins). Products and prices go to the
//! catalog ([`Engine::apply_catalog_object`]).
//!
//! Resumable: each object type is a stream with a cursor (the last id applied, saved after
//! every page). A run that is killed continues from its cursor when started again with the
//! same scope; objects applied twice change nothing, so the page in flight at the kill is
//! simply applied again. A finished stream starts over on the next run (a fresh pass, also a
//! no-op when nothing changed in Stripe).

use serde::Serialize;

use super::client::{ListPage, StripeClient};
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::sync_state::SyncPage;

/// An object type `sync` pages through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncObject {
    /// `/v1/customers`.
    Customer,
    /// `/v1/products` (catalog).
    Product,
    /// `/v1/prices` (catalog).
    Price,
    /// `/v1/subscriptions?status=all` (Stripe leaves canceled ones out without `status=all`).
    Subscription,
    /// `/v1/invoices`.
    Invoice,
    /// `/v1/checkout/sessions` (links customers to app users via `client_reference_id`).
    CheckoutSession,
}

impl SyncObject {
    /// Every type, in the order a full sync runs them: customers before what refers to them.
    pub const ALL: &'static [SyncObject] = &[
        SyncObject::Customer,
        SyncObject::Product,
        SyncObject::Price,
        SyncObject::Subscription,
        SyncObject::Invoice,
        SyncObject::CheckoutSession,
    ];

    /// The stream (cursor) name, which is also Stripe's `object` value.
    pub fn stream(self) -> &'static str {
        match self {
            SyncObject::Customer => "customer",
            SyncObject::Product => "product",
            SyncObject::Price => "price",
            SyncObject::Subscription => "subscription",
            SyncObject::Invoice => "invoice",
            SyncObject::CheckoutSession => "checkout.session",
        }
    }

    /// The list endpoint.
    pub fn path(self) -> &'static str {
        match self {
            SyncObject::Customer => "/v1/customers",
            SyncObject::Product => "/v1/products",
            SyncObject::Price => "/v1/prices",
            SyncObject::Subscription => "/v1/subscriptions",
            SyncObject::Invoice => "/v1/invoices",
            SyncObject::CheckoutSession => "/v1/checkout/sessions",
        }
    }

    /// Parses a stream name or a friendly plural (`customers`, `checkout_sessions`, ...).
    pub fn parse(s: &str) -> Option<SyncObject> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        SyncObject::ALL.iter().copied().find(|o| {
            let stream = o.stream();
            s == stream
                || s == format!("{stream}s")
                || s.replace('_', ".") == stream
                || s == "checkout_sessions" && *o == SyncObject::CheckoutSession
        })
    }

    fn is_catalog(self) -> bool {
        matches!(self, SyncObject::Product | SyncObject::Price)
    }
}

/// What to sync.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Types to sync, in this order (empty: [`SyncObject::ALL`]).
    pub objects: Vec<SyncObject>,
    /// Only objects created at or after this unix second (`created[gte]`).
    pub since: Option<i64>,
    /// Start every stream from the beginning even when an unfinished run could resume.
    pub restart: bool,
    /// A Connect account (`Stripe-Account` header).
    pub account: Option<String>,
}

/// Progress after each page, for a progress bar.
#[derive(Debug, Clone, Serialize)]
pub struct SyncProgress {
    /// The type.
    pub object: SyncObject,
    /// Objects applied in this run of the stream (a resumed run counts from before the stop).
    pub applied: i64,
    /// Whether the stream finished with this page.
    pub done: bool,
}

/// One type's result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncTypeReport {
    /// The stream name.
    pub object: String,
    /// Objects fetched and applied by this call.
    pub fetched: i64,
    /// Of those, how many changed a row.
    pub changed: i64,
    /// Objects skipped because tollbooth cannot read them (first few listed in `errors`).
    pub skipped: i64,
    /// Jobs the changes enqueued (CRM syncs, ...).
    pub jobs: i64,
    /// Pages fetched.
    pub pages: i64,
    /// Whether this call continued an unfinished run.
    pub resumed: bool,
    /// `id: CODE: message` of the first skipped objects.
    pub errors: Vec<String>,
}

/// The whole result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// Per type, in the order run.
    pub types: Vec<SyncTypeReport>,
}

/// Most skipped-object messages kept per type.
const MAX_REPORTED_ERRORS: usize = 20;

/// The scope text stored with a cursor: a resume needs the same filters.
fn scope_of(since: Option<i64>) -> String {
    since.map_or_else(|| "all".to_owned(), |s| format!("created[gte]={s}"))
}

/// Runs a sync. `progress` is called after every page.
pub fn sync(
    engine: &Engine,
    client: &StripeClient,
    opts: &SyncOptions,
    progress: &mut dyn FnMut(&SyncProgress),
) -> Result<SyncReport> {
    let objects: &[SyncObject] = if opts.objects.is_empty() {
        SyncObject::ALL
    } else {
        &opts.objects
    };
    let mut report = SyncReport::default();
    for &object in objects {
        report
            .types
            .push(sync_one(engine, client, opts, object, progress)?);
    }
    Ok(report)
}

fn sync_one(
    engine: &Engine,
    client: &StripeClient,
    opts: &SyncOptions,
    object: SyncObject,
    progress: &mut dyn FnMut(&SyncProgress),
) -> Result<SyncTypeReport> {
    let stream = object.stream();
    let mut rep = SyncTypeReport {
        object: stream.to_owned(),
        ..SyncTypeReport::default()
    };
    let (after, applied) = resume_or_start(engine, client, opts, stream, &mut rep)?;
    let filters = list_filters(object, opts.since);
    // The next page is fetched while this one is applied: the sync then runs at the pace of
    // the slower side (Stripe, or the store) instead of the sum of both.
    let (pages_tx, pages_rx) = std::sync::mpsc::sync_channel::<Result<(ListPage, i64)>>(1);
    std::thread::scope(|scope| {
        let filters = &filters;
        let account = opts.account.as_deref();
        scope.spawn(move || fetch_pages(client, object, filters, account, after, pages_tx));
        // `pages_rx` is dropped when this returns, before the scope joins the fetcher.
        let pages = Pages {
            rx: pages_rx,
            applied,
        };
        apply_pages(engine, client, object, pages, &mut rep, progress)?;
        Ok(rep)
    })
}

/// Where the run of `stream` starts: after an unfinished earlier run of the same scope (unless
/// `restart`), else from the beginning with a new cursor. Returns the position and the count
/// already applied.
fn resume_or_start(
    engine: &Engine,
    client: &StripeClient,
    opts: &SyncOptions,
    stream: &str,
    rep: &mut SyncTypeReport,
) -> Result<(Option<String>, i64)> {
    let scope = scope_of(opts.since);
    match engine.sync_cursor(stream)? {
        Some(c) if !opts.restart && c.completed_at.is_none() && c.scope == scope => {
            rep.resumed = c.starting_after.is_some();
            Ok((c.starting_after, c.applied))
        }
        _ => {
            engine.start_sync_cursor(stream, &scope, client.clock().now())?;
            Ok((None, 0))
        }
    }
}

/// The list call's filters: every subscription status (Stripe lists only live ones by
/// default), and the `since` bound.
fn list_filters(object: SyncObject, since: Option<i64>) -> Vec<(&'static str, String)> {
    let mut filters = Vec::new();
    if object == SyncObject::Subscription {
        filters.push(("status", "all".to_owned()));
    }
    if let Some(since) = since {
        filters.push(("created[gte]", since.to_string()));
    }
    filters
}

/// The fetching side: sends each page (with when it was fetched) until the last one, an
/// error, or the applying side hanging up.
fn fetch_pages(
    client: &StripeClient,
    object: SyncObject,
    filters: &[(&str, String)],
    account: Option<&str>,
    mut after: Option<String>,
    pages: std::sync::mpsc::SyncSender<Result<(ListPage, i64)>>,
) {
    loop {
        let page = client.list_page(object.path(), filters, after.as_deref(), account);
        let fetched_at = client.clock().now();
        let next = match &page {
            Ok(p) if p.has_more => p.items.last().map(|i| i.id.clone()),
            _ => None,
        };
        // A closed channel means the applying side stopped (an error): stop too.
        if pages.send(page.map(|p| (p, fetched_at))).is_err() || next.is_none() {
            return;
        }
        after = next;
    }
}

/// The applying side's input: the fetched pages, and the objects applied so far in this run.
struct Pages {
    rx: std::sync::mpsc::Receiver<Result<(ListPage, i64)>>,
    applied: i64,
}

/// The applying side: applies each page and moves the cursor past it, until the last page.
fn apply_pages(
    engine: &Engine,
    client: &StripeClient,
    object: SyncObject,
    mut pages: Pages,
    rep: &mut SyncTypeReport,
    progress: &mut dyn FnMut(&SyncProgress),
) -> Result<()> {
    let stream = object.stream();
    let clock = client.clock();
    loop {
        let (page, fetched_at) = pages.rx.recv().map_err(|_| {
            Error::new(
                ErrorCode::StripeResponseInvalid,
                format!("GET {}: the page fetcher stopped", object.path()),
            )
        })??;
        rep.pages += 1;
        apply_page(engine, object, &page, fetched_at, rep)?;
        pages.applied += page.items.len() as i64;
        if let Some(last) = page.items.last() {
            let applied = SyncPage {
                starting_after: &last.id,
                applied: page.items.len() as i64,
            };
            engine.advance_sync_cursor(stream, &applied, clock.now())?;
        }
        let done = !page.has_more;
        if done {
            engine.complete_sync_cursor(stream, clock.now())?;
        }
        progress(&SyncProgress {
            object,
            applied: pages.applied,
            done,
        });
        if done {
            return Ok(());
        }
        if page.items.is_empty() {
            return Err(Error::new(
                ErrorCode::StripeResponseInvalid,
                format!("GET {}: an empty page says has_more", object.path()),
            ));
        }
    }
}

/// Applies one page: billing objects in one transaction, catalog rows one by one (a handful).
/// An object tollbooth cannot read is reported and skipped; a store failure stops the sync
/// with the cursor still before this page.
fn apply_page(
    engine: &Engine,
    object: SyncObject,
    page: &ListPage,
    fetched_at: i64,
    rep: &mut SyncTypeReport,
) -> Result<()> {
    let outcomes: Vec<Result<(bool, i64)>> = if object.is_catalog() {
        page.items
            .iter()
            .map(|item| {
                engine
                    .apply_catalog_object(item.json.as_bytes(), fetched_at)
                    .map(|changed| (changed, 0))
            })
            .collect()
    } else {
        let jsons: Vec<&[u8]> = page.items.iter().map(|i| i.json.as_bytes()).collect();
        engine
            .apply_snapshots(&jsons, fetched_at)?
            .into_iter()
            .map(|r| r.map(|a| (a.changed, a.jobs.len() as i64)))
            .collect()
    };
    for (item, outcome) in page.items.iter().zip(outcomes) {
        match outcome {
            Ok((changed, jobs)) => {
                rep.changed += i64::from(changed);
                rep.jobs += jobs;
            }
            Err(e) if e.code().is_client_error() => {
                rep.skipped += 1;
                if rep.errors.len() < MAX_REPORTED_ERRORS {
                    rep.errors.push(format!("{}: {e}", item.id));
                }
            }
            Err(e) => return Err(e),
        }
        rep.fetched += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_parse() {
        for o in SyncObject::ALL {
            assert_eq!(SyncObject::parse(o.stream()), Some(*o));
        }
        assert_eq!(SyncObject::parse("customers"), Some(SyncObject::Customer));
        assert_eq!(
            SyncObject::parse("Subscriptions"),
            Some(SyncObject::Subscription)
        );
        assert_eq!(
            SyncObject::parse("checkout_sessions"),
            Some(SyncObject::CheckoutSession)
        );
        assert_eq!(
            SyncObject::parse("checkout-session"),
            Some(SyncObject::CheckoutSession)
        );
        assert_eq!(SyncObject::parse("charges"), None);
        assert_eq!(scope_of(None), "all");
        assert_eq!(scope_of(Some(5)), "created[gte]=5");
    }
}
