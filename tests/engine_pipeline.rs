//! The pipeline end to end through the public API: outcomes, ordering rules, access, invoices,
//! checkout status, the outbox, rejections and the delivery log.

mod common;

use common::*;
use serde_json::json;
use tollbooth::JobFilter;
use tollbooth::verify::sign_for_test;
use tollbooth::{AccessState, CheckoutState, Config, Engine, ErrorCode, Outcome};

fn jobs_of(engine: &Engine, kind: &str) -> Vec<tollbooth::Job> {
    engine
        .jobs(&JobFilter {
            kind: Some(kind.into()),
            ..JobFilter::default()
        })
        .unwrap()
}

#[test]
fn full_history_in_both_shapes_gives_the_same_portal_state() {
    for b in backends() {
        full_history_in_both_shapes_gives_the_same_portal_state_on(&b);
    }
}

fn full_history_in_both_shapes_gives_the_same_portal_state_on(b: &Backend) {
    for shape in [Shape::Legacy, Shape::Basil] {
        let e = b.engine();
        for (_, created, body) in history(2, shape) {
            let h = deliver(&e, &body, created).unwrap();
            assert_eq!(h.outcome, Outcome::Processed, "{shape:?} {}", h.event_type);
        }
        let a = e.access("cus_2", T0 + 40_000_000).unwrap();
        assert_eq!(a.state, AccessState::Canceled, "{shape:?}");
        assert!(!a.has_access);
        assert_eq!(a.user_id.as_deref(), Some("user_2"));
        assert!(a.reason.starts_with("canceled on"), "{}", a.reason);
        let by_user = e.access_for_user("user_2", T0).unwrap();
        assert_eq!(by_user.customer_id.as_deref(), Some("cus_2"));
        let inv = e.invoices("cus_2").unwrap();
        assert_eq!(inv.len(), 2);
        assert_eq!(inv[0].id, "in_2_2", "newest first");
        assert_eq!(inv[0].status.as_deref(), Some("paid"));
        assert_eq!(inv[0].attempt_count, 2);
        assert_eq!(
            inv[0].subscription_id.as_deref(),
            Some("sub_2"),
            "{shape:?}"
        );
        assert!(inv[0].invoice_pdf.as_deref().unwrap().ends_with("/pdf"));
        // Side effects: one ticket per failed attempt, one close, one revoke, one CRM job pending.
        assert_eq!(jobs_of(&e, "support.open_ticket").len(), 1);
        assert_eq!(jobs_of(&e, "support.close_ticket").len(), 1);
        assert_eq!(jobs_of(&e, "portal.access_revoked").len(), 1);
        let crm = jobs_of(&e, "crm.sync_customer");
        assert_eq!(crm.len(), 1, "coalesced per customer");
        let payload: serde_json::Value = serde_json::from_str(&crm[0].payload).unwrap();
        assert_eq!(payload["key"], "cus_2");
        assert_eq!(payload["customer"]["email"], "user_2@example.com");
        assert_eq!(
            payload["customer"]["subscriptions"][0]["status"],
            "canceled"
        );
        assert_eq!(
            e.checkout_status("cs_2").unwrap().state,
            CheckoutState::Complete
        );
    }
}

#[test]
fn access_states_follow_the_subscription() {
    for b in backends() {
        access_states_follow_the_subscription_on(&b);
    }
}

fn access_states_follow_the_subscription_on(b: &Backend) {
    let e = b.engine();
    let pe = T0 + 2_592_000;
    let sub = |status: &str| subscription("sub_a", "cus_a", status, pe, Shape::Basil);
    let steps = [
        ("active", true),
        ("past_due", false),
        ("active", true),
        ("unpaid", false),
    ];
    for (i, (status, access)) in steps.iter().enumerate() {
        let body = event(
            &format!("evt_s{i}"),
            "customer.subscription.updated",
            T0 + i as i64 * 100,
            sub(status),
        );
        deliver(&e, &body, T0 + i as i64 * 100).unwrap();
        let a = e.access("cus_a", T0 + 1_000).unwrap();
        assert_eq!(a.has_access, *access, "{status}");
        assert_eq!(a.current_period_end, Some(pe));
    }
    assert_eq!(
        e.access("cus_unknown", T0).unwrap().state,
        AccessState::None
    );
}

