//! Property: for any permutation of realistic histories with distinct timestamps, and any
//! 1–3 deliveries of each event, the final state and the outbox equal the in-order result.
//! The histories include refunds (two partial ones for odd customers) and disputes (created,
//! updated, closed), so a dispute or refund that arrives before the charge naming its customer
//! ends with the same tickets as in order.

mod common;

use std::collections::BTreeSet;

use common::*;
use proptest::prelude::*;
use serde_json::{Value, json};
use tollbooth::Engine;
use tollbooth::JobFilter;

/// Everything observable about the final state.
#[derive(Debug, PartialEq)]
struct Snapshot {
    access: Vec<String>,
    subscriptions: Vec<tollbooth::event::SubscriptionRecord>,
    invoices: Vec<tollbooth::event::InvoiceRecord>,
    checkout: Vec<String>,
    jobs: BTreeSet<(String, String, String)>,
}

fn snapshot(e: &Engine, customers: &[usize]) -> Snapshot {
    let now = T0 + 50_000_000;
    let mut s = Snapshot {
        access: vec![],
        subscriptions: vec![],
        invoices: vec![],
        checkout: vec![],
        jobs: BTreeSet::new(),
    };
    for n in customers {
        let cus = format!("cus_{n}");
        let a = e.access(&cus, now).unwrap();
        let mid = e
            .access(&cus, T0 + (*n as i64) * 10_000 + 2_592_000 + 50)
            .unwrap();
        s.access.push(format!("{a:?} {mid:?}"));
        let subs = e.subscriptions(&cus).unwrap();
        s.subscriptions.extend(subs.into_iter().map(|v| v.record));
        s.invoices.extend(e.invoices(&cus).unwrap());
        s.checkout.push(format!(
            "{:?}",
            e.checkout_status(&format!("cs_{n}")).unwrap()
        ));
    }
    let jobs = e
        .jobs(&JobFilter {
            limit: Some(10_000),
            ..JobFilter::default()
        })
        .unwrap();
    s.jobs = jobs
        .into_iter()
        .map(|j| (j.kind, j.key, j.payload))
        .collect();
    s
}

/// Events in all the histories (the permutation's length).
const EVENTS: usize = 56;

/// Customer `n`'s charge, refunds and dispute: a charge, a partial refund (and a second one
/// for odd `n`), a dispute created, updated (odd `n`) and closed (won for even `n`).
fn money_history(n: usize, shape: Shape) -> Vec<(String, i64, Vec<u8>)> {
    let t = T0 + (n as i64) * 10_000 + 4;
    let (cus, ch, pi, dp) = (
        format!("cus_{n}"),
        format!("ch_{n}"),
        format!("pi_{n}"),
        format!("dp_{n}"),
    );
    let charge = json!({"id": ch, "object": "charge", "customer": cus, "amount": 2900,
        "amount_refunded": 0, "currency": "usd", "refunded": false, "payment_intent": pi});
    let refund = |id: &str, amount: i64| -> Value {
        json!({"id": id, "object": "refund", "amount": amount, "charge": ch, "currency": "usd",
            "payment_intent": pi, "reason": "requested_by_customer", "status": "succeeded"})
    };
    let dispute = |status: &str| -> Value {
        json!({"id": dp, "object": "dispute", "amount": 2900, "charge": ch, "currency": "usd",
            "payment_intent": pi, "reason": "fraudulent", "status": status})
    };
    let mut out = vec![
        ("ch", "charge.succeeded", charge),
        ("re_a", "refund.created", refund(&format!("re_{n}_a"), 500)),
        ("dc", "charge.dispute.created", dispute("needs_response")),
    ];
    if n % 2 == 1 {
        out.push(("re_b", "refund.created", refund(&format!("re_{n}_b"), 700)));
        out.push(("du", "charge.dispute.updated", dispute("under_review")));
    }
    let outcome = if n % 2 == 0 { "won" } else { "lost" };
    out.push(("dx", "charge.dispute.closed", dispute(outcome)));
    out.into_iter()
        .enumerate()
        .map(|(i, (name, kind, obj))| {
            let id = format!("evt_{n}_{name}");
            let created = t + i as i64;
            let body = event_shaped(&id, kind, created, obj, shape);
            (id, created, body)
        })
        .collect()
}

/// Customer `n`'s whole history: the subscription's and the money's.
fn full_history(n: usize, shape: Shape) -> Vec<(String, i64, Vec<u8>)> {
    let mut h = history(n, shape);
    h.extend(money_history(n, shape));
    h
}

