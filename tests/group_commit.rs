//! Group commit: concurrent deliveries share one write transaction (a failed one is left out
//! and the batch written again). On every backend: a fault inside a batch fails only that delivery, the same
//! event twice in one batch is processed once, two deliveries for one object in one batch
//! behave as if sequential (in either order), and 16 threads on one engine converge to the
//! in-order state in fewer transactions than deliveries.

mod common;

use common::*;
use tollbooth::engine::{CommitFigures, FaultPoint};
use tollbooth::{ErrorCode, Outcome};

/// Delivery `n` of an invoice event: `(kind, invoice status)`, ids tagged with `tag`.
fn invoice_event(n: usize, kind: &str, status: &str, tag: &str) -> (Vec<u8>, i64) {
    let t = T0 + n as i64;
    let body = event(
        &format!("evt_{tag}_{n}"),
        kind,
        t,
        invoice(
            &format!("in_{}{n}", &tag[..1]),
            &format!("cus_{n}"),
            &format!("sub_{n}"),
            status,
            1,
            t,
            Shape::Basil,
        ),
    );
    (body, t)
}

/// A failed payment (opens a ticket job): `evt_batch_<n>`, invoice `in_b<n>`.
fn failed_payment(n: usize) -> (Vec<u8>, i64) {
    invoice_event(n, "invoice.payment_failed", "open", "batch")
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

/// A paid invoice, first attempt (no job): `evt_paid_<n>`, invoice `in_p<n>`.
fn paid(n: usize) -> (Vec<u8>, i64) {
    invoice_event(n, "invoice.paid", "paid", "paid")
}

#[test]
fn a_failing_deferred_write_fails_only_its_delivery() {
    // On PostgreSQL the delivery-log row is a deferred (write-behind) statement: it reaches
    // the server with the next delivery's first read, or with COMMIT. A trigger refusing one
    // delivery's row must fail that delivery and no other, whichever statement carried the
    // failure (the batch is then written again one delivery per transaction; its `failed`
    // row, written with a later transaction, passes).
    for b in backends().into_iter().filter(|b| b.is_postgres()) {
        let db = b.fresh_db();
        let e = engine_at(&db);
        b.execute(
            &db,
            "CREATE FUNCTION refuse_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               IF NEW.event_id = 'evt_batch_3' AND NEW.outcome = 'processed' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF; \
               RETURN NEW; END $$; \
             CREATE TRIGGER refuse_log BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION refuse_log()",
        );
        let batch: Vec<_> = (0..8).map(failed_payment).collect();
        let results = deliver_in_one_batch(&e, &batch);
        assert_eq!(
            e.commit_figures().batches,
            1,
            "one transaction held all eight"
        );
        for (i, r) in results.iter().enumerate() {
            if i == 3 {
                let err = r.as_ref().unwrap_err();
                assert_eq!(err.code(), ErrorCode::StoreError, "{err}");
            } else {
                assert_eq!(r.as_ref().unwrap().outcome, Outcome::Processed, "{i}");
            }
        }
        let count = |sql: &str| b.count(&db, sql);
        assert_eq!(count("SELECT count(*) FROM events"), 7);
        assert_eq!(count("SELECT count(*) FROM invoices WHERE id = 'in_b3'"), 0);
        assert_eq!(count("SELECT count(*) FROM jobs"), 7);
        assert_eq!(
            count("SELECT count(*) FROM deliveries WHERE outcome = 'processed'"),
            7
        );
        // Alone: the deferred row fails with COMMIT, the transaction rolls
        // back, and the connection serves the next delivery.
        let (body, t) = &batch[3];
        assert_eq!(
            deliver(&e, body, *t).unwrap_err().code(),
            ErrorCode::StoreError
        );
        assert_eq!(count("SELECT count(*) FROM events"), 7);
        let (body, t) = failed_payment(9);
        assert_eq!(deliver(&e, &body, t).unwrap().outcome, Outcome::Processed);
        assert_eq!(count("SELECT count(*) FROM events"), 8);
    }
}

#[test]
fn round_trips_per_delivery_on_postgres() {
    // Deterministic where timings are not: the network cost of one delivery, alone and in
    // a batch of eight, printed and held to the write-behind's and the read-ahead's figures
    // (before both: 9.5 and 8.75 for the two types alternating). Alone: the duplicate read,
    // the read-ahead (the stored event, its invoice and a reserved job id, carrying BEGIN),
    // COMMIT with the deferred writes. In a batch: the duplicate read, and 1/8 of the
    // read-ahead and of COMMIT with every write.
    for b in backends().into_iter().filter(|b| b.is_postgres()) {
        for (name, make, alone_max, batched_max) in [
            (
                "invoice.paid",
                paid as fn(usize) -> (Vec<u8>, i64),
                3.0,
                1.25,
            ),
            ("invoice.payment_failed", failed_payment, 3.0, 1.25),
        ] {
            let e = engine_at(&b.fresh_db());
            // Warm: the pool's connection and the first transaction's extras.
            deliver(&e, &make(100).0, make(100).1).unwrap();
            let before = e.store_round_trips();
            for n in 0..4 {
                let (body, t) = make(n);
                deliver(&e, &body, t).unwrap();
            }
            let alone = (e.store_round_trips() - before) as f64 / 4.0;
            let before = e.store_round_trips();
            let batch: Vec<_> = (10..18).map(make).collect();
            for r in deliver_in_one_batch(&e, &batch) {
                assert_eq!(r.unwrap().outcome, Outcome::Processed);
            }
            let batched = (e.store_round_trips() - before) as f64 / 8.0;
            println!("{name}: {alone:.2} round trips alone, {batched:.2} in a batch of 8");
            assert!(alone <= alone_max, "{name} alone: {alone}");
            assert!(batched <= batched_max, "{name} batched: {batched}");
        }
    }
}

#[test]
fn a_duplicate_of_an_event_stored_lately_is_answered_without_a_store_read() {
    // The engine remembers the ids it stored for an hour (`engine/recent.rs`): a duplicate
    // within it costs no round trip; after it, the store is asked again, and still says
    // duplicate. A delivery that failed is not remembered: its redelivery is processed.
    for b in backends().into_iter().filter(|b| b.is_postgres()) {
        let e = engine_at(&b.fresh_db());
        let (body, t) = paid(1);
        assert_eq!(deliver(&e, &body, t).unwrap().outcome, Outcome::Processed);
        let before = e.store_round_trips();
        assert_eq!(
            deliver(&e, &body, t + 5).unwrap().outcome,
            Outcome::Duplicate
        );
        assert_eq!(e.store_round_trips(), before, "answered from memory");
        // Another delivery an hour later first: its write also flushes the log row the
        // duplicate above buffered, which would otherwise be a round trip of its own below.
        let (other, _) = paid(3);
        let fresh = deliver(&e, &other, t + 3_600).unwrap();
        assert_eq!(fresh.outcome, Outcome::Processed);
        let before = e.store_round_trips();
        let later = deliver(&e, &body, t + 3_600).unwrap();
        assert_eq!(later.outcome, Outcome::Duplicate);
        assert_eq!(
            e.store_round_trips(),
            before + 1,
            "an hour later the store is read"
        );

        let (body, t) = paid(2);
        e.set_fault_point(Some(FaultPoint::BeforeCommit));
        assert!(deliver(&e, &body, t).is_err());
        e.set_fault_point(None);
        assert_eq!(deliver(&e, &body, t).unwrap().outcome, Outcome::Processed);
    }
}

#[test]
fn a_batch_reads_ahead_each_event_and_the_row_its_object_is_compared_with() {
    let bodies = [
        event(
            "evt_i",
            "invoice.paid",
            T0,
            invoice("in_1", "cus_1", "sub_1", "paid", 1, T0, Shape::Basil),
        ),
        event(
            "evt_s",
            "customer.subscription.updated",
            T0,
            subscription("sub_2", "cus_2", "active", T0 + 86_400, Shape::Basil),
        ),
        event(
            "evt_c",
            "customer.updated",
            T0,
            customer("cus_3", "c@example.com"),
        ),
        event(
            "evt_k",
            "checkout.session.completed",
            T0,
            checkout("cs_1", "cus_4", "user_4", "sub_4", "complete", "paid"),
        ),
    ];
    let events: Vec<_> = bodies
        .iter()
        .map(|b| tollbooth::event::parse_event(b).unwrap())
        .collect();
    let p = tollbooth::store::Prefetch::of(&events);
    assert_eq!(p.event_ids, ["evt_i", "evt_s", "evt_c", "evt_k"]);
    assert_eq!(p.invoices, ["in_1"]);
    assert_eq!(p.subscriptions, ["sub_2"]);
    // A checkout session is read as before, one at a time.
    assert_eq!(p.customers, ["cus_3"]);
}

#[test]
fn a_job_whose_key_exists_is_not_enqueued_again_inside_a_batch_or_alone() {
    // Three events (three ids) for the same failed attempt of one invoice: one ticket. The
    // first is stored before; the other two share a batch with four other failures. On
    // PostgreSQL a batch inserts its jobs with ids reserved ahead, so an existing key fails
    // the batch and it is written again one delivery per transaction: the answers must be
    // the ones a delivery alone gets.
    let same_attempt = |evt: &str| {
        let body = event(
            evt,
            "invoice.payment_failed",
            T0,
            invoice("in_1", "cus_1", "sub_1", "open", 1, T0, Shape::Basil),
        );
        (body, T0)
    };
    for b in backends() {
        let db = b.fresh_db();
        let e = engine_at(&db);
        let (first, t) = same_attempt("evt_a");
        assert_eq!(deliver(&e, &first, t).unwrap().jobs.len(), 1, "{}", b.name);
        let mut batch: Vec<_> = (0..4).map(failed_payment).collect();
        batch.insert(1, same_attempt("evt_b"));
        batch.push(same_attempt("evt_c"));
        let results = deliver_in_one_batch(&e, &batch);
        let mut ids = Vec::new();
        for (i, r) in results.into_iter().enumerate() {
            let h = r.unwrap_or_else(|e| panic!("{} delivery {i}: {e}", b.name));
            let repeat = i == 1 || i == 5;
            assert_eq!(
                h.jobs.len(),
                usize::from(!repeat),
                "{} delivery {i}: {:?}",
                b.name,
                h.jobs
            );
            ids.extend(h.jobs.iter().map(|j| j.id));
        }
        // Alone too: a lone delivery reads ahead as well (reserving a job id), fails on the
        // existing key, and is written again without the read-ahead.
        let (again, t) = same_attempt("evt_d");
        let h = deliver(&e, &again, t).unwrap_or_else(|e| panic!("{} alone: {e}", b.name));
        assert_eq!(h.outcome, Outcome::Processed, "{}", b.name);
        assert!(h.jobs.is_empty(), "{}: {:?}", b.name, h.jobs);
        let count = |sql: &str| b.count(&db, sql);
        assert_eq!(count("SELECT count(*) FROM jobs"), 5, "{}", b.name);
        for id in ids {
            assert_eq!(
                count(&format!("SELECT count(*) FROM jobs WHERE id = {id}")),
                1,
                "{}: the job id answered is the stored one",
                b.name
            );
        }
    }
}
