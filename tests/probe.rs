//! The doctor's probe: a signed `tollbooth.probe` delivery is verified like any other and
//! answered `probe`, with nothing stored or changed; an unsigned or wrongly signed one is
//! refused like any other.

mod common;

use common::*;
use tollbooth::event::EventFilter;
use tollbooth::probe::probe_body;
use tollbooth::verify::sign_for_test;
use tollbooth::{Config, Engine, ErrorCode, JobFilter, Outcome};

/// Everything a delivery could have written: events, delivery-log rows, jobs, counters.
fn footprint(e: &Engine) -> (usize, usize, usize, u64) {
    let events = e.events(&EventFilter::default()).unwrap().len();
    // delivery_counts flushes buffered rows (duplicates) first.
    let deliveries = e.delivery_counts(0).unwrap().total as usize;
    assert_eq!(e.recent_deliveries(100).unwrap().len(), deliveries);
    let jobs = e.jobs(&JobFilter::default()).unwrap().len();
    let counted = e.metrics(T0).unwrap().process.deliveries.values().sum();
    (events, deliveries, jobs, counted)
}

#[test]
fn a_signed_probe_is_answered_and_changes_nothing() {
    let e = engine();
    deliver(
        &e,
        &event(
            "evt_real",
            "customer.created",
            T0,
            customer("cus_1", "a@example.com"),
        ),
        T0,
    )
    .unwrap();
    let before = footprint(&e);
    let before_access = e.access("cus_1", T0).unwrap();
    let later = T0 + 100;
    let body = probe_body("n1", later);
    for _ in 0..2 {
        let h = e
            .handle_webhook_at(&body, &sign_for_test(&body, SECRET, later), later)
            .unwrap();
        assert_eq!(
            h.outcome,
            Outcome::Probe,
            "the same probe twice is never a duplicate"
        );
        assert_eq!(h.event_id, "evt_tollbooth_probe_n1");
        assert_eq!(h.event_type, "tollbooth.probe");
        assert!(h.jobs.is_empty());
        assert_eq!(
            h.secret_index,
            Some(0),
            "which secret verified it, for rotations"
        );
    }
    assert_eq!(footprint(&e), before);
    assert_eq!(e.access("cus_1", T0).unwrap(), before_access);
    let m = e.metrics(later).unwrap();
    assert_eq!(
        m.activity.last_authentic_at,
        Some(T0 + 1),
        "a probe never resets the silence clock"
    );
}

#[test]
fn a_probe_is_verified_like_any_delivery() {
    let e = engine();
    let body = probe_body("n2", T0);
    let wrong = sign_for_test(&body, "whsec_some_other_secret", T0);
    let err = e.handle_webhook_at(&body, &wrong, T0).unwrap_err();
    assert_eq!(err.code(), ErrorCode::SignatureMismatch);
    let err = e.handle_webhook_at(&body, "", T0).unwrap_err();
    assert_eq!(err.code(), ErrorCode::SignatureHeaderMissing);
    let old = sign_for_test(&body, SECRET, T0 - 3600);
    let err = e.handle_webhook_at(&body, &old, T0).unwrap_err();
    assert_eq!(err.code(), ErrorCode::TimestampOutOfTolerance);
    // Refusals are logged like any other rejection, as rejected (never authentic).
    let m = e.metrics(T0).unwrap();
    assert_eq!(m.window.total, 3);
    assert_eq!(m.activity.last_authentic_at, None);
}

#[test]
fn a_probe_passes_a_live_only_deployment() {
    let mut cfg = Config::new(":memory:", &[SECRET]).unwrap();
    cfg.livemode = Some(true);
    let e = Engine::open(cfg).unwrap();
    let body = probe_body("n3", T0);
    let h = e
        .handle_webhook_at(&body, &sign_for_test(&body, SECRET, T0), T0)
        .unwrap();
    assert_eq!(h.outcome, Outcome::Probe);
    assert!(e.events(&EventFilter::default()).unwrap().is_empty());
}

#[test]
fn an_imported_probe_is_not_stored_either() {
    let e = engine();
    let h = e.ingest_trusted(&probe_body("n4", T0), T0).unwrap();
    assert_eq!(h.outcome, Outcome::Probe);
    assert!(e.events(&EventFilter::default()).unwrap().is_empty());
}
