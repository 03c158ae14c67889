//! The job queue: leases, ordering per customer, retries with backoff, dead-letter and replay,
//! LEASE_LOST, and concurrent claimers (threads and processes) that never share a job.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier, Mutex};

use common::*;
use serde_json::json;
use tollbooth::outbox::{backoff_secs, jitter_for};
use tollbooth::{Engine, ErrorCode, FailOutcome, JobState};

/// Enqueues `n` once-jobs (failed payment tickets) for `customers` customers.
fn seed(e: &Engine, n: usize, customers: usize) {
    for i in 0..n {
        let cus = format!("cus_{}", i % customers);
        let body = event(
            &format!("evt_j{i}"),
            "invoice.payment_failed",
            T0 + i as i64,
            invoice(
                &format!("in_{i}"),
                &cus,
                "sub_1",
                "open",
                1,
                T0,
                Shape::Basil,
            ),
        );
        deliver(e, &body, T0 + i as i64).unwrap();
    }
}

#[test]
fn claim_leases_and_an_expired_lease_returns_the_job() {
    for b in backends() {
        claim_leases_and_an_expired_lease_returns_the_job_on(&b);
    }
}

fn claim_leases_and_an_expired_lease_returns_the_job_on(b: &Backend) {
    let e = b.engine();
    seed(&e, 1, 1);
    let now = T0 + 1_000;
    let first = e.claim(&[], 10, 30, now).unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempt, 1);
    assert!(
        e.claim(&[], 10, 30, now + 29).unwrap().is_empty(),
        "leased jobs are not handed out"
    );
    // The lease ran out: a failed attempt, retried after its backoff, not handed out at once.
    assert!(e.claim(&[], 10, 30, now + 30).unwrap().is_empty());
    let job = e.job(first[0].id).unwrap();
    assert_eq!(job.state, JobState::Due);
    assert!(job.run_at > now + 30);
    assert!(job.last_error.as_deref().unwrap().contains("lease expired"));
    let again = e.claim(&[], 10, 30, job.run_at).unwrap();
    assert_eq!(
        again.len(),
        1,
        "after the backoff the job is claimable again"
    );
    assert_eq!(again[0].attempt, 2);
    // The crashed worker's late completion is refused: another worker holds the job now.
    let err = e
        .complete(first[0].id, first[0].lease_token, now + 31)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::LeaseLost);
    e.complete(again[0].id, again[0].lease_token, job.run_at + 1)
        .unwrap();
    assert_eq!(e.job(again[0].id).unwrap().state, JobState::Done);
    let attempts = e.job_attempts(again[0].id).unwrap();
    assert_eq!(attempts[0].outcome.as_deref(), Some("lease_expired"));
    assert_eq!(attempts[1].outcome.as_deref(), Some("completed"));
}

#[test]
fn a_job_whose_worker_keeps_dying_is_dead_lettered_and_frees_its_queue() {
    for b in backends() {
        a_job_whose_worker_keeps_dying_is_dead_lettered_and_frees_its_queue_on(&b);
    }
}

fn a_job_whose_worker_keeps_dying_is_dead_lettered_and_frees_its_queue_on(b: &Backend) {
    let mut cfg = b.config();
    cfg.max_attempts = 3;
    let e = Engine::open(cfg).unwrap();
    // Two failed payments of one customer: two tickets in its support queue, the second
    // waiting for the first (FIFO).
    seed(&e, 2, 1);
    const K: &[&str] = &["support.open_ticket"];
    let first = e.claim(K, 10, 10, T0 + 1_000).unwrap();
    assert_eq!(first.len(), 1);
    let culprit = first[0].id;
    let mut lease_end = T0 + 1_010;
    // Each claim's worker dies (never completes or fails): the lease runs out every time.
    for attempt in 2..=3 {
        // The next claim ends the expired lease; the other ticket still waits behind it.
        assert!(e.claim(K, 10, 10, lease_end).unwrap().is_empty());
        let job = e.job(culprit).unwrap();
        assert_eq!(job.state, JobState::Due);
        assert!(job.run_at > lease_end, "backoff, not an immediate re-lease");
        let c = e.claim(K, 10, 10, job.run_at).unwrap();
        assert_eq!(
            c.iter().map(|j| (j.id, j.attempt)).collect::<Vec<_>>(),
            [(culprit, attempt)]
        );
        lease_end = job.run_at + 10;
    }
    let now = lease_end;
    // The third lease runs out: out of attempts, dead-lettered (never attempt 4, 10, ...), and
    // the customer's next ticket is free to run.
    let next = e.claim(K, 10, 10, now).unwrap();
    assert_eq!(next.len(), 1);
    assert_ne!(next[0].id, culprit);
    let dead = e.job(culprit).unwrap();
    assert_eq!((dead.state, dead.attempts), (JobState::Dead, 3));
    let attempts = e.job_attempts(culprit).unwrap();
    assert_eq!(attempts.len(), 3);
    assert!(
        attempts
            .iter()
            .all(|a| a.outcome.as_deref() == Some("lease_expired"))
    );
    assert_eq!(e.dead_jobs().unwrap()[0].id, culprit);
    // The alert names the culprit, not the ticket it held up.
    let h = e.health(now).unwrap();
    let a = h
        .alerts
        .iter()
        .find(|a| a.name == "leases_expiring")
        .expect("leases_expiring fires");
    assert!(
        a.message.contains(&format!("job {culprit}")),
        "{}",
        a.message
    );
    assert_eq!(a.kind.as_deref(), Some("support.open_ticket"));
}

