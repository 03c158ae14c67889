//! The `stripe.reconcile` worker against the loopback stub: a same-second conflict enqueues a
//! reconcile job, the worker fetches the object (exact path and headers), applies it and
//! completes the job; Stripe's failures fail the job with the usual backoff, or with Stripe's
//! own Retry-After.

mod stripe_stub;

use std::sync::Arc;

use stripe_stub::clock::FakeClock;
use stripe_stub::{Fault, Stub, objects};
use tollbooth::stripe_api::{
    ApiKey, ClientOptions, RetryPolicy, STRIPE_VERSION, StripeClient, work_reconcile_jobs,
};
use tollbooth::{Config, Engine, FailOutcome, JobFilter, JobState};

const KEY: &str = "sk_test_51ReconcileSECRET";
const T0: i64 = 1_767_000_000;

fn engine() -> Engine {
    Engine::open(Config::new(":memory:", &["whsec_reconcile"]).unwrap()).unwrap()
}

fn client(stub: &Stub, clock: Arc<FakeClock>) -> StripeClient {
    StripeClient::with_clock(
        ApiKey::new(KEY).unwrap(),
        ClientOptions {
            base_url: stub.base_url.clone(),
            retry: RetryPolicy {
                max_retries: 1,
                ..RetryPolicy::default()
            },
            ..ClientOptions::default()
        },
        clock,
    )
    .unwrap()
}

/// Two events about `sub` in the same second that disagree: a reconcile job.
fn conflict(e: &Engine, sub: &str, cus: &str) {
    let active = objects::subscription(sub, cus, "active", T0, T0 + 30 * 86_400, "user_1");
    let mut past_due = active.clone();
    past_due["status"] = "past_due".into();
    for (id, o) in [
        (format!("evt_{sub}_1"), active),
        (format!("evt_{sub}_2"), past_due),
    ] {
        let ev = objects::event(&id, "customer.subscription.updated", T0, o);
        e.ingest_trusted(ev.to_string().as_bytes(), T0).unwrap();
    }
}

fn reconcile_jobs(e: &Engine) -> Vec<tollbooth::Job> {
    e.jobs(&JobFilter {
        kind: Some("stripe.reconcile".into()),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn a_reconcile_job_is_fetched_applied_and_completed() {
    let e = engine();
    conflict(&e, "sub_r1", "cus_r1");
    let jobs = reconcile_jobs(&e);
    assert_eq!(jobs.len(), 1, "the conflict enqueued a reconcile");
    let stub = Stub::start(KEY);
    // What Stripe says now: canceled.
    let truth = objects::subscription(
        "sub_r1",
        "cus_r1",
        "canceled",
        T0,
        T0 + 30 * 86_400,
        "user_1",
    );
    stub.add("/v1/subscriptions", [truth]);
    let rep = work_reconcile_jobs(&e, &client(&stub, FakeClock::at(T0 + 10)), 10, 60).unwrap();
    assert_eq!((rep.claimed, rep.completed, rep.changed), (1, 1, 1));
    assert!(rep.failed.is_empty());
    let reqs = stub.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/v1/subscriptions/sub_r1");
    assert!(reqs[0].query.is_empty());
    assert_eq!(reqs[0].h("stripe-version"), Some(STRIPE_VERSION));
    assert_eq!(
        reqs[0].h("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(reconcile_jobs(&e)[0].state, JobState::Done);
    assert!(
        !e.access("cus_r1", T0 + 11).unwrap().has_access,
        "the fetched truth applied"
    );
    // Nothing left to do.
    let rep = work_reconcile_jobs(&e, &client(&stub, FakeClock::at(T0 + 20)), 10, 60).unwrap();
    assert_eq!(rep.claimed, 0);
}

#[test]
fn stripe_failures_fail_the_job_with_backoff_or_stripes_retry_after() {
    let e = engine();
    conflict(&e, "sub_a", "cus_a");
    conflict(&e, "sub_b", "cus_b");
    conflict(&e, "sub_c", "cus_c");
    let stub = Stub::start(KEY);
    stub.add(
        "/v1/subscriptions",
        [objects::subscription(
            "sub_b",
            "cus_b",
            "active",
            T0,
            T0 + 86_400,
            "u",
        )],
    );
    // sub_a: rate limited for an hour; sub_b: fine; sub_c: does not exist (404).
    stub.queue_faults([Fault::rate_limited(Some(3600))]);
    let now = T0 + 100;
    let rep = work_reconcile_jobs(&e, &client(&stub, FakeClock::at(now)), 10, 60).unwrap();
    assert_eq!((rep.claimed, rep.completed), (3, 1));
    let failed: Vec<(&str, &FailOutcome)> =
        rep.failed.iter().map(|(_, c, o)| (c.as_str(), o)).collect();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0].0, "STRIPE_RATE_LIMITED");
    assert_eq!(
        failed[0].1,
        &FailOutcome::Scheduled {
            next_attempt_at: now + 3600
        },
        "Stripe's Retry-After"
    );
    assert_eq!(failed[1].0, "STRIPE_NOT_FOUND");
    assert!(
        matches!(failed[1].1, FailOutcome::Scheduled { next_attempt_at } if (now + 1..now + 10).contains(next_attempt_at)),
        "the usual backoff: {:?}",
        failed[1].1
    );
    let jobs = reconcile_jobs(&e);
    let a = jobs.iter().find(|j| j.key == "sub_a").unwrap();
    assert!(
        a.last_error
            .as_deref()
            .unwrap()
            .starts_with("STRIPE_RATE_LIMITED: GET /v1/subscriptions/sub_a: HTTP 429")
    );
    assert!(!a.last_error.as_deref().unwrap().contains(KEY));
}
