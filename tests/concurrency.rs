//! The same events delivered concurrently — from 8 threads, and from 4 separate processes on
//! one database — are processed exactly once, and the final state equals the in-order one. On
//! every backend: SQLite, PostgreSQL, and PostgreSQL through PgBouncer in transaction mode.

mod common;

use std::process::Command;
use std::sync::{Arc, Barrier};

use common::*;
use tollbooth::Outcome;

const CUSTOMERS: usize = 12;

fn oracle() -> Vec<String> {
    let e = engine();
    for (_, created, body) in many_histories(CUSTOMERS) {
        deliver(&e, &body, created).unwrap();
    }
    state_digest(&e, CUSTOMERS)
}

#[test]
fn one_event_from_eight_threads_is_processed_once() {
    for b in with_pooler() {
        one_event_from_eight_threads(&b);
    }
}

fn one_event_from_eight_threads(b: &Backend) {
    let e = Arc::new(engine_at(&b.fresh_db()));
    let body = Arc::new(event(
        "evt_once",
        "invoice.payment_failed",
        T0,
        invoice("in_1", "cus_1", "sub_1", "open", 1, T0, Shape::Basil),
    ));
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (e, body, barrier) = (e.clone(), body.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                deliver(&e, &body, T0).unwrap().outcome
            })
        })
        .collect();
    let outcomes: Vec<Outcome> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Outcome::Processed)
            .count(),
        1,
        "{}: {outcomes:?}",
        b.name
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Outcome::Duplicate)
            .count(),
        7
    );
    assert_eq!(e.jobs(&Default::default()).unwrap().len(), 1);
}

#[test]
fn eight_threads_with_their_own_connections_converge() {
    for b in with_pooler() {
        eight_threads_converge(&b);
    }
}

fn eight_threads_converge(b: &Backend) {
    let path = b.fresh_db();
    drop(engine_at(&path)); // create + migrate once
    let events = Arc::new(many_histories(CUSTOMERS));
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8u64)
        .map(|t| {
            let (events, barrier, path) = (events.clone(), barrier.clone(), path.clone());
            std::thread::spawn(move || {
                let e = engine_at(&path);
                let mut order: Vec<usize> = (0..events.len()).collect();
                Rng(t + 1).shuffle(&mut order);
                barrier.wait();
                order
                    .into_iter()
                    .filter(|i| {
                        deliver(&e, &events[*i].2, events[*i].1).unwrap().outcome
                            != Outcome::Duplicate
                    })
                    .count()
            })
        })
        .collect();
    let firsts: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(
        firsts,
        events.len(),
        "{}: every event id processed exactly once across threads",
        b.name
    );
    assert_eq!(
        state_digest(&engine_at(&path), CUSTOMERS),
        oracle(),
        "{}",
        b.name
    );
}

#[test]
fn four_processes_on_one_database_process_each_event_once() {
    for b in with_pooler() {
        four_processes(&b);
    }
}

fn four_processes(b: &Backend) {
    let path2 = &b.fresh_db();
    drop(engine_at(path2));
    let running: Vec<_> = (0..4)
        .map(|i| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--ignored",
                    "--exact",
                    "child_delivers_everything",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("TB_CHILD_DB", path2)
                .env("TB_CHILD_SEED", (i + 1).to_string())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut firsts = 0;
    for child in running {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        firsts += text
            .lines()
            .filter_map(|l| l.strip_prefix("FIRSTS "))
            .map(|n| n.parse::<usize>().unwrap())
            .sum::<usize>();
    }
    let total = many_histories(CUSTOMERS).len();
    assert_eq!(
        firsts, total,
        "{}: every event id processed exactly once across 4 processes",
        b.name
    );
    assert_eq!(
        state_digest(&engine_at(path2), CUSTOMERS),
        oracle(),
        "{}",
        b.name
    );
}

/// Child-process entry for the multi-process test (run only by the parent, via --ignored).
#[test]
#[ignore = "child process entry; run by four_processes_on_one_database_process_each_event_once"]
fn child_delivers_everything() {
    let Ok(path) = std::env::var("TB_CHILD_DB") else {
        return;
    };
    let seed: u64 = std::env::var("TB_CHILD_SEED").unwrap().parse().unwrap();
    let e = engine_at(&path);
    let events = many_histories(CUSTOMERS);
    let mut order: Vec<usize> = (0..events.len()).collect();
    Rng(seed).shuffle(&mut order);
    let firsts = order
        .into_iter()
        .filter(|i| deliver(&e, &events[*i].2, events[*i].1).unwrap().outcome != Outcome::Duplicate)
        .count();
    println!("\nFIRSTS {firsts}");
}
