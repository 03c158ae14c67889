//! Sync speed against the loopback Stripe stub (`tests/stripe_stub`): objects per second
//! through the whole `sync` (fetch, parse, apply_snapshot, cursor), next to the client alone
//! (paging the same lists without the store), so the figure says which side bounds it.
//!
//! `cargo bench --bench stripe_sync` prints one table; figures depend on the machine. The
//! stub answers from memory on 127.0.0.1, so real Stripe (tens of ms per page, a rate limit
//! of 100 reads per second in live mode) is slower than either column: per page of 100
//! objects, the network, not tollbooth, is the bound in production.

#[path = "../tests/stripe_stub/mod.rs"]
mod stripe_stub;

use std::sync::Arc;
use std::time::Instant;

use stripe_stub::{Stub, objects};
use tollbooth::stripe_api::{
    ApiKey, ClientOptions, StripeClient, SyncObject, SyncOptions, SystemClock, sync,
};
use tollbooth::{Config, Engine};

const KEY: &str = "sk_test_bench";
const T0: i64 = 1_767_000_000;

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this once with a tiny account.
    let quick = !std::env::args().any(|a| a == "--bench");
    let customers = if quick { 200 } else { 5_000 };
    let stub = Stub::start(KEY);
    let account = objects::account(customers, T0);
    account.serve(&stub);
    let client = StripeClient::with_clock(
        ApiKey::new(KEY).unwrap(),
        ClientOptions {
            base_url: stub.base_url.clone(),
            ..ClientOptions::default()
        },
        Arc::new(SystemClock),
    )
    .unwrap();

    // The client alone: every list, every page, items split and kept as text.
    let started = Instant::now();
    let mut fetched = 0usize;
    for o in SyncObject::ALL {
        let filters: Vec<(&str, String)> = if *o == SyncObject::Subscription {
            vec![("status", "all".into())]
        } else {
            Vec::new()
        };
        let mut after: Option<String> = None;
        loop {
            let page = client
                .list_page(o.path(), &filters, after.as_deref(), None)
                .unwrap();
            fetched += page.items.len();
            after = page.items.last().map(|i| i.id.clone());
            if !page.has_more {
                break;
            }
        }
    }
    let client_secs = started.elapsed().as_secs_f64();

    // The whole sync into a file database (WAL, synchronous=NORMAL: the defaults).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.db");
    let engine =
        Engine::open(Config::new(path.to_str().unwrap(), &["whsec_bench"]).unwrap()).unwrap();
    let started = Instant::now();
    let report = sync(&engine, &client, &SyncOptions::default(), &mut |_| {}).unwrap();
    let sync_secs = started.elapsed().as_secs_f64();
    let synced: i64 = report.types.iter().map(|t| t.fetched).sum();
    assert_eq!(synced as usize, fetched);
    let jobs: i64 = report.types.iter().map(|t| t.jobs).sum();

    println!("stripe sync against the loopback stub: {fetched} objects ({customers} customers)");
    println!(
        "  client only (page + split)       {:>9.0} objects/s  ({:.2} s, {} pages)",
        fetched as f64 / client_secs,
        client_secs,
        fetched.div_ceil(100)
    );
    println!(
        "  sync (fetch + apply + cursor)    {:>9.0} objects/s  ({:.2} s, {jobs} jobs enqueued)",
        synced as f64 / sync_secs,
        sync_secs
    );
}
