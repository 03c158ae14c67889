//! Property: for any permutation of realistic histories with distinct timestamps, and any
//! 1–3 deliveries of each event, the final state and the outbox equal the in-order result.

mod common;

use std::collections::BTreeSet;

use common::*;
use proptest::prelude::*;
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

fn in_order(customers: &[usize], shape: Shape) -> Snapshot {
    let e = engine();
    let mut all: Vec<_> = customers.iter().flat_map(|n| history(*n, shape)).collect();
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
    let all: Vec<_> = customers.iter().flat_map(|n| history(*n, shape)).collect();
    prop_assert!(all.len() <= 40);
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
    let all: Vec<_> = customers.iter().flat_map(|n| history(*n, shape)).collect();
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
        order in Just((0..40usize).collect::<Vec<_>>()).prop_shuffle(),
        copies in proptest::collection::vec(1..=2usize, 40),
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
        order in Just((0..40usize).collect::<Vec<_>>()).prop_shuffle(),
        copies in proptest::collection::vec(1..=2usize, 40),
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
        order in Just((0..40usize).collect::<Vec<_>>()).prop_shuffle(),
        copies in proptest::collection::vec(1..=3usize, 40),
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
        order in Just((0..40usize).collect::<Vec<_>>()).prop_shuffle(),
        copies in proptest::collection::vec(1..=3usize, 40),
    ) {
        if let Some(b) = backends().into_iter().find(Backend::is_postgres) {
            check(&b, basil, &order, &copies)?;
        }
    }
}
