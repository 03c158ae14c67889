//! Normalization of Stripe events: our hand-written fixtures in both API shapes, the shared
//! corpus of collected payloads, and adversarial bodies. Public API only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tollbooth::ErrorCode;
use tollbooth::event::*;

const PRE: &str = "2024-06-20";
const BASIL: &str = "2025-03-31.basil";
const P1E: i64 = 1_738_368_000; // 2025-02-01
const P2E: i64 = 1_740_787_200; // 2025-03-01

fn fixture(version: &str, name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(version)
        .join(format!("{name}.json"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn event(version: &str, name: &str) -> Event {
    parse_event(&fixture(version, name)).unwrap_or_else(|e| panic!("{version}/{name}: {e}"))
}

fn err(body: &[u8]) -> tollbooth::Error {
    match parse_event(body) {
        Ok(ev) => panic!("expected an error, got {ev:?}"),
        Err(e) => e,
    }
}

fn sub(o: &Object) -> &SubscriptionRecord {
    match o {
        Object::Subscription(r) => r,
        other => panic!("expected a subscription, got {other:?}"),
    }
}

fn inv(o: &Object) -> &InvoiceRecord {
    match o {
        Object::Invoice(r) => r,
        other => panic!("expected an invoice, got {other:?}"),
    }
}

const FIXTURES: &[&str] = &[
    "checkout.session.completed",
    "customer.created",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
    "charge.refunded",
    "charge.dispute.created",
];

#[test]
fn both_api_shapes_normalize_to_the_same_records() {
    for name in FIXTURES {
        let pre = event(PRE, name);
        let basil = event(BASIL, name);
        assert_eq!(pre.api_version.as_deref(), Some(PRE));
        assert_eq!(basil.api_version.as_deref(), Some(BASIL));
        assert_eq!(pre.kind.as_str(), *name);
        assert_eq!(pre.kind, basil.kind);
        assert_ne!(pre.id, basil.id, "event ids are unique");
        assert_eq!(pre.created, basil.created);
        assert!(!pre.livemode && !basil.livemode);
        if *name == "charge.refunded" {
            // Basil removed `charge.invoice`; everything else matches.
            let (Object::Charge(a), Object::Charge(b)) = (&pre.object, &basil.object) else {
                panic!("charges expected");
            };
            assert_eq!(a.invoice_id.as_deref(), Some("in_Tb1Fixture"));
            assert_eq!(b.invoice_id, None);
            assert_eq!(
                ChargeRecord {
                    invoice_id: None,
                    ..a.clone()
                },
                *b
            );
        } else {
            assert_eq!(pre.object, basil.object, "{name}");
        }
    }
}

#[test]
fn fixtures_carry_the_expected_values() {
    for v in [PRE, BASIL] {
        let ev = event(v, "checkout.session.completed");
        assert_eq!(ev.kind, EventKind::CheckoutSessionCompleted);
        let Object::CheckoutSession(cs) = &ev.object else {
            panic!("{ev:?}")
        };
        assert_eq!(cs.id, "cs_test_Tb1Fixture");
        assert_eq!(cs.customer_id.as_deref(), Some("cus_Tb1Fixture"));
        assert_eq!(cs.user_id.as_deref(), Some("user_42"));
        assert_eq!(cs.email.as_deref(), Some("ada@example.com"));
        assert_eq!(cs.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(cs.mode.as_deref(), Some("subscription"));
        assert_eq!(cs.status.as_deref(), Some("complete"));
        assert_eq!(cs.payment_status.as_deref(), Some("paid"));
        assert_eq!(cs.subscription_id.as_deref(), Some("sub_Tb1Fixture"));
        assert_eq!(
            (cs.amount_total, cs.currency.as_deref()),
            (Some(2900), Some("usd"))
        );
        assert_eq!(ev.object.object_type(), "checkout.session");
        assert_eq!(ev.object.customer_id(), Some("cus_Tb1Fixture"));
        assert!(!ev.has_previous_attributes);

        let ev = event(v, "customer.created");
        let expected = CustomerRecord {
            id: "cus_Tb1Fixture".into(),
            email: Some("ada@example.com".into()),
            name: Some("Ada Lovelace".into()),
            user_id: None,
            deleted: false,
            has_payment_method: false,
        };
        assert_eq!(ev.object, Object::Customer(expected));

        let created = event(v, "customer.subscription.created");
        let s = sub(&created.object);
        assert_eq!(
            *s,
            SubscriptionRecord {
                id: "sub_Tb1Fixture".into(),
                customer_id: "cus_Tb1Fixture".into(),
                status: "active".into(),
                items: vec![SubscriptionItem {
                    id: "si_Tb1Fixture".into(),
                    price_id: Some("price_Tb1Pro".into()),
                    product_id: Some("prod_Tb1Pro".into()),
                    quantity: 1,
                }],
                price_id: Some("price_Tb1Pro".into()),
                product_id: Some("prod_Tb1Pro".into()),
                current_period_end: Some(P1E),
                trial_missing_payment_method: Some("create_invoice".into()),
                has_payment_method: true,
                user_id: Some("user_42".into()),
                ..Default::default()
            }
        );

        let updated = event(v, "customer.subscription.updated");
        assert_eq!(updated.kind, EventKind::SubscriptionUpdated);
        assert!(updated.has_previous_attributes);
        let s = sub(&updated.object);
        assert_eq!(
            (s.status.as_str(), s.current_period_end),
            ("past_due", Some(P2E))
        );

        let deleted = event(v, "customer.subscription.deleted");
        let s = sub(&deleted.object);
        assert_eq!(s.status, "canceled");
        assert_eq!(
            (s.canceled_at, s.ended_at, s.current_period_end),
            (Some(P2E), Some(P2E), Some(P2E))
        );
        assert!(!s.cancel_at_period_end);

        let failed = event(v, "invoice.payment_failed");
        let i = inv(&failed.object);
        assert_eq!(i.id, "in_Tb1Fixture");
        assert_eq!(i.customer_id, "cus_Tb1Fixture");
        assert_eq!(i.subscription_id.as_deref(), Some("sub_Tb1Fixture"));
        assert_eq!(i.status.as_deref(), Some("open"));
        assert_eq!(
            (i.amount_due, i.amount_paid, i.amount_remaining),
            (2900, 0, 2900)
        );
        assert_eq!(
            (i.attempt_count, i.next_payment_attempt),
            (1, Some(1_738_627_200))
        );
        assert_eq!(i.billing_reason.as_deref(), Some("subscription_cycle"));
        assert_eq!(i.number.as_deref(), Some("TB1F-0002"));
        assert_eq!(i.currency, "usd");
        assert_eq!(i.created, P1E);
        assert!(
            i.hosted_invoice_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
        );
        assert!(i.invoice_pdf.is_some());

        let paid = event(v, "invoice.paid");
        let i = inv(&paid.object);
        assert_eq!(i.subscription_id.as_deref(), Some("sub_Tb1Fixture"));
        assert_eq!(i.status.as_deref(), Some("paid"));
        assert_eq!(
            (i.amount_paid, i.amount_remaining, i.attempt_count),
            (2900, 0, 2)
        );
        assert_eq!(i.next_payment_attempt, None);

        let refunded = event(v, "charge.refunded");
        assert!(refunded.has_previous_attributes);
        let Object::Charge(c) = &refunded.object else {
            panic!("{refunded:?}")
        };
        assert_eq!(c.id, "ch_Tb1Fixture");
        assert_eq!(c.customer_id.as_deref(), Some("cus_Tb1Fixture"));
        assert_eq!(
            (c.amount, c.amount_refunded, c.refunded),
            (2900, 2900, true)
        );
        assert_eq!(c.payment_intent.as_deref(), Some("pi_Tb1Fixture"));

        let disputed = event(v, "charge.dispute.created");
        let expected = DisputeRecord {
            id: "dp_Tb1Fixture".into(),
            charge_id: Some("ch_Tb1Fixture".into()),
            payment_intent: Some("pi_Tb1Fixture".into()),
            amount: 2900,
            currency: "usd".into(),
            reason: Some("fraudulent".into()),
            status: Some("needs_response".into()),
        };
        assert_eq!(disputed.object, Object::Dispute(expected));
        assert_eq!(disputed.object.customer_id(), None);
    }
    // The basil fixtures really are basil-shaped (so the test above proves something).
    let basil_sub = String::from_utf8(fixture(BASIL, "customer.subscription.updated")).unwrap();
    let pre_sub = String::from_utf8(fixture(PRE, "customer.subscription.updated")).unwrap();
    assert_eq!(basil_sub.matches("\"current_period_end\"").count(), 1);
    assert_eq!(pre_sub.matches("\"current_period_end\"").count(), 1);
    assert!(
        basil_sub
            .contains("\"current_period_end\": 1740787200,\n            \"current_period_start\"")
    );
    let basil_inv = String::from_utf8(fixture(BASIL, "invoice.paid")).unwrap();
    assert!(
        !basil_inv
            .contains("\"subscription\": \"sub_Tb1Fixture\",\n      \"subscription_details\"")
    );
    assert!(basil_inv.contains("\"subscription_details\": {"));
}

fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TOLLBOOTH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let stripe = dir.join("fixtures/stripe");
    stripe.is_dir().then_some(stripe)
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

fn variant(o: &Object) -> &'static str {
    match o {
        Object::Customer(_) => "customer",
        Object::Subscription(_) => "subscription",
        Object::Invoice(_) => "invoice",
        Object::CheckoutSession(_) => "checkout_session",
        Object::Charge(_) => "charge",
        Object::Dispute(_) => "dispute",
        Object::Refund(_) => "refund",
        Object::PaymentIntent(_) => "payment_intent",
        Object::Entitlements(_) => "entitlements",
        Object::Catalog(_) => "catalog",
        Object::Other { .. } => "other",
    }
}

fn expected_variant(t: &str) -> Option<&'static str> {
    Some(match t {
        "checkout.session.completed" => "checkout_session",
        "customer.created" => "customer",
        t if t.starts_with("customer.subscription.") => "subscription",
        "invoice.paid" | "invoice.payment_failed" => "invoice",
        "charge.refunded" | "charge.succeeded" => "charge",
        "charge.dispute.created" | "charge.dispute.updated" | "charge.dispute.closed" => "dispute",
        "refund.created" | "refund.updated" | "charge.refund.updated" => "refund",
        "payment_intent.succeeded" => "payment_intent",
        t if t.starts_with("product.") || t.starts_with("price.") => "catalog",
        _ => return None,
    })
}

#[test]
fn shared_corpus_never_panics_and_known_kinds_normalize() {
    let Some(stripe) = shared_dir() else {
        println!("skipping: shared fixtures not present");
        return;
    };
    let mut files = Vec::new();
    json_files(&stripe.join("events"), &mut files);
    assert!(files.len() > 150, "found only {} event files", files.len());
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut checked_2020 = 0;
    for path in &files {
        let body = std::fs::read(path).unwrap();
        let shown = path.strip_prefix(&stripe).unwrap().display().to_string();
        let result = std::panic::catch_unwind(|| parse_event(&body))
            .unwrap_or_else(|_| panic!("parse_event panicked on {shown}"));
        let outcome = match &result {
            Ok(ev) => format!("ok:{}", variant(&ev.object)),
            Err(e) => {
                assert!(
                    matches!(
                        e.code(),
                        ErrorCode::PayloadInvalidJson | ErrorCode::EventFieldMissing
                    ),
                    "{shown}: unexpected code {e}"
                );
                assert!(
                    !e.message().contains('\n'),
                    "{shown}: message looks like a body: {e}"
                );
                println!("  {shown}: {e}");
                format!("err:{}", e.code())
            }
        };
        *outcomes.entry(outcome).or_default() += 1;

        let Ok(ev) = &result else { continue };
        assert!(!ev.id.is_empty() && ev.created > 0, "{shown}");
        let kind_2020 = ev.api_version.as_deref() == Some("2020-08-27");
        if let Some(want) = expected_variant(ev.kind.as_str()).filter(|_| kind_2020) {
            assert_eq!(variant(&ev.object), want, "{shown}");
            assert!(ev.object.id().is_some_and(|id| !id.is_empty()), "{shown}");
            checked_2020 += 1;
        }
    }
    for name in [
        "events/stripe-ruby-mock/checkout.session.completed.json",
        "events/stripe-ruby-mock/customer.subscription.updated.json",
        "events/stripe-ruby-mock/invoice.paid.json",
        "events/stripe-ruby-mock/invoice.payment_failed.json",
        "events/stripe-ruby-mock/charge.refunded.json",
        "events/stripe-ruby-mock/charge.dispute.created.json",
    ] {
        let ev = parse_event(&std::fs::read(stripe.join(name)).unwrap()).unwrap();
        assert_eq!(ev.api_version.as_deref(), Some("2020-08-27"), "{name}");
    }
    println!(
        "{} files; outcomes: {outcomes:?}; 2020-08-27 known kinds checked: {checked_2020}",
        files.len()
    );
    assert!(
        checked_2020 >= 9,
        "only {checked_2020} 2020-08-27 known-kind events checked"
    );

    // Spot values from the 2020-08-27 sources.
    let read = |n: &str| parse_event(&std::fs::read(stripe.join(n)).unwrap()).unwrap();
    let ev = read("events/stripe-ruby-mock/customer.subscription.created.json");
    let s = sub(&ev.object);
    assert_eq!(s.current_period_end, Some(1_650_998_510));
    assert_eq!(
        s.price_id.as_deref(),
        Some("price_000000000000000000000000")
    );
    assert_eq!(s.product_id.as_deref(), Some("prod_00000000000000"));
    let ev = read("events/stripe-ruby-mock/invoice.payment_failed.json");
    assert_eq!(inv(&ev.object).attempt_count, 1);
    let ev = read("events/stripe-sync-engine/invoice_paid.json");
    assert_eq!(
        inv(&ev.object).subscription_id.as_deref(),
        Some("sub_JsuPyCPhXWfZar")
    );
    // Legacy items carry `plan` instead of `price`.
    let ev = read("events/stripe-ruby-mock-legacy/customer.subscription.created.json");
    assert_eq!(
        sub(&ev.object).price_id.as_deref(),
        Some("fkx0AFo_00000000000000")
    );
    assert_eq!(
        sub(&ev.object).product_id.as_deref(),
        Some("pr_00000000000000")
    );
    // `previous_attributes: {}` does not count; `null` neither.
    assert!(!read("events/stripe-ruby-mock/charge.refund.updated.json").has_previous_attributes);
    assert!(
        !read("events/stripe-sync-engine/checkout_session_completed.json").has_previous_attributes
    );
    assert!(
        read("events/stripe-ruby-mock/customer.subscription.updated.json").has_previous_attributes
    );
    // Unknown type with an unknown object: Other, not an error.
    let ev = read("events/stripe-dotnet/event_unknown_object.json");
    assert_eq!(ev.kind, EventKind::Other("foo.created".into()));
    assert_eq!(
        ev.object,
        Object::Other {
            object_type: Some("foo".into()),
            id: None
        }
    );
    // Connect: top-level account.
    assert!(
        read("events/stripe-dotnet/event_test_signature.json")
            .account
            .is_some()
    );
}

/// The pay fragments are `{"object": {...}, "previous_attributes": ...}` or bare objects.
fn pay_object(path: &Path) -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    match v.get("object") {
        Some(inner @ serde_json::Value::Object(_)) => serde_json::to_vec(inner).unwrap(),
        _ => serde_json::to_vec(&v).unwrap(),
    }
}

#[test]
fn shared_pay_objects_as_snapshots() {
    let Some(stripe) = shared_dir() else {
        println!("skipping: shared fixtures not present");
        return;
    };
    let dir = stripe.join("objects/pay");
    let mut results = BTreeMap::new();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let r = parse_object(&pay_object(p));
        let shown = match &r {
            Ok(o) => format!("ok:{}", variant(o)),
            Err(e) => format!("err:{}", e.code()),
        };
        println!("  {name}: {shown}");
        results.insert(name, r);
    }
    let code = |n: &str| results[n].as_ref().err().map(|e| e.code());
    let ok = |n: &str| results[n].as_ref().unwrap_or_else(|e| panic!("{n}: {e}"));

    // Basil subscription: no top-level period, so it comes from items.
    let s = sub(ok("subscription.updated.json"));
    assert_eq!(s.id, "sub_00000000000000");
    assert_eq!(s.status, "canceled");
    assert_eq!(s.current_period_end, Some(1_488_987_924));
    assert_eq!(s.price_id.as_deref(), Some("FFBEGINNER_00000000000000"));
    assert_eq!(s.product_id.as_deref(), Some("prod_00000000000000"));
    assert_eq!(
        (s.canceled_at, s.ended_at, s.trial_end),
        (
            Some(1_487_872_069),
            Some(1_487_872_069),
            Some(1_467_992_724)
        )
    );
    // Pre-basil subscription: top-level period.
    assert_eq!(
        sub(ok("subscription.created.json")).current_period_end,
        Some(1_488_987_924)
    );

    // Basil invoice: `subscription: null`, link under parent.subscription_details.
    let i = inv(ok("invoice.payment_failed.json"));
    assert_eq!(
        (i.id.as_str(), i.customer_id.as_str()),
        ("in_1234", "cus_1234")
    );
    assert_eq!(i.subscription_id.as_deref(), Some("sub_1234"));
    assert_eq!(
        (i.amount_due, i.attempt_count, i.next_payment_attempt),
        (24900, 1, Some(1_745_552_783))
    );
    assert_eq!(i.billing_reason.as_deref(), Some("subscription_cycle"));
    assert_eq!(i.status.as_deref(), Some("open"));
    // Hybrid: both shapes present and agreeing.
    assert_eq!(
        inv(ok("invoice.payment_action_required.json"))
            .subscription_id
            .as_deref(),
        Some("sub_1234")
    );
    assert_eq!(inv(ok("invoice.json")).customer_id, "cus_S9YwWMaQEgeJYO");

    let Object::CheckoutSession(cs) = ok("checkout.session.completed.json") else {
        panic!()
    };
    assert_eq!(
        cs.subscription_id.as_deref(),
        Some("sub_1LNkeSKXBGcbgpbZ7jMqOPSi")
    );
    assert_eq!(cs.email.as_deref(), Some("chris@gorails.com"));
    assert_eq!(cs.name.as_deref(), Some("Chris Oliver"));
    assert_eq!(cs.user_id, None);
    assert!(matches!(ok("customer.updated.json"), Object::Customer(_)));

    // An upcoming invoice has no id.
    assert_eq!(
        code("invoice.upcoming.json"),
        Some(ErrorCode::EventFieldMissing)
    );
    // Not snapshot types: invoice_payment, payment_method, a charge (that fragment has no `object`).
    for n in [
        "invoice.updated.json",
        "payment_method.attached.json",
        "charge.refunded.json",
        "charge.updated.json",
    ] {
        assert_eq!(code(n), Some(ErrorCode::SnapshotUnsupported), "{n}");
    }
}