#[test]
fn lease_lost_after_expiry_even_without_a_new_claim() {
    for b in backends() {
        lease_lost_after_expiry_even_without_a_new_claim_on(&b);
    }
}

fn lease_lost_after_expiry_even_without_a_new_claim_on(b: &Backend) {
    let e = b.engine();
    seed(&e, 1, 1);
    let j = &e.claim(&[], 1, 10, T0 + 1_000).unwrap()[0];
    assert_eq!(
        e.fail(j.id, j.lease_token, "late", T0 + 1_010)
            .unwrap_err()
            .code(),
        ErrorCode::LeaseLost
    );
    assert_eq!(
        e.complete(j.id, j.lease_token, T0 + 1_011)
            .unwrap_err()
            .code(),
        ErrorCode::LeaseLost
    );
    assert_eq!(
        e.complete(999_999, 1, T0).unwrap_err().code(),
        ErrorCode::JobNotFound
    );
}

#[test]
fn failures_back_off_as_documented_then_dead_letter_then_replay() {
    for b in backends() {
        failures_back_off_as_documented_then_dead_letter_then_replay_on(&b);
    }
}

fn failures_back_off_as_documented_then_dead_letter_then_replay_on(b: &Backend) {
    let mut cfg = b.config();
    cfg.max_attempts = 4;
    let e = Engine::open(cfg).unwrap();
    seed(&e, 1, 1);
    let mut now = T0 + 1_000;
    for attempt in 1..=4u32 {
        let j = e
            .claim(&["support.open_ticket"], 1, 60, now)
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(j.attempt, attempt as i64);
        let out = e
            .fail(
                j.id,
                j.lease_token,
                &format!("helpdesk 503 #{attempt}"),
                now + 1,
            )
            .unwrap();
        if attempt < 4 {
            let expected = now + 1 + backoff_secs(attempt, jitter_for(j.id, attempt));
            assert_eq!(
                out,
                FailOutcome::Scheduled {
                    next_attempt_at: expected
                }
            );
            assert!(
                e.claim(&[], 1, 60, expected - 1).unwrap().is_empty(),
                "not before its time"
            );
            now = expected;
        } else {
            assert_eq!(out, FailOutcome::Dead);
        }
    }
    let dead = e.dead_jobs().unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("helpdesk 503 #4"));
    assert!(
        e.claim(&[], 1, 60, now + 1_000_000).unwrap().is_empty(),
        "dead jobs do not run"
    );
    let id = e.replay(dead[0].id, now + 10).unwrap();
    assert_eq!(id, dead[0].id);
    let j = e.claim(&[], 1, 60, now + 10).unwrap().pop().unwrap();
    assert_eq!(j.attempt, 1, "attempts reset by replay");
    e.complete(j.id, j.lease_token, now + 11).unwrap();
    assert_eq!(
        e.job_attempts(j.id).unwrap().len(),
        5,
        "history kept across the replay"
    );
    assert_eq!(
        e.replay(j.id, now).unwrap_err().code(),
        ErrorCode::JobNotFound,
        "only dead jobs replay"
    );
}

#[test]
fn one_customers_jobs_of_a_kind_run_in_order_and_kinds_are_independent() {
    for b in backends() {
        one_customers_jobs_of_a_kind_run_in_order_and_kinds_are_independent_on(&b);
    }
}

