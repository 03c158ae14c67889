//! Operator reads and repairs, the same as the CLI's: stored events with filters, one event's
//! detail, the delivery log, a customer's timeline, reprocessing a stored event, and
//! importing a Stripe events export. Kept apart from `engine.rs` (the webhook and portal
//! path); each method is a thin translation of one engine method.

use std::collections::HashMap;

use napi_derive::napi;
use tollbooth::ErrorCode;

use napi::bindgen_prelude::AsyncTask;
use tollbooth::Error;

use crate::args::{self, Num, Text};
use crate::convert::{
    Access, Customer, HandledWebhook, Invoice, Item, Job, MAX_LIST_LIMIT, Purchase,
};
use crate::engine::{Tollbooth, checked, on_engine, or_failed};
use crate::error::{Result, to_napi};
use crate::task::{Call, Work};

/// Options for `importEvents`.
#[napi(object)]
pub struct ImportOptions {
    /// Import an export of the other Stripe mode than the store's (the configured `livemode`,
    /// else the mode of the newest stored events). Refused with `LIVEMODE_MISMATCH` otherwise:
    /// a test-mode export must not grant access in a live store.
    pub allow_livemode_mismatch: Option<bool>,
}

/// Filter for `events`. Times are unix seconds on the event's `created`.
#[napi(object)]
pub struct EventsFilter {
    /// Only this event type, e.g. `'invoice.paid'`.
    #[napi(js_name = "type")]
    pub event_type: Option<String>,
    /// Only this outcome.
    #[napi(ts_type = "'processed' | 'ignored' | 'stale' | 'quarantined'")]
    pub outcome: Option<String>,
    /// Only this Stripe customer.
    pub customer_id: Option<String>,
    /// `created >= since`.
    #[napi(ts_type = "number | undefined | null")]
    pub since: Option<Num>,
    /// `created < until`.
    #[napi(ts_type = "number | undefined | null")]
    pub until: Option<Num>,
    /// At most this many (default 100, at most 100000).
    #[napi(ts_type = "number | undefined | null")]
    pub limit: Option<Num>,
}

impl EventsFilter {
    fn to_core(&self) -> tollbooth::Result<tollbooth::event::EventFilter> {
        if let Some(o) = self.outcome.as_deref()
            && !["processed", "ignored", "stale", "quarantined"].contains(&o)
        {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "outcome must be one of processed, ignored, stale, quarantined",
            ));
        }
        Ok(tollbooth::event::EventFilter {
            event_type: self.event_type.clone(),
            outcome: self.outcome.clone(),
            customer_id: self.customer_id.clone(),
            since: args::opt_time(&self.since, "since")?,
            until: args::opt_time(&self.until, "until")?,
            limit: self
                .limit
                .as_ref()
                .map(|l| l.small("limit", 1, MAX_LIST_LIMIT))
                .transpose()?,
        })
    }
}

/// A stored event (without its body).
#[napi(object, use_nullable = true)]
pub struct StoredEvent {
    /// `evt_...`.
    pub id: String,
    /// Event type.
    #[napi(js_name = "type")]
    pub event_type: String,
    /// `event.created`, unix seconds.
    pub created: i64,
    /// What storing it did.
    #[napi(ts_type = "'processed' | 'ignored' | 'stale' | 'quarantined'")]
    pub outcome: String,
    /// For a quarantined event, the code that stopped it (e.g. `EVENT_FIELD_MISSING`).
    pub error_code: Option<String>,
    /// The customer it concerns.
    pub customer_id: Option<String>,
    /// `data.object.id`.
    pub object_id: Option<String>,
    /// When it arrived, unix seconds.
    pub received_at: i64,
}

js_from!(StoredEvent from r: tollbooth::event::EventRow {
    id, event_type, created, outcome, error_code, customer_id, object_id, received_at,
});

/// One stored event with what it caused.
#[napi(object, use_nullable = true)]
pub struct EventDetail {
    /// The stored row.
    pub event: StoredEvent,
    /// `event.livemode`.
    pub livemode: bool,
    /// `event.api_version`.
    pub api_version: Option<String>,
    /// Jobs it enqueued (or last refreshed), newest first.
    pub jobs: Vec<Job>,
    /// The exact raw body Stripe signed. Show it to operators only.
    pub body: String,
}

