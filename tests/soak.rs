//! Multi-process soak: 4 ingesting processes deliver thousands of events from many customers,
//! each 1–3 times in shuffled order, while 2 worker processes claim jobs and call a stub CRM
//! and helpdesk that fail at random. Processes of both kinds are SIGKILLed and restarted
//! mid-run. At the end the store must equal an oracle that applied the history in order, and
//! the stubs must show every side effect exactly once.
//!
//! Part of the plain `cargo test` (about 20 s in debug, 10 s in release on 2 cores); the counts
//! are printed with `cargo test --test soak -- --nocapture`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use rusqlite::{Connection, params};
use tollbooth::{Config, Engine, ErrorCode, JobFilter, JobState};

const CUSTOMERS: usize = 300;
const INGESTERS: usize = 4;
const WORKERS: usize = 2;
const KILLS: usize = 8;
const MAX_ATTEMPTS: u32 = 4;
/// Worker clock: virtual seconds run 100x faster than real ones, far after every event.
const T_FAR: i64 = T0 + 100_000_000;
const LEASE_SECS: i64 = 500;

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn open_engine(path: &str) -> Engine {
    let mut cfg = Config::new(path, &[SECRET]).unwrap();
    cfg.max_attempts = MAX_ATTEMPTS;
    cfg.sqlite.busy_timeout = Duration::from_secs(30);
    Engine::open(cfg).unwrap()
}

/// The deliveries of ingester `k`: every event 1–3 times, shuffled, dealt round-robin.
fn slice(k: usize) -> Vec<usize> {
    let n = many_histories(CUSTOMERS).len();
    let mut rng = Rng(0x50a6);
    let mut all: Vec<usize> = (0..n)
        .flat_map(|i| std::iter::repeat_n(i, 1 + rng.below(3) as usize))
        .collect();
    rng.shuffle(&mut all);
    all.into_iter().skip(k).step_by(INGESTERS).collect()
}