#[test]
fn parse_object_dispatch_and_errors() {
    let o = parse_object(br#"{"id":"cus_1","object":"customer","deleted":true}"#).unwrap();
    assert_eq!(
        o,
        Object::Customer(CustomerRecord {
            id: "cus_1".into(),
            deleted: true,
            ..Default::default()
        })
    );
    let e =
        parse_object(br#"{"id":"sub_1","object":"subscription","status":"active"}"#).unwrap_err();
    assert_eq!(e.code(), ErrorCode::EventFieldMissing);
    assert!(e.message().contains("customer"), "{e}");
    for body in [
        &b"{\"id\":\"ch_1\",\"object\":\"charge\"}"[..],
        b"{\"id\":\"x\"}",
        b"{}",
    ] {
        assert_eq!(
            parse_object(body).unwrap_err().code(),
            ErrorCode::SnapshotUnsupported
        );
    }
    for body in [&b"nope"[..], b"[]", b"{\"object\":\"customer\"", b""] {
        assert_eq!(
            parse_object(body).unwrap_err().code(),
            ErrorCode::PayloadInvalidJson
        );
    }
}

fn envelope(object: &str) -> String {
    format!(
        r#"{{"id":"evt_1","object":"event","type":"customer.subscription.updated","created":1700000000,"data":{{"object":{object}}}}}"#
    )
}

const SUB_OBJ: &str =
    r#"{"id":"sub_1","object":"subscription","customer":"cus_1","status":"active"}"#;

#[test]
fn envelope_rules() {
    let ev = parse_event(envelope(SUB_OBJ).as_bytes()).unwrap();
    assert_eq!(
        (
            ev.livemode,
            ev.api_version.as_deref(),
            ev.account.as_deref()
        ),
        (false, None, None)
    );
    assert!(!ev.has_previous_attributes);
    assert_eq!(sub(&ev.object).current_period_end, None);

    let with = |extra: &str| {
        let body =
            envelope(SUB_OBJ).replacen(r#""id":"evt_1","#, &format!(r#""id":"evt_1",{extra},"#), 1);
        parse_event(body.as_bytes())
    };
    let ev =
        with(r#""livemode":true,"account":"acct_1","api_version":"2025-03-31.basil""#).unwrap();
    assert_eq!((ev.livemode, ev.account.as_deref()), (true, Some("acct_1")));
    assert_eq!(ev.api_version.as_deref(), Some("2025-03-31.basil"));
    assert!(with(r#""livemode":null,"account":null,"api_version":null"#).is_ok());
    assert_eq!(
        with(r#""livemode":"yes""#).unwrap_err().code(),
        ErrorCode::PayloadInvalidJson
    );

    let prev = |p: &str| {
        let body = envelope(SUB_OBJ).replace(
            r#""data":{"#,
            &format!(r#""data":{{"previous_attributes":{p},"#),
        );
        parse_event(body.as_bytes())
            .unwrap()
            .has_previous_attributes
    };
    assert!(!prev("null") && !prev("{}") && !prev(" { } "));
    assert!(prev(r#"{"status":"trialing"}"#));

    // Each required envelope field, missing or mistyped, is named.
    let base = envelope(SUB_OBJ);
    for (from, to, field) in [
        (r#""id":"evt_1","#, "", "id"),
        (r#""id":"evt_1","#, r#""id":42,"#, "id"),
        (r#""id":"evt_1","#, r#""id":"","#, "id"),
        (r#""type":"customer.subscription.updated","#, "", "type"),
        (r#""created":1700000000,"#, "", "created"),
        (
            r#""created":1700000000,"#,
            r#""created":"1700000000","#,
            "created",
        ),
        (r#""created":1700000000,"#, r#""created":1.5,"#, "created"),
        (
            r#""object":"event","#,
            r#""object":"v2.core.event","#,
            "object",
        ),
    ] {
        let body = base.replacen(from, to, 1);
        assert_ne!(body, base);
        let e = err(body.as_bytes());
        assert_eq!(e.code(), ErrorCode::PayloadInvalidJson, "{body}");
        assert!(e.message().contains(field), "{field}: {e}");
    }
    for (body, field) in [
        (
            r#"{"id":"evt_1","type":"x","created":1}"#.to_owned(),
            "data",
        ),
        (
            r#"{"id":"evt_1","type":"x","created":1,"data":{}}"#.to_owned(),
            "data.object",
        ),
        (
            r#"{"id":"evt_1","type":"x","created":1,"data":{"object":null}}"#.to_owned(),
            "data.object",
        ),
        (
            r#"{"id":"evt_1","type":"x","created":1,"data":{"object":[1]}}"#.to_owned(),
            "data.object",
        ),
        (
            r#"{"id":"evt_1","type":"x","created":1,"data":[{"object":{}}]}"#.to_owned(),
            "data",
        ),
    ] {
        let e = err(body.as_bytes());
        assert_eq!(e.code(), ErrorCode::PayloadInvalidJson, "{body}");
        assert!(e.message().contains(field), "{field}: {e}");
    }
}

#[test]
fn known_kinds_need_their_fields() {
    for (obj, field) in [
        (
            r#"{"id":"sub_1","object":"subscription","status":"active"}"#,
            "customer",
        ),
        (
            r#"{"id":"sub_1","object":"subscription","customer":"cus_1"}"#,
            "status",
        ),
        (
            r#"{"id":"sub_1","object":"subscription","customer":null,"status":"active"}"#,
            "customer",
        ),
        (
            r#"{"object":"subscription","customer":"cus_1","status":"active"}"#,
            "id",
        ),
        (
            r#"{"id":"sub_1","customer":{"object":"customer"},"status":"active"}"#,
            "customer",
        ),
        (
            r#"{"id":"sub_1","customer":"cus_1","status":"active","cancel_at_period_end":"no"}"#,
            "cancel_at_period_end",
        ),
        (
            r#"{"id":"sub_1","customer":"cus_1","status":"active","items":{"data":[{"current_period_end":"soon"}]}}"#,
            "current_period_end",
        ),
        (
            r#"{"id":"sub_1","customer":"cus_1","status":"active","metadata":{"user_id":7}}"#,
            "metadata.user_id",
        ),
    ] {
        let e = err(envelope(obj).as_bytes());
        assert_eq!(e.code(), ErrorCode::EventFieldMissing, "{obj}");
        assert!(e.message().contains(field), "{field}: {e}");
    }
    let invoice = |obj: &str| {
        let body = envelope(obj).replace("customer.subscription.updated", "invoice.paid");
        parse_event(body.as_bytes())
    };
    assert!(
        invoice(r#"{"object":"invoice","customer":"cus_1"}"#)
            .unwrap_err()
            .message()
            .contains("id")
    );
    assert!(
        invoice(r#"{"id":"in_1","object":"invoice"}"#)
            .unwrap_err()
            .message()
            .contains("customer")
    );
    // Expanded objects everywhere ids appear; nulls are fine.
    let ev = invoice(
        r#"{"id":"in_1","customer":{"id":"cus_1","email":null},"subscription":null,
            "parent":{"subscription_details":{"subscription":{"id":"sub_9","object":"subscription"}}},
            "amount_due":null,"number":null,"currency":null}"#,
    )
    .unwrap();
    let i = inv(&ev.object);
    assert_eq!(
        (i.customer_id.as_str(), i.subscription_id.as_deref()),
        ("cus_1", Some("sub_9"))
    );
    assert_eq!((i.amount_due, i.currency.as_str()), (0, ""));
    // Line-item fallbacks: basil parent first, then legacy `subscription`.
    let ev = invoice(
        r#"{"id":"in_1","customer":"cus_1","lines":{"data":[{"subscription":null},
        {"parent":{"subscription_item_details":{"subscription":"sub_L"}}}]}}"#,
    )
    .unwrap();
    assert_eq!(inv(&ev.object).subscription_id.as_deref(), Some("sub_L"));
    let ev = invoice(
        r#"{"id":"in_1","customer":"cus_1","lines":{"data":[{"subscription":"sub_Old"}]}}"#,
    )
    .unwrap();
    assert_eq!(inv(&ev.object).subscription_id.as_deref(), Some("sub_Old"));
    // Basil period: the max over items; expanded product; legacy top-level plan fallback.
    let ev = parse_event(envelope(
        r#"{"id":"sub_1","customer":"cus_1","status":"active","items":{"data":[
            {"current_period_end":100,"price":{"id":"price_A","product":{"id":"prod_A","object":"product"}}},
            {"current_period_end":300,"price":{"id":"price_B","product":"prod_B"}},
            {"current_period_end":null}]}}"#,
    ).as_bytes())
    .unwrap();
    let s = sub(&ev.object);
    assert_eq!(
        (
            s.current_period_end,
            s.price_id.as_deref(),
            s.product_id.as_deref()
        ),
        (Some(300), Some("price_A"), Some("prod_A"))
    );
    let ev = parse_event(envelope(r#"{"id":"sub_1","customer":"cus_1","status":"active","current_period_end":5,"plan":{"id":"gold","product":"prod_G"}}"#).as_bytes()).unwrap();
    let s = sub(&ev.object);
    assert_eq!(
        (
            s.current_period_end,
            s.price_id.as_deref(),
            s.product_id.as_deref()
        ),
        (Some(5), Some("gold"), Some("prod_G"))
    );
    // customer.deleted marks the record.
    let body = envelope(r#"{"id":"cus_1","object":"customer","metadata":{"user_id":"u_1"}}"#)
        .replace("customer.subscription.updated", "customer.deleted");
    let ev = parse_event(body.as_bytes()).unwrap();
    assert_eq!(
        ev.object,
        Object::Customer(CustomerRecord {
            id: "cus_1".into(),
            user_id: Some("u_1".into()),
            deleted: true,
            ..Default::default()
        })
    );
    // Checkout fallbacks: metadata.user_id and customer_email.
    let body = envelope(r#"{"id":"cs_1","object":"checkout.session","client_reference_id":null,"metadata":{"user_id":"u_2"},"customer_details":null,"customer_email":"x@y.z","customer":null}"#)
        .replace("customer.subscription.updated", "checkout.session.completed");
    let Object::CheckoutSession(cs) = parse_event(body.as_bytes()).unwrap().object else {
        panic!()
    };
    assert_eq!(
        (cs.user_id.as_deref(), cs.email.as_deref(), cs.customer_id),
        (Some("u_2"), Some("x@y.z"), None)
    );
}

#[test]
fn unexpected_object_types_and_unknown_kinds_are_other() {
    // A known kind carrying another object type (even with conflicting shapes) is Other.
    let body = envelope(
        r#"{"id":"pi_1","object":"payment_intent","status":7,"items":"weird","customer":[1]}"#,
    );
    let ev = parse_event(body.as_bytes()).unwrap();
    assert_eq!(
        ev.object,
        Object::Other {
            object_type: Some("payment_intent".into()),
            id: Some("pi_1".into())
        }
    );
    assert_eq!(
        (ev.object.object_type(), ev.object.id()),
        ("payment_intent", Some("pi_1"))
    );
    // Unknown kinds never look at the fields.
    let body = envelope(r#"{"object":"thing","status":7,"customer":{}}"#)
        .replace("customer.subscription.updated", "thing.happened");
    let ev = parse_event(body.as_bytes()).unwrap();
    assert_eq!(ev.kind, EventKind::Other("thing.happened".into()));
    assert_eq!(
        ev.object,
        Object::Other {
            object_type: Some("thing".into()),
            id: None
        }
    );
    assert_eq!(ev.object.object_type(), "thing");
    let body = envelope("{}").replace("customer.subscription.updated", "ping");
    assert_eq!(
        parse_event(body.as_bytes()).unwrap().object.object_type(),
        ""
    );
}

#[test]
fn adversarial_bodies() {
    for body in [
        &b""[..],
        b"   ",
        b"hello",
        b"{",
        b"null",
        b"42",
        b"\"evt\"",
        b"[]",
        b"{}}",
        b"\xEF\xBB\xBF{}",
    ] {
        assert_eq!(
            err(body).code(),
            ErrorCode::PayloadInvalidJson,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    // A positional array matching the envelope's field order is still not an envelope.
    let arr =
        br#"["evt_1","customer.created",1,false,null,null,"event",{"object":{"id":"cus_1"}}]"#;
    assert_eq!(err(arr).code(), ErrorCode::PayloadInvalidJson);

    // 10,000 levels: rejected (or skipped iteratively), never a stack overflow.
    let deep = "[".repeat(10_000);
    assert_eq!(err(deep.as_bytes()).code(), ErrorCode::PayloadInvalidJson);
    let deep_obj = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    assert_eq!(
        err(deep_obj.as_bytes()).code(),
        ErrorCode::PayloadInvalidJson
    );
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let unbalanced = envelope(&format!(r#"{{"id":"sub_1","x":{}}}"#, "[".repeat(10_000)));
    assert_eq!(
        err(unbalanced.as_bytes()).code(),
        ErrorCode::PayloadInvalidJson
    );
    // Balanced deep arrays in fields we skip are skipped without recursion: fine.
    let skipped = envelope(&format!(
        r#"{{"id":"sub_1","customer":"cus_1","status":"active","x":{nested}}}"#
    ));
    assert!(parse_event(skipped.as_bytes()).is_ok());
    let skipped = envelope(SUB_OBJ).replacen('{', &format!(r#"{{"request":{nested},"#), 1);
    assert!(parse_event(skipped.as_bytes()).is_ok());
    // In a field we read: an array where a string belongs.
    let in_read = envelope(&format!(
        r#"{{"id":"sub_1","customer":{nested},"status":"active"}}"#
    ));
    assert_eq!(err(in_read.as_bytes()).code(), ErrorCode::EventFieldMissing);
    // Deep objects under fields we descend into hit serde_json's recursion limit (128).
    let deep_ids = format!("{}\"x\"{}", r#"{"id":"#.repeat(10_000), "}".repeat(10_000));
    let e = err(envelope(&format!(
        r#"{{"id":"sub_1","customer":{deep_ids},"status":"active"}}"#
    ))
    .as_bytes());
    assert!(e.message().contains("recursion limit"), "{e}");
    let e = err(
        format!(r#"{{"id":{deep_ids},"type":"x","created":1,"data":{{"object":{{}}}}}}"#)
            .as_bytes(),
    );
    assert_eq!(e.code(), ErrorCode::PayloadInvalidJson);

    // NUL: raw in a string is invalid JSON; escaped it is kept.
    let raw_nul = envelope(SUB_OBJ).replace("cus_1", "cus\0_1");
    assert_eq!(
        err(raw_nul.as_bytes()).code(),
        ErrorCode::PayloadInvalidJson
    );
    let raw_nul_skipped = envelope(SUB_OBJ).replacen('{', "{\"request\":\"a\0b\",", 1);
    assert_eq!(
        err(raw_nul_skipped.as_bytes()).code(),
        ErrorCode::PayloadInvalidJson
    );
    let escaped = envelope(SUB_OBJ).replace("cus_1", r"cus\u0000_1");
    assert_eq!(
        sub(&parse_event(escaped.as_bytes()).unwrap().object).customer_id,
        "cus\0_1"
    );

    // Invalid UTF-8, read or skipped.
    for (from, to) in [
        ("cus_1", &b"cus_\xff"[..]),
        ("\"event\"", b"\"ev\xc3\x28\""),
    ] {
        let base = envelope(SUB_OBJ);
        let (a, b) = base.split_once(from).unwrap();
        let body = [a.as_bytes(), to, b.as_bytes()].concat();
        let e = err(&body);
        assert_eq!(e.code(), ErrorCode::PayloadInvalidJson);
        assert!(e.message().contains("UTF-8"), "{e}");
    }

    // Huge integers: envelope -> PayloadInvalidJson, record -> EventFieldMissing; never a panic.
    let huge = "123456789012345678901234567890";
    let e = err(envelope(SUB_OBJ).replace("1700000000", huge).as_bytes());
    assert_eq!(e.code(), ErrorCode::PayloadInvalidJson);
    assert!(e.message().contains("created"), "{e}");
    let ok_max = envelope(SUB_OBJ).replace("1700000000", &i64::MAX.to_string());
    assert_eq!(parse_event(ok_max.as_bytes()).unwrap().created, i64::MAX);
    let inv = |amount: &str| {
        let obj = format!(r#"{{"id":"in_1","customer":"cus_1","amount_due":{amount}}}"#);
        parse_event(
            envelope(&obj)
                .replace("customer.subscription.updated", "invoice.paid")
                .as_bytes(),
        )
    };
    assert_eq!(
        inv("-9223372036854775808").map(|e| match e.object {
            Object::Invoice(i) => i.amount_due,
            _ => 0,
        }),
        Ok(i64::MIN)
    );
    for amount in [
        "9223372036854775808",
        "18446744073709551616",
        huge,
        "1e400",
        "-1e400",
        "2900.5",
        "1E3",
    ] {
        let e = inv(amount).unwrap_err();
        assert_eq!(e.code(), ErrorCode::EventFieldMissing, "{amount}: {e}");
        assert!(
            e.message().contains("amount_due") || e.message().contains("number out of range"),
            "{amount}: {e}"
        );
    }

    // Duplicate keys (documented behaviour): a duplicate of a key the parser reads is rejected
    // as PayloadInvalidJson, at any level it reads; duplicates of keys it skips are ignored.
    for body in [
        envelope(SUB_OBJ).replacen(r#""id":"evt_1","#, r#""id":"evt_1","id":"evt_2","#, 1),
        envelope(SUB_OBJ).replacen(r#""data":{"#, r#""data":{"object":{},"#, 1),
        envelope(r#"{"id":"sub_1","customer":"cus_1","customer":"cus_2","status":"active"}"#),
        envelope(
            r#"{"id":"sub_1","customer":"cus_1","status":"active","metadata":{"user_id":"a","user_id":"b"}}"#,
        ),
    ] {
        let e = err(body.as_bytes());
        assert_eq!(e.code(), ErrorCode::PayloadInvalidJson, "{body}");
        assert!(e.message().contains("duplicate"), "{e}");
    }
    let dup_skipped = envelope(
        r#"{"id":"sub_1","customer":"cus_1","status":"active","x":1,"x":2}"#,
    )
    .replacen('{', r#"{"request":1,"request":2,"#, 1);
    assert!(parse_event(dup_skipped.as_bytes()).is_ok());

    // Messages never echo body content.
    for body in [
        envelope(SUB_OBJ).replacen(r#""id":"evt_1""#, r#""id":{"secret":"sk_live_LEAK"}"#, 1),
        envelope(SUB_OBJ).replacen(r#""id":"evt_1""#, r#""id":"sk_live_LEAK"}"#, 1),
        envelope(
            r#"{"id":"sub_1","customer":"cus_1","status":"active","cancel_at":"sk_live_LEAK"}"#,
        ),
        envelope(
            r#"{"id":"sub_1","customer":"cus_1","status":"active","items":{"data":"sk_live_LEAK"}}"#,
        ),
        envelope(SUB_OBJ).replacen(r#""data":{"#, r#""data":"sk_live_LEAK","x":{"#, 1),
    ] {
        let e = err(body.as_bytes());
        assert!(!e.to_string().contains("LEAK"), "{e}");
    }
}
