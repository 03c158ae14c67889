//! Criterion benchmarks of the webhook path and its raw limits.
//!
//! ```text
//! cargo bench -p tollbooth --bench webhook -- --noplot            # everything (~6 min)
//! cargo bench -p tollbooth --bench webhook -- --noplot handle/    # one group
//! ```
//!
//! Groups (each per body size 1k / 5k / 16k / 64k where it applies):
//! - `raw/hmac_sha256`: HMAC-SHA256 over `"{t}." + body` with hmac+sha2, key pre-hashed: the
//!   floor for signature verification.
//! - `raw/json_value`: `serde_json::from_slice::<Value>` (a full tree, like `JSON.parse`);
//!   `raw/json_skip`: syntax-only parse (`IgnoredAny`).
//! - `raw/sqlite_empty_tx` and `raw/sqlite_one_row_tx`: `BEGIN IMMEDIATE; [one small INSERT;]
//!   COMMIT` on a WAL file with the same pragmas as the store, NORMAL and FULL.
//! - `raw/baseline_sql_tx`: the hand-written baseline's 4-statement transaction
//!   (`../shared/baselines/sql`) from Rust, when that folder exists.
//! - `verify`: `tollbooth::verify::verify` (header parse + tolerance + HMAC + constant-time compare).
//! - `normalize`: `tollbooth::event::parse_event` (typed normalization, no `Value` tree).
//! - `handle/unique_{normal,full}`: `Engine::handle_webhook_at` for fresh events
//!   (`invoice.paid` and `invoice.payment_failed` alternately, fresh event and invoice ids).
//! - `handle/duplicate`: the same delivery again.
//! - `access`: `Engine::access` with 10,000 customers stored.
//! - `jobs/claim_complete`: `claim(…, 1, …)` + `complete` of one job, with the done jobs kept.

#[path = "support.rs"]
mod support;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use rusqlite::Connection;
use sha2::Sha256;
use tempfile::TempDir;
use tollbooth::verify::{Secret, VerifyOptions, sign_for_test, verify};
use tollbooth::{Config, Durability, Engine};

use support::{SECRET, SIZES, Template, invoice_templates};

const NOW: i64 = 1_793_000_100;

fn engine(dir: &TempDir, name: &str, durability: Durability) -> Engine {
    let path = dir.path().join(name);
    let mut config = Config::new(path.to_str().expect("utf-8 path"), &[SECRET]).expect("config");
    config.sqlite.durability = durability;
    Engine::open(config).expect("open")
}

fn raw(c: &mut Criterion) {
    let mut g = c.benchmark_group("raw");
    for &(label, target) in SIZES {
        let t = &invoice_templates(label, target)[0];
        let body = t.body();
        g.throughput(Throughput::Bytes(body.len() as u64));
        let keyed = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
        g.bench_with_input(BenchmarkId::new("hmac_sha256", label), body, |b, body| {
            b.iter(|| {
                let mut mac = keyed.clone();
                mac.update(b"1793000100.");
                mac.update(black_box(body));
                black_box(mac.finalize().into_bytes())
            })
        });
        g.bench_with_input(BenchmarkId::new("json_value", label), body, |b, body| {
            b.iter(|| {
                black_box(
                    serde_json::from_slice::<serde_json::Value>(black_box(body)).expect("json"),
                )
            })
        });
        g.bench_with_input(BenchmarkId::new("json_skip", label), body, |b, body| {
            b.iter(|| {
                black_box(
                    serde_json::from_slice::<serde::de::IgnoredAny>(black_box(body)).expect("json"),
                )
            })
        });
    }
    g.throughput(Throughput::Elements(1));
    let dir = TempDir::new().expect("tempdir");
    for (name, sync) in [("normal", "NORMAL"), ("full", "FULL")] {
        let conn = Connection::open(dir.path().join(format!("raw-{name}.db"))).expect("open");
        conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            .expect("wal");
        conn.pragma_update(None, "synchronous", sync).expect("sync");
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
            .expect("schema");
        g.bench_function(BenchmarkId::new("sqlite_empty_tx", name), |b| {
            b.iter(|| conn.execute_batch("BEGIN IMMEDIATE; COMMIT").expect("tx"))
        });
        let mut n = 0i64;
        g.bench_function(BenchmarkId::new("sqlite_one_row_tx", name), |b| {
            b.iter(|| {
                n += 1;
                conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
                conn.prepare_cached("INSERT INTO t (v) VALUES (?1)")
                    .expect("prep")
                    .execute([n])
                    .expect("ins");
                conn.execute_batch("COMMIT").expect("commit");
            })
        });
    }
    if let Some(base) = support::baselines_dir() {
        baseline_sql(&mut g, &base, &dir);
    } else {
        eprintln!("notice: ../shared/baselines absent: skipping raw/baseline_sql_tx");
    }
    g.finish();
}

