//! No configured secret ever leaves the engine: not in errors, Debug output, the delivery log,
//! job payloads or errors, metrics, Prometheus text or health.

mod common;

use common::*;
use tollbooth::verify::sign_for_test;

fn scan(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "secret leaked into {what}");
    assert!(
        !text.contains("SECRET"),
        "secret fragment leaked into {what}"
    );
}

#[test]
fn the_secret_appears_in_no_output_channel() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let path = path.to_str().unwrap();
    let e = engine_at(path);
    for (_, created, body) in many_histories(4) {
        deliver(&e, &body, created).unwrap();
        deliver(&e, &body, created).unwrap();
    }
    // Rejections of every kind, including a header that carries the secret itself.
    let body = event(
        "evt_s",
        "customer.created",
        T0,
        customer("cus_s", "s@example.com"),
    );
    let bad_headers = [
        format!("t={T0},v1={SECRET}"),
        SECRET.to_string(),
        sign_for_test(&body, "whsec_wrong", T0),
        format!("t={},v1=00", T0 - 10_000),
    ];
    for h in &bad_headers {
        let err = e.handle_webhook_at(&body, h, T0).unwrap_err();
        scan("error Display", &err.to_string());
        scan("error Debug", &format!("{err:?}"));
    }
    // A parse error never echoes the body it could not read.
    let err = tollbooth::event::parse_event(SECRET.as_bytes()).unwrap_err();
    scan("payload error", &format!("{err} {err:?}"));
    let err = e.apply_snapshot(SECRET.as_bytes(), T0).unwrap_err();
    scan("snapshot error", &format!("{err} {err:?}"));
    scan("engine Debug", &format!("{e:?}"));
    scan("config Debug", &format!("{:?}", e.config()));
    // A worker error that echoes credentials is redacted before it is stored.
    let job = &e.claim(&[], 1, 60, T0 + 100_000_000).unwrap()[0];
    let msg = format!("CRM rejected request signed with {SECRET} and key sk_live_51Habc");
    e.fail(job.id, job.lease_token, &msg, T0 + 100_000_000)
        .unwrap();
    let stored = e.job(job.id).unwrap();
    assert!(stored.last_error.as_deref().unwrap().contains("[redacted]"));
    assert!(
        !stored
            .last_error
            .as_deref()
            .unwrap()
            .contains("sk_live_51Habc")
    );
    scan(
        "job attempts",
        &format!("{:?}", e.job_attempts(job.id).unwrap()),
    );
    scan("metrics", &e.metrics_json(T0 + 100_000_000).unwrap());
    scan("prometheus", &e.prometheus(T0 + 100_000_000).unwrap());
    scan("health", &e.health_json(T0 + 100_000_000).unwrap());
    e.close().unwrap();
    // Every byte of the database, every table: delivery log, events, jobs, attempts.
    let raw = std::fs::read(path).unwrap();
    let wal = std::fs::read(format!("{path}-wal")).unwrap_or_default();
    for (name, bytes) in [("database file", raw), ("WAL file", wal)] {
        let hay = String::from_utf8_lossy(&bytes);
        assert!(!hay.contains(SECRET), "secret found in the {name}");
    }
}

