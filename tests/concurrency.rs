//! The same events delivered concurrently — from 8 threads, and from 4 separate processes on
//! one database file — are processed exactly once, and the final state equals the in-order one.

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
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let e = Arc::new(engine_at(path.to_str().unwrap()));
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
        "{outcomes:?}"
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
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let path = path.to_str().unwrap().to_owned();
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
        "every event id processed exactly once across threads"
    );
    assert_eq!(state_digest(&engine_at(&path), CUSTOMERS), oracle());
}

#[test]
fn four_processes_on_one_file_process_each_event_once() {
    let dir2 = tempfile::tempdir().unwrap();
    let path2 = dir2.path().join("p2.db");
    let path2 = path2.to_str().unwrap();
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
        "every event id processed exactly once across 4 processes"
    );
    assert_eq!(state_digest(&engine_at(path2), CUSTOMERS), oracle());
}

/// Child-process entry for the multi-process test (run only by the parent, via --ignored).
#[test]
#[ignore = "child process entry; run by four_processes_on_one_file_process_each_event_once"]
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
