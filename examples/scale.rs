//! Ingest N events (default 1,000,000) into one store file and report how per-event latency,
//! file size and peak RSS move as the store grows.
//!
//! ```text
//! cargo run --release --example scale -- --events 1000000      # the full run (see PERFORMANCE.md)
//! cargo run --release --example scale -- --events 20000        # smoke
//! ```
//! Options: `--events N`, `--customers N` (10,000), `--durability normal|full`, `--db PATH`
//! (default: a temporary file, removed at the end), `--window N` (10,000 calls per window).
//!
//! Mix (realistic for a subscription business, ~2 KB bodies): per customer a checkout
//! completed and a subscription created first, then customer.subscription.updated 30 %,
//! invoice.paid 35 %, invoice.payment_failed 10 %, customer.updated 25 %. Every call goes
//! through `handle_webhook_at` (signature, parse, dedupe, persist, apply, enqueue, commit);
//! bodies are built and signed outside the timed region. A window of `--window` calls is timed
//! around 1 k, 100 k and 1 M events stored (and every power-of-ten point in between).

use std::time::Instant;

use serde_json::json;
use tollbooth::verify::sign_for_test;
use tollbooth::{Config, Durability, Engine};

const SECRET: &str = "whsec_scale_0123456789abcdef";
const T0: i64 = 1_790_000_000;

struct Args {
    events: u64,
    customers: u64,
    durability: Durability,
    db: Option<String>,
    window: u64,
}

