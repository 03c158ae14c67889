//! Thin events end to end: a signed v2 notification is stored, deduped and turned into one
//! `stripe.fetch_event` job; the Stripe worker fetches the full event (`/v2/core/events/{id}`
//! with the event's context as `Stripe-Context`), then the v1 snapshot event it names (with
//! `Stripe-Account`) and ingests it through the trusted path, or fetches the related object as
//! a snapshot; Stripe's failures fail the job with its Retry-After.

mod common;
mod stripe_stub;

use std::sync::Arc;

use serde_json::{Value, json};
use stripe_stub::clock::FakeClock;
use stripe_stub::{Fault, Stub, objects};
use tollbooth::stripe_api::{
    ApiKey, ClientOptions, RetryPolicy, STRIPE_VERSION, StripeClient, work_reconcile_jobs,
    work_stripe_jobs,
};
use tollbooth::{Engine, FailOutcome, JobFilter, JobState, Outcome};

const KEY: &str = "sk_test_51FetchEventSECRET";
const T0: i64 = 1_785_319_200; // 2026-07-29T10:00:00Z, the fixture's `created`

fn client(stub: &Stub, clock: Arc<FakeClock>) -> StripeClient {
    StripeClient::with_clock(
        ApiKey::new(KEY).unwrap(),
        ClientOptions {
            base_url: stub.base_url.clone(),
            retry: RetryPolicy {
                max_retries: 0,
                ..RetryPolicy::default()
            },
            ..ClientOptions::default()
        },
        clock,
    )
    .unwrap()
}

fn fixture(name: &str) -> Value {
    serde_json::from_str(&objects::fixture_text(name)).unwrap()
}

/// The fixture notification with `id`, `context` and the related subscription `sub`.
fn thin(id: &str, context: Option<&str>, sub: &str) -> Value {
    let mut t = fixture("thin_event.json");
    t["id"] = json!(id);
    t["context"] = json!(context);
    t["related_object"]["id"] = json!(sub);
    t["related_object"]["url"] = json!(format!("/v1/subscriptions/{sub}"));
    t
}

/// What `GET /v2/core/events/{id}` answers for `thin`, naming `snapshot` when given.
fn full(thin: &Value, snapshot: Option<&str>) -> Value {
    let mut f = fixture("v2_core_event.json");
    for k in ["id", "context", "related_object", "type"] {
        f[k] = thin[k].clone();
    }
    match snapshot {
        Some(s) => f["snapshot_event"] = json!(s),
        None => {
            f.as_object_mut().unwrap().remove("snapshot_event");
        }
    }
    f
}