fn in_order(customers: &[usize], shape: Shape) -> Snapshot {
    let e = engine();
    let mut all: Vec<_> = customers
        .iter()
        .flat_map(|n| full_history(*n, shape))
        .collect();
    all.sort_by_key(|(_, created, _)| *created);
    for (_, created, body) in &all {
        deliver(&e, body, *created).unwrap();
    }
    snapshot(&e, customers)
}

/// One case on one backend: deliver in `order`, each event `copies` times.
fn check(b: &Backend, basil: bool, order: &[usize], copies: &[usize]) -> Result<(), TestCaseError> {
    let shape = if basil { Shape::Basil } else { Shape::Legacy };
    let customers = [1usize, 2, 3, 4];
    let expected = in_order(&customers, shape);
    let all: Vec<_> = customers
        .iter()
        .flat_map(|n| full_history(*n, shape))
        .collect();
    prop_assert_eq!(all.len(), EVENTS);
    let e = b.engine();
    let mut processed = 0;
    for i in order.iter().copied().filter(|i| *i < all.len()) {
        let (_, created, body) = &all[i];
        for _ in 0..copies[i] {
            let h = deliver(&e, body, *created).unwrap();
            if h.outcome != tollbooth::Outcome::Duplicate {
                processed += 1;
            }
        }
    }
    prop_assert_eq!(
        processed,
        all.len(),
        "{}: each event id is processed exactly once",
        b.name
    );
    prop_assert_eq!(snapshot(&e, &customers), expected, "{}", b.name);
    Ok(())
}

