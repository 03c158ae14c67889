//! Hostile and unusual deliveries through the public API: replays, re-signed copies of a
//! stored object, oversized bodies, hostile JSON, SQL metacharacters, header floods and
//! timestamps at the i64 limits. Plus the regressions the fuzzers found (at the bottom).

mod common;

use common::*;
use serde_json::json;
use tollbooth::deliveries::DeliveryOutcome;
use tollbooth::event::EventFilter;
use tollbooth::verify::{MAX_HEADER_BYTES, MAX_V1_SIGNATURES, sign_for_test};
use tollbooth::{Engine, ErrorCode, Outcome};

fn code<T: std::fmt::Debug>(r: tollbooth::Result<T>) -> ErrorCode {
    r.expect_err("the delivery was accepted").code()
}

/// An authentic delivery that does not normalize is kept, not refused: the code that stopped it.
fn quarantined(r: tollbooth::Result<tollbooth::Handled>) -> ErrorCode {
    let h = r.expect("an authentic delivery is acknowledged");
    assert!(
        matches!(h.outcome, Outcome::Quarantined | Outcome::Duplicate),
        "{h:?}"
    );
    assert!(h.jobs.is_empty());
    h.reason.unwrap_or(ErrorCode::Ok)
}

/// Stored events, all of them quarantined.
fn quarantined_events(e: &Engine) -> usize {
    let q = e
        .events(&EventFilter {
            outcome: Some("quarantined".into()),
            limit: Some(10_000),
            ..EventFilter::default()
        })
        .unwrap();
    assert!(q.iter().all(|r| r.error_code.is_some()));
    assert_eq!(q.len(), stored_events(e), "nothing else was stored");
    q.len()
}

fn stored_events(e: &Engine) -> usize {
    e.events(&EventFilter {
        limit: Some(10_000),
        ..EventFilter::default()
    })
    .unwrap()
    .len()
}

fn job_count(e: &Engine) -> usize {
    e.jobs(&Default::default()).unwrap().len()
}

/// A signed delivery of `body` at `now`, signed `age` seconds earlier.
fn deliver_aged(
    e: &Engine,
    body: &[u8],
    now: i64,
    age: i64,
) -> tollbooth::Result<tollbooth::Handled> {
    e.handle_webhook_at(body, &sign_for_test(body, SECRET, now - age), now)
}

fn sub_event(id: &str, created: i64, status: &str) -> Vec<u8> {
    event(
        id,
        "customer.subscription.updated",
        created,
        subscription("sub_1", "cus_1", status, created + 2_592_000, Shape::Basil),
    )
}

#[test]
fn replayed_old_delivery_is_refused_and_a_replay_within_tolerance_is_a_duplicate() {
    let e = engine();
    let body = sub_event("evt_replay", T0, "active");
    // Captured and replayed an hour later: the signature is genuine but too old.
    assert_eq!(
        code(deliver_aged(&e, &body, T0 + 3_600, 3_600)),
        ErrorCode::TimestampOutOfTolerance
    );
    // Signed in the "future" (clock skew or a forged t=): refused the same way.
    assert_eq!(
        code(deliver_aged(&e, &body, T0, -301)),
        ErrorCode::TimestampOutOfTolerance
    );
    assert_eq!(stored_events(&e), 0);
    // The original delivery, then an attacker (or Stripe) replays it inside the window.
    let first = deliver_aged(&e, &body, T0 + 10, 10).unwrap();
    assert_eq!((first.outcome, first.jobs.len()), (Outcome::Processed, 1));
    let (digest, jobs) = (state_digest(&e, 1), job_count(&e));
    for age in [11, 100, 300] {
        let again = deliver_aged(&e, &body, T0 + 10 + age - 10, age).unwrap();
        assert_eq!(again.outcome, Outcome::Duplicate);
        assert!(again.jobs.is_empty());
    }
    assert_eq!(
        (state_digest(&e, 1), job_count(&e), stored_events(&e)),
        (digest, jobs, 1)
    );
    // The rejections are in the delivery log with their reason.
    let counts = e.delivery_counts(0).unwrap();
    assert_eq!(counts.count(DeliveryOutcome::Rejected), 2);
    assert_eq!(
        counts.by_reason,
        vec![("TIMESTAMP_OUT_OF_TOLERANCE".into(), 2)]
    );
}

