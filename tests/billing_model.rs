//! The rest of the billing model (issue 11, part A) through the public API, on every store:
//! one-time and lifetime purchases (and their revocation by a full refund), every subscription
//! item with its quantity, Stripe Entitlements per customer, and the product/price catalog.
//! Driven by the hand-written fixtures in tests/fixtures/billing_model/ in four API versions.

mod common;

use std::path::Path;

use common::*;
use tollbooth::event::{Object, SubscriptionItem, parse_event};
use tollbooth::verify::sign_for_test;
use tollbooth::{AccessState, Engine, JobFilter, Outcome, PurchaseGrant};

const VERSIONS: &[&str] = &[
    "2024-06-20",
    "2025-03-31.basil",
    "2025-09-30.clover",
    "2026-07-29.dahlia",
];
const STORY: &[&str] = &[
    "product.created",
    "price.created",
    "payment_intent.succeeded",
    "charge.succeeded",
    "checkout.session.completed",
    "customer.subscription.created",
    "entitlements.active_entitlement_summary.updated",
    "charge.refunded",
];
const T0: i64 = 1_767_225_600;

fn fixture(version: &str, name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/billing_model")
        .join(version)
        .join(format!("{name}.json"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn created(body: &[u8]) -> i64 {
    parse_event(body).unwrap().created
}

fn engine_with_grants(b: &Backend, grants: &str) -> Engine {
    let mut c = b.config();
    c.purchase_grants = PurchaseGrant::parse_list(grants).unwrap();
    Engine::open(c).unwrap()
}

fn deliver_at(e: &Engine, body: &[u8]) -> Outcome {
    let t = created(body);
    e.handle_webhook_at(body, &sign_for_test(body, SECRET, t), t + 1)
        .unwrap()
        .outcome
}

#[test]
fn every_version_normalizes_items_purchases_entitlements_and_catalog_alike() {
    for v in VERSIONS {
        let ev = |n: &str| parse_event(&fixture(v, n)).unwrap_or_else(|e| panic!("{v}/{n}: {e}"));
        let Object::Subscription(s) = ev("customer.subscription.created").object else {
            panic!("{v}: subscription expected");
        };
        assert_eq!(
            s.items
                .iter()
                .map(|i| (i.price_id.as_deref(), i.product_id.as_deref(), i.quantity))
                .collect::<Vec<_>>(),
            [
                (Some("price_Tb2Seat"), Some("prod_Tb2Team"), 5),
                (Some("price_Tb2Audit"), Some("prod_Tb2Audit"), 1)
            ],
            "{v}"
        );
        assert_eq!(s.items[0].id, "si_Tb2Team1");
        assert_eq!(s.price_id.as_deref(), Some("price_Tb2Seat"), "{v}");
        assert_eq!(s.current_period_end, Some(T0 + 200 + 2_678_400), "{v}");
        let Object::Entitlements(en) = ev("entitlements.active_entitlement_summary.updated").object
        else {
            panic!("{v}: entitlements expected");
        };
        assert_eq!(en.customer_id, "cus_Tb2Buyer");
        assert_eq!(en.features, ["audit_log", "sso"]);
        let Object::CheckoutSession(cs) = ev("checkout.session.completed").object else {
            panic!("{v}: session expected");
        };
        assert_eq!(cs.payment_intent.as_deref(), Some("pi_Tb2Lifetime"));
        assert_eq!(
            cs.line_items,
            [SubscriptionItem {
                id: String::new(),
                price_id: Some("price_Tb2Lifetime".into()),
                product_id: None,
                quantity: 1
            }]
        );
        let Object::PaymentIntent(pi) = ev("payment_intent.succeeded").object else {
            panic!("{v}: payment intent expected");
        };
        assert_eq!(
            (pi.amount, pi.status.as_deref()),
            (19_900, Some("succeeded"))
        );
        assert_eq!(pi.invoice_id, None);
        let Object::Charge(ch) = ev("charge.refunded").object else {
            panic!("{v}: charge expected");
        };
        assert!(ch.refunded);
        assert_eq!(ch.payment_intent.as_deref(), Some("pi_Tb2Lifetime"));
        let Object::Catalog(price) = ev("price.created").object else {
            panic!("{v}: price expected");
        };
        assert_eq!(price.product_id.as_deref(), Some("prod_Tb2Lifetime"));
        assert_eq!(price.unit_amount, Some(19_900));
        let Object::Catalog(product) = ev("product.created").object else {
            panic!("{v}: product expected");
        };
        assert_eq!(product.name.as_deref(), Some("Lifetime deal"));
    }
}

#[test]
fn a_lifetime_purchase_grants_access_until_a_full_refund_revokes_it() {
    for b in backends() {
        for v in VERSIONS {
            let e = engine_with_grants(&b, "price_Tb2Lifetime");
            // Everything but the subscription and the refund: access comes from the purchase.
            for name in &STORY[..5] {
                let out = deliver_at(&e, &fixture(v, name));
                assert_eq!(out, Outcome::Processed, "{}/{v}/{name}", b.name);
            }
            let later = T0 + 10 * 365 * 86_400;
            let a = e.access_for_user("user_77", later).unwrap();
            assert!(a.has_access, "{}/{v}: {a:?}", b.name);
            assert_eq!(a.state, AccessState::Active);
            assert_eq!(a.purchase_id.as_deref(), Some("pi_Tb2Lifetime"));
            assert_eq!(a.subscription_id, None);
            assert_eq!(a.access_ends_at, None);
            assert_eq!(a.price_id.as_deref(), Some("price_Tb2Lifetime"));
            assert_eq!(a.customer_id.as_deref(), Some("cus_Tb2Buyer"));
            assert!(a.reason.starts_with("lifetime access"), "{}", a.reason);
            let p = e.purchases("cus_Tb2Buyer").unwrap();
            assert_eq!(p.len(), 1);
            assert_eq!(
                p[0].checkout_session_id.as_deref(),
                Some("cs_test_Tb2Lifetime")
            );
            assert_eq!(
                p[0].paid_at,
                Some(T0 + 300),
                "the earliest paid fact (the intent)"
            );
            assert_eq!((p[0].amount, p[0].currency.as_str()), (19_900, "usd"));
            // The full refund revokes, and says so; one revocation job.
            deliver_at(&e, &fixture(v, "charge.refunded"));
            let r = e.access_for_user("user_77", later).unwrap();
            assert!(!r.has_access);
            assert_eq!(r.state, AccessState::Canceled);
            assert!(r.reason.starts_with("purchase refunded on"), "{}", r.reason);
            let revoked = e
                .jobs(&JobFilter {
                    kind: Some("portal.access_revoked".into()),
                    ..JobFilter::default()
                })
                .unwrap();
            assert_eq!(revoked.len(), 1, "{}/{v}", b.name);
            assert_eq!(revoked[0].key, "pi_Tb2Lifetime");
            // A repeat of the refund (another event id) revokes nothing more.
            let again = String::from_utf8(fixture(v, "charge.refunded"))
                .unwrap()
                .replace("0008\"", "0009\"");
            deliver_at(&e, again.as_bytes());
            let n = e
                .jobs(&JobFilter {
                    kind: Some("portal.access_revoked".into()),
                    ..JobFilter::default()
                })
                .unwrap()
                .len();
            assert_eq!(n, 1);
        }
    }
}

#[test]
fn a_timed_grant_ends_and_an_uncovered_purchase_grants_nothing() {
    for b in backends() {
        let v = "2025-03-31.basil";
        let e = engine_with_grants(&b, "prod_Other,price_Tb2Lifetime=86400");
        for name in &STORY[..5] {
            deliver_at(&e, &fixture(v, name));
        }
        let paid = T0 + 300;
        let during = e.access("cus_Tb2Buyer", paid + 86_399).unwrap();
        assert!(during.has_access, "{}", b.name);
        assert_eq!(during.access_ends_at, Some(paid + 86_400));
        assert!(during.reason.starts_with("one-time purchase, access until"));
        assert!(!e.access("cus_Tb2Buyer", paid + 86_400).unwrap().has_access);
        // Without a covering grant the purchase is recorded but grants nothing.
        let none = engine_with_grants(&b, "");
        for name in &STORY[..5] {
            deliver_at(&none, &fixture(v, name));
        }
        assert!(!none.access("cus_Tb2Buyer", paid + 1).unwrap().has_access);
        assert_eq!(none.purchases("cus_Tb2Buyer").unwrap().len(), 1);
    }
}

#[test]
fn items_entitlements_and_catalog_are_kept_per_customer() {
    for b in backends() {
        for v in VERSIONS {
            let e = engine_with_grants(&b, "");
            for name in STORY {
                deliver_at(&e, &fixture(v, name));
            }
            let subs = e.subscriptions("cus_Tb2Buyer").unwrap();
            assert_eq!(subs.len(), 1);
            let seats: Vec<_> = subs[0]
                .record
                .items
                .iter()
                .map(|i| (i.price_id.clone().unwrap(), i.quantity))
                .collect();
            assert_eq!(
                seats,
                [("price_Tb2Seat".into(), 5), ("price_Tb2Audit".into(), 1)],
                "{}/{v}",
                b.name
            );
            assert_eq!(e.features("cus_Tb2Buyer").unwrap(), ["audit_log", "sso"]);
            assert_eq!(e.features("user_77").unwrap(), ["audit_log", "sso"]);
            assert!(e.has_feature("user_77", "sso").unwrap());
            assert!(!e.has_feature("user_77", "priority_support").unwrap());
            assert!(!e.has_feature("user_nobody", "sso").unwrap());
            let names: Vec<_> = e
                .catalog(None)
                .unwrap()
                .into_iter()
                .map(|c| (c.id, c.name, c.fetched_at))
                .collect();
            assert_eq!(
                names,
                [
                    (
                        "price_Tb2Lifetime".into(),
                        Some("Lifetime".into()),
                        T0 + 200
                    ),
                    (
                        "prod_Tb2Lifetime".into(),
                        Some("Lifetime deal".into()),
                        T0 + 100
                    )
                ]
            );
        }
    }
}

#[test]
fn an_older_entitlement_summary_never_replaces_a_newer_one() {
    for b in backends() {
        let e = engine_with_grants(&b, "");
        let v = "2026-07-29.dahlia";
        let newer = fixture(v, "entitlements.active_entitlement_summary.updated");
        let text = String::from_utf8(newer.clone()).unwrap();
        // An older summary (one feature fewer, earlier `created`, another event id).
        let older = text
            .replace("0007\"", "0099\"")
            .replace(
                &format!("\"created\": {}", T0 + 700),
                &format!("\"created\": {}", T0 + 650),
            )
            .replace("\"lookup_key\": \"audit_log\"", "\"lookup_key\": \"sso\"");
        assert_eq!(deliver_at(&e, &newer), Outcome::Processed);
        assert_eq!(
            deliver_at(&e, older.as_bytes()),
            Outcome::Stale,
            "{}",
            b.name
        );
        assert_eq!(e.features("cus_Tb2Buyer").unwrap(), ["audit_log", "sso"]);
    }
}

#[test]
fn an_invoice_payment_is_never_a_purchase() {
    for b in backends() {
        let e = engine_with_grants(&b, "*");
        let t = T0 + 5_000;
        let pi = serde_json::json!({"id": "pi_inv", "object": "payment_intent", "amount": 2900,
            "currency": "usd", "customer": "cus_Inv", "status": "succeeded", "invoice": "in_1", "metadata": {}});
        let ch = serde_json::json!({"id": "ch_inv", "object": "charge", "amount": 2900, "amount_refunded": 2900,
            "currency": "usd", "customer": "cus_Inv", "invoice": "in_1", "payment_intent": "pi_inv",
            "refunded": true, "status": "succeeded", "metadata": {}});
        let a = event("evt_pi_inv", "payment_intent.succeeded", t, pi);
        assert_eq!(deliver_at(&e, &a), Outcome::Ignored, "{}", b.name);
        let r = event("evt_ch_inv", "charge.refunded", t + 1, ch);
        assert_eq!(deliver_at(&e, &r), Outcome::Processed);
        assert!(e.purchases("cus_Inv").unwrap().is_empty());
        assert!(!e.access("cus_Inv", t + 2).unwrap().has_access);
        let revoked = e
            .jobs(&JobFilter {
                kind: Some("portal.access_revoked".into()),
                ..JobFilter::default()
            })
            .unwrap();
        assert!(revoked.is_empty(), "{revoked:?}");
        // A payment-mode session without a price (and no `*` grant) grants nothing either.
        let only_life = engine_with_grants(&b, "price_life");
        let cs = serde_json::json!({"id": "cs_x", "object": "checkout.session", "mode": "payment",
            "status": "complete", "payment_status": "paid", "customer": "cus_X", "payment_intent": "pi_x",
            "amount_total": 500, "currency": "usd", "metadata": {}});
        deliver_at(
            &only_life,
            &event("evt_cs_x", "checkout.session.completed", t, cs),
        );
        assert!(!only_life.access("cus_X", t + 1).unwrap().has_access);
        assert_eq!(only_life.purchases("cus_X").unwrap().len(), 1);
    }
}