fn one_customers_jobs_of_a_kind_run_in_order_and_kinds_are_independent_on(b: &Backend) {
    let e = b.engine();
    seed(&e, 3, 1); // three tickets for cus_0
    let charge = json!({"id": "ch_9", "object": "charge", "customer": "cus_0", "amount": 5,
        "amount_refunded": 5, "currency": "usd", "refunded": true});
    deliver(&e, &event("evt_ref", "charge.refunded", T0, charge), T0).unwrap();
    deliver(
        &e,
        &event(
            "evt_cus0",
            "customer.created",
            T0,
            customer("cus_0", "z@example.com"),
        ),
        T0,
    )
    .unwrap();
    let now = T0 + 1_000;
    let got = e.claim(&["support.open_ticket"], 10, 60, now).unwrap();
    assert_eq!(got.len(), 1, "only the oldest ticket of cus_0");
    assert_eq!(got[0].key, "invoice:in_0:attempt:1");
    // A failing job in backoff still holds back the newer ones of its customer.
    e.fail(got[0].id, got[0].lease_token, "x", now).unwrap();
    assert!(
        e.claim(&["support.open_ticket"], 10, 60, now + 1)
            .unwrap()
            .is_empty()
    );
    // Another kind for the same customer is not held up.
    let crm = e.claim(&[], 10, 60, now + 1).unwrap();
    assert_eq!(
        crm.len(),
        1,
        "the CRM job of the same customer runs meanwhile"
    );
    assert_eq!(crm[0].kind, "crm.sync_customer");
    let later = now + 10_000;
    let order: Vec<String> = (0..4)
        .map(|_| {
            let j = e.claim(&["support.open_ticket"], 10, 60, later).unwrap();
            assert_eq!(j.len(), 1);
            e.complete(j[0].id, j[0].lease_token, later).unwrap();
            j[0].key.clone()
        })
        .collect();
    assert_eq!(
        order,
        [
            "invoice:in_0:attempt:1",
            "invoice:in_1:attempt:1",
            "invoice:in_2:attempt:1",
            "refund:ch_9:total:5"
        ]
    );
}

#[test]
fn coalesced_crm_job_carries_the_newest_state_while_one_is_running() {
    for b in backends() {
        coalesced_crm_job_carries_the_newest_state_while_one_is_running_on(&b);
    }
}

