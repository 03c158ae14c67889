//! Crash safety: a child process ingesting deliveries is killed with SIGKILL at random points,
//! many times. After every kill the database holds no partial delivery (each stored event has
//! its delivery-log row and its jobs, written in the same transaction), and redelivering
//! everything completes to exactly the in-order state.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const CUSTOMERS: usize = 80;
const KILLS: usize = 30;

fn check_no_partial_state(b: &Backend, path: &str) -> usize {
    if !b.is_postgres() {
        let c = rusqlite::Connection::open(path).unwrap();
        let ok: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
    }
    let events = b.count(path, "SELECT count(*) FROM events");
    let unlogged = b.count(
        path,
        "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM deliveries d \
         WHERE d.event_id = e.id AND d.outcome IN ('processed', 'ignored', 'stale'))",
    );
    assert_eq!(
        unlogged, 0,
        "an event without its delivery row: half a transaction survived"
    );
    let orphan_jobs = b.count(
        path,
        "SELECT count(*) FROM jobs j WHERE j.event_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = j.event_id)",
    );
    assert_eq!(orphan_jobs, 0, "a job whose event was not committed");
    let missing_tickets = b.count(
        path,
        "SELECT count(*) FROM events e WHERE e.type = 'invoice.payment_failed' AND NOT EXISTS \
         (SELECT 1 FROM jobs j WHERE j.kind = 'support.open_ticket' AND j.key = 'invoice:' || e.object_id || ':attempt:1')",
    );
    assert_eq!(
        missing_tickets, 0,
        "a stored failed payment without its ticket job"
    );
    events as usize
}

#[test]
fn sigkill_at_random_points_leaves_nothing_partial_and_redelivery_completes() {
    for b in backends() {
        sigkill_on(&b);
    }
}