#[test]
fn a_new_event_id_over_a_stored_object_follows_the_watermark_rules() {
    let e = engine();
    assert_eq!(
        deliver(&e, &sub_event("evt_a", T0, "active"), T0)
            .unwrap()
            .outcome,
        Outcome::Processed
    );
    let digest = state_digest(&e, 1);
    // The same object under another id and the same `created`: a new event, stored, but it
    // changes nothing and raises no job (not even a same-second reconcile: nothing disagrees).
    let same = deliver(&e, &sub_event("evt_b", T0, "active"), T0).unwrap();
    assert_eq!(same.outcome, Outcome::Processed);
    assert!(same.jobs.is_empty(), "{:?}", same.jobs);
    // An older `created` that says canceled: stored as stale, the row is not overwritten.
    let old = deliver(&e, &sub_event("evt_c", T0 - 50, "canceled"), T0).unwrap();
    assert_eq!(old.outcome, Outcome::Stale);
    assert!(old.jobs.is_empty());
    assert_eq!(state_digest(&e, 1), digest);
    assert!(e.access("cus_1", T0).unwrap().has_access);
    // A newer one moves the state; every event id is stored exactly once.
    let newer = deliver(&e, &sub_event("evt_d", T0 + 50, "past_due"), T0 + 50).unwrap();
    assert_eq!(newer.outcome, Outcome::Processed);
    assert_ne!(state_digest(&e, 1), digest);
    assert_eq!(stored_events(&e), 4);
}

#[test]
fn an_oversized_body_is_refused_before_hashing_and_never_stored() {
    let e = engine();
    let limit = e.config().verify.max_body_bytes;
    let mut body = sub_event("evt_huge", T0, "active");
    // Pad inside the JSON so the body would otherwise be a valid event.
    let pad = format!(",\"pad\":\"{}\"}}", "x".repeat(limit + 1 - body.len()));
    body.truncate(body.len() - 1);
    body.extend_from_slice(pad.as_bytes());
    assert!(body.len() > limit);
    // The signature is genuine: only the size check (which runs first) can refuse it.
    assert_eq!(code(deliver(&e, &body, T0)), ErrorCode::PayloadTooLarge);
    assert_eq!(
        code(e.handle_webhook_at(&body, "", T0)),
        ErrorCode::PayloadTooLarge
    );
    assert_eq!(stored_events(&e), 0);
    // Counted twice, logged once: one sample row per minute and code, never a row per request.
    let counts = e.delivery_counts(0).unwrap();
    assert_eq!(counts.by_reason, vec![("PAYLOAD_TOO_LARGE".into(), 2)]);
    let log = e.recent_deliveries(10).unwrap();
    assert_eq!(log.len(), 1);
    for d in &log {
        assert_eq!(d.outcome, DeliveryOutcome::Rejected);
        assert_eq!(d.reason, Some("PAYLOAD_TOO_LARGE"));
        assert_eq!(d.body_bytes as usize, body.len(), "the log keeps the size");
        assert_eq!(d.event_id, None, "nothing of the body was parsed");
    }
    // A body of exactly the limit passes the size check (cut mid-JSON, it is quarantined).
    body.truncate(limit);
    assert_eq!(
        quarantined(deliver(&e, &body, T0)),
        ErrorCode::PayloadInvalidJson
    );
}

#[test]
fn deeply_nested_json_is_quarantined_without_overflowing_the_stack() {
    let e = engine();
    for depth in [200, 10_000, 100_000] {
        for open in ["[", "{\"a\":"] {
            let nest = open.repeat(depth);
            // In a field tollbooth reads, in one it ignores, and as the whole body.
            let bodies = [
                format!(
                    r#"{{"id":"evt_deep","object":"event","type":"customer.created","created":1,"livemode":false,"data":{{"object":{nest}}}}}"#
                ),
                format!(
                    r#"{{"id":"evt_deep","object":"event","type":"customer.created","created":1,"livemode":false,"data":{{"object":{{"id":"cus_1","object":"customer","metadata":{nest}}}}}}}"#
                ),
                nest.clone(),
            ];
            for body in bodies {
                quarantined(deliver(&e, body.as_bytes(), T0));
                assert!(tollbooth::event::parse_object(body.as_bytes()).is_err());
                assert!(
                    e.apply_snapshot(nest.as_bytes(), T0)
                        .unwrap_err()
                        .code()
                        .is_client_error()
                );
            }
        }
    }
    // Nested past the JSON depth limit, not even the envelope's id can be read: each body is
    // kept under the id its bytes give (a redelivery of the same bytes still dedupes).
    assert_eq!(quarantined_events(&e), 18);
}

