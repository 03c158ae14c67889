//! The operator reads every face shares: a customer's timeline (found by id, email or user
//! id, with the access decision and its reason), one event's detail (row, the jobs it caused,
//! the raw body), and importing an export through the engine.

mod common;

use common::*;
use tollbooth::Outcome;

fn seed(e: &tollbooth::Engine) {
    let t = T0;
    for (i, (id, kind, obj)) in [
        (
            "evt_c1",
            "checkout.session.completed",
            checkout("cs_1", "cus_1", "user_1", "sub_1", "complete", "paid"),
        ),
        (
            "evt_c2",
            "customer.created",
            customer("cus_1", "ada@example.com"),
        ),
        (
            "evt_c3",
            "customer.subscription.updated",
            subscription("sub_1", "cus_1", "past_due", t + 86_400, Shape::Basil),
        ),
        (
            "evt_c4",
            "invoice.payment_failed",
            invoice("in_1", "cus_1", "sub_1", "open", 1, t, Shape::Basil),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        deliver(e, &event(id, kind, t + i as i64, obj), t + i as i64).unwrap();
    }
}

#[test]
fn the_timeline_is_found_by_id_email_or_user_and_explains_access() {
    let e = engine();
    seed(&e);
    for q in ["cus_1", "ada@example.com", "user_1"] {
        let tl = e.customer_timeline(q, T0 + 10).unwrap().unwrap();
        assert_eq!(tl.customer.id, "cus_1", "{q}");
        assert_eq!(tl.customer.user_id.as_deref(), Some("user_1"));
        assert!(!tl.access.has_access);
        assert_eq!(tl.access.state.as_str(), "past_due");
        assert!(
            tl.access.reason.contains("update your card"),
            "{}",
            tl.access.reason
        );
        let ids: Vec<_> = tl.events.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            ["evt_c1", "evt_c2", "evt_c3", "evt_c4"],
            "oldest first"
        );
        assert_eq!(tl.subscriptions.len(), 1);
        assert_eq!(tl.invoices[0].id, "in_1");
        assert!(tl.jobs.iter().any(|h| h.job.kind == "support.open_ticket"));
    }
    assert!(
        e.customer_timeline("nobody@example.com", T0)
            .unwrap()
            .is_none()
    );
}

#[test]
fn an_event_detail_names_its_outcome_jobs_and_raw_body() {
    let e = engine();
    seed(&e);
    let d = e.event_detail("evt_c4").unwrap().unwrap();
    assert_eq!(d.event.event_type, "invoice.payment_failed");
    assert_eq!(d.event.outcome, "processed");
    assert_eq!(d.event.customer_id.as_deref(), Some("cus_1"));
    let kinds: Vec<_> = d.jobs.iter().map(|j| j.kind.as_str()).collect();
    assert_eq!(kinds, ["support.open_ticket"]);
    assert!(
        d.jobs
            .iter()
            .all(|j| j.event_id.as_deref() == Some("evt_c4"))
    );
    assert_eq!(
        d.body.as_bytes(),
        e.event_body("evt_c4").unwrap().unwrap().as_slice()
    );
    assert!(e.event_detail("evt_missing").unwrap().is_none());
    // Reprocessing an applied event is a no-op the detail still shows the same way.
    assert_eq!(
        e.reprocess("evt_c4", T0 + 20).unwrap().outcome,
        Outcome::Duplicate
    );
    assert_eq!(e.event_detail("evt_c4").unwrap().unwrap().jobs.len(), 1);
}

/// One JSON line.
fn compact(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .unwrap()
        .to_string()
}

#[test]
fn an_export_imports_once() {
    let e = engine();
    let lines = [
        compact(&event(
            "evt_i2",
            "customer.updated",
            T0 + 5,
            customer("cus_i", "b@example.com"),
        )),
        compact(&event(
            "evt_i1",
            "customer.created",
            T0,
            customer("cus_i", "a@example.com"),
        )),
        "not json".to_owned(),
    ]
    .join("\n");
    let r = e.import_export(&lines, T0 + 10, |_, _| {}).unwrap();
    assert_eq!(r.by_outcome.get("processed"), Some(&2), "{r:?}");
    assert_eq!(r.by_outcome.get("rejected"), Some(&1));
    assert_eq!(r.errors[0].at, 3);
    assert_eq!(
        e.find_customer("cus_i").unwrap().unwrap().email.as_deref(),
        Some("b@example.com"),
        "oldest first"
    );
    let again = e.import_export(&lines, T0 + 20, |_, _| {}).unwrap();
    assert_eq!(again.by_outcome.get("duplicate"), Some(&2));
}
