//! Webhook throughput from Rust threads sharing one engine: unique and duplicate 5 KB
//! deliveries per second at 1, 2, 4, 8 and 16 concurrent callers, with how many deliveries
//! each write transaction held (group commit), on the PostgreSQL store or the SQLite store;
//! for PostgreSQL also the cold start (a fresh process: `Engine::open` + the first delivery).
//! Prints a table; compare it with the hand-written `pg` handler (`benches/pg/baseline.mjs`)
//! run against the same server.
//!
//! ```text
//! bash .ci/postgres.sh run -- cargo run --release --example pg_bench -- --n 2000
//! cargo run --release --example pg_bench -- --db sqlite --n 4000
//! ```
//! Options: `--db URL` (default `$TOLLBOOTH_TEST_POSTGRES`; `sqlite` for a SQLite file in a
//! temp dir per row), `--n N` deliveries per row (2000), `--concurrency 1,2,4,8,16`. Bodies: `../shared/baselines/fixtures/invoice.{paid,
//! payment_failed}.5k.json` (alternating; each unique delivery gets fresh event and invoice ids
//! of the same length), found through `$TOLLBOOTH_SHARED` or `../shared`. Each row runs on a
//! fresh schema (dropped at the end). Bodies are signed outside the timed region.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tollbooth::verify::sign_for_test;
use tollbooth::{Config, Engine, Outcome};

const SECRET: &str = "whsec_bench_0123456789abcdef0123456789abcdef";
const EVT: &str = "evt_1Q0000000000000000000000";
const INV: &str = "in_1QInvoice00000000000001";

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == &format!("--{name}"))
        .and_then(|i| args.get(i + 1).cloned())
}

fn fixtures() -> Vec<String> {
    let shared = std::env::var("TOLLBOOTH_SHARED").unwrap_or_else(|_| "../shared".into());
    ["invoice.paid.5k.json", "invoice.payment_failed.5k.json"]
        .iter()
        .map(|f| {
            let p = format!("{shared}/baselines/fixtures/{f}");
            std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
        })
        .collect()
}

/// Same-length ids: `prefix` + counter, padded to the fixture id's length.
fn id_like(template: &str, n: usize) -> String {
    let digits = n.to_string();
    format!("{}{digits}", &template[..template.len() - digits.len()])
}

fn bodies(run: &str, n: usize) -> Vec<Vec<u8>> {
    let fx = fixtures();
    (0..n)
        .map(|i| {
            let t = &fx[i % 2];
            let evt = id_like(EVT, i);
            let evt = format!("{}{}", &evt[..6], run) + &evt[6 + run.len()..];
            t.replace(EVT, &evt)
                .replace(INV, &id_like(INV, i))
                .into_bytes()
        })
        .collect()
}

fn with_schema(url: &str, schema: &str, pool: usize) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}schema={schema}&pool_size={pool}")
}

fn drop_schema(url: &str, schema: &str) {
    if let Ok(mut c) = postgres::Client::connect(url, postgres::NoTls) {
        let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    }
}

/// Delivers `signed` from `callers` threads; returns (deliveries/s, p50, p99, outcomes ok).
fn run(
    e: &Arc<Engine>,
    signed: &Arc<Vec<(Vec<u8>, String)>>,
    callers: usize,
    want: Outcome,
) -> (f64, Duration, Duration) {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..callers)
        .map(|_| {
            let (e, signed, next) = (e.clone(), signed.clone(), next.clone());
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((body, header)) = signed.get(i) else {
                        return lat;
                    };
                    let t = Instant::now();
                    let h = e.handle_webhook_at(body, header, 1_793_000_100).unwrap();
                    lat.push(t.elapsed());
                    assert_eq!(h.outcome, want);
                }
            })
        })
        .collect();
    let mut lat: Vec<Duration> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let secs = start.elapsed().as_secs_f64();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    (lat.len() as f64 / secs, pct(0.50), pct(0.99))
}

fn cold_child(db: &str) {
    let t = Instant::now();
    let e = Engine::open(Config::new(db, &[SECRET]).unwrap()).unwrap();
    let opened = t.elapsed();
    let body = &bodies("cold", 1)[0];
    let header = sign_for_test(body, SECRET, 1_793_000_050);
    e.handle_webhook_at(body, &header, 1_793_000_100).unwrap();
    println!("COLD {} {}", opened.as_micros(), t.elapsed().as_micros());
}

