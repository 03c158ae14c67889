//! Group commit: concurrent deliveries share one write transaction (a failed one is left out
//! and the batch written again). On every backend: a fault inside a batch fails only that delivery, the same
//! event twice in one batch is processed once, two deliveries for one object in one batch
//! behave as if sequential (in either order), and 16 threads on one engine converge to the
//! in-order state in fewer transactions than deliveries.

mod common;

use common::*;
use tollbooth::engine::{CommitFigures, FaultPoint};
use tollbooth::{ErrorCode, Outcome};

fn failed_payment(n: usize) -> (Vec<u8>, i64) {
    let t = T0 + n as i64;
    let body = event(
        &format!("evt_batch_{n}"),
        "invoice.payment_failed",
        t,
        invoice(
            &format!("in_b{n}"),
            &format!("cus_{n}"),
            &format!("sub_{n}"),
            "open",
            1,
            t,
            Shape::Basil,
        ),
    );
    (body, t)
}

#[test]
fn a_fault_inside_a_batch_fails_only_that_delivery() {
    for b in backends() {
        for point in FaultPoint::ALL {
            let db = b.fresh_db();
            let e = engine_at(&db);
            let batch: Vec<_> = (0..8).map(failed_payment).collect();
            e.set_fault_for_event(point, "evt_batch_3");
            let results = deliver_in_one_batch(&e, &batch);
            assert_eq!(
                e.commit_figures(),
                CommitFigures {
                    batches: 1,
                    deliveries: 8
                },
                "{}: one transaction held all eight",
                b.name
            );
            for (i, r) in results.iter().enumerate() {
                if i == 3 {
                    let err = r.as_ref().unwrap_err();
                    assert_eq!(err.code(), ErrorCode::StoreError, "{} {point:?}", b.name);
                    assert!(err.message().contains("injected"), "{}: {err}", b.name);
                } else {
                    assert_eq!(
                        r.as_ref().unwrap().outcome,
                        Outcome::Processed,
                        "{} {point:?}: delivery {i} unaffected",
                        b.name
                    );
                }
            }
            let count = |sql: &str| b.count(&db, sql);
            assert_eq!(count("SELECT count(*) FROM events"), 7, "{}", b.name);
            assert_eq!(
                count("SELECT count(*) FROM events WHERE id = 'evt_batch_3'"),
                0
            );
            assert_eq!(
                count("SELECT count(*) FROM invoices WHERE id = 'in_b3'"),
                0,
                "{} {point:?}: nothing of the failed delivery survived (the batch was written again without it)",
                b.name
            );
            assert_eq!(
                count("SELECT count(*) FROM jobs WHERE event_id = 'evt_batch_3'"),
                0
            );
            assert_eq!(count("SELECT count(*) FROM jobs"), 7);
            // Stripe retries it: processed normally once the fault clears.
            e.set_fault_point(None);
            let (body, t) = &batch[3];
            assert_eq!(deliver(&e, body, *t).unwrap().outcome, Outcome::Processed);
            assert_eq!(count("SELECT count(*) FROM events"), 8);
        }
    }
}

#[test]
fn the_same_event_twice_in_one_batch_is_processed_once() {
    for b in backends() {
        let e = b.engine();
        let one = failed_payment(1);
        let results = deliver_in_one_batch(&e, &[one.clone(), failed_payment(2), one]);
        let outcomes: Vec<_> = results.into_iter().map(|r| r.unwrap().outcome).collect();
        assert_eq!(
            outcomes,
            [Outcome::Processed, Outcome::Processed, Outcome::Duplicate],
            "{}",
            b.name
        );
        assert_eq!(e.commit_figures().batches, 1, "{}", b.name);
        assert_eq!(e.jobs(&Default::default()).unwrap().len(), 2, "{}", b.name);
    }
}

#[test]
fn two_deliveries_for_one_object_in_one_batch_behave_as_sequential() {
    let older = event(
        "evt_old",
        "invoice.payment_failed",
        T0,
        invoice("in_1", "cus_1", "sub_1", "open", 1, T0, Shape::Basil),
    );
    let newer = event(
        "evt_new",
        "invoice.paid",
        T0 + 10,
        invoice("in_1", "cus_1", "sub_1", "paid", 2, T0, Shape::Basil),
    );
    for b in backends() {
        for newer_first in [false, true] {
            let e = b.engine();
            let (first, second) = if newer_first {
                ((newer.clone(), T0 + 10), (older.clone(), T0))
            } else {
                ((older.clone(), T0), (newer.clone(), T0 + 10))
            };
            let outcomes: Vec<_> = deliver_in_one_batch(&e, &[first, second])
                .into_iter()
                .map(|r| r.unwrap().outcome)
                .collect();
            // Sequentially, the older one arriving second is stale; first it is processed.
            let expected = if newer_first {
                [Outcome::Processed, Outcome::Stale]
            } else {
                [Outcome::Processed, Outcome::Processed]
            };
            assert_eq!(outcomes, expected, "{} newer_first={newer_first}", b.name);
            assert_eq!(e.commit_figures().batches, 1);
            let inv = e.invoices("cus_1").unwrap();
            assert_eq!(inv.len(), 1);
            assert_eq!(
                inv[0].status.as_deref(),
                Some("paid"),
                "{}: the newer state wins",
                b.name
            );
        }
    }
}

#[test]
fn sixteen_threads_on_one_engine_share_transactions_and_converge() {
    const CUSTOMERS: usize = 12;
    let events = many_histories(CUSTOMERS);
    let oracle = {
        let e = engine();
        for (_, created, body) in &events {
            deliver(&e, body, *created).unwrap();
        }
        state_digest(&e, CUSTOMERS)
    };
    for b in backends() {
        let e = engine_at(&b.fresh_db());
        let mut order: Vec<usize> = (0..events.len()).collect();
        Rng(16).shuffle(&mut order);
        let hold = e.hold_commits();
        let firsts: usize = std::thread::scope(|s| {
            let (e, events, order) = (&e, &events, &order);
            let handles: Vec<_> = (0..16)
                .map(|t| {
                    s.spawn(move || {
                        order
                            .iter()
                            .skip(t)
                            .step_by(16)
                            .filter(|i| {
                                let (_, created, body) = &events[**i];
                                deliver(e, body, *created).unwrap().outcome != Outcome::Duplicate
                            })
                            .count()
                    })
                })
                .collect();
            // The first delivery of every thread queues behind the hold: one batch of 16.
            while e.queued_commits() < 16 {
                std::thread::yield_now();
            }
            drop(hold);
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(
            firsts,
            events.len(),
            "{}: each event processed once",
            b.name
        );
        let f = e.commit_figures();
        assert_eq!(f.deliveries, events.len() as u64, "{}", b.name);
        assert!(
            f.batches < f.deliveries,
            "{}: deliveries shared transactions: {f:?}",
            b.name
        );
        assert_eq!(state_digest(&e, CUSTOMERS), oracle, "{}", b.name);
    }
}