/// The Stripe API key tollbooth uses for sync, catch-up and reconcile never leaves it either:
/// not in the client's errors (a refused key, an outage, Stripe's own error text echoing a
/// key), Debug output, the job history of a failed reconcile, the sync cursors, metrics, or
/// any byte of the database.
#[cfg(feature = "stripe-api")]
#[test]
fn the_stripe_api_key_appears_in_no_output_channel() {
    #[path = "stripe_stub/mod.rs"]
    mod stripe_stub;
    use stripe_stub::{Fault, Stub, objects};
    use tollbooth::stripe_api::{
        ApiKey, CatchUpOptions, ClientOptions, RetryPolicy, StripeClient, SyncOptions, catch_up,
        sync, work_reconcile_jobs,
    };

    const KEY: &str = "sk_live_51ApiKeyMustNeverLeakSECRET";
    let scan_key = |what: &str, text: &str| {
        assert!(!text.contains(KEY), "the API key leaked into {what}");
        assert!(
            !text.contains("MustNeverLeak"),
            "a fragment of the API key leaked into {what}"
        );
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.db");
    let path = path.to_str().unwrap();
    let e = engine_at(path);
    let stub = Stub::start(KEY);
    let a = objects::account(30, T0);
    a.serve(&stub);
    stub.add("/v1/events", []);
    let client = |key: &str| {
        StripeClient::with_clock(
            ApiKey::new(key).unwrap(),
            ClientOptions {
                base_url: stub.base_url.clone(),
                retry: RetryPolicy {
                    max_retries: 1,
                    base_delay: std::time::Duration::from_millis(1),
                    ..RetryPolicy::default()
                },
                ..ClientOptions::default()
            },
            stripe_stub::clock::FakeClock::at(T0 + 86_400),
        )
        .unwrap()
    };
    let c = client(KEY);
    scan_key("client Debug", &format!("{c:?}"));
    scan_key(
        "key Debug/Display",
        &format!(
            "{:?} {}",
            ApiKey::new(KEY).unwrap(),
            ApiKey::new(KEY).unwrap()
        ),
    );
    sync(&e, &c, &SyncOptions::default(), &mut |_| {}).unwrap();
    catch_up(&e, &c, &CatchUpOptions::default(), &mut |_| {}).unwrap();
    // A refused key (a different, also secret, key), an outage, a 429.
    let wrong = "sk_live_51OtherKeyMustNeverLeakSECRET";
    let err = sync(&e, &client(wrong), &SyncOptions::default(), &mut |_| {}).unwrap_err();
    assert!(!err.to_string().contains(wrong));
    scan_key("auth error", &format!("{err} {err:?}"));
    for f in [
        Fault::status(500),
        Fault::rate_limited(Some(1)),
        Fault::status(400),
    ] {
        stub.fault_every(1, Some(f));
        let err = sync(&e, &c, &SyncOptions::default(), &mut |_| {}).unwrap_err();
        scan_key("API error", &format!("{err} {err:?}"));
    }
    stub.fault_every(1, None);
    // A failed reconcile job records its error in the job history.
    let sub = objects::subscription("sub_k", "cus_000001", "active", T0, T0 + 86_400, "u");
    let mut other = sub.clone();
    other["status"] = "past_due".into();
    for (id, o) in [("evt_k1", sub), ("evt_k2", other)] {
        let ev = objects::event(id, "customer.subscription.updated", T0 + 5, o);
        e.ingest_trusted(ev.to_string().as_bytes(), T0 + 5).unwrap();
    }
    stub.fault_every(1, Some(Fault::status(503)));
    let rep = work_reconcile_jobs(&e, &c, 10, 60).unwrap();
    assert_eq!(rep.failed.len(), 1);
    stub.fault_every(1, None);
    for j in e.jobs(&Default::default()).unwrap() {
        scan_key("jobs", &format!("{j:?}"));
        scan_key(
            "job attempts",
            &format!("{:?}", e.job_attempts(j.id).unwrap()),
        );
    }
    scan_key("sync cursors", &format!("{:?}", e.sync_cursors().unwrap()));
    scan_key("metrics", &e.metrics_json(T0 + 86_400).unwrap());
    scan_key("prometheus", &e.prometheus(T0 + 86_400).unwrap());
    scan_key("health", &e.health_json(T0 + 86_400).unwrap());
    scan_key("engine Debug", &format!("{e:?}"));
    e.close().unwrap();
    let raw = std::fs::read(path).unwrap();
    let wal = std::fs::read(format!("{path}-wal")).unwrap_or_default();
    for (name, bytes) in [("database file", raw), ("WAL file", wal)] {
        scan_key(name, &String::from_utf8_lossy(&bytes));
    }
}