fn sigkill_on(b: &Backend) {
    let path = &b.fresh_db();
    drop(engine_at(path));
    let total = many_histories(CUSTOMERS).len();
    let mut rng = Rng(0x5eed_cafe);
    let mut stored_after_kills = Vec::new();
    for round in 0..KILLS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "child_ingests_until_killed",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TB_CRASH_DB", path)
            .env("TB_CRASH_SEED", (round + 1).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the child is ingesting, then kill it at a random point of the run.
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("READY") {
            line.clear();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "child exited before READY"
            );
        }
        std::thread::sleep(Duration::from_micros(rng.below(40_000)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        stored_after_kills.push(check_no_partial_state(b, path));
    }
    eprintln!(
        "{}: events stored after each of {KILLS} kills: {stored_after_kills:?} (of {total})",
        b.name
    );
    assert!(
        stored_after_kills.iter().any(|n| *n > 0 && *n < total),
        "no kill landed mid-ingestion"
    );
    // Stripe redelivers everything: the store converges to the in-order state.
    let e = engine_at(path);
    let mut firsts = 0;
    for (_, created, body) in many_histories(CUSTOMERS) {
        if deliver(&e, &body, created).unwrap().outcome != tollbooth::Outcome::Duplicate {
            firsts += 1;
        }
    }
    assert_eq!(firsts + stored_after_kills.last().copied().unwrap(), total);
    check_no_partial_state(b, path);
    let oracle = engine();
    for (_, created, body) in many_histories(CUSTOMERS) {
        deliver(&oracle, &body, created).unwrap();
    }
    assert_eq!(
        state_digest(&e, CUSTOMERS),
        state_digest(&oracle, CUSTOMERS)
    );
}

#[test]
fn sigkill_mid_batch_keeps_every_acknowledged_delivery_and_nothing_partial() {
    for b in backends() {
        sigkill_mid_batch(&b);
    }
}

/// A child delivers from 8 threads on one engine (group-committed batches) and prints an
/// `ACK` line for each delivery the engine answered; it is killed at a random point. Every
/// acknowledged delivery must be stored, and every other one absent or complete.
fn sigkill_mid_batch(b: &Backend) {
    const ROUNDS: usize = 10;
    let path = &b.fresh_db();
    drop(engine_at(path));
    let mut rng = Rng(0xba7c_4ed5);
    let mut acked_total = 0;
    let mut shared = false;
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "child_ingests_in_batches_until_killed",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TB_CRASH_DB", path)
            .env("TB_CRASH_SEED", (round + 1).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("READY") {
            line.clear();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "child exited before READY"
            );
        }
        // Kill after a random number of acknowledgements (and a random few microseconds),
        // so the kill lands inside a batch of a run that is under way on any machine.
        let mut seen = Vec::new();
        for _ in 0..rng.below(40) {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                break;
            }
            seen.push(line.trim().to_owned());
        }
        std::thread::sleep(Duration::from_micros(rng.below(5_000)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Everything the child printed before it died: the deliveries it acknowledged.
        let mut acked = Vec::new();
        for l in seen.into_iter().chain(out.lines().map(Result::unwrap)) {
            let mut f = l.split_whitespace();
            if f.next() == Some("ACK") {
                acked.push(f.next().unwrap().to_owned());
                let batches: u64 = f.next().unwrap().parse().unwrap();
                let deliveries: u64 = f.next().unwrap().parse().unwrap();
                shared |= batches < deliveries;
            }
        }
        for id in &acked {
            assert_eq!(
                b.count(
                    path,
                    &format!("SELECT count(*) FROM events WHERE id = '{id}'")
                ),
                1,
                "{}: acknowledged delivery {id} is not stored",
                b.name
            );
        }
        acked_total += acked.len();
        check_no_partial_state(b, path);
    }
    assert!(
        acked_total > 0,
        "{}: no delivery acknowledged before a kill",
        b.name
    );
    assert!(
        shared,
        "{}: no transaction held more than one delivery",
        b.name
    );
}

/// Child-process entry: delivers shuffled deliveries from 8 threads on one engine, printing
/// `ACK <event id> <batches> <deliveries>` once each is answered, until killed (or done).
#[test]
#[ignore = "child process entry; run by sigkill_mid_batch_keeps_every_acknowledged_delivery_and_nothing_partial"]
fn child_ingests_in_batches_until_killed() {
    let Ok(path) = std::env::var("TB_CRASH_DB") else {
        return;
    };
    let seed: u64 = std::env::var("TB_CRASH_SEED").unwrap().parse().unwrap();
    let e = engine_at(&path);
    let events = many_histories(CUSTOMERS);
    let mut order: Vec<usize> = (0..events.len()).collect();
    Rng(seed).shuffle(&mut order);
    // The first delivery of each thread queues behind a hold: the first transaction after
    // READY holds eight deliveries, whatever the machine's speed.
    let hold = e.hold_commits();
    std::thread::scope(|s| {
        for t in 0..8 {
            let (e, events, order) = (&e, &events, &order);
            s.spawn(move || {
                for i in order.iter().skip(t).step_by(8) {
                    let (id, created, body) = &events[*i];
                    deliver(e, body, *created).unwrap();
                    let f = e.commit_figures();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ACK {id} {} {}", f.batches, f.deliveries).unwrap();
                    out.flush().unwrap();
                }
            });
        }
        while e.queued_commits() < 8 {
            std::thread::yield_now();
        }
        println!("\nREADY");
        std::io::stdout().flush().unwrap();
        drop(hold);
    });
}

/// Child-process entry (run only by the parent, via --ignored): ingests shuffled deliveries
/// in a loop until killed.
#[test]
#[ignore = "child process entry; run by sigkill_at_random_points_leaves_nothing_partial_and_redelivery_completes"]
fn child_ingests_until_killed() {
    let Ok(path) = std::env::var("TB_CRASH_DB") else {
        return;
    };
    let seed: u64 = std::env::var("TB_CRASH_SEED").unwrap().parse().unwrap();
    let e = engine_at(&path);
    let events = many_histories(CUSTOMERS);
    let mut order: Vec<usize> = (0..events.len()).collect();
    Rng(seed).shuffle(&mut order);
    println!("\nREADY");
    std::io::stdout().flush().unwrap();
    for i in order {
        deliver(&e, &events[i].2, events[i].1).unwrap();
    }
}