fn stub_open(dir: &Path) -> Connection {
    let c = Connection::open(dir.join("stubs.db")).unwrap();
    c.busy_timeout(Duration::from_secs(30)).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE IF NOT EXISTS contacts (customer TEXT PRIMARY KEY, payload TEXT NOT NULL, upserts INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS tickets (key TEXT PRIMARY KEY, kind TEXT NOT NULL, upserts INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS completions (job_id INTEGER NOT NULL, key TEXT NOT NULL, worker TEXT NOT NULL);",
    )
    .unwrap();
    c
}

fn spawn(role: &str, dir: &Path, start_ms: i64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "soak_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TB_SOAK_ROLE", role)
        .env("TB_SOAK_DIR", dir)
        .env("TB_SOAK_START_MS", start_ms.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

#[test]
fn soak_multi_process_with_kills_workers_and_stubs() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("soak.db");
    drop(open_engine(db.to_str().unwrap()));
    drop(stub_open(dir.path()));
    let events = many_histories(CUSTOMERS);
    let deliveries: usize = (0..INGESTERS).map(|k| slice(k).len()).sum();
    let start_ms = unix_ms();
    let roles: Vec<String> = (0..INGESTERS)
        .map(|k| format!("ingest{k}"))
        .chain((0..WORKERS).map(|w| format!("work{w}")))
        .collect();
    let mut kids: BTreeMap<String, Child> = roles
        .iter()
        .map(|r| (r.clone(), spawn(r, dir.path(), start_ms)))
        .collect();
    let mut rng = Rng(0xdead_beef);
    let (mut kills, mut ingest_done) = (Vec::new(), BTreeSet::new());
    let deadline = Instant::now() + Duration::from_secs(170);
    loop {
        assert!(Instant::now() < deadline, "soak did not finish in time");
        std::thread::sleep(Duration::from_millis(50 + rng.below(400)));
        for (role, child) in kids.iter_mut() {
            if let Some(st) = child.try_wait().unwrap() {
                assert!(st.success(), "{role} failed: {st}");
                if role.starts_with("ingest") {
                    ingest_done.insert(role.clone());
                }
            }
        }
        let running: Vec<String> = kids
            .iter_mut()
            .filter(|(r, _)| !ingest_done.contains(*r))
            .filter_map(|(r, c)| c.try_wait().unwrap().is_none().then(|| r.clone()))
            .collect();
        if kills.len() < KILLS && !running.is_empty() {
            let victim = running[rng.below(running.len() as u64) as usize].clone();
            let child = kids.get_mut(&victim).unwrap();
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills.push(victim.clone());
            kids.insert(victim.clone(), spawn(&victim, dir.path(), start_ms));
        }
        if ingest_done.len() == INGESTERS {
            std::fs::write(dir.path().join("ingest_done"), b"").unwrap();
        }
        let workers_done = kids
            .iter_mut()
            .filter(|(r, _)| r.starts_with("work"))
            .all(|(_, c)| c.try_wait().unwrap().is_some_and(|s| s.success()));
        if ingest_done.len() == INGESTERS && workers_done {
            break;
        }
    }

    // --- The oracle: the same history once, in created order.
    let oracle = open_engine(":memory:");
    for (_, created, body) in &events {
        deliver(&oracle, body, *created).unwrap();
    }
    let e = open_engine(db.to_str().unwrap());
    assert_eq!(
        state_digest(&e, CUSTOMERS),
        state_digest(&oracle, CUSTOMERS)
    );

    let c = Connection::open(&db).unwrap();
    let count = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    // Exactly one processed record per event id.
    assert_eq!(count("SELECT count(*) FROM events") as usize, events.len());
    let twice = count(
        "SELECT count(*) FROM (SELECT event_id FROM deliveries WHERE outcome IN ('processed','ignored','stale') \
         GROUP BY event_id HAVING count(*) > 1)",
    );
    assert_eq!(twice, 0, "an event was processed twice");
    let once = count(
        "SELECT count(DISTINCT event_id) FROM deliveries WHERE outcome IN ('processed','ignored','stale')",
    );
    assert_eq!(once as usize, events.len());
    // No job lost: every job is done or dead (or superseded by a newer one for its key), and
    // the set of jobs is the oracle's.
    let open_jobs =
        count("SELECT count(*) FROM jobs WHERE state NOT IN ('done', 'dead', 'superseded')");
    assert_eq!(open_jobs, 0);
    let keys = |e: &Engine| -> BTreeSet<(String, String)> {
        e.jobs(&JobFilter {
            limit: Some(1_000_000),
            ..JobFilter::default()
        })
        .unwrap()
        .into_iter()
        .filter(|j| j.kind != "crm.sync_customer")
        .map(|j| (j.kind, j.key))
        .collect()
    };
    assert_eq!(keys(&e), keys(&oracle));
    let done = count("SELECT count(*) FROM jobs WHERE state = 'done'");
    let dead = count("SELECT count(*) FROM jobs WHERE state = 'dead'");
    let attempts = count("SELECT count(*) FROM job_attempts");

    // The stubs: one contact per customer, one ticket per failed payment attempt, and no job
    // completed twice.
    let s = stub_open(dir.path());
    let scount = |sql: &str| -> i64 { s.query_row(sql, [], |r| r.get(0)).unwrap() };
    let set = |conn: &Connection, sql: &str| -> BTreeSet<String> {
        let mut st = conn.prepare(sql).unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    // A side effect can run and its worker die before `complete`: the stub then holds it
    // although the job may still go dead. So: done jobs ⊆ stub records ⊆ all jobs.
    let crm_done = set(
        &c,
        "SELECT DISTINCT customer_id FROM jobs WHERE kind = 'crm.sync_customer' AND state = 'done'",
    );
    let crm_all = set(
        &c,
        "SELECT DISTINCT customer_id FROM jobs WHERE kind = 'crm.sync_customer'",
    );
    let contacts = set(&s, "SELECT customer FROM contacts");
    assert!(crm_done.is_subset(&contacts) && contacts.is_subset(&crm_all));
    assert_eq!(crm_all.len(), CUSTOMERS);
    let t_done = set(
        &c,
        "SELECT key FROM jobs WHERE kind = 'support.open_ticket' AND state = 'done'",
    );
    let t_all = set(
        &c,
        "SELECT key FROM jobs WHERE kind = 'support.open_ticket'",
    );
    let tickets = set(
        &s,
        "SELECT key FROM tickets WHERE kind = 'support.open_ticket'",
    );
    assert!(t_done.is_subset(&tickets) && tickets.is_subset(&t_all));
    let failed_payments =
        count("SELECT count(*) FROM events WHERE type = 'invoice.payment_failed'");
    assert_eq!(
        t_all.len() as i64,
        failed_payments,
        "one ticket job per failed attempt"
    );
    assert_eq!(failed_payments, CUSTOMERS as i64);
    let (contacts, tickets) = (contacts.len(), tickets.len());
    let double = scount(
        "SELECT count(*) FROM (SELECT job_id FROM completions GROUP BY job_id HAVING count(*) > 1)",
    );
    assert_eq!(double, 0, "a job was completed twice");
    // A worker killed between `complete` and its log write loses at most one log row.
    let completions = scount("SELECT count(*) FROM completions");
    let worker_kills = kills.iter().filter(|k| k.starts_with("work")).count() as i64;
    assert!(
        completions <= done && completions >= done - worker_kills,
        "{completions} vs {done}"
    );
    let upserts = scount("SELECT coalesce(sum(upserts), 0) FROM contacts")
        + scount("SELECT coalesce(sum(upserts), 0) FROM tickets");
    eprintln!(
        "soak: {} customers, {} events, {deliveries} deliveries by {INGESTERS} processes, {} kills ({kills:?}); \
         jobs done {done}, dead {dead}, attempts {attempts}; stub: {contacts} contacts, {tickets} tickets, \
         {upserts} upserts (repeats after a kill or a lost lease); {:.1} s",
        CUSTOMERS,
        events.len(),
        kills.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Child entry (run only by the soak, via --ignored): an ingester or a worker.
#[test]
#[ignore = "child process entry of soak_multi_process_with_kills_workers_and_stubs"]
fn soak_child() {
    let (Ok(role), Ok(dir)) = (std::env::var("TB_SOAK_ROLE"), std::env::var("TB_SOAK_DIR")) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let start_ms: i64 = std::env::var("TB_SOAK_START_MS").unwrap().parse().unwrap();
    let e = open_engine(dir.join("soak.db").to_str().unwrap());
    if let Some(k) = role.strip_prefix("ingest") {
        let events = many_histories(CUSTOMERS);
        // A restarted ingester starts its slice again: what it had delivered comes back as
        // duplicates, as Stripe's retries of unacknowledged deliveries would.
        for i in slice(k.parse().unwrap()) {
            deliver(&e, &events[i].2, events[i].1).unwrap();
        }
        return;
    }
    let stub = stub_open(&dir);
    let mut rng = Rng(unix_ms() as u64 | 1);
    let clock = || T_FAR + (unix_ms() - start_ms) / 10;
    let done_flag = dir.join("ingest_done");
    let deadline = Instant::now() + Duration::from_secs(160);
    while Instant::now() < deadline {
        let jobs = e.claim(&[], 8, LEASE_SECS, clock()).unwrap();
        if jobs.is_empty() {
            let open = [JobState::Due, JobState::Leased].iter().any(|s| {
                !e.jobs(&JobFilter {
                    state: Some(*s),
                    limit: Some(1),
                    ..JobFilter::default()
                })
                .unwrap()
                .is_empty()
            });
            if done_flag.exists() && !open {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        for job in jobs {
            if rng.below(100) < 30 {
                let _ = e.fail(job.id, job.lease_token, "stub: 503 from upstream", clock());
                continue;
            }
            // The side effect, keyed by the job's key (upsert by external id).
            match job.kind.as_str() {
                "crm.sync_customer" => {
                    stub.execute(
                        "INSERT INTO contacts (customer, payload, upserts) VALUES (?1, ?2, 1) \
                         ON CONFLICT (customer) DO UPDATE SET payload = excluded.payload, upserts = upserts + 1",
                        params![job.customer_id.as_deref().unwrap_or(&job.key), job.payload],
                    )
                    .unwrap();
                }
                kind => {
                    stub.execute(
                        "INSERT INTO tickets (key, kind, upserts) VALUES (?1, ?2, 1) \
                         ON CONFLICT (key) DO UPDATE SET upserts = upserts + 1",
                        params![job.key, kind],
                    )
                    .unwrap();
                }
            }
            match e.complete(job.id, job.lease_token, clock()) {
                Ok(()) => {
                    stub.execute(
                        "INSERT INTO completions (job_id, key, worker) VALUES (?1, ?2, ?3)",
                        params![job.id, job.key, role],
                    )
                    .unwrap();
                }
                Err(err) if err.code() == ErrorCode::LeaseLost => {}
                Err(err) => panic!("complete: {err}"),
            }
        }
    }
    panic!("worker {role} ran out of time");
}