#[test]
fn past_due_grace_period_is_configurable() {
    for b in backends() {
        past_due_grace_period_is_configurable_on(&b);
    }
}

fn past_due_grace_period_is_configurable_on(b: &Backend) {
    let mut cfg = b.config();
    cfg.past_due_grace_secs = 3 * 86_400;
    let e = Engine::open(cfg).unwrap();
    let body = event(
        "evt_pd",
        "customer.subscription.updated",
        T0,
        subscription("sub_g", "cus_g", "past_due", T0 + 9, Shape::Basil),
    );
    deliver(&e, &body, T0).unwrap();
    let during = e.access("cus_g", T0 + 86_400).unwrap();
    assert!(during.has_access);
    assert_eq!(during.access_ends_at, Some(T0 + 3 * 86_400));
    assert!(during.reason.contains("update your card"));
    assert!(!e.access("cus_g", T0 + 3 * 86_400).unwrap().has_access);
}

#[test]
fn cancel_at_period_end_keeps_access_until_the_period_ends() {
    for b in backends() {
        cancel_at_period_end_keeps_access_until_the_period_ends_on(&b);
    }
}

fn cancel_at_period_end_keeps_access_until_the_period_ends_on(b: &Backend) {
    let e = b.engine();
    let mut s = subscription("sub_c", "cus_c", "active", T0 + 500_000, Shape::Basil);
    s["cancel_at_period_end"] = json!(true);
    deliver(
        &e,
        &event("evt_c", "customer.subscription.updated", T0, s),
        T0,
    )
    .unwrap();
    let a = e.access("cus_c", T0 + 10).unwrap();
    assert!(a.has_access && a.cancel_at_period_end);
    assert_eq!(a.access_ends_at, Some(T0 + 500_000));
    assert!(
        a.reason.starts_with("canceled, access until "),
        "{}",
        a.reason
    );
}

#[test]
fn duplicates_change_nothing_and_enqueue_nothing() {
    for b in backends() {
        duplicates_change_nothing_and_enqueue_nothing_on(&b);
    }
}

fn duplicates_change_nothing_and_enqueue_nothing_on(b: &Backend) {
    let e = b.engine();
    let body = event(
        "evt_d",
        "invoice.payment_failed",
        T0,
        invoice("in_d", "cus_d", "sub_d", "open", 1, T0, Shape::Legacy),
    );
    let first = deliver(&e, &body, T0).unwrap();
    assert_eq!(first.outcome, Outcome::Processed);
    assert_eq!(first.jobs.len(), 1);
    assert_eq!(first.jobs[0].key, "invoice:in_d:attempt:1");
    for _ in 0..3 {
        let again = deliver(&e, &body, T0).unwrap();
        assert_eq!(again.outcome, Outcome::Duplicate);
        assert!(again.jobs.is_empty());
    }
    assert_eq!(e.jobs(&JobFilter::default()).unwrap().len(), 1);
}

#[test]
fn older_events_are_stale_but_kept() {
    for b in backends() {
        older_events_are_stale_but_kept_on(&b);
    }
}

fn older_events_are_stale_but_kept_on(b: &Backend) {
    let e = b.engine();
    let newer = event(
        "evt_new",
        "customer.subscription.updated",
        T0 + 100,
        subscription("sub_o", "cus_o", "past_due", T0 + 9, Shape::Basil),
    );
    let older = event(
        "evt_old",
        "customer.subscription.updated",
        T0,
        subscription("sub_o", "cus_o", "active", T0 + 9, Shape::Basil),
    );
    assert_eq!(
        deliver(&e, &newer, T0 + 100).unwrap().outcome,
        Outcome::Processed
    );
    assert_eq!(
        deliver(&e, &older, T0 + 100).unwrap().outcome,
        Outcome::Stale
    );
    assert_eq!(
        e.access("cus_o", T0 + 200).unwrap().state,
        AccessState::PastDue
    );
    let ev = e.events(&tollbooth::event::EventFilter::default()).unwrap();
    assert!(
        ev.iter().any(|r| r.id == "evt_old" && r.outcome == "stale"),
        "raw stale event kept"
    );
    assert_eq!(
        e.event_body("evt_old").unwrap().unwrap(),
        older,
        "exact bytes"
    );
}