/// The same property when deliveries are group-committed: the shuffled deliveries are cut
/// into batches of `size`, each written as one transaction (in the shuffled order inside it).
fn check_batched(
    b: &Backend,
    basil: bool,
    order: &[usize],
    copies: &[usize],
    size: usize,
) -> Result<(), TestCaseError> {
    let shape = if basil { Shape::Basil } else { Shape::Legacy };
    let customers = [1usize, 2, 3, 4];
    let expected = in_order(&customers, shape);
    let all: Vec<_> = customers
        .iter()
        .flat_map(|n| full_history(*n, shape))
        .collect();
    let deliveries: Vec<(Vec<u8>, i64)> = order
        .iter()
        .copied()
        .filter(|i| *i < all.len())
        .flat_map(|i| std::iter::repeat_n((all[i].2.clone(), all[i].1), copies[i]))
        .collect();
    let e = b.engine();
    let mut processed = 0;
    for batch in deliveries.chunks(size) {
        for h in deliver_in_one_batch(&e, batch) {
            if h.unwrap().outcome != tollbooth::Outcome::Duplicate {
                processed += 1;
            }
        }
    }
    prop_assert_eq!(
        processed,
        all.len(),
        "{}: each event id processed exactly once",
        b.name
    );
    let f = e.commit_figures();
    prop_assert!(f.batches < f.deliveries, "{}: batched: {:?}", b.name, f);
    prop_assert_eq!(snapshot(&e, &customers), expected, "{}", b.name);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn group_committed_in_any_order_and_batch_size_gives_the_in_order_state(
        basil in any::<bool>(),
        order in Just((0..EVENTS).collect::<Vec<_>>()).prop_shuffle(),
        copies in proptest::collection::vec(1..=2usize, EVENTS),
        size in 2..=16usize,
    ) {
        check_batched(&backends().remove(0), basil, &order, &copies, size)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, .. ProptestConfig::default() })]

    #[test]
    fn on_postgres_group_committed_in_any_order_gives_the_in_order_state(
        basil in any::<bool>(),
        order in Just((0..EVENTS).collect::<Vec<_>>()).prop_shuffle(),
        copies in proptest::collection::vec(1..=2usize, EVENTS),
        size in 2..=16usize,
    ) {
        if let Some(b) = backends().into_iter().find(Backend::is_postgres) {
            check_batched(&b, basil, &order, &copies, size)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn any_order_and_any_redelivery_gives_the_in_order_state(
        basil in any::<bool>(),
        order in Just((0..EVENTS).collect::<Vec<_>>()).prop_shuffle(),
        copies in proptest::collection::vec(1..=3usize, EVENTS),
    ) {
        check(&backends().remove(0), basil, &order, &copies)?;
    }
}

proptest! {
    // A network round trip per statement: fewer cases, same property, compared with the
    // in-order state computed on SQLite.
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn on_postgres_any_order_and_any_redelivery_gives_the_in_order_state(
        basil in any::<bool>(),
        order in Just((0..EVENTS).collect::<Vec<_>>()).prop_shuffle(),
        copies in proptest::collection::vec(1..=3usize, EVENTS),
    ) {
        if let Some(b) = backends().into_iter().find(Backend::is_postgres) {
            check(&b, basil, &order, &copies)?;
        }
    }
}

/// The in-order outbox the property compares against holds the money tickets, each with its
/// customer (so the property also covers adopting a ticket written before its charge).
#[test]
fn the_in_order_outbox_has_every_refund_and_dispute_ticket_with_its_customer() {
    let s = in_order(&[1, 2, 3, 4], Shape::Basil);
    let count = |kind: &str, prefix: &str| {
        s.jobs
            .iter()
            .filter(|(k, key, _)| k == kind && key.starts_with(prefix))
            .count()
    };
    assert_eq!(count("support.open_ticket", "refund:re_"), 6);
    assert_eq!(count("support.open_ticket", "dispute:"), 4);
    assert_eq!(count("support.update_ticket", "dispute:"), 2);
    assert_eq!(count("support.close_ticket", "dispute:"), 4);
    for (kind, key, payload) in &s.jobs {
        if key.starts_with("refund:re_") || key.starts_with("dispute:") {
            let p: Value = serde_json::from_str(payload).unwrap();
            assert!(p["customer_id"].is_string(), "{kind} {key}: {payload}");
            assert_eq!(p["currency"], "usd");
        }
    }
}

/// The one-time purchase, seats and entitlements story of tests/fixtures/billing_model.
fn billing_model_story(version: &str) -> Vec<(i64, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/billing_model")
        .join(version);
    let mut all: Vec<(i64, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|f| {
            let body = std::fs::read(f.unwrap().path()).unwrap();
            (tollbooth::event::parse_event(&body).unwrap().created, body)
        })
        .collect();
    all.sort();
    all
}

/// Everything observable about the purchase, items, features and catalog of the story.
fn billing_model_state(e: &Engine) -> Vec<String> {
    let customer = "cus_Tb2Buyer";
    let jobs = e
        .jobs(&JobFilter {
            limit: Some(1_000),
            ..JobFilter::default()
        })
        .unwrap()
        .into_iter()
        // A revocation carries the purchase as known when the refund met it: the key is
        // the fact; every other job's payload must match too.
        .map(|j| match j.kind.as_str() {
            "portal.access_revoked" => format!("{} {}", j.kind, j.key),
            _ => format!("{} {} {}", j.kind, j.key, j.payload),
        })
        .collect::<BTreeSet<_>>();
    vec![
        format!("{:?}", e.access_for_user("user_77", T0 + 1).unwrap()),
        format!("{:?}", e.access(customer, 1_900_000_000).unwrap()),
        format!("{:?}", e.purchases(customer).unwrap()),
        format!("{:?}", e.features("user_77").unwrap()),
        format!("{:?}", e.subscriptions(customer).unwrap()),
        format!("{:?}", e.catalog(None).unwrap()),
        format!("{jobs:?}"),
    ]
}

fn billing_model_engine(b: &Backend) -> Engine {
    let mut c = b.config();
    c.purchase_grants = tollbooth::PurchaseGrant::parse_list("price_Tb2Lifetime").unwrap();
    Engine::open(c).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// Purchases (checkout, intent, charges, refund), entitlement summaries and catalog
    /// events in any order, each delivered 1–3 times, end in the in-order state.
    #[test]
    fn purchase_and_entitlement_order_does_not_change_the_final_state(
        version in proptest::sample::select(vec![
            "2024-06-20", "2025-03-31.basil", "2025-09-30.clover", "2026-07-29.dahlia",
        ]),
        order in Just((0..8usize).collect::<Vec<_>>()).prop_shuffle(),
        copies in proptest::collection::vec(1..=3usize, 8),
    ) {
        let story = billing_model_story(version);
        prop_assert_eq!(story.len(), 8);
        let b = backends().remove(0);
        let expected = billing_model_engine(&b);
        for (created, body) in &story {
            deliver(&expected, body, *created).unwrap();
        }
        let e = billing_model_engine(&b);
        for i in order {
            let (created, body) = &story[i];
            for _ in 0..copies[i] {
                deliver(&e, body, *created).unwrap();
            }
        }
        prop_assert_eq!(billing_model_state(&e), billing_model_state(&expected));
    }
}