/// One delivery-log row: every `handleWebhook` call, accepted or not.
#[napi(object, use_nullable = true)]
pub struct DeliveryRow {
    /// When it arrived, unix seconds.
    pub at: i64,
    /// What happened.
    #[napi(
        ts_type = "'processed' | 'duplicate' | 'ignored' | 'stale' | 'quarantined' | 'rejected' | 'failed'"
    )]
    pub outcome: String,
    /// The error code of a rejected or failed delivery.
    pub reason: Option<String>,
    /// The event id, once verified and parsed.
    pub event_id: Option<String>,
    /// The event type, once known.
    pub event_type: Option<String>,
    /// Body size, bytes.
    pub body_bytes: i64,
    /// Time in the engine, microseconds.
    pub latency_us: i64,
    /// How late Stripe delivered it (`at - created`), seconds.
    pub lag_s: Option<i64>,
}

js_from!(DeliveryRow from d: tollbooth::deliveries::Delivery {
    at,
    outcome = d.outcome.as_str().to_owned(),
    reason = d.reason.map(str::to_owned),
    event_id, event_type, body_bytes, latency_us, lag_s,
});

/// A subscription as stored.
#[napi(object, use_nullable = true)]
pub struct Subscription {
    /// `sub_...`.
    pub id: String,
    /// Stripe status.
    pub status: String,
    /// The first item's price.
    pub price_id: Option<String>,
    /// The first item's product.
    pub product_id: Option<String>,
    /// Every item, with its quantity (seats).
    pub items: Vec<Item>,
    /// Unix seconds.
    pub current_period_end: Option<i64>,
    /// Cancels when the period ends.
    pub cancel_at_period_end: bool,
    /// Unix seconds.
    pub canceled_at: Option<i64>,
    /// Unix seconds.
    pub trial_end: Option<i64>,
}

js_from!(Subscription from s: tollbooth::event::SubscriptionRecord {
    id, status, price_id, product_id,
    items = s.items.into_iter().map(Into::into).collect(),
    current_period_end, cancel_at_period_end, canceled_at, trial_end,
});

/// One attempt of a job.
#[napi(object, use_nullable = true)]
pub struct JobAttempt {
    /// 1 for the first (counted over the job's whole history, replays included).
    pub attempt: i64,
    /// Unix seconds.
    pub started_at: i64,
    /// Unix seconds, once finished.
    pub finished_at: Option<i64>,
    /// `completed`, `failed` or `lease_expired`; null while running.
    pub outcome: Option<String>,
    /// The failure message (secrets redacted).
    pub error: Option<String>,
}

/// A job with its attempts.
#[napi(object)]
pub struct JobHistory {
    /// The job.
    pub job: Job,
    /// Its attempts, oldest first.
    pub attempts: Vec<JobAttempt>,
}

/// One customer's timeline: what `tollbooth customer` shows.
#[napi(object)]
pub struct CustomerTimeline {
    /// The customer.
    pub customer: Customer,
    /// The access decision now, with the reason the UI can show.
    pub access: Access,
    /// Subscriptions, by id.
    pub subscriptions: Vec<Subscription>,
    /// Events concerning the customer, oldest first.
    pub events: Vec<StoredEvent>,
    /// Invoices, newest first.
    pub invoices: Vec<Invoice>,
    /// One-time purchases, by id.
    pub purchases: Vec<Purchase>,
    /// Active Stripe Entitlements (feature lookup keys), sorted.
    pub features: Vec<String>,
    /// Jobs, newest first, with their attempts.
    pub jobs: Vec<JobHistory>,
}

/// An event an import could not apply.
#[napi(object)]
pub struct ImportError {
    /// Its line or element number (see `unit`).
    pub at: i64,
    /// The error code.
    pub code: String,
    /// What was wrong (never the body).
    pub message: String,
}

/// What `importEvents` did.
#[napi(object)]
pub struct ImportReport {
    /// Events read.
    pub total: i64,
    /// Events per outcome (`processed`, `duplicate`, `ignored`, `stale`, `rejected`).
    pub by_outcome: HashMap<String, i64>,
    /// Jobs written.
    pub jobs_written: i64,
    /// The first 50 rejected events.
    pub errors: Vec<ImportError>,
    /// What an error's `at` counts: `'line'` or `'element'`.
    pub unit: String,
}

