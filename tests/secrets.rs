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
