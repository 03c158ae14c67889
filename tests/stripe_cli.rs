//! The Stripe commands of the `tollbooth` binary against the loopback stub: `sync` (killed
//! with SIGKILL mid-run and rerun ends like an uninterrupted run), `catch-up`, `reconcile`,
//! `throttle`, and the API key in no output.

mod stripe_stub;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use stripe_stub::{Fault, Stub, objects};
use tollbooth::{Config, Engine};

const KEY: &str = "sk_test_51CliKeyZZ9SECRET";
const T0: i64 = 1_767_000_000;
const NOW: i64 = T0 + 10 * 86_400;

fn cmd(db: &str, stub: &Stub, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tollbooth"));
    c.args(["--db", db, "--now", &NOW.to_string()])
        .args(args)
        .env_remove("TOLLBOOTH_DB")
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .env("STRIPE_API_KEY", KEY)
        .env("TOLLBOOTH_STRIPE_API_BASE", &stub.base_url)
        .env("NO_COLOR", "1");
    c
}

fn run(db: &str, stub: &Stub, args: &[&str]) -> Output {
    cmd(db, stub, args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn no_key(o: &Output) {
    let t = text(o);
    assert!(
        !t.contains(KEY) && !t.contains("CliKey"),
        "the API key was printed: {t}"
    );
}

fn db(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}

fn open(path: &str) -> Engine {
    Engine::open(Config::new(path, &["whsec_cli"]).unwrap()).unwrap()
}

/// What the portal sees, for comparing two databases.
fn state(path: &str, a: &objects::Account) -> Vec<String> {
    let e = open(path);
    let mut out = Vec::new();
    for c in &a.customers {
        let id = c["id"].as_str().unwrap();
        out.push(format!("{:?}", e.access(id, NOW).unwrap()));
        out.push(format!("{:?}", e.find_customer(id).unwrap()));
        out.push(format!("{:?}", e.invoices(id).unwrap()));
    }
    for s in &a.sessions {
        out.push(format!(
            "{:?}",
            e.checkout_status(s["id"].as_str().unwrap()).unwrap()
        ));
    }
    let mut jobs: Vec<(String, String)> = e
        .jobs(&tollbooth::JobFilter {
            limit: Some(100_000),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|j| (j.kind, j.key))
        .collect();
    jobs.sort();
    out.extend(jobs.into_iter().map(|(k, key)| format!("{k} {key}")));
    out
}

#[test]
fn sync_prints_per_type_counts_and_never_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(dir.path(), "s.db");
    let stub = Stub::start(KEY);
    let a = objects::account(130, T0);
    a.serve(&stub);
    let o = run(&path, &stub, &["--json", "sync"]);
    assert!(o.status.success(), "{}", text(&o));
    no_key(&o);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["fetched"], a.len() as i64);
    assert_eq!(v["types"][0]["object"], "customer");
    assert_eq!(v["types"][0]["fetched"], 130);
    assert_eq!(v["requests"], 10, "2 pages x 4 types + products + prices");
    let human = run(&path, &stub, &["sync", "--only", "customers,prices"]);
    assert!(human.status.success(), "{}", text(&human));
    let t = text(&human);
    assert!(t.contains("synced 133 objects"), "{t}");
    assert!(
        t.contains("customer") && t.contains("price") && !t.contains("invoice"),
        "{t}"
    );
    // The key on the command line is redacted as well, even in clap's own errors.
    let o = cmd(
        &path,
        &stub,
        &["sync", "--stripe-key", KEY, "--only", "charges"],
    )
    .env_remove("STRIPE_API_KEY")
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("unknown object type"), "{}", text(&o));
    no_key(&o);
}

#[test]
fn a_refused_key_is_stripe_auth_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(dir.path(), "a.db");
    let stub = Stub::start("sk_test_other");
    stub.add(
        "/v1/customers",
        [objects::customer("cus_1", "a@example.com", T0)],
    );
    let o = run(&path, &stub, &["--json", "sync"]);
    assert_eq!(o.status.code(), Some(1));
    no_key(&o);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"]["code"], "STRIPE_AUTH");
    // No key at all.
    let o = cmd(&path, &stub, &["sync"])
        .env_remove("STRIPE_API_KEY")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("no Stripe API key"), "{}", text(&o));
}