#[test]
fn a_canceled_subscription_never_comes_back() {
    for b in backends() {
        a_canceled_subscription_never_comes_back_on(&b);
    }
}

fn a_canceled_subscription_never_comes_back_on(b: &Backend) {
    let e = b.engine();
    let dead = event(
        "evt_x1",
        "customer.subscription.deleted",
        T0,
        subscription("sub_x", "cus_x", "canceled", T0, Shape::Basil),
    );
    let zombie = event(
        "evt_x2",
        "customer.subscription.updated",
        T0 + 50,
        subscription("sub_x", "cus_x", "active", T0, Shape::Basil),
    );
    deliver(&e, &dead, T0).unwrap();
    assert_eq!(
        deliver(&e, &zombie, T0 + 50).unwrap().outcome,
        Outcome::Stale
    );
    assert_eq!(
        e.access("cus_x", T0 + 60).unwrap().state,
        AccessState::Canceled
    );
    assert_eq!(jobs_of(&e, "portal.access_revoked").len(), 1);
}

#[test]
fn same_second_conflict_is_deterministic_and_reconciled() {
    for b in backends() {
        same_second_conflict_is_deterministic_and_reconciled_on(&b);
    }
}

fn same_second_conflict_is_deterministic_and_reconciled_on(backend: &Backend) {
    let a = event(
        "evt_tie_a",
        "customer.subscription.updated",
        T0,
        subscription("sub_t", "cus_t", "incomplete", T0 + 9, Shape::Basil),
    );
    let b = event(
        "evt_tie_b",
        "customer.subscription.updated",
        T0,
        subscription("sub_t", "cus_t", "active", T0 + 9, Shape::Basil),
    );
    let mut finals = Vec::new();
    for order in [[&a, &b], [&b, &a]] {
        let e = backend.engine();
        for body in order {
            deliver(&e, body, T0).unwrap();
        }
        finals.push(e.access("cus_t", T0).unwrap().state);
        let rec = jobs_of(&e, "stripe.reconcile");
        assert_eq!(rec.len(), 1, "one reconcile job for the object");
        assert_eq!(rec[0].key, "sub_t");
        // The host refetches and hands back the authoritative snapshot.
        let snap = subscription("sub_t", "cus_t", "past_due", T0 + 9, Shape::Basil);
        let applied = e
            .apply_snapshot(snap.to_string().as_bytes(), T0 + 5)
            .unwrap();
        assert!(applied.changed);
        assert_eq!(
            e.access("cus_t", T0 + 6).unwrap().state,
            AccessState::PastDue
        );
        // An event from before the fetch can no longer overwrite it.
        let late = event(
            "evt_late",
            "customer.subscription.updated",
            T0 + 3,
            subscription("sub_t", "cus_t", "active", T0 + 9, Shape::Basil),
        );
        assert_eq!(deliver(&e, &late, T0 + 3).unwrap().outcome, Outcome::Stale);
    }
    assert_eq!(
        finals,
        vec![AccessState::Active, AccessState::Active],
        "same choice whatever the order"
    );
}

#[test]
fn checkout_status_moves_only_on_webhooks() {
    for b in backends() {
        checkout_status_moves_only_on_webhooks_on(&b);
    }
}

fn checkout_status_moves_only_on_webhooks_on(b: &Backend) {
    let e = b.engine();
    assert_eq!(
        e.checkout_status("cs_1").unwrap().state,
        CheckoutState::Pending
    );
    let pending = checkout("cs_1", "cus_1", "user_1", "sub_1", "complete", "unpaid");
    deliver(
        &e,
        &event("evt_c1", "checkout.session.completed", T0, pending.clone()),
        T0,
    )
    .unwrap();
    let st = e.checkout_status("cs_1").unwrap();
    assert_eq!(st.state, CheckoutState::PaymentPending);
    assert_eq!(st.user_id.as_deref(), Some("user_1"));
    deliver(
        &e,
        &event(
            "evt_c2",
            "checkout.session.async_payment_failed",
            T0 + 60,
            pending,
        ),
        T0 + 60,
    )
    .unwrap();
    assert_eq!(
        e.checkout_status("cs_1").unwrap().state,
        CheckoutState::PaymentFailed
    );
    let expired = checkout("cs_2", "cus_2", "user_2", "sub_2", "expired", "unpaid");
    deliver(
        &e,
        &event("evt_c3", "checkout.session.expired", T0, expired),
        T0,
    )
    .unwrap();
    assert_eq!(
        e.checkout_status("cs_2").unwrap().state,
        CheckoutState::Expired
    );
}