fn timeline(t: tollbooth::engine::CustomerTimeline) -> tollbooth::Result<CustomerTimeline> {
    let jobs = t
        .jobs
        .into_iter()
        .map(|h| {
            Ok(JobHistory {
                job: Job::from_core(h.job)?,
                attempts: h
                    .attempts
                    .into_iter()
                    .enumerate()
                    .map(|(i, a)| JobAttempt {
                        attempt: i as i64 + 1,
                        started_at: a.started_at,
                        finished_at: a.finished_at,
                        outcome: a.outcome,
                        error: a.error,
                    })
                    .collect(),
            })
        })
        .collect::<tollbooth::Result<_>>()?;
    Ok(CustomerTimeline {
        customer: t.customer.into(),
        access: t.access.into(),
        subscriptions: t.subscriptions.into_iter().map(Into::into).collect(),
        events: t.events.into_iter().map(Into::into).collect(),
        invoices: t.invoices.into_iter().map(Into::into).collect(),
        purchases: t.purchases.into_iter().map(Into::into).collect(),
        features: t.features,
        jobs,
    })
}

fn report(r: tollbooth::import::ImportReport) -> ImportReport {
    ImportReport {
        total: r.total as i64,
        by_outcome: r
            .by_outcome
            .into_iter()
            .map(|(k, v)| (k, v as i64))
            .collect(),
        jobs_written: r.jobs_written as i64,
        errors: r
            .errors
            .into_iter()
            .map(|e| ImportError {
                at: e.at as i64,
                code: e.code.to_owned(),
                message: e.message,
            })
            .collect(),
        unit: r.unit.to_owned(),
    }
}

// The work of each method, shared by its Promise and Sync forms (see engine.rs).

fn events(filter: Option<EventsFilter>) -> tollbooth::Result<Work<Vec<StoredEvent>>> {
    let filter = match &filter {
        Some(f) => f.to_core()?,
        None => tollbooth::event::EventFilter::default(),
    };
    Ok(on_engine(move |e| {
        Ok(e.events(&filter)?.into_iter().map(Into::into).collect())
    }))
}

fn event_detail(event_id: String) -> Work<Option<EventDetail>> {
    on_engine(move |e| {
        let Some(d) = e.event_detail(&event_id)? else {
            return Ok(None);
        };
        Ok(Some(EventDetail {
            event: d.event.into(),
            livemode: d.livemode,
            api_version: d.api_version,
            jobs: d
                .jobs
                .into_iter()
                .map(Job::from_core)
                .collect::<tollbooth::Result<_>>()?,
            body: d.body,
        }))
    })
}

fn deliveries(limit: Option<Num>) -> tollbooth::Result<Work<Vec<DeliveryRow>>> {
    let limit = args::limit(&limit, 50, MAX_LIST_LIMIT)?;
    Ok(on_engine(move |e| {
        Ok(e.recent_deliveries(limit)?
            .into_iter()
            .map(Into::into)
            .collect())
    }))
}

fn customer_timeline(query: String, now: i64) -> Work<Option<CustomerTimeline>> {
    on_engine(move |e| e.customer_timeline(&query, now)?.map(timeline).transpose())
}

fn reprocess(event_id: String, now: i64) -> Work<HandledWebhook> {
    on_engine(move |e| e.reprocess(&event_id, now).map(Into::into))
}

fn import_events(text: String, now: i64, options: Option<ImportOptions>) -> Work<ImportReport> {
    let opts = tollbooth::import::ImportOptions {
        allow_livemode_mismatch: options
            .and_then(|o| o.allow_livemode_mismatch)
            .unwrap_or(false),
    };
    on_engine(move |e| {
        e.import_export_with(&text, now, opts, |_, _| {})
            .map(report)
    })
}

#[napi]
impl Tollbooth {
    /// Stored events, newest first, optionally filtered (what `tollbooth events` lists).
    #[napi(catch_unwind, ts_return_type = "Promise<Array<StoredEvent>>")]
    pub fn events(&self, filter: Option<EventsFilter>) -> AsyncTask<Call<Vec<StoredEvent>>> {
        self.later(or_failed(events(filter)))
    }

    /// `events` on the calling thread.
    #[napi(catch_unwind)]
    pub fn events_sync(&self, filter: Option<EventsFilter>) -> Result<Vec<StoredEvent>> {
        self.now(events(filter).map_err(to_napi)?)
    }

    /// One stored event: its row, the jobs it caused and its raw body; `null` when not stored.
    #[napi(catch_unwind, ts_return_type = "Promise<EventDetail | null>")]
    pub fn event_detail(
        &self,
        #[napi(ts_arg_type = "string")] event_id: Text,
    ) -> AsyncTask<Call<Option<EventDetail>>> {
        self.later(checked(|| Ok(event_detail(event_id.get("eventId")?))))
    }

