//! One loop for tollbooth's own Stripe jobs: claim `stripe.reconcile` and `stripe.fetch_event`
//! jobs, work each off through its handler, and complete or fail it. A failure gets the usual
//! backoff, except that Stripe's own `Retry-After` (a 429 beyond the client's patience)
//! replaces it for that attempt. A store failure stops the pass: the lease runs out and the
//! job is retried by a later claim.

use std::time::Duration;

use super::client::StripeClient;
use super::fetch_event::fetch_event_job;
use super::reconcile::{ReconcileReport, reconcile_job};
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::outbox::ClaimedJob;
use crate::outbox::kinds::{STRIPE_FETCH_EVENT, STRIPE_RECONCILE};

/// Every job kind the Stripe worker handles.
pub const STRIPE_JOB_KINDS: &[&str] = &[STRIPE_RECONCILE, STRIPE_FETCH_EVENT];

/// Claims up to `limit` due Stripe jobs (`stripe.reconcile` and `stripe.fetch_event`), lease
/// `lease_secs`, works each off with the account header its payload names, and completes or
/// fails it. Returns what happened; an `Err` only for a store failure.
pub fn work_stripe_jobs(
    engine: &Engine,
    client: &StripeClient,
    limit: u32,
    lease_secs: i64,
) -> Result<ReconcileReport> {
    work_kinds(engine, client, STRIPE_JOB_KINDS, limit, lease_secs)
}

/// Works one claimed job; `Ok(changed)`.
fn work_one(
    engine: &Engine,
    client: &StripeClient,
    job: &ClaimedJob,
) -> std::result::Result<bool, (Error, Option<Duration>)> {
    match job.kind.as_str() {
        STRIPE_RECONCILE => reconcile_job(engine, client, job).map(|a| a.changed),
        STRIPE_FETCH_EVENT => fetch_event_job(engine, client, job).map(|f| f.changed()),
        other => Err((
            Error::new(
                ErrorCode::InvalidArgument,
                format!("job {}: kind {other:?} is not a Stripe job", job.id),
            ),
            None,
        )),
    }
}

/// The claim / work / complete-or-fail loop over `kinds`.
pub(crate) fn work_kinds(
    engine: &Engine,
    client: &StripeClient,
    kinds: &[&str],
    limit: u32,
    lease_secs: i64,
) -> Result<ReconcileReport> {
    let clock = client.clock();
    let jobs = engine.claim(kinds, limit, lease_secs, clock.now())?;
    let mut rep = ReconcileReport {
        claimed: jobs.len(),
        ..ReconcileReport::default()
    };
    for job in &jobs {
        match work_one(engine, client, job) {
            Ok(changed) => {
                engine.complete(job.id, job.lease_token, clock.now())?;
                rep.completed += 1;
                rep.changed += usize::from(changed);
            }
            Err((e, retry_after)) => {
                if matches!(e.code().as_u32(), 300..=399) || e.code() == ErrorCode::Closed {
                    return Err(e);
                }
                let retry_after = retry_after.map(|d| d.as_secs().min(i64::MAX as u64) as i64);
                let outcome = engine.fail_after(
                    job.id,
                    job.lease_token,
                    &e.to_string(),
                    retry_after,
                    clock.now(),
                )?;
                rep.failed
                    .push((job.id, e.code().as_str().to_owned(), outcome));
            }
        }
    }
    Ok(rep)
}