#[test]
fn a_sync_killed_mid_run_resumes_and_ends_like_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let stub = Stub::start(KEY);
    let a = objects::account(750, T0);
    a.serve(&stub);
    assert!(a.len() > 3000);
    let whole = db(dir.path(), "whole.db");
    let o = run(&whole, &stub, &["sync"]);
    assert!(o.status.success(), "{}", text(&o));

    // Slow pages, so the kill lands mid-sync.
    let killed = db(dir.path(), "killed.db");
    stub.fault_every(1, Some(Fault::Slow(Duration::from_millis(40))));
    let mut child = cmd(&killed, &stub, &["sync"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let progressed = Path::new(&killed).exists()
            && open(&killed)
                .sync_cursor("subscription")
                .ok()
                .flatten()
                .is_some_and(|c| c.applied >= 200);
        if progressed {
            break;
        }
        assert!(Instant::now() < deadline, "the sync made no progress");
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let cur = open(&killed).sync_cursor("subscription").unwrap().unwrap();
    assert!(cur.completed_at.is_none() && cur.applied < 750, "{cur:?}");
    let o = run(&killed, &stub, &["status"]);
    assert!(
        text(&o).contains("an interrupted sync of subscription stopped after"),
        "{}",
        text(&o)
    );
    assert!(open(&killed).sync_cursor("invoice").unwrap().is_none());
    stub.fault_every(1, None);
    let o = run(&killed, &stub, &["--json", "sync"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let subs = v["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["object"] == "subscription")
        .unwrap();
    assert_eq!(subs["resumed"], true);
    assert_eq!(subs["fetched"].as_i64().unwrap() + cur.applied, 750);
    assert_eq!(state(&killed, &a), state(&whole, &a));
    // And once more: nothing changes.
    let o = run(&killed, &stub, &["--json", "sync"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["types"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["changed"] == 0 && t["jobs"] == 0),
        "{v}"
    );
    assert_eq!(state(&killed, &a), state(&whole, &a));
}

#[test]
fn catch_up_reconcile_and_throttle_commands() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(dir.path(), "c.db");
    let stub = Stub::start(KEY);
    // The last event tollbooth saw is 40 days old: the gap is older than Stripe keeps.
    let old = objects::event(
        "evt_old",
        "customer.created",
        NOW - 40 * 86_400,
        objects::customer("cus_o", "o@example.com", T0),
    );
    let e = open(&path);
    e.ingest_trusted(old.to_string().as_bytes(), NOW - 40 * 86_400)
        .unwrap();
    // Two same-second events (older still) that disagree: a reconcile job.
    let sub = objects::subscription("sub_x", "cus_o", "active", T0, NOW + 86_400, "user_o");
    let mut other = sub.clone();
    other["status"] = "past_due".into();
    for (id, o) in [("evt_x1", sub.clone()), ("evt_x2", other)] {
        let ev = objects::event(id, "customer.subscription.updated", NOW - 41 * 86_400, o);
        e.ingest_trusted(ev.to_string().as_bytes(), NOW - 41 * 86_400)
            .unwrap();
    }
    drop(e);
    stub.add(
        "/v1/events",
        [objects::event(
            "evt_new",
            "customer.created",
            NOW - 3600,
            objects::customer("cus_n", "n@example.com", NOW - 3600),
        )],
    );
    // `status` points to catch-up when the newest event is old.
    let o = run(&path, &stub, &["status"]);
    assert!(
        text(&o).contains("run `tollbooth catch-up`"),
        "{}",
        text(&o)
    );
    let o = run(&path, &stub, &["catch-up"]);
    assert!(o.status.success(), "{}", text(&o));
    no_key(&o);
    let t = text(&o);
    assert!(
        t.contains("warning:") && t.contains("30 days") && t.contains("tollbooth sync"),
        "{t}"
    );
    assert!(t.contains("1 processed"), "{t}");
    let r = &stub.requests()[0];
    assert_eq!(r.path, "/v1/events");
    assert_eq!(
        r.q("created[gte]"),
        Some((NOW - 30 * 86_400).to_string().as_str())
    );

    let mut truth = sub;
    truth["status"] = "canceled".into();
    stub.add("/v1/subscriptions", [truth]);
    let o = run(&path, &stub, &["--json", "reconcile"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["claimed"].as_i64(), v["completed"].as_i64()),
        (Some(1), Some(1)),
        "{v}"
    );
    assert!(!open(&path).access("cus_o", NOW).unwrap().has_access);

    let o = run(
        &path,
        &stub,
        &[
            "throttle",
            "crm.sync_customer",
            "--max",
            "100",
            "--per",
            "10",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&path, &stub, &["--json", "throttle"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0][0], "crm.sync_customer");
    assert_eq!(v[0][1]["max_claims"], 100);
    assert_eq!(v[0][1]["burst"], 100);
    let o = run(&path, &stub, &["throttle", "crm.sync_customer", "--remove"]);
    assert!(text(&o).contains("throttle removed"), "{}", text(&o));
    let o = run(
        &path,
        &stub,
        &["throttle", "crm.sync_customer", "--max", "0", "--per", "10"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("INVALID_ARGUMENT"), "{}", text(&o));
}