#[test]
fn refunds_and_disputes_open_one_ticket_each() {
    for b in backends() {
        refunds_and_disputes_open_one_ticket_each_on(&b);
    }
}

fn refunds_and_disputes_open_one_ticket_each_on(b: &Backend) {
    let e = b.engine();
    let charge = json!({"id": "ch_1", "object": "charge", "customer": "cus_r", "amount": 2900,
        "amount_refunded": 2900, "currency": "usd", "refunded": true, "invoice": "in_r", "payment_intent": "pi_1"});
    let dispute = json!({"id": "dp_1", "object": "dispute", "charge": "ch_1", "payment_intent": "pi_1",
        "amount": 2900, "currency": "usd", "reason": "fraudulent", "status": "needs_response"});
    deliver(&e, &event("evt_r", "charge.refunded", T0, charge), T0).unwrap();
    deliver(
        &e,
        &event("evt_dp", "charge.dispute.created", T0, dispute),
        T0,
    )
    .unwrap();
    let keys: Vec<String> = jobs_of(&e, "support.open_ticket")
        .into_iter()
        .map(|j| j.key)
        .collect();
    // The charge of 2025 API versions embeds no refunds: keyed by its refunded total.
    assert_eq!(keys, vec!["dispute:dp_1", "refund:ch_1:total:2900"]);
    // The dispute's customer comes from the charge; amount and currency on every ticket.
    for j in jobs_of(&e, "support.open_ticket") {
        assert_eq!(j.customer_id.as_deref(), Some("cus_r"), "{}", j.key);
        let p: serde_json::Value = serde_json::from_str(&j.payload).unwrap();
        assert_eq!(
            (p["amount"].as_i64(), p["currency"].as_str()),
            (Some(2900), Some("usd"))
        );
        assert_eq!(p["customer_id"], "cus_r");
    }
}

#[test]
fn unknown_types_are_stored_and_ignored() {
    for b in backends() {
        unknown_types_are_stored_and_ignored_on(&b);
    }
}

fn unknown_types_are_stored_and_ignored_on(b: &Backend) {
    let e = b.engine();
    let body = event(
        "evt_u",
        "terminal.reader.action_succeeded",
        T0,
        json!({"id": "rdr_1", "object": "terminal.reader"}),
    );
    let h = deliver(&e, &body, T0).unwrap();
    assert_eq!(h.outcome, Outcome::Ignored);
    assert!(h.jobs.is_empty());
    assert_eq!(deliver(&e, &body, T0).unwrap().outcome, Outcome::Duplicate);
}

#[test]
fn rejections_have_stable_codes_and_are_logged_without_body_or_secret() {
    for b in backends() {
        rejections_have_stable_codes_and_are_logged_without_body_or_secret_on(&b);
    }
}

