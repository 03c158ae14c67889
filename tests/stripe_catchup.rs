//! `catch-up` against the loopback stub: the window starts at the newest stored event minus
//! the margin and never reaches past Stripe's 30 days (and says so), events go through the
//! normal ingest path (overlap is deduplicated), and an interrupted run resumes its window.

mod stripe_stub;

use std::sync::Arc;

use serde_json::Value;
use stripe_stub::clock::FakeClock;
use stripe_stub::{Fault, Stub, objects};
use tollbooth::stripe_api::catchup::EVENT_RETENTION_SECS;
use tollbooth::stripe_api::{ApiKey, CatchUpOptions, ClientOptions, StripeClient, catch_up};
use tollbooth::{Config, Engine, ErrorCode};

const KEY: &str = "rk_test_51CatchUpSECRET";
const T0: i64 = 1_767_000_000;

fn engine() -> Engine {
    Engine::open(Config::new(":memory:", &["whsec_catchup"]).unwrap()).unwrap()
}

fn client(stub: &Stub, clock: Arc<FakeClock>) -> StripeClient {
    StripeClient::with_clock(
        ApiKey::new(KEY).unwrap(),
        ClientOptions {
            base_url: stub.base_url.clone(),
            ..ClientOptions::default()
        },
        clock,
    )
    .unwrap()
}

/// A history: customer `i` subscribes at `start + 60 i` and pays its invoice a minute later;
/// every third subscription is canceled ten minutes after that.
fn history(n: usize, start: i64) -> Vec<Value> {
    let mut out = Vec::new();
    for i in 0..n {
        let t = start + 60 * i as i64;
        let (cus, sub) = (format!("cus_{i:05}"), format!("sub_{i:05}"));
        let s = objects::subscription(
            &sub,
            &cus,
            "active",
            t,
            t + 30 * 86_400,
            &format!("user_{i}"),
        );
        out.push(objects::event(
            &format!("evt_{i:05}a"),
            "customer.subscription.created",
            t,
            s.clone(),
        ));
        let inv = objects::invoice(&format!("in_{i:05}"), &cus, &sub, "paid", t + 60);
        out.push(objects::event(
            &format!("evt_{i:05}b"),
            "invoice.paid",
            t + 60,
            inv,
        ));
        if i % 3 == 0 {
            let mut c = s;
            c["status"] = "canceled".into();
            out.push(objects::event(
                &format!("evt_{i:05}c"),
                "customer.subscription.deleted",
                t + 600,
                c,
            ));
        }
    }
    out
}

fn ingest(e: &Engine, events: &[Value]) {
    for ev in events {
        let created = ev["created"].as_i64().unwrap();
        e.ingest_trusted(ev.to_string().as_bytes(), created)
            .unwrap();
    }
}

