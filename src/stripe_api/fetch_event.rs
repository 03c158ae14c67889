//! The `stripe.fetch_event` worker: a thin event (v2 notification) announced an event without
//! its object; fetch the full event and put it through the normal path.
//!
//! `GET /v2/core/events/{id}` (with the event's `context` as `Stripe-Context`) returns the
//! event. When it names the v1 snapshot event it mirrors (`snapshot_event`, thin versions of
//! v1 events such as `v1.invoice.paid`), that event is fetched from `/v1/events/{id}` (with
//! `Stripe-Account`) and ingested through [`Engine::ingest_trusted`]: dedupe, ordering and
//! jobs exactly as if the snapshot had been delivered. Otherwise, when the related object is
//! one tollbooth keeps (a subscription, invoice, customer or checkout session), that object is
//! fetched and applied as a snapshot. Anything else (a v2 resource tollbooth does not model)
//! completes with nothing applied: the notification stays stored and visible in `events`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::client::StripeClient;
use super::reconcile::stripe_id_ok;
use crate::engine::{Engine, Handled, SnapshotApplied};
use crate::error::{Error, ErrorCode};
use crate::event::RelatedObject;
use crate::outbox::ClaimedJob;

#[derive(Deserialize)]
struct FetchPayload {
    event_id: String,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    related_object: Option<RelatedPayload>,
}

#[derive(Deserialize)]
struct RelatedPayload {
    id: String,
    #[serde(rename = "type")]
    object_type: String,
    #[serde(default)]
    url: Option<String>,
}

/// The part of a v2 event the worker reads.
#[derive(Deserialize)]
struct V2Event {
    #[serde(default)]
    snapshot_event: Option<SnapshotRef>,
    #[serde(default)]
    related_object: Option<RelatedPayload>,
}

/// `snapshot_event`: an event id, or an object carrying one.
#[derive(Deserialize)]
#[serde(untagged)]
enum SnapshotRef {
    Id(String),
    Object { id: String },
}

/// What one fetch job did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Fetched {
    /// The v1 snapshot event was fetched and ingested.
    Event(Handled),
    /// The related object was fetched and applied as a snapshot.
    Snapshot(SnapshotApplied),
    /// Nothing tollbooth keeps: completed without a change.
    Nothing {
        /// The related object's type, when the event named one.
        object_type: Option<String>,
    },
}

impl Fetched {
    /// Whether billing state changed.
    pub fn changed(&self) -> bool {
        match self {
            Fetched::Event(h) => h.outcome == crate::engine::Outcome::Processed,
            Fetched::Snapshot(s) => s.changed,
            Fetched::Nothing { .. } => false,
        }
    }
}

fn bad(job: &ClaimedJob, what: impl std::fmt::Display) -> (Error, Option<Duration>) {
    (
        Error::new(
            ErrorCode::InvalidArgument,
            format!("fetch_event job {}: {what}", job.id),
        ),
        None,
    )
}

/// The v1 path of a related object tollbooth applies as a snapshot, if it is one.
fn snapshot_path(r: &RelatedObject) -> Option<String> {
    let collection = match r.object_type.as_str() {
        "subscription" => "subscriptions",
        "invoice" => "invoices",
        "customer" => "customers",
        "checkout.session" => "checkout/sessions",
        _ => return None,
    };
    stripe_id_ok(&r.id).then(|| format!("/v1/{collection}/{}", r.id))
}

/// The job's payload, its event id and account checked to be Stripe ids before they go into a
/// URL or a header.
fn checked_payload(
    job: &ClaimedJob,
) -> std::result::Result<FetchPayload, (Error, Option<Duration>)> {
    let p: FetchPayload =
        serde_json::from_str(&job.payload).map_err(|e| bad(job, format!("payload: {e}")))?;
    if !stripe_id_ok(&p.event_id) {
        return Err(bad(job, "the event id is not a Stripe id"));
    }
    if p.account.as_deref().is_some_and(|a| !stripe_id_ok(a)) {
        return Err(bad(job, "the account is not a Stripe id"));
    }
    Ok(p)
}

/// Fetches and applies the event of one claimed `stripe.fetch_event` job (without completing
/// or failing it). The error carries Stripe's `Retry-After`, if any.
pub fn fetch_event_job(
    engine: &Engine,
    client: &StripeClient,
    job: &ClaimedJob,
) -> std::result::Result<Fetched, (Error, Option<Duration>)> {
    let p = checked_payload(job)?;
    let account = p.account.as_deref();
    let body = client.get_v2_with_hint(&format!("/v2/core/events/{}", p.event_id), account)?;
    let v2: V2Event = serde_json::from_slice(&body).map_err(|e| {
        (
            Error::new(
                ErrorCode::StripeResponseInvalid,
                format!("GET /v2/core/events/{}: not an event: {e}", p.event_id),
            ),
            None,
        )
    })?;
    if let Some(SnapshotRef::Id(id) | SnapshotRef::Object { id }) = v2.snapshot_event {
        if !stripe_id_ok(&id) {
            return Err((
                Error::new(
                    ErrorCode::StripeResponseInvalid,
                    "the v2 event's snapshot_event is not a Stripe id",
                ),
                None,
            ));
        }
        let event = client.get_with_hint(&format!("/v1/events/{id}"), &[], account)?;
        let handled = engine
            .ingest_trusted(&event, client.clock().now())
            .map_err(|e| (e, None))?;
        return Ok(Fetched::Event(handled));
    }
    let related = v2
        .related_object
        .or(p.related_object)
        .map(|r| RelatedObject {
            id: r.id,
            object_type: r.object_type,
            url: r.url,
        });
    match related.as_ref().and_then(snapshot_path) {
        Some(path) => {
            let object = client.get_with_hint(&path, &[], account)?;
            let applied = engine
                .apply_snapshot(&object, client.clock().now())
                .map_err(|e| (e, None))?;
            Ok(Fetched::Snapshot(applied))
        }
        None => Ok(Fetched::Nothing {
            object_type: related.map(|r| r.object_type),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_kept_object_types_with_stripe_ids_are_fetched_as_snapshots() {
        let r = |t: &str, id: &str| RelatedObject {
            id: id.into(),
            object_type: t.into(),
            url: None,
        };
        assert_eq!(
            snapshot_path(&r("subscription", "sub_1")).as_deref(),
            Some("/v1/subscriptions/sub_1")
        );
        assert_eq!(
            snapshot_path(&r("checkout.session", "cs_1")).as_deref(),
            Some("/v1/checkout/sessions/cs_1")
        );
        assert_eq!(snapshot_path(&r("billing.meter", "mtr_1")), None);
        assert_eq!(snapshot_path(&r("subscription", "../accounts")), None);
    }
}