fn rejections_have_stable_codes_and_are_logged_without_body_or_secret_on(b: &Backend) {
    let e = b.engine();
    let body = event(
        "evt_bad",
        "customer.created",
        T0,
        customer("cus_b", "b@example.com"),
    );
    let good = sign_for_test(&body, SECRET, T0);
    let wrong = sign_for_test(&body, "whsec_other", T0);
    let cases: Vec<(Vec<u8>, String, i64, ErrorCode)> = vec![
        (body.clone(), wrong, T0, ErrorCode::SignatureMismatch),
        (
            body.clone(),
            String::new(),
            T0,
            ErrorCode::SignatureHeaderMissing,
        ),
        (
            body.clone(),
            "t=abc,v1=00".into(),
            T0,
            ErrorCode::SignatureHeaderInvalid,
        ),
        (
            body.clone(),
            good.clone(),
            T0 + 301,
            ErrorCode::TimestampOutOfTolerance,
        ),
        (
            body.clone(),
            good.clone(),
            T0 - 301,
            ErrorCode::TimestampOutOfTolerance,
        ),
        (
            vec![b' '; 2 << 20],
            "t=1,v1=00".into(),
            T0,
            ErrorCode::PayloadTooLarge,
        ),
    ];
    for (b, h, now, code) in &cases {
        let err = e.handle_webhook_at(b, h, *now).unwrap_err();
        assert_eq!(err.code(), *code, "{err}");
        assert!(code.is_client_error());
        assert!(!err.to_string().contains(SECRET));
        assert!(!format!("{err:?}").contains(SECRET));
    }
    let log = e.recent_deliveries(100).unwrap();
    assert_eq!(log.len(), cases.len());
    assert!(
        log.iter()
            .all(|d| d.outcome == tollbooth::deliveries::DeliveryOutcome::Rejected)
    );
    assert!(
        log.iter().all(|d| d.event_id.is_none()),
        "nothing from an unverified body is kept"
    );
    assert_eq!(log[0].reason, Some("PAYLOAD_TOO_LARGE"));
    assert_eq!(log[0].body_bytes, 2 << 20);
    assert!(format!("{e:?}").contains("redacted") && !format!("{e:?}").contains(SECRET));
    // The rejected event was not stored, so a genuine delivery later is processed.
    assert_eq!(
        e.handle_webhook_at(&body, &good, T0).unwrap().outcome,
        Outcome::Processed
    );
}

#[test]
fn livemode_guard_quarantines_test_events_in_live_deployments() {
    for b in backends() {
        livemode_guard_quarantines_test_events_in_live_deployments_on(&b);
    }
}

fn livemode_guard_quarantines_test_events_in_live_deployments_on(b: &Backend) {
    let mut cfg = b.config();
    cfg.livemode = Some(true);
    let e = Engine::open(cfg).unwrap();
    let body = event(
        "evt_lm",
        "customer.created",
        T0,
        customer("cus_l", "l@example.com"),
    );
    // Authentic, so kept and acknowledged (a 4xx would be retried for days, then lost), but
    // nothing of it is applied.
    let h = deliver(&e, &body, T0).unwrap();
    assert_eq!(h.outcome, Outcome::Quarantined);
    assert_eq!(h.reason, Some(ErrorCode::LivemodeMismatch));
    assert!(e.find_customer("cus_l").unwrap().is_none());
    let health = e.health(T0).unwrap();
    assert!(health.alerts.iter().any(|a| a.name == "quarantined_events"));
    // Reprocessing under the same configuration still refuses it.
    assert_eq!(
        e.reprocess("evt_lm", T0).unwrap_err().code(),
        ErrorCode::LivemodeMismatch
    );
}

#[test]
fn an_authentic_event_that_does_not_normalize_is_quarantined_then_reprocessed() {
    for b in backends() {
        an_authentic_event_that_does_not_normalize_is_quarantined_then_reprocessed_on(&b);
    }
}