#[test]
fn duplicate_json_keys_that_matter_are_quarantined_and_others_ignored() {
    let e = engine();
    let envelope = br#"{"id":"evt_1","object":"event","type":"customer.created","created":1767000000,"livemode":false,"id":"evt_2","data":{"object":{"id":"cus_1","object":"customer"}}}"#;
    assert_eq!(
        quarantined(deliver(&e, envelope, T0)),
        ErrorCode::PayloadInvalidJson
    );
    // Two statuses: which one wins would depend on the parser, so neither does.
    let status = br#"{"id":"evt_3","object":"event","type":"customer.subscription.created","created":1767000000,"livemode":false,"data":{"object":{"id":"sub_1","object":"subscription","customer":"cus_1","status":"active","status":"canceled","cancel_at_period_end":false,"items":{"data":[]}}}}"#;
    assert_eq!(
        quarantined(deliver(&e, status, T0)),
        ErrorCode::PayloadInvalidJson
    );
    assert_eq!(quarantined_events(&e), 2);
    assert!(e.subscriptions("cus_1").unwrap().is_empty());
    // A repeated key tollbooth never reads does not matter.
    let ignored = br#"{"id":"evt_4","object":"event","type":"customer.created","created":1767000000,"livemode":false,"data":{"object":{"id":"cus_1","object":"customer","foo":1,"foo":2}}}"#;
    assert_eq!(
        deliver(&e, ignored, T0).unwrap().outcome,
        Outcome::Processed
    );
}

