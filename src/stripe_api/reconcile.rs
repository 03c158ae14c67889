//! The `stripe.reconcile` worker: tollbooth works off its own reconcile jobs (enqueued when
//! same-second events about one object disagree) by fetching the object from the API and
//! applying it as a snapshot, so hosts no longer need their own Stripe client for it.
//!
//! A failure is recorded on the job with the usual backoff, except that Stripe's own
//! `Retry-After` (a 429 beyond the client's patience) replaces the backoff for that attempt.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::client::StripeClient;
use crate::engine::{Engine, SnapshotApplied};
use crate::error::{Error, ErrorCode, Result};
use crate::outbox::kinds::STRIPE_RECONCILE;
use crate::outbox::{ClaimedJob, FailOutcome};

#[derive(Deserialize)]
struct ReconcilePayload {
    object_type: String,
    object_id: String,
    /// A Connect account, when the job carries one.
    #[serde(default)]
    account: Option<String>,
}

/// What one pass of the worker did (reconcile and fetch jobs alike).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReconcileReport {
    /// Jobs claimed.
    pub claimed: usize,
    /// Jobs completed (the object was fetched and applied).
    pub completed: usize,
    /// Of those, how many changed a row.
    pub changed: usize,
    /// Jobs failed: `(job id, code, what fail did)`.
    pub failed: Vec<(i64, String, FailOutcome)>,
}

/// Whether `id` looks like a Stripe id (`sub_1Ab`, `acct_1X`, `evt_test_65R`): ASCII letters,
/// digits and `_`, at most 255 bytes. Anything else never reaches a URL path or header.
pub(crate) fn stripe_id_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The API path of an object a reconcile job names.
fn object_path(object_type: &str, id: &str) -> Result<String> {
    if !stripe_id_ok(id) {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "reconcile job: the object id is not a Stripe id",
        ));
    }
    let collection = match object_type {
        "subscription" => "subscriptions",
        "invoice" => "invoices",
        "customer" => "customers",
        "checkout.session" => "checkout/sessions",
        other => {
            return Err(Error::new(
                ErrorCode::SnapshotUnsupported,
                format!("reconcile job: object type {other:?} is not reconciled"),
            ));
        }
    };
    Ok(format!("/v1/{collection}/{id}"))
}

/// Fetches and applies the object of one claimed `stripe.reconcile` job (without completing
/// or failing it). The error carries Stripe's `Retry-After`, if any.
pub fn reconcile_job(
    engine: &Engine,
    client: &StripeClient,
    job: &ClaimedJob,
) -> std::result::Result<SnapshotApplied, (Error, Option<Duration>)> {
    let payload: ReconcilePayload = serde_json::from_str(&job.payload).map_err(|e| {
        (
            Error::new(
                ErrorCode::InvalidArgument,
                format!("reconcile job {}: payload: {e}", job.id),
            ),
            None,
        )
    })?;
    let path = object_path(&payload.object_type, &payload.object_id).map_err(|e| (e, None))?;
    let body = client.get_with_hint(&path, &[], payload.account.as_deref())?;
    let fetched_at = client.clock().now();
    engine
        .apply_snapshot(&body, fetched_at)
        .map_err(|e| (e, None))
}

/// Claims up to `limit` due `stripe.reconcile` jobs (lease `lease_secs`), works each one off
/// and completes or fails it. Returns what happened; an `Err` only for a store failure.
/// [`super::work_stripe_jobs`] does the same for every Stripe job kind.
pub fn work_reconcile_jobs(
    engine: &Engine,
    client: &StripeClient,
    limit: u32,
    lease_secs: i64,
) -> Result<ReconcileReport> {
    super::worker::work_kinds(engine, client, &[STRIPE_RECONCILE], limit, lease_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_for_each_reconciled_type_and_no_injection() {
        assert_eq!(
            object_path("subscription", "sub_1").unwrap(),
            "/v1/subscriptions/sub_1"
        );
        assert_eq!(
            object_path("checkout.session", "cs_test_a1").unwrap(),
            "/v1/checkout/sessions/cs_test_a1"
        );
        assert_eq!(object_path("invoice", "in_1").unwrap(), "/v1/invoices/in_1");
        assert_eq!(
            object_path("customer", "cus_1").unwrap(),
            "/v1/customers/cus_1"
        );
        for bad in ["../accounts", "sub_1?expand=x", "", "sub 1"] {
            assert_eq!(
                object_path("subscription", bad).unwrap_err().code(),
                ErrorCode::InvalidArgument
            );
        }
        assert_eq!(
            object_path("charge", "ch_1").unwrap_err().code(),
            ErrorCode::SnapshotUnsupported
        );
    }
}