#[test]
fn catches_up_from_the_last_event_minus_the_margin() {
    let all = history(200, T0);
    // Delivered before the outage: everything created up to T0 + 3000 s.
    let cut = T0 + 3000;
    let (before, _): (Vec<_>, Vec<_>) = all
        .iter()
        .cloned()
        .partition(|e| e["created"].as_i64().unwrap() <= cut);
    let e = engine();
    ingest(&e, &before);
    let last = e.last_event_created().unwrap().unwrap();
    assert!(last <= cut);
    let stub = Stub::start(KEY);
    stub.add("/v1/events", all.clone());
    let now = T0 + 5 * 86_400;
    let c = client(&stub, FakeClock::at(now));
    let mut seen = Vec::new();
    let rep = catch_up(&e, &c, &CatchUpOptions::default(), &mut |n| seen.push(n)).unwrap();
    let from = last - 3600;
    assert_eq!((rep.from, rep.until, rep.wanted_from), (from, now, from));
    assert!(!rep.gap_exceeds_retention && !rep.no_history && !rep.resumed);
    let in_window: Vec<&Value> = all
        .iter()
        .filter(|v| v["created"].as_i64().unwrap() >= from)
        .collect();
    let overlap = in_window
        .iter()
        .filter(|v| v["created"].as_i64().unwrap() <= cut)
        .count() as i64;
    assert_eq!(rep.fetched, in_window.len() as i64);
    assert_eq!(rep.duplicate, overlap);
    assert_eq!(
        rep.processed + rep.stale + rep.ignored,
        rep.fetched - overlap
    );
    assert_eq!(rep.rejected, 0);
    assert_eq!(seen.len() as i64, rep.pages);
    for (n, r) in stub.requests().iter().enumerate() {
        assert_eq!(r.path, "/v1/events");
        assert_eq!(r.q("limit"), Some("100"));
        assert_eq!(r.q("created[gte]"), Some(from.to_string().as_str()));
        assert_eq!(r.q("created[lte]"), Some(now.to_string().as_str()));
        assert_eq!(r.q("starting_after").is_some(), n > 0);
    }
    // The same state as a store that got every webhook.
    let hooked = engine();
    ingest(&hooked, &all);
    for i in 0..200 {
        let cus = format!("cus_{i:05}");
        assert_eq!(
            e.access(&cus, now).unwrap(),
            hooked.access(&cus, now).unwrap(),
            "{cus}"
        );
        assert_eq!(e.invoices(&cus).unwrap(), hooked.invoices(&cus).unwrap());
    }
    assert!(
        e.sync_cursor("events")
            .unwrap()
            .unwrap()
            .completed_at
            .is_some()
    );
    // Again: nothing new.
    let rep = catch_up(&e, &c, &CatchUpOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(rep.processed, 0);
    assert_eq!(rep.duplicate, rep.fetched);
}

#[test]
fn a_gap_older_than_stripe_keeps_is_reported_and_clamped() {
    let now = T0 + 90 * 86_400;
    let e = engine();
    ingest(&e, &history(1, now - 40 * 86_400));
    let stub = Stub::start(KEY);
    stub.add("/v1/events", history(5, now - 86_400));
    let rep = catch_up(
        &e,
        &client(&stub, FakeClock::at(now)),
        &CatchUpOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    assert!(rep.gap_exceeds_retention);
    assert_eq!(rep.from, now - EVENT_RETENTION_SECS);
    assert!(rep.wanted_from < rep.from);
    // 12 events listed; the three of customer 0 share the stored events' ids: deduplicated.
    assert_eq!((rep.fetched, rep.processed, rep.duplicate), (12, 9, 3));
    assert_eq!(
        stub.requests()[0].q("created[gte]"),
        Some((now - EVENT_RETENTION_SECS).to_string().as_str())
    );

    // No history at all: Stripe's whole retention, and no gap claimed.
    let fresh = engine();
    let rep = catch_up(
        &fresh,
        &client(&stub, FakeClock::at(now)),
        &CatchUpOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    assert!(rep.no_history && !rep.gap_exceeds_retention);
    assert_eq!(rep.from, now - EVENT_RETENTION_SECS);

    // An explicit --since wins over the history.
    let stub2 = Stub::start(KEY);
    stub2.add("/v1/events", []);
    let rep = catch_up(
        &fresh,
        &client(&stub2, FakeClock::at(now)),
        &CatchUpOptions {
            since: Some(now - 3600),
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(rep.from, now - 3600);
    assert_eq!(
        stub2.requests()[0].q("created[gte]"),
        Some((now - 3600).to_string().as_str())
    );
}

#[test]
fn an_interrupted_catch_up_resumes_its_window() {
    let e = engine();
    ingest(&e, &history(1, T0));
    let all = history(300, T0 + 100);
    let stub = Stub::start(KEY);
    stub.add("/v1/events", all.clone());
    let now = T0 + 86_400;
    stub.fault_every(
        3,
        Some(Fault::Status {
            code: 500,
            retry_after: None,
            should_retry: Some(false),
        }),
    );
    let err = catch_up(
        &e,
        &client(&stub, FakeClock::at(now)),
        &CatchUpOptions::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::StripeUnavailable);
    let cur = e.sync_cursor("events").unwrap().unwrap();
    assert_eq!(cur.applied, 200);
    assert!(cur.completed_at.is_none());
    // Later, with more events stored than before: the same window continues.
    stub.fault_every(1, None);
    stub.clear_requests();
    let later = now + 7200;
    let rep = catch_up(
        &e,
        &client(&stub, FakeClock::at(later)),
        &CatchUpOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    assert!(rep.resumed);
    assert_eq!(rep.until, now);
    let r0 = &stub.requests()[0];
    assert_eq!(r0.q("created[lte]"), Some(now.to_string().as_str()));
    assert_eq!(r0.q("starting_after"), cur.starting_after.as_deref());
    assert_eq!(rep.fetched as usize, all.len() - 200);
    let hooked = engine();
    ingest(&hooked, &history(1, T0));
    ingest(&hooked, &all);
    for i in 0..300 {
        let cus = format!("cus_{i:05}");
        assert_eq!(
            e.access(&cus, later).unwrap(),
            hooked.access(&cus, later).unwrap(),
            "{cus}"
        );
    }
}