/// The baseline's own 4 statements (`sql/statements.sql`), bound as its Node handler binds them.
fn baseline_sql(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    base: &std::path::Path,
    dir: &TempDir,
) {
    let schema = std::fs::read_to_string(base.join("sql/schema.sql")).expect("schema.sql");
    let text: String = std::fs::read_to_string(base.join("sql/statements.sql"))
        .expect("statements.sql")
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    let stmts: Vec<&str> = text
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let [insert_event, upsert_sub, insert_outbox] = stmts[..] else {
        panic!("statements.sql: 3 statements expected")
    };
    let body = invoice_templates("5k", 5_100)[0].body().to_vec();
    let body = String::from_utf8(body).expect("utf-8");
    for (name, sync) in [("normal_5k", "NORMAL"), ("full_5k", "FULL")] {
        let conn = Connection::open(dir.path().join(format!("baseline-{name}.db"))).expect("open");
        conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            .expect("wal");
        conn.pragma_update(None, "synchronous", sync).expect("sync");
        conn.execute_batch(&schema).expect("schema");
        let mut n = 0u64;
        g.bench_function(BenchmarkId::new("baseline_sql_tx", name), |b| {
            b.iter(|| {
                n += 1;
                let id = format!("evt_{n:024}");
                conn.execute_batch("BEGIN").expect("begin");
                conn.prepare_cached(insert_event)
                    .expect("prep")
                    .execute(rusqlite::params![
                        id,
                        "invoice.payment_failed",
                        1_793_000_000,
                        body,
                        1
                    ])
                    .expect("event");
                conn.prepare_cached(upsert_sub)
                    .expect("prep")
                    .execute(rusqlite::params![
                        "sub_1",
                        "cus_1",
                        "past_due",
                        1_795_592_000,
                        1_793_000_000,
                        1
                    ])
                    .expect("sub");
                let mut outbox = conn.prepare_cached(insert_outbox).expect("prep");
                outbox
                    .execute(rusqlite::params![id, "crm.upsert_customer", "{}", 1, 1])
                    .expect("job");
                outbox
                    .execute(rusqlite::params![id, "support.open_ticket", "{}", 1, 1])
                    .expect("job");
                conn.execute_batch("COMMIT").expect("commit");
            })
        });
    }
}