fn main() {
    if let Some(db) = arg("cold-child") {
        return cold_child(&db);
    }
    let url = arg("db")
        .or_else(|| std::env::var("TOLLBOOTH_TEST_POSTGRES").ok())
        .expect("--db postgres://... (or sqlite), or TOLLBOOTH_TEST_POSTGRES");
    let sqlite = url == "sqlite";
    let n: usize = arg("n").map_or(2000, |s| s.parse().unwrap());
    let levels: Vec<usize> = arg("concurrency")
        .unwrap_or_else(|| "1,2,4,8,16".into())
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    let store = if sqlite {
        "SQLite (synchronous=NORMAL)"
    } else {
        "PostgreSQL"
    };
    println!("{store} store, 5 KB invoice events, {n} deliveries per row");
    println!(
        "{:<28} {:>10} {:>12} {:>12} {:>14} {:>16}",
        "row", "per s", "p50", "p99", "deliveries/tx", "round trips/dlv"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut unique_rates = Vec::new();
    for &c in &levels {
        let schema = format!("tb_bench_{}_{c}", std::process::id());
        let db = if sqlite {
            dir.path()
                .join(format!("{schema}.db"))
                .display()
                .to_string()
        } else {
            with_schema(&url, &schema, c.clamp(1, 16))
        };
        let e = Arc::new(Engine::open(Config::new(db.as_str(), &[SECRET]).unwrap()).unwrap());
        let signed: Arc<Vec<(Vec<u8>, String)>> = Arc::new(
            bodies(&format!("c{c}"), n)
                .into_iter()
                .map(|b| {
                    let h = sign_for_test(&b, SECRET, 1_793_000_050);
                    (b, h)
                })
                .collect(),
        );
        let trips = e.store_round_trips();
        let (rate, p50, p99) = run(&e, &signed, c, Outcome::Processed);
        let f = e.commit_figures();
        let per = |before: u64| (e.store_round_trips() - before) as f64 / n as f64;
        println!(
            "{:<28} {rate:>10.0} {p50:>12.2?} {p99:>12.2?} {:>14.1} {:>16.2}",
            format!("unique, {c} caller(s)"),
            f.deliveries as f64 / f.batches.max(1) as f64,
            per(trips)
        );
        unique_rates.push((c, rate));
        let trips = e.store_round_trips();
        let (rate, p50, p99) = run(&e, &signed, c, Outcome::Duplicate);
        println!(
            "{:<28} {rate:>10.0} {p50:>12.2?} {p99:>12.2?} {:>14} {:>16.2}",
            format!("duplicate, {c} caller(s)"),
            "",
            per(trips)
        );
        e.close().unwrap();
        drop(e);
        if !sqlite {
            drop_schema(&url, &schema);
        }
    }
    if let Some((_, one)) = unique_rates.iter().find(|(c, _)| *c == 1) {
        for (c, rate) in unique_rates.iter().filter(|(c, _)| *c > 1) {
            println!("unique, {c} callers / 1 caller: {:.2}x", rate / one);
        }
    }
    if sqlite {
        return;
    }
    // Cold start: a fresh process opens the engine (one connection, schema already current)
    // and handles its first delivery. Five runs; the schema exists, as after a deploy.
    let schema = format!("tb_bench_{}_cold", std::process::id());
    let db = with_schema(&url, &schema, 3);
    drop(Engine::open(Config::new(db.as_str(), &[SECRET]).unwrap()).unwrap());
    let exe = std::env::current_exe().unwrap();
    let mut runs = Vec::new();
    for _ in 0..5 {
        drop_rows(&url, &schema);
        let t = Instant::now();
        let out = std::process::Command::new(&exe)
            .args(["--cold-child", &db])
            .output()
            .unwrap();
        let wall = t.elapsed();
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find(|l| l.starts_with("COLD "))
            .expect("child output");
        let v: Vec<u128> = line[5..].split(' ').map(|s| s.parse().unwrap()).collect();
        runs.push((v[0], v[1], wall.as_micros()));
    }
    runs.sort_by_key(|r| r.1);
    let (open, first, wall) = runs[runs.len() / 2];
    println!(
        "cold start (median of 5): open {:.1} ms, open + first delivery {:.1} ms, process wall {:.1} ms",
        open as f64 / 1000.0,
        first as f64 / 1000.0,
        wall as f64 / 1000.0
    );
    drop_schema(&url, &schema);
}

fn drop_rows(url: &str, schema: &str) {
    if let Ok(mut c) = postgres::Client::connect(url, postgres::NoTls) {
        let _ = c.batch_execute(&format!(
            "TRUNCATE {schema}.events, {schema}.deliveries, {schema}.jobs, {schema}.job_attempts, \
             {schema}.customers, {schema}.subscriptions, {schema}.invoices, {schema}.checkout_sessions"
        ));
    }
}