fn an_authentic_event_that_does_not_normalize_is_quarantined_then_reprocessed_on(b: &Backend) {
    let e = b.engine();
    // A shape this version cannot read: `data.object` of an invoice with a mistyped amount.
    let bad = br#"{"id":"evt_q","object":"event","type":"invoice.paid","created":1767000000,"livemode":false,"data":{"object":{"id":"in_q","object":"invoice","customer":"cus_q","amount_due":"lots","currency":"usd","created":1}}}"#;
    let h = deliver(&e, bad, T0).unwrap();
    assert_eq!(
        (h.outcome, h.event_id.as_str(), h.event_type.as_str()),
        (Outcome::Quarantined, "evt_q", "invoice.paid")
    );
    assert_eq!(h.reason, Some(ErrorCode::EventFieldMissing));
    assert_eq!(deliver(&e, bad, T0).unwrap().outcome, Outcome::Duplicate);
    let rows = e
        .events(&tollbooth::event::EventFilter {
            outcome: Some("quarantined".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].error_code.as_deref(), Some("EVENT_FIELD_MISSING"));
    assert_eq!(e.event_body("evt_q").unwrap().as_deref(), Some(&bad[..]));
    let m = e.metrics(T0).unwrap();
    assert_eq!(m.quarantined_events, 1);
    assert_eq!(
        m.failure_rate, 0.0,
        "an acknowledged event is not a failed delivery"
    );
    assert!(
        e.prometheus(T0)
            .unwrap()
            .contains("tollbooth_quarantined_events 1")
    );
    // Still unreadable: the bulk reprocess leaves it where it is.
    let r = e.reprocess_quarantined(T0).unwrap();
    assert_eq!((r.applied, r.still_quarantined), (0, 1));
    assert!(e.invoices("cus_q").unwrap().is_empty());
}

#[test]
fn a_quarantined_event_that_becomes_readable_is_applied_by_reprocess() {
    for b in backends() {
        a_quarantined_event_that_becomes_readable_is_applied_by_reprocess_on(&b);
    }
}

fn a_quarantined_event_that_becomes_readable_is_applied_by_reprocess_on(b: &Backend) {
    // Quarantined under a live-only configuration, then read by a test-mode one (the
    // operator fixed the setting): the same store, reprocessed, applies it once.
    let path = b.fresh_db();
    let body = event(
        "evt_fix",
        "customer.created",
        T0,
        customer("cus_fix", "fix@example.com"),
    );
    {
        let mut cfg = Config::new(path.as_str(), &[SECRET]).unwrap();
        cfg.livemode = Some(true);
        let e = Engine::open(cfg).unwrap();
        assert_eq!(
            deliver(&e, &body, T0).unwrap().outcome,
            Outcome::Quarantined
        );
        e.close().unwrap();
    }
    let e = Engine::open(Config::new(path.as_str(), &[SECRET]).unwrap()).unwrap();
    let r = e.reprocess_quarantined(T0 + 1).unwrap();
    assert_eq!((r.applied, r.still_quarantined), (1, 0));
    assert_eq!(
        e.find_customer("cus_fix")
            .unwrap()
            .unwrap()
            .email
            .as_deref(),
        Some("fix@example.com")
    );
    let row = &e.events(&Default::default()).unwrap()[0];
    assert_eq!(
        (row.outcome.as_str(), row.error_code.as_deref()),
        ("processed", None)
    );
    assert_eq!(e.metrics(T0 + 1).unwrap().quarantined_events, 0);
    // A second pass finds nothing to do.
    assert_eq!(e.reprocess_quarantined(T0 + 2).unwrap(), Default::default());
}

#[test]
fn secret_rotation_accepts_either_secret() {
    let e = Engine::open(Config::new(":memory:", &["whsec_old", "whsec_new"]).unwrap()).unwrap();
    let body = event(
        "evt_rot",
        "customer.created",
        T0,
        customer("cus_rot", "r@example.com"),
    );
    let header = format!(
        "{},v1={}",
        sign_for_test(&body, "whsec_new", T0),
        "0".repeat(64)
    );
    let h = e.handle_webhook_at(&body, &header, T0).unwrap();
    assert_eq!((h.outcome, h.secret_index), (Outcome::Processed, Some(1)));
    // The old secret still verifies; which one did is in the answer, the log and the metrics,
    // so the operator sees when the old one stops being used.
    let body2 = event(
        "evt_rot2",
        "customer.created",
        T0,
        customer("cus_rot2", "r2@example.com"),
    );
    let h2 = e
        .handle_webhook_at(&body2, &sign_for_test(&body2, "whsec_old", T0), T0)
        .unwrap();
    assert_eq!(h2.secret_index, Some(0));
    let log = e.recent_deliveries(10).unwrap();
    assert_eq!(
        log.iter().map(|d| d.secret_index).collect::<Vec<_>>(),
        [Some(0), Some(1)]
    );
    let prom = e.prometheus(T0).unwrap();
    assert!(prom.contains("tollbooth_verified_deliveries_total{secret_index=\"0\"} 1"));
    assert!(prom.contains("tollbooth_verified_deliveries_total{secret_index=\"1\"} 1"));
    // Trusted input names no secret.
    let body3 = event(
        "evt_rot3",
        "customer.created",
        T0,
        customer("cus_rot3", "r3@example.com"),
    );
    assert_eq!(e.ingest_trusted(&body3, T0).unwrap().secret_index, None);
}

#[test]
fn secrets_are_trimmed_and_a_pasted_fragment_is_refused() {
    let e = Engine::open(Config::new(":memory:", &["  whsec_pad \n"]).unwrap()).unwrap();
    let body = event(
        "evt_trim",
        "customer.created",
        T0,
        customer("cus_trim", "t@example.com"),
    );
    let h = e
        .handle_webhook_at(&body, &sign_for_test(&body, "whsec_pad", T0), T0)
        .unwrap();
    assert_eq!(h.outcome, Outcome::Processed);
    for bad in [" ", "\t\n", "whsec_a b", "whsec_a\u{7}b"] {
        let err = Config::new(":memory:", &[bad]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::SecretInvalid, "{bad:?}");
        assert!(
            !err.to_string().contains("whsec_a"),
            "the message never echoes it"
        );
    }
}

#[test]
fn a_job_error_is_redacted_of_every_configured_secret_in_bounded_work() {
    let secret = "plainsecret0123456789";
    let e = Engine::open(Config::new(":memory:", &[secret]).unwrap()).unwrap();
    let body = event(
        "evt_red",
        "customer.created",
        T0,
        customer("cus_red", "red@example.com"),
    );
    e.handle_webhook_at(&body, &sign_for_test(&body, secret, T0), T0)
        .unwrap();
    let job = &e.claim(&[], 1, 60, T0).unwrap()[0];
    // An 800 kB message that repeats the secret (no whsec_ prefix) and a Stripe key.
    let msg = format!("auth {secret}; key sk_live_abc; ").repeat(25_000);
    e.fail(job.id, job.lease_token, &msg, T0).unwrap();
    let stored = e.job(job.id).unwrap().last_error.unwrap();
    assert!(!stored.contains(secret) && !stored.contains("sk_live_abc"));
    assert!(stored.contains("[redacted]"));
    assert!(stored.chars().count() <= tollbooth::outbox::MAX_ERROR_CHARS + 1);
}

#[test]
fn config_is_validated() {
    let mut cfg = Config::new(":memory:", &[SECRET]).unwrap();
    cfg.verify.tolerance_secs = 0;
    assert_eq!(
        Engine::open(cfg).unwrap_err().code(),
        ErrorCode::ConfigInvalid
    );
    assert_eq!(
        Config::new(":memory:", &[""]).unwrap_err().code(),
        ErrorCode::SecretInvalid
    );
    assert_eq!(
        Engine::open(Config::new(":memory:", &[]).unwrap())
            .unwrap_err()
            .code(),
        ErrorCode::ConfigInvalid
    );
}

#[test]
fn closed_engine_refuses_calls() {
    for b in backends() {
        closed_engine_refuses_calls_on(&b);
    }
}

fn closed_engine_refuses_calls_on(b: &Backend) {
    let e = b.engine();
    e.close().unwrap();
    assert_eq!(e.access("cus", T0).unwrap_err().code(), ErrorCode::Closed);
}

#[test]
fn store_refuses_a_newer_schema_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let path = path.to_str().unwrap();
    {
        let e = engine_at(path);
        deliver(
            &e,
            &event(
                "evt_p",
                "customer.created",
                T0,
                customer("cus_p", "p@example.com"),
            ),
            T0,
        )
        .unwrap();
    }
    let e = engine_at(path);
    assert_eq!(
        e.find_customer("p@example.com").unwrap().unwrap().id,
        "cus_p"
    );
    drop(e);
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Engine::open(Config::new(path, &[SECRET]).unwrap()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::StoreSchemaTooNew);
}

#[test]
fn duplicate_deliveries_are_logged_by_group_commit() {
    for b in backends() {
        duplicate_deliveries_are_logged_by_group_commit_on(&b);
    }
}

fn duplicate_deliveries_are_logged_by_group_commit_on(b: &Backend) {
    let e = b.engine();
    let body = event(
        "evt_g",
        "customer.created",
        T0,
        customer("cus_g", "g@example.com"),
    );
    deliver(&e, &body, T0).unwrap();
    deliver(&e, &body, T0).unwrap();
    deliver(&e, &body, T0).unwrap();
    let m = e.metrics(T0 + 2).unwrap();
    assert_eq!(
        m.window
            .count(tollbooth::deliveries::DeliveryOutcome::Duplicate),
        2
    );
    assert_eq!(
        m.window
            .count(tollbooth::deliveries::DeliveryOutcome::Processed),
        1
    );
}