fn fetch_jobs(e: &Engine) -> Vec<tollbooth::Job> {
    e.jobs(&JobFilter {
        kind: Some("stripe.fetch_event".into()),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn a_thin_event_is_stored_deduped_and_becomes_one_fetch_job() {
    let e = common::engine();
    let body = thin("evt_test_65Tb1", Some("acct_1Conn"), "sub_1").to_string();
    let h = common::deliver(&e, body.as_bytes(), T0).unwrap();
    assert_eq!(h.outcome, Outcome::Processed);
    assert_eq!(h.event_type, "v1.customer.subscription.updated");
    assert_eq!(h.jobs.len(), 1);
    assert_eq!(h.jobs[0].kind, "stripe.fetch_event");
    assert_eq!(h.jobs[0].key, "evt_test_65Tb1");
    let jobs = fetch_jobs(&e);
    assert_eq!(jobs.len(), 1);
    let p: Value = serde_json::from_str(&jobs[0].payload).unwrap();
    assert_eq!(p["event_id"], "evt_test_65Tb1");
    assert_eq!(p["event_type"], "v1.customer.subscription.updated");
    assert_eq!(p["account"], "acct_1Conn");
    assert_eq!(p["related_object"]["id"], "sub_1");
    assert_eq!(p["related_object"]["type"], "subscription");
    assert_eq!(p["created"], T0);
    // Stored under its id, with the related object.
    let ev = e.event_detail("evt_test_65Tb1").unwrap().unwrap();
    assert_eq!(ev.event.object_id.as_deref(), Some("sub_1"));
    assert_eq!(ev.event.outcome, "processed");
    assert_eq!(ev.body, body);
    // A redelivery is a duplicate and writes no second job.
    let again = common::deliver(&e, body.as_bytes(), T0 + 5).unwrap();
    assert_eq!(again.outcome, Outcome::Duplicate);
    assert_eq!(fetch_jobs(&e).len(), 1);
    // A thin event needs the same signature as any delivery.
    let err = e
        .handle_webhook_at(body.as_bytes(), "t=1,v1=00", T0)
        .unwrap_err();
    assert_eq!(err.code().http_status(), 400);
}

#[test]
fn a_broken_thin_event_is_quarantined_not_refused() {
    let e = common::engine();
    let mut t = thin("evt_test_65Tb2", None, "sub_2");
    t["created"] = json!("not a time");
    let h = common::deliver(&e, t.to_string().as_bytes(), T0).unwrap();
    assert_eq!(h.outcome, Outcome::Quarantined);
    assert!(fetch_jobs(&e).is_empty());
}

#[test]
fn the_worker_fetches_the_full_event_then_its_snapshot_with_the_accounts_headers() {
    let e = common::engine();
    let stub = Stub::start(KEY);
    let t = thin("evt_test_65Tb3", Some("acct_1Conn"), "sub_3");
    common::deliver(&e, t.to_string().as_bytes(), T0).unwrap();
    // The v1 snapshot event it mirrors: sub_3 went past_due.
    let sub = objects::subscription("sub_3", "cus_3", "past_due", T0 - 100, T0 + 86_400, "u3");
    let mut snap = objects::event("evt_1TbSnap3", "customer.subscription.updated", T0, sub);
    snap["account"] = json!("acct_1Conn");
    stub.add("/v1/events", [snap]);
    stub.add("/v2/core/events", [full(&t, Some("evt_1TbSnap3"))]);

    let rep = work_stripe_jobs(&e, &client(&stub, FakeClock::at(T0 + 10)), 10, 60).unwrap();
    assert_eq!(
        (rep.claimed, rep.completed, rep.changed),
        (1, 1, 1),
        "{rep:?}"
    );
    let reqs = stub.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].path, "/v2/core/events/evt_test_65Tb3");
    assert_eq!(reqs[0].h("stripe-context"), Some("acct_1Conn"));
    assert_eq!(reqs[0].h("stripe-account"), None);
    assert_eq!(reqs[1].path, "/v1/events/evt_1TbSnap3");
    assert_eq!(reqs[1].h("stripe-account"), Some("acct_1Conn"));
    for r in &reqs {
        assert_eq!(r.h("stripe-version"), Some(STRIPE_VERSION));
        assert_eq!(r.h("authorization"), Some(format!("Bearer {KEY}").as_str()));
    }
    assert_eq!(fetch_jobs(&e)[0].state, JobState::Done);
    // The snapshot event went through the normal path: stored under its own id.
    let snap = e.event_detail("evt_1TbSnap3").unwrap().unwrap();
    assert_eq!(snap.event.event_type, "customer.subscription.updated");
    assert_eq!(snap.event.customer_id.as_deref(), Some("cus_3"));
    // Nothing left.
    let rep = work_stripe_jobs(&e, &client(&stub, FakeClock::at(T0 + 20)), 10, 60).unwrap();
    assert_eq!(rep.claimed, 0);
}

#[test]
fn without_a_snapshot_event_the_related_object_is_applied_as_a_snapshot() {
    let e = common::engine();
    let stub = Stub::start(KEY);
    let t = thin("evt_test_65Tb4", None, "sub_4");
    common::deliver(&e, t.to_string().as_bytes(), T0).unwrap();
    stub.add("/v2/core/events", [full(&t, None)]);
    stub.add(
        "/v1/subscriptions",
        [objects::subscription(
            "sub_4",
            "cus_4",
            "active",
            T0 - 100,
            T0 + 86_400,
            "u4",
        )],
    );
    // A v2 resource tollbooth does not keep: completed, nothing applied.
    let mut meter = thin("evt_test_65Tb5", None, "mtr_5");
    meter["type"] = json!("v1.billing.meter.no_meter_found");
    meter["related_object"] =
        json!({"id": "mtr_5", "type": "billing.meter", "url": "/v1/billing/meters/mtr_5"});
    common::deliver(&e, meter.to_string().as_bytes(), T0 + 1).unwrap();
    stub.add("/v2/core/events", [full(&meter, None)]);

    let rep = work_stripe_jobs(&e, &client(&stub, FakeClock::at(T0 + 10)), 10, 60).unwrap();
    assert_eq!(
        (rep.claimed, rep.completed, rep.changed),
        (2, 2, 1),
        "{rep:?}"
    );
    let paths: Vec<_> = stub.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/v2/core/events/evt_test_65Tb4",
            "/v1/subscriptions/sub_4",
            "/v2/core/events/evt_test_65Tb5"
        ]
    );
    assert!(e.access("cus_4", T0 + 11).unwrap().has_access);
}

#[test]
fn a_rate_limited_fetch_fails_the_job_with_stripes_retry_after() {
    let e = common::engine();
    let stub = Stub::start(KEY);
    let t = thin("evt_test_65Tb6", None, "sub_6");
    common::deliver(&e, t.to_string().as_bytes(), T0).unwrap();
    stub.add("/v2/core/events", [full(&t, None)]);
    stub.queue_faults([Fault::rate_limited(Some(900))]);
    let now = T0 + 10;
    let rep = work_stripe_jobs(&e, &client(&stub, FakeClock::at(now)), 10, 60).unwrap();
    assert_eq!(rep.claimed, 1);
    assert_eq!(rep.failed.len(), 1, "{rep:?}");
    assert_eq!(rep.failed[0].1, "STRIPE_RATE_LIMITED");
    assert_eq!(
        rep.failed[0].2,
        FailOutcome::Scheduled {
            next_attempt_at: now + 900
        }
    );
    let job = &fetch_jobs(&e)[0];
    assert_eq!(job.state, JobState::Due);
    assert!(!job.last_error.as_deref().unwrap_or("").contains(KEY));
    // The reconcile-only worker leaves fetch jobs alone.
    let rep = work_reconcile_jobs(&e, &client(&stub, FakeClock::at(now + 1000)), 10, 60).unwrap();
    assert_eq!(rep.claimed, 0);
}