fn coalesced_crm_job_carries_the_newest_state_while_one_is_running_on(b: &Backend) {
    let e = b.engine();
    let c1 = event(
        "evt_c1",
        "customer.created",
        T0,
        customer("cus_z", "old@example.com"),
    );
    deliver(&e, &c1, T0).unwrap();
    let running = e
        .claim(&["crm.sync_customer"], 1, 60, T0 + 5)
        .unwrap()
        .pop()
        .unwrap();
    let c2 = event(
        "evt_c2",
        "customer.updated",
        T0 + 10,
        customer("cus_z", "new@example.com"),
    );
    let c3 = event(
        "evt_c3",
        "customer.updated",
        T0 + 20,
        customer("cus_z", "newest@example.com"),
    );
    deliver(&e, &c2, T0 + 10).unwrap();
    deliver(&e, &c3, T0 + 20).unwrap();
    let pending = e
        .jobs(&tollbooth::JobFilter {
            state: Some(JobState::Due),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(pending.len(), 1, "one due CRM job beside the running one");
    assert!(pending[0].payload.contains("newest@example.com"));
    // The running one fails: it is superseded by the due one, which carries the newer state.
    let out = e
        .fail(running.id, running.lease_token, "timeout", T0 + 30)
        .unwrap();
    assert_eq!(out, FailOutcome::Superseded { by: pending[0].id });
}

#[test]
fn flaky_handler_completes_or_dead_letters_everything_exactly_once() {
    for b in backends() {
        flaky_handler_completes_or_dead_letters_everything_exactly_once_on(&b);
    }
}

fn flaky_handler_completes_or_dead_letters_everything_exactly_once_on(b: &Backend) {
    let mut cfg = b.config();
    cfg.max_attempts = 6;
    let e = Engine::open(cfg).unwrap();
    seed(&e, 60, 7);
    let mut rng = Rng(42);
    let mut now = T0 + 1_000;
    let mut completed: BTreeMap<i64, usize> = BTreeMap::new();
    let mut dead = HashSet::new();
    for _ in 0..10_000 {
        let batch = e.claim(&[], 5, 30, now).unwrap();
        for j in batch {
            assert!(
                !completed.contains_key(&j.id),
                "job {} handed out after completion",
                j.id
            );
            if rng.below(2) == 0 {
                e.complete(j.id, j.lease_token, now).unwrap();
                *completed.entry(j.id).or_default() += 1;
            } else if e.fail(j.id, j.lease_token, "random 500", now).unwrap() == FailOutcome::Dead {
                dead.insert(j.id);
            }
        }
        let open = e
            .jobs(&tollbooth::JobFilter {
                limit: Some(10_000),
                ..Default::default()
            })
            .unwrap();
        if open
            .iter()
            .all(|j| matches!(j.state, JobState::Done | JobState::Dead))
        {
            break;
        }
        now += 60;
    }
    let all = e
        .jobs(&tollbooth::JobFilter {
            limit: Some(10_000),
            ..Default::default()
        })
        .unwrap();
    assert!(all.len() >= 60);
    for j in &all {
        match j.state {
            JobState::Done => assert_eq!(completed.get(&j.id), Some(&1), "completed exactly once"),
            JobState::Dead => assert!(dead.contains(&j.id)),
            s => panic!("job {} left in state {s:?}: lost", j.id),
        }
    }
    eprintln!(
        "{} jobs: {} done, {} dead",
        all.len(),
        completed.len(),
        dead.len()
    );
}

#[test]
fn concurrent_claimers_in_threads_never_share_a_job() {
    for b in backends() {
        concurrent_claimers_in_threads_never_share_a_job_on(&b);
    }
}

fn concurrent_claimers_in_threads_never_share_a_job_on(b: &Backend) {
    let path = b.fresh_db();
    seed(&engine_at(&path), 200, 200);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (seen, barrier, path) = (seen.clone(), barrier.clone(), path.clone());
            std::thread::spawn(move || {
                let e = engine_at(&path);
                barrier.wait();
                loop {
                    let got = e.claim(&[], 3, 300, T0 + 1_000).unwrap();
                    if got.is_empty() {
                        break;
                    }
                    for j in got {
                        e.complete(j.id, j.lease_token, T0 + 1_001).unwrap();
                        seen.lock().unwrap().push(j.id);
                    }
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let seen = seen.lock().unwrap();
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(seen.len(), unique.len(), "a job was handed to two workers");
    assert_eq!(unique.len(), 200);
}

#[test]
fn concurrent_claimers_in_processes_never_share_a_job() {
    for b in backends() {
        concurrent_claimers_in_processes_never_share_a_job_on(&b);
    }
}

fn concurrent_claimers_in_processes_never_share_a_job_on(b: &Backend) {
    let path = &b.fresh_db();
    seed(&engine_at(path), 300, 300);
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--ignored",
                    "--exact",
                    "child_claims_until_empty",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("TB_QUEUE_DB", path)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ids = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some((_, id)) = line.split_once("JOB ") {
                ids.push(id.trim().parse::<i64>().unwrap());
            }
        }
    }
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len(), "a job was handed to two processes");
    assert_eq!(unique.len(), 300);
}

#[test]
#[ignore = "child process entry; run by concurrent_claimers_in_processes_never_share_a_job"]
fn child_claims_until_empty() {
    let Ok(path) = std::env::var("TB_QUEUE_DB") else {
        return;
    };
    let e = engine_at(&path);
    println!();
    loop {
        let got = e.claim(&[], 2, 300, T0 + 1_000).unwrap();
        if got.is_empty() {
            break;
        }
        for j in got {
            e.complete(j.id, j.lease_token, T0 + 1_001).unwrap();
            println!("JOB {}", j.id);
        }
    }
}

#[test]
fn a_close_ticket_never_overtakes_its_open_ticket() {
    for b in backends() {
        a_close_ticket_never_overtakes_its_open_ticket_on(&b);
    }
}

fn a_close_ticket_never_overtakes_its_open_ticket_on(b: &Backend) {
    let e = b.engine();
    let failed = invoice("in_q", "cus_q", "sub_q", "open", 1, T0, Shape::Basil);
    let paid = invoice("in_q", "cus_q", "sub_q", "paid", 2, T0, Shape::Basil);
    deliver(
        &e,
        &event("evt_q1", "invoice.payment_failed", T0, failed),
        T0,
    )
    .unwrap();
    deliver(&e, &event("evt_q2", "invoice.paid", T0 + 60, paid), T0 + 60).unwrap();
    let now = T0 + 100;
    assert!(
        e.claim(&["support.close_ticket"], 10, 60, now)
            .unwrap()
            .is_empty(),
        "the close waits while the open ticket is due"
    );
    let open = e.claim(&[], 10, 60, now).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, "support.open_ticket");
    e.complete(open[0].id, open[0].lease_token, now).unwrap();
    let close = e.claim(&[], 10, 60, now).unwrap();
    assert_eq!(close.len(), 1);
    assert_eq!(close[0].kind, "support.close_ticket");
}
