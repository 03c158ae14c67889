//! Connect, on every backend: events with a top-level `account` are kept in that connected
//! account's scope (user links, access, jobs carrying the account); the platform's own events
//! are the account-less scope; an endpoint configured not to take Connect events answers them
//! 2xx `ignored` with a reason; Accounts v2's `customer_account` names the customer when
//! `customer` is null; a reconcile job of a connected account is fetched with
//! `Stripe-Account`.

mod common;
mod stripe_stub;

use common::*;
use serde_json::{Value, json};
use stripe_stub::clock::FakeClock;
use stripe_stub::{Stub, objects};
use tollbooth::stripe_api::{ApiKey, ClientOptions, StripeClient, work_stripe_jobs};
use tollbooth::{Engine, ErrorCode, JobFilter, Outcome};

const ACCT: &str = "acct_1ConnectedX";

fn connect_event(id: &str, kind: &str, created: i64, object: Value, account: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&event(id, kind, created, object)).unwrap();
    v["account"] = json!(account);
    serde_json::to_vec(&v).unwrap()
}

/// The platform's user_42 subscribes; later a connected account's own user_42 checks out.
fn two_user_42s(e: &Engine) {
    let sub = subscription(
        "sub_plat",
        "cus_plat",
        "active",
        T0 + 2_592_000,
        Shape::Basil,
    );
    deliver(
        e,
        &event(
            "evt_p1",
            "checkout.session.completed",
            T0,
            checkout(
                "cs_plat", "cus_plat", "user_42", "sub_plat", "complete", "paid",
            ),
        ),
        T0,
    )
    .unwrap();
    deliver(
        e,
        &event("evt_p2", "customer.subscription.created", T0 + 1, sub),
        T0 + 1,
    )
    .unwrap();
    let cs = checkout(
        "cs_conn", "cus_conn", "user_42", "sub_conn", "complete", "paid",
    );
    let h = deliver(
        e,
        &connect_event("evt_c1", "checkout.session.completed", T0 + 100, cs, ACCT),
        T0 + 100,
    )
    .unwrap();
    assert_eq!(h.outcome, Outcome::Processed);
    let mut sub = subscription(
        "sub_conn",
        "cus_conn",
        "canceled",
        T0 + 2_592_000,
        Shape::Basil,
    );
    sub["ended_at"] = json!(T0 + 101);
    deliver(
        e,
        &connect_event(
            "evt_c2",
            "customer.subscription.created",
            T0 + 101,
            sub,
            ACCT,
        ),
        T0 + 101,
    )
    .unwrap();
}

#[test]
fn a_connected_accounts_checkout_never_relinks_the_platforms_user() {
    for b in backends() {
        let e = b.engine();
        two_user_42s(&e);
        let platform = e.access_for_user("user_42", T0 + 200).unwrap();
        assert_eq!(
            platform.customer_id.as_deref(),
            Some("cus_plat"),
            "{}",
            b.name
        );
        assert!(
            platform.has_access,
            "the platform's user_42 keeps their subscription"
        );
        let connected = e.access_for_user_in(ACCT, "user_42", T0 + 200).unwrap();
        assert_eq!(
            connected.customer_id.as_deref(),
            Some("cus_conn"),
            "{}",
            b.name
        );
        assert!(!connected.has_access);
        assert_eq!(
            e.access_for_user_in("acct_other", "user_42", T0 + 200)
                .unwrap()
                .customer_id,
            None
        );
        // Jobs of the connected account carry it; the platform's do not.
        for j in e
            .jobs(&JobFilter {
                limit: Some(100),
                ..JobFilter::default()
            })
            .unwrap()
        {
            let p: Value = serde_json::from_str(&j.payload).unwrap();
            let want = if j.customer_id.as_deref() == Some("cus_conn") {
                json!(ACCT)
            } else {
                Value::Null
            };
            assert_eq!(p["account"], want, "{} {} {}", b.name, j.kind, j.key);
        }
    }
}

