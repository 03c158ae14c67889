//! An unauthenticated flood beside a genuine delivery stream, against one store file: how
//! much the flood grows the database, and what it costs the genuine deliveries and `health()`.
//!
//! ```text
//! cargo run --release --example flood -- --secs 10 --flooders 3
//! ```
//! Options: `--secs N` (10), `--flooders N` threads sending junk as fast as they can (3),
//! `--genuine-rate N` genuine deliveries per second (200), `--db PATH` (a temporary file).
//! Bounded in time; loopback only (in process, no network at all).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tollbooth::verify::sign_for_test;
use tollbooth::{Config, Engine};

const SECRET: &str = "whsec_flood_0123456789abcdef";

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The database file's size (the WAL is reset by checkpoints, so it is not the store's size).
fn file_size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn main() {
    let secs = arg("--secs", 10);
    let flooders = arg("--flooders", 3);
    let rate = arg("--genuine-rate", 200);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("flood.db");
    let engine =
        Arc::new(Engine::open(Config::new(path.to_str().unwrap(), &[SECRET]).unwrap()).unwrap());
    let now = tollbooth::unix_now();
    let stop = Arc::new(AtomicBool::new(false));
    let junk_sent = Arc::new(AtomicU64::new(0));
    let before = file_size(&path);
    let mut threads = Vec::new();
    for f in 0..flooders {
        let (e, stop, sent) = (engine.clone(), stop.clone(), junk_sent.clone());
        threads.push(std::thread::spawn(move || {
            let body = format!("{{\"id\":\"evt_junk_{f}\",\"object\":\"event\"}}");
            let header = format!("t={now},v1={}", "0".repeat(64));
            while !stop.load(Ordering::Relaxed) {
                let _ = e.handle_webhook_at(body.as_bytes(), &header, now);
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // The genuine stream, paced, timed one by one.
    let mut latencies = Vec::new();
    let started = Instant::now();
    let mut i = 0u64;
    while started.elapsed() < Duration::from_secs(secs) {
        let body = serde_json::to_vec(&json!({
            "id": format!("evt_real_{i}"), "object": "event", "type": "customer.updated",
            "created": now, "livemode": false,
            "data": {"object": {"id": format!("cus_{}", i % 500), "object": "customer",
                "email": "real@example.com", "name": "Real Customer"}}
        }))
        .unwrap();
        let header = sign_for_test(&body, SECRET, now);
        let t = Instant::now();
        engine
            .handle_webhook_at(&body, &header, now)
            .expect("genuine delivery");
        latencies.push(t.elapsed());
        i += 1;
        let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let t = Instant::now();
    let health = engine.health(now).unwrap();
    let health_time = t.elapsed();
    engine.close().unwrap();
    let after = file_size(&path);
    latencies.sort();
    let q = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    let junk = junk_sent.load(Ordering::Relaxed);
    println!("flood: {secs} s, {flooders} junk threads, genuine stream at {rate}/s (2 cores)");
    println!(
        "  junk requests        {junk} ({:.0}/s)",
        junk as f64 / secs as f64
    );
    println!(
        "  genuine deliveries   {} (p50 {:?}, p99 {:?}, max {:?})",
        latencies.len(),
        q(0.5),
        q(0.99),
        latencies[latencies.len() - 1]
    );
    println!(
        "  database growth      {} KiB after close (the file; the genuine deliveries' rows included)",
        after.saturating_sub(before) / 1024
    );
    println!(
        "  health()             {health_time:?}, alerts: {:?}",
        health.alerts.iter().map(|a| a.name).collect::<Vec<_>>()
    );
}