    /// `eventDetail` on the calling thread.
    #[napi(catch_unwind)]
    pub fn event_detail_sync(
        &self,
        #[napi(ts_arg_type = "string")] event_id: Text,
    ) -> Result<Option<EventDetail>> {
        self.now(checked(|| Ok(event_detail(event_id.get("eventId")?))))
    }

    /// The newest delivery-log rows (accepted and refused), newest first (default 50).
    #[napi(catch_unwind, ts_return_type = "Promise<Array<DeliveryRow>>")]
    pub fn deliveries(
        &self,
        #[napi(ts_arg_type = "number | undefined | null")] limit: Option<Num>,
    ) -> AsyncTask<Call<Vec<DeliveryRow>>> {
        self.later(or_failed(deliveries(limit)))
    }

    /// `deliveries` on the calling thread.
    #[napi(catch_unwind)]
    pub fn deliveries_sync(
        &self,
        #[napi(ts_arg_type = "number | undefined | null")] limit: Option<Num>,
    ) -> Result<Vec<DeliveryRow>> {
        self.now(deliveries(limit).map_err(to_napi)?)
    }

    /// One customer's timeline, found by Stripe customer id, email or app user id; `null`
    /// when nothing is stored about it (what `tollbooth customer` shows).
    #[napi(catch_unwind, ts_return_type = "Promise<CustomerTimeline | null>")]
    pub fn customer_timeline(
        &self,
        #[napi(ts_arg_type = "string")] query: Text,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> AsyncTask<Call<Option<CustomerTimeline>>> {
        self.later(checked(|| {
            Ok(customer_timeline(
                query.get("query")?,
                args::now(now_seconds, "nowSeconds")?,
            ))
        }))
    }

    /// `customerTimeline` on the calling thread.
    #[napi(catch_unwind)]
    pub fn customer_timeline_sync(
        &self,
        #[napi(ts_arg_type = "string")] query: Text,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> Result<Option<CustomerTimeline>> {
        self.now(checked(|| {
            Ok(customer_timeline(
                query.get("query")?,
                args::now(now_seconds, "nowSeconds")?,
            ))
        }))
    }

    /// Re-applies a stored event through the same rules (no signature: it was verified when
    /// stored). `outcome: 'duplicate'` means it was already fully applied and nothing changed.
    /// Rejects with `INVALID_ARGUMENT` for an event that is not stored.
    #[napi(catch_unwind, ts_return_type = "Promise<HandledWebhook>")]
    pub fn reprocess(
        &self,
        #[napi(ts_arg_type = "string")] event_id: Text,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> AsyncTask<Call<HandledWebhook>> {
        self.later(checked(|| {
            Ok(reprocess(
                event_id.get("eventId")?,
                args::now(now_seconds, "nowSeconds")?,
            ))
        }))
    }

    /// `reprocess` on the calling thread.
    #[napi(catch_unwind)]
    pub fn reprocess_sync(
        &self,
        #[napi(ts_arg_type = "string")] event_id: Text,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
    ) -> Result<HandledWebhook> {
        self.now(checked(|| {
            Ok(reprocess(
                event_id.get("eventId")?,
                args::now(now_seconds, "nowSeconds")?,
            ))
        }))
    }

    /// Imports a Stripe events export (JSON lines, a JSON array, or a `GET /v1/events` list
    /// object) oldest first, through the same dedupe and state rules as webhooks, without
    /// signatures: the export is trusted operator input. Importing twice changes nothing.
    /// An export of the other Stripe mode than the store's is refused whole with
    /// `LIVEMODE_MISMATCH` unless `options.allowLivemodeMismatch` is set.
    #[napi(catch_unwind, ts_return_type = "Promise<ImportReport>")]
    pub fn import_events(
        &self,
        #[napi(ts_arg_type = "string")] events_export: Text,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
        options: Option<ImportOptions>,
    ) -> AsyncTask<Call<ImportReport>> {
        self.later(checked(|| {
            let text = events_export.get("eventsExport")?;
            Ok(import_events(
                text,
                args::now(now_seconds, "nowSeconds")?,
                options,
            ))
        }))
    }

    /// `importEvents` on the calling thread.
    #[napi(catch_unwind)]
    pub fn import_events_sync(
        &self,
        #[napi(ts_arg_type = "string")] events_export: Text,
        #[napi(ts_arg_type = "number | undefined | null")] now_seconds: Option<Num>,
        options: Option<ImportOptions>,
    ) -> Result<ImportReport> {
        self.now(checked(|| {
            let text = events_export.get("eventsExport")?;
            Ok(import_events(
                text,
                args::now(now_seconds, "nowSeconds")?,
                options,
            ))
        }))
    }
}