#[test]
fn an_endpoint_that_takes_no_connect_events_acknowledges_them_as_ignored() {
    for b in backends() {
        let mut c = b.config();
        c.accept_connect_events = false;
        let e = Engine::open(c).unwrap();
        let cs = checkout(
            "cs_conn", "cus_conn", "user_42", "sub_conn", "complete", "paid",
        );
        let body = connect_event("evt_c1", "checkout.session.completed", T0, cs, ACCT);
        let h = deliver(&e, &body, T0).unwrap();
        assert_eq!(h.outcome, Outcome::Ignored, "{}", b.name);
        assert_eq!(h.reason, Some(ErrorCode::ConnectEventRefused));
        assert!(h.jobs.is_empty());
        assert_eq!(
            e.access_for_user_in(ACCT, "user_42", T0 + 1)
                .unwrap()
                .customer_id,
            None
        );
        assert_eq!(
            deliver(&e, &body, T0 + 5).unwrap().outcome,
            Outcome::Duplicate
        );
        let stored = e.events(&Default::default()).unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(
            (stored[0].outcome.as_str(), stored[0].error_code.as_deref()),
            ("ignored", Some("CONNECT_EVENT_REFUSED"))
        );
        // A thin event of a connected account is refused the same way; the platform's pass.
        let thin = json!({"id": "evt_test_thin_c", "object": "v2.core.event", "type": "v1.customer.updated",
            "livemode": false, "created": "2026-01-01T00:00:00Z", "context": ACCT,
            "related_object": {"id": "cus_conn", "type": "customer", "url": "/v1/customers/cus_conn"}});
        let h = deliver(&e, thin.to_string().as_bytes(), T0).unwrap();
        assert_eq!(
            (h.outcome, h.reason),
            (Outcome::Ignored, Some(ErrorCode::ConnectEventRefused))
        );
        let sub = subscription(
            "sub_plat",
            "cus_plat",
            "active",
            T0 + 2_592_000,
            Shape::Basil,
        );
        let h = deliver(
            &e,
            &event("evt_p1", "customer.subscription.created", T0, sub),
            T0,
        )
        .unwrap();
        assert_eq!(h.outcome, Outcome::Processed);
        assert!(
            e.jobs(&JobFilter {
                kind: Some("stripe.fetch_event".into()),
                ..Default::default()
            })
            .unwrap()
            .is_empty()
        );
    }
}

#[test]
fn accounts_v2_customer_account_names_the_customer() {
    for b in backends() {
        let e = b.engine();
        let mut sub = subscription("sub_v2", "x", "active", T0 + 2_592_000, Shape::Basil);
        sub["customer"] = Value::Null;
        sub["customer_account"] = json!("acct_1CustomerV2");
        let h = deliver(
            &e,
            &event("evt_v2", "customer.subscription.created", T0, sub),
            T0,
        )
        .unwrap();
        assert_eq!(
            h.customer_id.as_deref(),
            Some("acct_1CustomerV2"),
            "{}",
            b.name
        );
        assert!(e.access("acct_1CustomerV2", T0 + 1).unwrap().has_access);
        let mut inv = invoice("in_v2", "x", "sub_v2", "paid", 1, T0, Shape::Basil);
        inv["customer"] = Value::Null;
        inv["customer_account"] = json!("acct_1CustomerV2");
        deliver(&e, &event("evt_v2i", "invoice.paid", T0 + 1, inv), T0 + 1).unwrap();
        assert_eq!(e.invoices("acct_1CustomerV2").unwrap().len(), 1);
    }
}

#[test]
fn a_connected_accounts_reconcile_job_is_fetched_with_its_stripe_account() {
    const KEY: &str = "sk_test_51ConnectReconcileSECRET";
    let e = engine();
    let active = objects::subscription("sub_cr", "cus_cr", "active", T0, T0 + 86_400, "u");
    let mut past_due = active.clone();
    past_due["status"] = "past_due".into();
    for (id, o) in [("evt_cr1", active), ("evt_cr2", past_due)] {
        let mut ev = objects::event(id, "customer.subscription.updated", T0, o);
        ev["account"] = json!(ACCT);
        e.ingest_trusted(ev.to_string().as_bytes(), T0).unwrap();
    }
    let jobs = e
        .jobs(&JobFilter {
            kind: Some("stripe.reconcile".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(jobs.len(), 1);
    let p: Value = serde_json::from_str(&jobs[0].payload).unwrap();
    assert_eq!(p["account"], ACCT);
    let stub = Stub::start(KEY);
    stub.add(
        "/v1/subscriptions",
        [objects::subscription(
            "sub_cr",
            "cus_cr",
            "canceled",
            T0,
            T0 + 86_400,
            "u",
        )],
    );
    let client = StripeClient::with_clock(
        ApiKey::new(KEY).unwrap(),
        ClientOptions {
            base_url: stub.base_url.clone(),
            ..ClientOptions::default()
        },
        FakeClock::at(T0 + 10),
    )
    .unwrap();
    let rep = work_stripe_jobs(&e, &client, 10, 60).unwrap();
    assert_eq!((rep.claimed, rep.completed), (1, 1));
    let reqs = stub.requests();
    assert_eq!(reqs[0].path, "/v1/subscriptions/sub_cr");
    assert_eq!(reqs[0].h("stripe-account"), Some(ACCT));
}
