//! `sync` against the loopback stub: every object type applied as a snapshot, resumable after
//! an interruption with the same end state as an uninterrupted run and as the webhooks for the
//! same history, idempotent, scoped by `--since` and type, and never overwriting a newer event.

mod stripe_stub;

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;
use stripe_stub::clock::FakeClock;
use stripe_stub::{Fault, Stub, objects};
use tollbooth::stripe_api::{
    ApiKey, ClientOptions, StripeClient, SyncObject, SyncOptions, SyncReport, sync,
};
use tollbooth::{Config, Engine, ErrorCode};

const KEY: &str = "sk_test_51SyncKeySECRET";
const T0: i64 = 1_767_000_000;
/// When the sync runs: after every object was created.
const NOW: i64 = T0 + 10 * 86_400;

fn engine() -> Engine {
    Engine::open(Config::new(":memory:", &["whsec_sync"]).unwrap()).unwrap()
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

fn run(e: &Engine, c: &StripeClient, opts: &SyncOptions) -> tollbooth::Result<SyncReport> {
    sync(e, c, opts, &mut |_| {})
}

/// Everything the portal can see about an account, for comparing two stores.
fn state(e: &Engine, a: &objects::Account) -> Vec<String> {
    let mut out = Vec::new();
    for c in &a.customers {
        let id = c["id"].as_str().unwrap();
        out.push(format!("{:?}", e.access(id, NOW).unwrap()));
        out.push(format!("{:?}", e.find_customer(id).unwrap()));
        out.push(format!("{:?}", e.invoices(id).unwrap()));
    }
    for s in &a.sessions {
        out.push(format!(
            "{:?}",
            e.checkout_status(s["id"].as_str().unwrap()).unwrap()
        ));
    }
    for p in e.catalog(None).unwrap() {
        out.push(format!(
            "{} {:?} {:?} {:?} {:?}",
            p.id, p.active, p.name, p.product_id, p.unit_amount
        ));
    }
    out
}

fn job_keys(e: &Engine) -> BTreeSet<(String, String)> {
    e.jobs(&tollbooth::JobFilter {
        limit: Some(100_000),
        ..Default::default()
    })
    .unwrap()
    .into_iter()
    .map(|j| (j.kind, j.key))
    .collect()
}

#[test]
fn a_sync_gives_existing_subscribers_access() {
    let stub = Stub::start(KEY);
    let a = objects::account(120, T0);
    a.serve(&stub);
    let e = engine();
    let c = client(&stub, FakeClock::at(NOW));
    let mut pages = Vec::new();
    let rep = sync(&e, &c, &SyncOptions::default(), &mut |p| {
        pages.push((p.object, p.applied, p.done))
    })
    .unwrap();
    let count = |o: &str| rep.types.iter().find(|t| t.object == o).unwrap().fetched;
    assert_eq!(count("customer"), 120);
    assert_eq!(count("subscription"), 120, "canceled ones too (status=all)");
    assert_eq!(count("invoice"), 120);
    assert_eq!(count("checkout.session"), 120);
    assert_eq!(count("product"), 2);
    assert_eq!(count("price"), 3);
    assert!(rep.types.iter().all(|t| t.skipped == 0), "{rep:?}");
    assert_eq!(
        pages.last(),
        Some(&(SyncObject::CheckoutSession, 120, true))
    );
    // Types run in order, customers first.
    let order: Vec<&str> = rep.types.iter().map(|t| t.object.as_str()).collect();
    assert_eq!(
        order,
        [
            "customer",
            "product",
            "price",
            "subscription",
            "invoice",
            "checkout.session"
        ]
    );
    for (i, s) in a.subscriptions.iter().enumerate() {
        let cus = s["customer"].as_str().unwrap();
        let access = e.access(cus, NOW).unwrap();
        let status = s["status"].as_str().unwrap();
        // No past_due grace configured: only active subscriptions open the portal.
        assert_eq!(
            access.has_access,
            status == "active",
            "{cus} {status}: {access:?}"
        );
        assert_eq!(
            access.user_id.as_deref(),
            Some(format!("user_{i}").as_str())
        );
        assert_eq!(access.price_id.as_deref(), Some("price_Tb1Pro"));
    }
    let users = e.find_customer("user_7").unwrap().unwrap();
    assert_eq!(users.id, "cus_000007");
    let cat = e.catalog(Some("price")).unwrap();
    assert_eq!(cat.len(), 3);
    assert_eq!(cat[0].id, "price_pro_m");
    assert_eq!(cat[0].recurring_interval.as_deref(), Some("month"));
    assert_eq!(
        e.catalog(Some("product")).unwrap()[0].name.as_deref(),
        Some("Pro")
    );
    // What went over the wire: status=all for subscriptions, limit=100 everywhere.
    let reqs = stub.requests();
    let subs: Vec<_> = reqs
        .iter()
        .filter(|r| r.path == "/v1/subscriptions")
        .collect();
    assert_eq!(subs.len(), 2);
    assert!(
        subs.iter()
            .all(|r| r.q("status") == Some("all") && r.q("limit") == Some("100"))
    );
    assert_eq!(subs[1].q("starting_after"), Some("sub_000020"));
    assert!(reqs.iter().all(|r| r.q("created[gte]").is_none()));
    // Every changed customer gets a CRM sync job.
    let crm = job_keys(&e)
        .iter()
        .filter(|(k, _)| k == "crm.sync_customer")
        .count();
    assert_eq!(crm, 120);
}

#[test]
fn running_it_twice_changes_nothing() {
    let stub = Stub::start(KEY);
    let a = objects::account(150, T0);
    a.serve(&stub);
    let e = engine();
    let c = client(&stub, FakeClock::at(NOW));
    run(&e, &c, &SyncOptions::default()).unwrap();
    let before = (
        state(&e, &a),
        job_keys(&e),
        e.jobs(&Default::default()).unwrap().len(),
    );
    let c2 = client(&stub, FakeClock::at(NOW + 60));
    let rep = run(&e, &c2, &SyncOptions::default()).unwrap();
    assert!(
        rep.types
            .iter()
            .all(|t| t.changed == 0 && t.jobs == 0 && !t.resumed),
        "{rep:?}"
    );
    assert_eq!(
        rep.types[0].fetched, 150,
        "a finished sync runs a fresh pass"
    );
    let after = (
        state(&e, &a),
        job_keys(&e),
        e.jobs(&Default::default()).unwrap().len(),
    );
    assert_eq!(before, after);
}

#[test]
fn an_interrupted_sync_resumes_and_ends_like_an_uninterrupted_one() {
    let stub = Stub::start(KEY);
    let a = objects::account(1000, T0);
    a.serve(&stub);
    assert_eq!(a.len(), 4005);
    // Uninterrupted.
    let whole = engine();
    run(
        &whole,
        &client(&stub, FakeClock::at(NOW)),
        &SyncOptions::default(),
    )
    .unwrap();

    // Interrupted twice: Stripe goes down for good (Stripe-Should-Retry: false) mid-customers
    // and again mid-invoices.
    let e = engine();
    let c = client(&stub, FakeClock::at(NOW));
    let down = Fault::Status {
        code: 503,
        retry_after: None,
        should_retry: Some(false),
    };
    stub.clear_requests();
    stub.fault_every(4, Some(down.clone()));
    let err = run(&e, &c, &SyncOptions::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::StripeUnavailable);
    let cur = e.sync_cursor("customer").unwrap().unwrap();
    assert_eq!(cur.applied, 300);
    assert_eq!(cur.starting_after.as_deref(), Some("cus_000700"));
    assert!(cur.completed_at.is_none());

    stub.fault_every(1, None);
    stub.clear_requests();
    let rep = run(
        &e,
        &c,
        &SyncOptions {
            objects: vec![
                SyncObject::Customer,
                SyncObject::Product,
                SyncObject::Price,
                SyncObject::Subscription,
            ],
            ..Default::default()
        },
    )
    .unwrap();
    assert!(rep.types[0].resumed);
    assert_eq!(rep.types[0].fetched, 700, "only what was left");
    assert_eq!(stub.requests()[0].q("starting_after"), Some("cus_000700"));

    stub.clear_requests();
    stub.fault_every(3, Some(down));
    let only_invoices = SyncOptions {
        objects: vec![SyncObject::Invoice, SyncObject::CheckoutSession],
        ..Default::default()
    };
    assert!(run(&e, &c, &only_invoices).is_err());
    assert_eq!(e.sync_cursor("invoice").unwrap().unwrap().applied, 200);
    stub.fault_every(1, None);
    let rep = run(&e, &c, &SyncOptions::default()).unwrap();
    assert!(rep.types.iter().all(|t| t.skipped == 0));
    let invoices = rep.types.iter().find(|t| t.object == "invoice").unwrap();
    assert!(invoices.resumed);
    assert_eq!(invoices.fetched, 800);
    assert!(
        !rep.types[0].resumed,
        "a finished stream starts a fresh pass"
    );
    for cur in e.sync_cursors().unwrap() {
        assert!(cur.completed_at.is_some(), "{cur:?}");
    }
    assert_eq!(state(&e, &a), state(&whole, &a));
    assert_eq!(job_keys(&e), job_keys(&whole));
}

#[test]
fn a_sync_ends_in_the_same_state_as_the_webhooks_for_the_same_history() {
    let stub = Stub::start(KEY);
    let a = objects::account(70, T0);
    a.serve(&stub);
    let synced = engine();
    run(
        &synced,
        &client(&stub, FakeClock::at(NOW)),
        &SyncOptions::default(),
    )
    .unwrap();

    let hooked = engine();
    let deliver = |id: String, kind: &str, o: &Value| {
        let created = o["created"].as_i64().unwrap() + 5;
        let ev = objects::event(&id, kind, created, o.clone());
        hooked
            .ingest_trusted(ev.to_string().as_bytes(), created)
            .unwrap();
    };
    for i in 0..70 {
        deliver(format!("evt_c{i}"), "customer.created", &a.customers[i]);
        deliver(
            format!("evt_s{i}"),
            "customer.subscription.updated",
            &a.subscriptions[i],
        );
        deliver(format!("evt_i{i}"), "invoice.paid", &a.invoices[i]);
        deliver(
            format!("evt_k{i}"),
            "checkout.session.completed",
            &a.sessions[i],
        );
    }
    let without_catalog = |e: &Engine| {
        let mut s = state(e, &a);
        s.retain(|l| !l.starts_with("pr"));
        s
    };
    assert_eq!(without_catalog(&synced), without_catalog(&hooked));
}

#[test]
fn since_and_object_types_scope_the_sync() {
    let stub = Stub::start(KEY);
    let a = objects::account(300, T0);
    a.serve(&stub);
    let e = engine();
    let c = client(&stub, FakeClock::at(NOW));
    let opts = SyncOptions {
        objects: vec![SyncObject::Customer],
        since: Some(T0 + 250),
        ..Default::default()
    };
    let rep = run(&e, &c, &opts).unwrap();
    assert_eq!(rep.types.len(), 1);
    assert_eq!(rep.types[0].fetched, 50);
    let reqs = stub.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/v1/customers");
    assert_eq!(
        reqs[0].q("created[gte]"),
        Some((T0 + 250).to_string().as_str())
    );
    assert!(e.find_customer("cus_000249").unwrap().is_none());
    assert!(e.find_customer("cus_000250").unwrap().is_some());
    assert_eq!(
        e.sync_cursor("customer").unwrap().unwrap().scope,
        format!("created[gte]={}", T0 + 250)
    );
    assert!(e.sync_cursor("subscription").unwrap().is_none());
}

#[test]
fn a_snapshot_never_overwrites_a_newer_event() {
    let stub = Stub::start(KEY);
    let a = objects::account(3, T0);
    a.serve(&stub);
    let e = engine();
    // A webhook created after the sync's fetch: the subscription was canceled.
    let mut sub = a.subscriptions[0].clone();
    sub["status"] = "canceled".into();
    let ev = objects::event("evt_newer", "customer.subscription.deleted", NOW + 30, sub);
    e.ingest_trusted(ev.to_string().as_bytes(), NOW + 30)
        .unwrap();
    run(
        &e,
        &client(&stub, FakeClock::at(NOW)),
        &SyncOptions::default(),
    )
    .unwrap();
    let access = e.access("cus_000000", NOW + 31).unwrap();
    assert!(!access.has_access, "{access:?}");
    assert!(e.access("cus_000001", NOW + 31).unwrap().has_access);
}

#[test]
fn an_unreadable_object_is_skipped_and_reported() {
    let stub = Stub::start(KEY);
    let mut bad = objects::customer("cus_bad", "x@example.com", T0 + 1);
    bad["email"] = serde_json::json!(42);
    stub.add(
        "/v1/customers",
        [objects::customer("cus_ok", "o@example.com", T0), bad],
    );
    let e = engine();
    let rep = run(
        &e,
        &client(&stub, FakeClock::at(NOW)),
        &SyncOptions {
            objects: vec![SyncObject::Customer],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(rep.types[0].skipped, 1);
    assert!(
        rep.types[0].errors[0].starts_with("cus_bad: EVENT_FIELD_MISSING"),
        "{:?}",
        rep.types[0].errors
    );
    assert!(e.find_customer("cus_ok").unwrap().is_some());
}

/// Real objects collected from other projects' test suites (../shared/fixtures/stripe): each
/// event's `data.object` of a type `sync` pages through is served by the stub and synced.
/// Skipped with a notice when the shared fixtures are absent.
#[test]
fn shared_fixture_objects_sync() {
    let shared = std::env::var_os("TOLLBOOTH_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let root = shared.join("fixtures/stripe/events");
    if !root.exists() {
        eprintln!(
            "NOTICE: shared Stripe fixtures not found at {}; skipping",
            root.display()
        );
        return;
    }
    let mut by_path: std::collections::BTreeMap<&str, Vec<Value>> = Default::default();
    let mut seen = std::collections::HashSet::new();
    for source in std::fs::read_dir(&root).unwrap() {
        for f in std::fs::read_dir(source.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            let Ok(v) = serde_json::from_str::<Value>(&std::fs::read_to_string(&p).unwrap()) else {
                continue;
            };
            let o = &v["data"]["object"];
            let path = match o["object"].as_str() {
                Some("customer") => "/v1/customers",
                Some("subscription") => "/v1/subscriptions",
                Some("invoice") => "/v1/invoices",
                Some("checkout.session") => "/v1/checkout/sessions",
                Some("product") => "/v1/products",
                Some("price") => "/v1/prices",
                _ => continue,
            };
            // Placeholder ids repeat across files: serve each id once.
            if o["id"].is_string() && seen.insert(o["id"].as_str().unwrap().to_owned()) {
                by_path.entry(path).or_default().push(o.clone());
            }
        }
    }
    let served: usize = by_path.values().map(Vec::len).sum();
    assert!(served >= 10, "only {served} fixture objects found");
    let stub = Stub::start(KEY);
    for (path, objs) in &by_path {
        stub.add(path, objs.clone());
    }
    for path in SyncObject::ALL.iter().map(|o| o.path()) {
        if !by_path.contains_key(path) {
            stub.add(path, []);
        }
    }
    let e = engine();
    let rep = run(
        &e,
        &client(&stub, FakeClock::at(NOW)),
        &SyncOptions::default(),
    )
    .unwrap();
    let fetched: i64 = rep.types.iter().map(|t| t.fetched).sum();
    // Stripe's list leaves canceled subscriptions out without status=all; we send it.
    assert_eq!(fetched as usize, served, "{rep:?}");
    let skipped: Vec<&String> = rep.types.iter().flat_map(|t| t.errors.iter()).collect();
    eprintln!("shared fixtures: {served} objects synced, skipped: {skipped:?}");
    assert!(
        skipped.is_empty(),
        "fixture objects tollbooth could not read: {skipped:?}"
    );
    for s in by_path.get("/v1/subscriptions").into_iter().flatten() {
        let cus = s["customer"].as_str().unwrap();
        let stored = e.subscriptions(cus).unwrap();
        assert!(
            stored
                .iter()
                .any(|v| Some(v.record.id.as_str()) == s["id"].as_str()),
            "{cus}: {stored:?}"
        );
        assert!(e.access(cus, NOW).unwrap().subscription_id.is_some());
    }
}

#[test]
fn a_page_of_snapshots_applies_like_one_at_a_time() {
    let a = objects::account(40, T0);
    let mut page: Vec<String> = a
        .customers
        .iter()
        .chain(&a.subscriptions)
        .chain(&a.sessions)
        .map(|v| v.to_string())
        .collect();
    // Unreadable objects mid-page: each answer stays in its own slot.
    page.insert(5, "{\"object\":\"customer\"}".to_owned());
    page.insert(50, "not json".to_owned());
    let one = engine();
    let singles: Vec<_> = page
        .iter()
        .map(|j| one.apply_snapshot(j.as_bytes(), NOW))
        .collect();
    let paged = engine();
    let jsons: Vec<&[u8]> = page.iter().map(|j| j.as_bytes()).collect();
    let batch = paged.apply_snapshots(&jsons, NOW).unwrap();
    assert_eq!(batch.len(), page.len());
    for (s, b) in singles.iter().zip(&batch) {
        match (s, b) {
            (Ok(s), Ok(b)) => {
                assert_eq!(
                    (s.changed, &s.object_id, s.jobs.len()),
                    (b.changed, &b.object_id, b.jobs.len())
                )
            }
            (Err(s), Err(b)) => assert_eq!(s.code(), b.code()),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        batch[5].as_ref().unwrap_err().code(),
        ErrorCode::EventFieldMissing
    );
    assert_eq!(
        batch[50].as_ref().unwrap_err().code(),
        ErrorCode::PayloadInvalidJson
    );
    assert_eq!(batch[6].as_ref().unwrap().object_id, "cus_000005");
    assert_eq!(state(&one, &a), state(&paged, &a));
}