fn args() -> Args {
    let mut a = Args {
        events: 1_000_000,
        customers: 10_000,
        durability: Durability::Normal,
        db: None,
        window: 10_000,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let v = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--events" => a.events = v.parse().expect("--events N"),
            "--customers" => a.customers = v.parse().expect("--customers N"),
            "--window" => a.window = v.parse().expect("--window N"),
            "--db" => a.db = Some(v),
            "--durability" => {
                a.durability = match v.as_str() {
                    "full" => Durability::Full,
                    _ => Durability::Normal,
                }
            }
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    a
}

/// Stripe-looking filler (the fields a real object has that tollbooth ignores), to ~2 KB.
fn filler(n: u64) -> serde_json::Value {
    json!({
        "automatic_tax": {"enabled": true, "liability": {"type": "self"}, "status": "complete"},
        "default_payment_method": format!("pm_1Q{n:020}"),
        "description": "Pro plan, billed monthly. Includes priority support and the analytics add-on.",
        "discounts": [], "livemode": false, "on_behalf_of": null, "pending_setup_intent": null,
        "payment_settings": {"payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
            "payment_method_types": ["card"], "save_default_payment_method": "on_subscription"},
        "shipping": null, "statement_descriptor": null, "test_clock": null,
        "transfer_data": null, "application": null, "application_fee_percent": null,
        "billing_thresholds": null, "collection_method": "charge_automatically",
        "days_until_due": null, "default_source": null, "default_tax_rates": [],
        "pause_collection": null, "schedule": null, "start_date": T0 - 86_400,
        "tax": {"rates": [{"id": "txr_1QVat20", "percentage": 20.0, "jurisdiction": "GB", "inclusive": false}]},
        "notes": "x".repeat(700),
    })
}

fn event(id: u64, kind: &str, created: i64, object: serde_json::Value) -> Vec<u8> {
    let ev = json!({
        "id": format!("evt_1Q{id:020}"), "object": "event", "api_version": "2025-03-31.basil",
        "created": created, "livemode": false, "pending_webhooks": 1,
        "request": {"id": format!("req_{id:014}"), "idempotency_key": null},
        "type": kind, "data": {"object": object},
    });
    serde_json::to_vec_pretty(&ev).expect("json")
}

fn subscription(c: u64, status: &str, period_end: i64, price: &str) -> serde_json::Value {
    let mut o = json!({
        "id": format!("sub_1Q{c:016}"), "object": "subscription", "customer": format!("cus_Q{c:012}"),
        "status": status, "cancel_at_period_end": false, "cancel_at": null, "canceled_at": null,
        "ended_at": null, "trial_end": null, "created": T0 - 86_400, "currency": "usd",
        "metadata": {"user_id": format!("user_{c}")},
        "items": {"object": "list", "data": [{"id": format!("si_Q{c:012}"), "object": "subscription_item",
            "price": {"id": price, "object": "price", "product": "prod_QPro", "unit_amount": 2000, "currency": "usd",
                "recurring": {"interval": "month", "interval_count": 1}},
            "quantity": 1, "current_period_start": period_end - 2_592_000, "current_period_end": period_end}],
            "has_more": false},
    });
    o.as_object_mut()
        .unwrap()
        .extend(filler(c).as_object().unwrap().clone());
    o
}

fn invoice(c: u64, n: u64, paid: bool, created: i64) -> serde_json::Value {
    let mut o = json!({
        "id": format!("in_1Q{n:018}"), "object": "invoice", "customer": format!("cus_Q{c:012}"),
        "amount_due": 2000, "amount_paid": if paid { 2000 } else { 0 }, "amount_remaining": if paid { 0 } else { 2000 },
        "attempt_count": if paid { 1 } else { 1 + (n % 3) as i64 }, "billing_reason": "subscription_cycle",
        "created": created, "currency": "usd", "number": format!("QB-{n:08}"), "status": if paid { "paid" } else { "open" },
        "hosted_invoice_url": format!("https://invoice.stripe.com/i/acct_1Q/test_{n}"),
        "invoice_pdf": format!("https://pay.stripe.com/invoice/acct_1Q/test_{n}/pdf"),
        "next_payment_attempt": if paid { serde_json::Value::Null } else { json!(created + 259_200) },
        "parent": {"subscription_details": {"subscription": format!("sub_1Q{c:016}")}, "type": "subscription_details"},
        "lines": {"object": "list", "data": [{"id": format!("il_1Q{n:018}"), "object": "line_item", "amount": 2000,
            "currency": "usd", "period": {"end": created + 2_592_000, "start": created}, "quantity": 1}], "has_more": false},
    });
    o.as_object_mut()
        .unwrap()
        .extend(filler(n).as_object().unwrap().clone());
    o
}

fn customer(c: u64, n: u64) -> serde_json::Value {
    let mut o = json!({
        "id": format!("cus_Q{c:012}"), "object": "customer", "email": format!("user{c}+{}@example.com", n % 7),
        "name": format!("Customer {c}"), "metadata": {"user_id": format!("user_{c}")}, "created": T0 - 86_400,
        "balance": 0, "currency": "usd", "delinquent": false, "invoice_prefix": "QB",
    });
    o.as_object_mut()
        .unwrap()
        .extend(filler(n).as_object().unwrap().clone());
    o
}

fn checkout(c: u64) -> serde_json::Value {
    let mut o = json!({
        "id": format!("cs_test_Q{c:016}"), "object": "checkout.session", "customer": format!("cus_Q{c:012}"),
        "client_reference_id": format!("user_{c}"), "metadata": {"user_id": format!("user_{c}")},
        "mode": "subscription", "status": "complete", "payment_status": "paid",
        "subscription": format!("sub_1Q{c:016}"), "amount_total": 2000, "currency": "usd",
        "customer_details": {"email": format!("user{c}@example.com"), "name": format!("Customer {c}")},
    });
    o.as_object_mut()
        .unwrap()
        .extend(filler(c).as_object().unwrap().clone());
    o
}

/// Delivery `n` of the mix: (type, body).
fn delivery(n: u64, customers: u64) -> (&'static str, Vec<u8>) {
    let c = n % customers;
    let round = n / customers; // how many events this customer had before
    let created = T0 + n as i64; // strictly increasing: every event is newer than the last
    let period_end = T0 + 2_592_000 * (1 + round as i64 / 4);
    let (kind, object) = match round {
        0 => ("checkout.session.completed", checkout(c)),
        1 => (
            "customer.subscription.created",
            subscription(c, "active", period_end, "price_QPro"),
        ),
        _ => match (n.wrapping_mul(2_654_435_761) >> 7) % 20 {
            0..=5 => {
                let status = if n % 11 == 0 { "past_due" } else { "active" };
                let price = if n % 5 == 0 {
                    "price_QTeam"
                } else {
                    "price_QPro"
                };
                (
                    "customer.subscription.updated",
                    subscription(c, status, period_end, price),
                )
            }
            6..=12 => ("invoice.paid", invoice(c, n, true, created)),
            13..=14 => ("invoice.payment_failed", invoice(c, n, false, created)),
            _ => ("customer.updated", customer(c, n)),
        },
    };
    (kind, event(n, kind, created, object))
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn file_bytes(path: &str) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{path}{s}")).ok())
        .map(|m| m.len())
        .sum()
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    sorted[((p / 100.0) * (sorted.len() - 1) as f64).round() as usize]
}

fn main() {
    let a = args();
    let tmp = tempfile::tempdir().expect("tempdir");
    let path =
        a.db.clone()
            .unwrap_or_else(|| tmp.path().join("scale.db").to_string_lossy().into_owned());
    let mut config = Config::new(path.clone(), &[SECRET]).expect("config");
    config.sqlite.durability = a.durability;
    let engine = Engine::open(config).expect("open");

    // Windows: `window` calls ending at each checkpoint (1 k has a 1 k window: the store is
    // that small), reported with the size of the store at the window's end.
    let mut points: Vec<u64> = [1_000u64, 10_000, 100_000, 1_000_000, 10_000_000]
        .into_iter()
        .filter(|&p| p <= a.events)
        .collect();
    if points.last() != Some(&a.events) {
        points.push(a.events);
    }
    println!(
        "scale: {} events, {} customers, durability {:?}, {path}",
        a.events, a.customers, a.durability
    );
    println!(
        "| events stored | window calls | events/s | p50 µs | p99 µs | p99.9 µs | max µs | db+wal MiB | peak RSS MiB |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let started = Instant::now();
    let mut samples: Vec<u64> = Vec::with_capacity(a.window as usize);
    let mut kinds = std::collections::BTreeMap::<&str, u64>::new();
    let mut next_point = 0;
    const BATCH: u64 = 512;
    let mut n = 0u64;
    while n < a.events {
        let batch: Vec<(Vec<u8>, String, i64)> = (n..(n + BATCH).min(a.events))
            .map(|i| {
                let (kind, body) = delivery(i, a.customers);
                *kinds.entry(kind).or_default() += 1;
                let now = T0 + i as i64 + 5;
                let header = sign_for_test(&body, SECRET, now);
                (body, header, now)
            })
            .collect();
        for (body, header, now) in &batch {
            let point = points[next_point];
            let window_start = point.saturating_sub(a.window.min(point));
            let timed = n >= window_start;
            let t = Instant::now();
            engine
                .handle_webhook_at(body, header, *now)
                .expect("handled");
            if timed {
                samples.push(t.elapsed().as_nanos() as u64);
            }
            n += 1;
            if n == point {
                let secs: f64 = samples.iter().sum::<u64>() as f64 / 1e9;
                let calls = samples.len();
                samples.sort_unstable();
                println!(
                    "| {n} | {calls} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
                    calls as f64 / secs,
                    pct(&samples, 50.0) as f64 / 1e3,
                    pct(&samples, 99.0) as f64 / 1e3,
                    pct(&samples, 99.9) as f64 / 1e3,
                    *samples.last().unwrap() as f64 / 1e3,
                    file_bytes(&path) as f64 / 1_048_576.0,
                    peak_rss_kib() as f64 / 1024.0,
                );
                samples.clear();
                next_point += 1;
            }
        }
    }
    let wall = started.elapsed().as_secs_f64();
    engine.close().expect("close");
    let bytes = file_bytes(&path);
    println!(
        "\nwall {wall:.0} s (incl. building and signing bodies); database {:.1} MiB = {:.0} MiB per million events; peak RSS {:.1} MiB",
        bytes as f64 / 1_048_576.0,
        bytes as f64 / 1_048_576.0 * 1e6 / a.events as f64,
        peak_rss_kib() as f64 / 1024.0
    );
    println!("mix: {kinds:?}");
}
