//! Every statement on the hot paths uses an index: the statements are captured from a real run
//! (webhooks of every kind we act on, a duplicate, access, invoices, checkout status, claim /
//! complete / fail) with `Store::trace_statements`, so this test never holds a copy of the SQL,
//! and each one is explained with `EXPLAIN QUERY PLAN` on a second connection.
//!
//! A plan line `SCAN <table>` (a full table or full index walk) fails the test. Allowed scans:
//! `json_each` (the claim's list of kinds, a few elements) and `(subquery-N)` (walks of a
//! subquery's own bounded result, e.g. the two halves of a claim, at most `limit` rows each).

use std::collections::BTreeSet;
use std::sync::Mutex;

use rusqlite::Connection;
use rusqlite::trace::TraceEvent;
use tollbooth::verify::sign_for_test;
use tollbooth::{Config, Engine};

static CAPTURED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn capture(e: TraceEvent<'_>) {
    if let TraceEvent::Stmt(stmt, _) = e {
        CAPTURED
            .lock()
            .unwrap()
            .insert(stmt.sql().trim().to_owned());
    }
}

const NOW: i64 = 1_800_000_000;
const SECRET: &str = "whsec_query_plans";

fn fixtures() -> Vec<Vec<u8>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).expect("tests/fixtures/events") {
        let dir = dir.unwrap().path();
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|f| f.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        out.extend(files.iter().map(|f| std::fs::read(f).unwrap()));
    }
    assert!(out.len() >= 8, "expected the Stripe event fixtures");
    out
}

/// The statements a portal runs, captured from a real run.
fn hot_statements(path: &str) -> BTreeSet<String> {
    let engine = Engine::open(Config::new(path, &[SECRET]).unwrap()).unwrap();
    engine
        .with_store_hooks(|h| {
            h.trace_statements(Some(capture));
            Ok(())
        })
        .unwrap();
    let bodies = fixtures();
    let mut customers = BTreeSet::new();
    for body in &bodies {
        let header = sign_for_test(body, SECRET, NOW);
        let handled = engine.handle_webhook_at(body, &header, NOW).unwrap();
        customers.extend(handled.customer_id);
    }
    // A duplicate (answered from a read), then a write that flushes its log row.
    let header = sign_for_test(&bodies[0], SECRET, NOW);
    engine.handle_webhook_at(&bodies[0], &header, NOW).unwrap();
    let rejected = engine.handle_webhook_at(b"{}", "t=1,v1=00", NOW);
    assert!(rejected.is_err());

    assert!(!customers.is_empty());
    for c in &customers {
        engine.access(c, NOW).unwrap();
        engine.invoices(c).unwrap();
        engine.access_for_user("user_42", NOW).unwrap();
    }
    engine.checkout_status("cs_test_Tb1Fixture").unwrap();
    engine.checkout_status("cs_unknown").unwrap();

    // Claim every way a worker does: all kinds, one kind, several kinds; complete and fail.
    let all = engine.claim(&[], 1, 30, NOW).unwrap();
    let one = engine.claim(&["support.open_ticket"], 1, 30, NOW).unwrap();
    let many = engine
        .claim(&["crm.sync_customer", "portal.access_revoked"], 2, 30, NOW)
        .unwrap();
    let mut done = all.iter().chain(&one).chain(&many);
    if let Some(j) = done.next() {
        engine.complete(j.id, j.lease_token, NOW).unwrap();
    }
    if let Some(j) = done.next() {
        engine.fail(j.id, j.lease_token, "boom", NOW).unwrap();
    }
    // Expired leases are picked up again.
    engine.claim(&[], 10, 30, NOW + 3600).unwrap();
    engine.close().unwrap();
    std::mem::take(&mut *CAPTURED.lock().unwrap())
}

fn is_plannable(sql: &str) -> bool {
    let head = sql
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(
        head.as_str(),
        "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "WITH"
    )
}

/// A full scan of a real table or index (not a subquery result or the kinds list).
fn full_scan(detail: &str) -> bool {
    let Some(rest) = detail.strip_prefix("SCAN ") else {
        return false;
    };
    !(rest.starts_with("json_each") || rest.starts_with('(') || rest.starts_with("CONSTANT ROW"))
}

#[test]
fn every_hot_statement_uses_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    let statements = hot_statements(path.to_str().unwrap());
    let conn = Connection::open(&path).unwrap();
    let mut explained = 0;
    let mut failures = Vec::new();
    for sql in statements.iter().filter(|s| is_plannable(s)) {
        let mut st = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap_or_else(|e| panic!("cannot explain {sql}: {e}"));
        // Parameters stay NULL: the plan depends on the SQL, not on the values.
        let nulls = vec![rusqlite::types::Null; st.parameter_count()];
        let plan: Vec<String> = st
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        explained += 1;
        if plan.iter().any(|d| full_scan(d)) {
            failures.push(format!("{sql}\n    {}", plan.join("\n    ")));
        }
    }
    // The webhook path alone runs ~20 distinct statements; a much smaller number means the
    // capture broke, not that the code got leaner.
    assert!(
        explained >= 25,
        "only {explained} statements captured: {statements:#?}"
    );
    assert!(
        failures.is_empty(),
        "full scans on a hot path:\n{}",
        failures.join("\n")
    );
}