#[test]
fn invalid_utf8_nul_bytes_and_out_of_range_numbers_are_quarantined_with_their_code() {
    let e = engine();
    let cases: [(&[u8], ErrorCode); 7] = [
        (b"{\"id\":\"evt_\xff\xfe\",\"object\":\"event\"}", ErrorCode::PayloadInvalidJson),
        (b"\xef\xbb\xbf\xff{}", ErrorCode::PayloadInvalidJson),
        (b"{\"id\":\"evt_\0x\",\"object\":\"event\"}", ErrorCode::PayloadInvalidJson),
        (b"\0\0\0\0", ErrorCode::PayloadInvalidJson),
        (br#"{"id":"evt_5","object":"event","type":"customer.created","created":1e400,"livemode":false,"data":{"object":{"id":"cus_1","object":"customer"}}}"#, ErrorCode::PayloadInvalidJson),
        (br#"{"id":"evt_6","object":"event","type":"customer.created","created":99999999999999999999,"livemode":false,"data":{"object":{"id":"cus_1","object":"customer"}}}"#, ErrorCode::PayloadInvalidJson),
        (br#"{"id":"evt_8","object":"event","type":"invoice.paid","created":1767000000,"livemode":false,"data":{"object":{"id":"in_1","object":"invoice","customer":"cus_1","amount_due":1e30,"currency":"usd","created":1}}}"#, ErrorCode::EventFieldMissing),
    ];
    for (body, want) in cases {
        assert_eq!(
            quarantined(deliver(&e, body, T0)),
            want,
            "{}",
            String::from_utf8_lossy(body)
        );
        // Stripe's redelivery of the same bytes is a duplicate, not a second quarantine.
        assert_eq!(deliver(&e, body, T0).unwrap().outcome, Outcome::Duplicate);
    }
    assert_eq!(quarantined_events(&e), 7);
    // A NUL written as a JSON escape is a legal string: stored and looked up verbatim.
    let nul = br#"{"id":"evt_\u0000nul","object":"event","type":"customer.created","created":1767000000,"livemode":false,"data":{"object":{"id":"cus_\u0000","object":"customer","email":"a@b.c"}}}"#;
    let h = deliver(&e, nul, T0).unwrap();
    assert_eq!(
        (h.outcome, h.event_id.as_str()),
        (Outcome::Processed, "evt_\0nul")
    );
    assert_eq!(
        e.event_body("evt_\0nul").unwrap().as_deref(),
        Some(&nul[..])
    );
    assert!(e.event_body("evt_").unwrap().is_none());
    assert_eq!(
        e.find_customer("cus_\0").unwrap().unwrap().email.as_deref(),
        Some("a@b.c")
    );
    assert_eq!(deliver(&e, nul, T0).unwrap().outcome, Outcome::Duplicate);
}

#[test]
fn ids_with_sql_metacharacters_are_stored_and_looked_up_verbatim() {
    let e = engine();
    let evil_evt = "evt_'; DROP TABLE events;--";
    let evil_cus = "cus_\" OR 1=1; --";
    let evil_sub = "sub_'); DELETE FROM subscriptions; --";
    let body = event(
        evil_evt,
        "customer.subscription.created",
        T0,
        subscription(evil_sub, evil_cus, "active", T0 + 2_592_000, Shape::Legacy),
    );
    let h = deliver(&e, &body, T0).unwrap();
    assert_eq!(
        (h.outcome, h.event_id.as_str()),
        (Outcome::Processed, evil_evt)
    );
    assert_eq!(h.customer_id.as_deref(), Some(evil_cus));
    assert_eq!(e.event_body(evil_evt).unwrap(), Some(body.clone()));
    let listed = e
        .events(&EventFilter {
            customer_id: Some(evil_cus.into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, evil_evt);
    assert_eq!(listed[0].object_id.as_deref(), Some(evil_sub));
    assert!(e.access(evil_cus, T0).unwrap().has_access);
    // No wildcard or injection semantics: near misses find nothing.
    assert!(!e.access("cus_%", T0).unwrap().has_access);
    assert!(e.event_body("evt_%").unwrap().is_none());
    assert_eq!(deliver(&e, &body, T0).unwrap().outcome, Outcome::Duplicate);
    assert_eq!(stored_events(&e), 1, "the events table is intact");
    let job = &e.jobs(&Default::default()).unwrap()[0];
    assert_eq!(job.key, evil_cus);
}

#[test]
fn a_header_with_hundreds_of_v1_entries_is_bounded_and_correct() {
    let e = engine();
    let body = sub_event("evt_flood", T0, "active");
    let good = sign_for_test(&body, SECRET, T0);
    let good_sig = good.split_once(",v1=").unwrap().1.to_owned();
    let wrong = format!(",v1={}", "0".repeat(64));
    // Hundreds of malformed entries before the genuine one: accepted.
    let junk = format!(
        "t={T0}{}{}",
        ",v1=zz".repeat(500),
        format_args!(",v1={good_sig}")
    );
    assert!(junk.len() < MAX_HEADER_BYTES);
    assert_eq!(
        e.handle_webhook_at(&body, &junk, T0).unwrap().outcome,
        Outcome::Processed
    );
    // More well-formed entries than the cap before the genuine one: not compared, refused.
    let late = format!(
        "t={T0}{}{}",
        wrong.repeat(MAX_V1_SIGNATURES),
        format_args!(",v1={good_sig}")
    );
    assert_eq!(
        code(e.handle_webhook_at(&body, &late, T0)),
        ErrorCode::SignatureMismatch
    );
    // Hundreds of well-formed ones: the header is over the size cap and refused unparsed.
    let flood = format!("{good}{}", wrong.repeat(300));
    assert!(flood.len() > MAX_HEADER_BYTES);
    assert_eq!(
        code(e.handle_webhook_at(&body, &flood, T0)),
        ErrorCode::SignatureHeaderInvalid
    );
    // Hundreds of wrong ones only: a mismatch, never a crash.
    let all_wrong = format!("t={T0}{}", wrong.repeat(100));
    assert_eq!(
        code(e.handle_webhook_at(&body, &all_wrong, T0)),
        ErrorCode::SignatureMismatch
    );
}

#[test]
fn timestamps_at_the_i64_limits() {
    let e = engine();
    let body = sub_event("evt_limits", T0, "active");
    for t in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX] {
        let h = sign_for_test(&body, SECRET, t);
        assert_eq!(
            code(e.handle_webhook_at(&body, &h, T0)),
            ErrorCode::TimestampOutOfTolerance,
            "t={t}"
        );
        // Signed and received at the same extreme instant: genuine.
        let ok = e.handle_webhook_at(&body, &h, t).unwrap();
        assert!(matches!(
            ok.outcome,
            Outcome::Processed | Outcome::Duplicate
        ));
    }
    // Past i64: not an integer header.
    let h = format!("t=9223372036854775808,v1={}", "0".repeat(64));
    assert_eq!(
        code(e.handle_webhook_at(&body, &h, T0)),
        ErrorCode::SignatureHeaderInvalid
    );
    // Events created at the limits are stored, ordered and answered without overflow.
    for (id, created) in [("evt_min", i64::MIN), ("evt_max", i64::MAX)] {
        let obj = subscription("sub_lim", "cus_lim", "active", T0, Shape::Legacy);
        let b = event(id, "customer.subscription.updated", created, obj);
        assert_eq!(
            deliver_aged(&e, &b, T0, 0).unwrap().outcome,
            Outcome::Processed,
            "{id}"
        );
    }
    let d = e.recent_deliveries(2).unwrap();
    assert_eq!(d[0].lag_s, Some(T0.saturating_sub(i64::MAX)));
    assert_eq!(d[1].lag_s, Some(i64::MAX), "now - i64::MIN saturates");
    // The newest (i64::MAX) wins; an older one afterwards is stale.
    let old = event(
        "evt_mid",
        "customer.subscription.updated",
        T0,
        subscription("sub_lim", "cus_lim", "canceled", T0, Shape::Legacy),
    );
    assert_eq!(
        deliver_aged(&e, &old, T0, 0).unwrap().outcome,
        Outcome::Stale
    );
}

// ---- Regressions found by the fuzzers (fuzz/). ----

/// fuzz/apply_snapshot, first run: applying the same checkout.session snapshot twice reported
/// a change (and enqueued a CRM sync) every time, because fields the table does not keep
/// (email, amount_total, currency) were compared against the stored row. The same mismatch
/// made two events about one unchanged session in the same second a "conflict".
#[test]
fn fuzz_regression_repeated_checkout_session_is_unchanged() {
    let e = engine();
    let session = json!({"id": "cs_00000000000000", "object": "checkout.session",
        "amount_total": 25000, "currency": "usd", "customer": "cus_00000000000000",
        "customer_details": {"email": "example@example.com", "tax_exempt": "none", "tax_ids": []},
        "livemode": false, "mode": "payment", "payment_status": "paid", "status": null});
    let bytes = serde_json::to_vec(&session).unwrap();
    let first = e.apply_snapshot(&bytes, 1_700_000_005).unwrap();
    assert!(first.changed);
    let second = e.apply_snapshot(&bytes, 1_700_000_005).unwrap();
    assert!(!second.changed, "{second:?}");
    assert!(second.jobs.is_empty(), "{second:?}");

    let e = engine();
    let cs = checkout("cs_1", "cus_1", "user_1", "sub_1", "complete", "paid");
    let a = event("evt_cs_a", "checkout.session.completed", T0, cs.clone());
    let b = event("evt_cs_b", "checkout.session.completed", T0, cs);
    deliver(&e, &a, T0).unwrap();
    let h = deliver(&e, &b, T0).unwrap();
    assert!(
        h.jobs.is_empty(),
        "an unchanged session raised {:?}",
        h.jobs
    );
}

/// Found while writing `timestamps_at_the_i64_limits`: a newer event whose object equals the
/// stored row did not move the row's watermark, so an older event delivered after it could
/// overwrite the state the newer one had confirmed (A(t1) active, B(t3) active, C(t2)
/// past_due left the subscription past_due; in created order it ends active).
#[test]
fn regression_an_unchanged_newer_event_still_advances_the_watermark() {
    let e = engine();
    let a = sub_event("evt_t1", T0, "active");
    let b = sub_event("evt_t3", T0 + 300, "active");
    let c = sub_event("evt_t2", T0 + 200, "past_due");
    assert_eq!(deliver(&e, &a, T0).unwrap().outcome, Outcome::Processed);
    assert_eq!(
        deliver(&e, &b, T0 + 300).unwrap().outcome,
        Outcome::Processed
    );
    assert_eq!(deliver(&e, &c, T0 + 200).unwrap().outcome, Outcome::Stale);
    let in_order = engine();
    for (body, t) in [(&a, T0), (&c, T0 + 200), (&b, T0 + 300)] {
        deliver(&in_order, body, t).unwrap();
    }
    assert_eq!(state_digest(&e, 1), state_digest(&in_order, 1));
    assert_eq!(
        e.access("cus_1", T0 + 400).unwrap().state,
        tollbooth::AccessState::Active
    );
}