fn verify_and_normalize(c: &mut Criterion) {
    let secrets = [Secret::new(SECRET).expect("secret")];
    let opts = VerifyOptions::default();
    let mut g = c.benchmark_group("verify");
    for &(label, target) in SIZES {
        let t = &invoice_templates(label, target)[0];
        let header = sign_for_test(t.body(), SECRET, NOW);
        g.throughput(Throughput::Bytes(t.len() as u64));
        g.bench_function(label, |b| {
            b.iter(|| {
                verify(
                    black_box(t.body()),
                    black_box(&header),
                    &secrets,
                    NOW,
                    &opts,
                )
                .expect("valid")
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group("normalize");
    for &(label, target) in SIZES {
        for t in &invoice_templates(label, target) {
            g.throughput(Throughput::Bytes(t.len() as u64));
            let name = format!("{}/{label}", t.kind);
            g.bench_function(name, |b| {
                b.iter(|| tollbooth::event::parse_event(black_box(t.body())).expect("event"))
            });
        }
    }
    g.finish();
}

/// Times `iters` unique deliveries in batches: bodies are rewritten and signed outside the clock.
fn unique_deliveries(
    engine: &Engine,
    templates: &[Template; 2],
    counter: &AtomicU64,
    iters: u64,
) -> Duration {
    const BATCH: u64 = 256;
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(BATCH);
        let batch: Vec<(Vec<u8>, String)> = (0..n)
            .map(|_| {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                let body = templates[(i % 2) as usize].unique(i);
                let header = sign_for_test(&body, SECRET, NOW);
                (body, header)
            })
            .collect();
        let start = Instant::now();
        for (body, header) in &batch {
            black_box(
                engine
                    .handle_webhook_at(body, header, NOW)
                    .expect("handled"),
            );
        }
        total += start.elapsed();
        left -= n;
    }
    total
}

fn handle(c: &mut Criterion) {
    let dir = TempDir::new().expect("tempdir");
    let mut g = c.benchmark_group("handle");
    g.throughput(Throughput::Elements(1));
    for (name, durability) in [
        ("unique_normal", Durability::Normal),
        ("unique_full", Durability::Full),
    ] {
        for &(label, target) in SIZES {
            let templates = invoice_templates(label, target);
            let engine = engine(&dir, &format!("{name}-{label}.db"), durability);
            let counter = AtomicU64::new(1);
            g.bench_function(BenchmarkId::new(name, label), |b| {
                b.iter_custom(|iters| unique_deliveries(&engine, &templates, &counter, iters))
            });
        }
    }
    for &(label, target) in SIZES {
        let templates = invoice_templates(label, target);
        let engine = engine(&dir, &format!("dup-{label}.db"), Durability::Normal);
        let body = templates[0].unique(1);
        let header = sign_for_test(&body, SECRET, NOW);
        engine
            .handle_webhook_at(&body, &header, NOW)
            .expect("first");
        g.bench_function(BenchmarkId::new("duplicate", label), |b| {
            b.iter(|| {
                engine
                    .handle_webhook_at(black_box(&body), black_box(&header), NOW)
                    .expect("dup")
            })
        });
    }
    g.finish();
}

/// A `customer.subscription.created` event for customer `n` (the portal's common state).
fn subscription_created(n: u64) -> Vec<u8> {
    format!(
        r#"{{"id":"evt_sub_{n:012}","object":"event","type":"customer.subscription.created",
  "created":1793000000,"livemode":false,"data":{{"object":{{"id":"sub_{n:012}","object":"subscription",
  "customer":"cus_{n:012}","status":"active","cancel_at_period_end":false,"metadata":{{"user_id":"user_{n}"}},
  "items":{{"data":[{{"price":{{"id":"price_pro","product":"prod_pro"}},"current_period_end":1795592000}}]}}}}}}}}"#
    )
    .into_bytes()
}

fn access_and_jobs(c: &mut Criterion) {
    const CUSTOMERS: u64 = 10_000;
    let dir = TempDir::new().expect("tempdir");
    let engine = engine(&dir, "portal.db", Durability::Normal);
    for n in 0..CUSTOMERS {
        engine
            .ingest_trusted(&subscription_created(n), NOW)
            .expect("seed");
    }
    let mut g = c.benchmark_group("access");
    g.throughput(Throughput::Elements(1));
    let ids: Vec<String> = (0..CUSTOMERS).map(|n| format!("cus_{n:012}")).collect();
    let mut i = 0usize;
    g.bench_function("by_customer", |b| {
        b.iter(|| {
            i = (i + 7919) % ids.len();
            let a = engine.access(black_box(&ids[i]), NOW).expect("access");
            assert!(a.has_access);
            a
        })
    });
    let mut i = 0usize;
    g.bench_function("by_user", |b| {
        b.iter(|| {
            i = (i + 7919) % ids.len();
            engine
                .access_for_user(black_box(&format!("user_{i}")), NOW)
                .expect("access")
        })
    });
    g.finish();

    // Every seeded customer left one due crm.sync_customer job; more are added as needed.
    let mut g = c.benchmark_group("jobs");
    g.throughput(Throughput::Elements(1));
    let mut next = CUSTOMERS;
    let mut due = CUSTOMERS;
    g.bench_function("claim_complete", |b| {
        b.iter_custom(|iters| {
            while due < iters {
                engine
                    .ingest_trusted(&subscription_created(next), NOW)
                    .expect("seed");
                next += 1;
                due += 1;
            }
            let start = Instant::now();
            for _ in 0..iters {
                let jobs = engine.claim(&[], 1, 30, NOW).expect("claim");
                let job = &jobs[0];
                engine
                    .complete(job.id, job.lease_token, NOW)
                    .expect("complete");
            }
            due -= iters;
            start.elapsed()
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}

criterion_group! { name = benches; config = config(); targets = raw, verify_and_normalize, handle, access_and_jobs }
criterion_main!(benches);
