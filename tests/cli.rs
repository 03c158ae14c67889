//! End-to-end tests of the `tollbooth` binary on temporary databases.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use tollbooth::verify::{Secret, VerifyOptions, sign_for_test, verify};
use tollbooth::{Config, Engine, FailOutcome};

mod common;
use common::{Backend, backends};

const SECRET: &str = "whsec_cli_test_Zq81PvX0secret";
const NOW: i64 = 1_760_000_000;

fn tb(args: &[&str]) -> Output {
    tb_env(args, &[])
}

fn tb_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tollbooth"));
    cmd.args(args)
        .env_remove("TOLLBOOTH_DB")
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .env_remove("TOLLBOOTH_PURCHASE_GRANTS")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs with `--json`, expects `code`, parses stdout.
fn json_of(args: &[&str], code: i32) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let o = tb(&all);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", text(&o)))
}

fn db_arg(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}

/// A demo database, kept with --db.
fn demo_db(dir: &Path) -> (String, Value) {
    let db = db_arg(dir, "demo.db");
    let v = json_of(&["demo", "--db", &db], 0);
    (db, v)
}

#[test]
fn demo_tells_the_story_with_engine_figures() {
    let dir = tempfile::tempdir().unwrap();
    let (db, v) = demo_db(dir.path());
    assert_eq!(v["crm_contacts"], 1, "{v:#}");
    let failed = v["failed_payment_attempts"].as_u64().unwrap();
    assert!(failed >= 1);
    // One ticket per failed attempt, per refund (two partial ones) and for the dispute.
    assert_eq!(v["tickets"].as_u64().unwrap(), failed + 3);
    let tickets = v["ticket_list"].as_array().unwrap();
    let dispute = tickets
        .iter()
        .find(|t| t["external_id"].as_str().unwrap().starts_with("dispute:"))
        .unwrap();
    assert_eq!(dispute["status"], "closed", "the dispute closed (won)");
    // Every event was delivered twice: the duplicates are exactly the redeliveries.
    let events = v["events"].as_u64().unwrap();
    assert_eq!(v["deliveries"].as_u64().unwrap(), 2 * events);
    assert_eq!(v["duplicates"].as_u64().unwrap(), events);
    assert!(v["stale"].as_u64().unwrap() >= 1);
    // One job went dead, was replayed, and completed.
    let dead = v["dead_jobs"].as_array().unwrap();
    assert_eq!(dead.len(), 1);
    let replayed = &v["replayed"][0];
    assert_eq!(replayed["id"], dead[0]);
    assert_eq!(replayed["state"], "done");
    assert_eq!(v["health_before_replay"]["ok"], false);
    assert_eq!(v["health"]["ok"], true);
    // Retries happened: some worker attempts failed before succeeding.
    let log = v["worker_log"].as_array().unwrap();
    assert!(
        log.iter()
            .any(|l| l["ok"] == false && l["kind"] == "crm.sync_customer")
    );
    // The access story: past_due after the failure, canceled at the period's end, then the
    // one-time lifetime deal decides.
    let steps = v["steps"].as_array().unwrap();
    let states: Vec<&str> = steps
        .iter()
        .map(|s| s["access"]["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        [
            "active", "past_due", "active", "active", "active", "canceled", "active"
        ]
    );
    let lifetime = &steps[6]["access"];
    assert_eq!(lifetime["has_access"], true);
    assert_eq!(lifetime["purchase_id"], "pi_AdaLifetime");
    assert_eq!(lifetime["subscription_id"], Value::Null);
    assert!(
        lifetime["reason"]
            .as_str()
            .unwrap()
            .starts_with("lifetime access (one-time purchase on"),
        "{lifetime}"
    );

    // The kept database agrees with what the demo reported.
    let stored = json_of(&["--db", &db, "events", "--limit", "1000"], 0);
    assert_eq!(stored.as_array().unwrap().len() as u64, events);
    let job = json_of(&["--db", &db, "jobs", "--state", "done"], 0);
    let id = dead[0].as_i64().unwrap();
    assert!(job.as_array().unwrap().iter().any(|j| j["id"] == id));
    let c = json_of(&["--db", &db, "customer", "user_42"], 0);
    let attempts = c["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job"]["id"] == id)
        .unwrap()["attempts"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(attempts, 4, "3 failed attempts, then the replay");
}

#[test]
fn demo_prints_a_story_and_cleans_up_its_temp_file() {
    let o = tb(&["demo"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for section in [
        "1. Signup and checkout",
        "2. Renewal fails",
        "Invoices",
        "Jobs queued",
        "Workers",
        "Operator",
        "Summary",
        "stale",
        "dead-letter",
        "CRM contacts: 1",
    ] {
        assert!(out.contains(section), "missing {section:?} in\n{out}");
    }
    assert!(
        !out.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    assert!(!out.contains("Database kept"));
    // Refuses to write its story into an existing database.
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = demo_db(dir.path());
    let again = tb(&["demo", "--db", &db]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
}

#[test]
fn events_and_jobs_filters() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = demo_db(dir.path());
    let paid = json_of(&["--db", &db, "events", "--type", "invoice.paid"], 0);
    let paid = paid.as_array().unwrap();
    assert_eq!(paid.len(), 2);
    assert!(paid.iter().all(|e| e["event_type"] == "invoice.paid"));
    let stale = json_of(&["--db", &db, "events", "--outcome", "stale"], 0);
    assert_eq!(stale.as_array().unwrap().len(), 1);
    assert_eq!(stale[0]["event_type"], "customer.subscription.created");
    // --since / --until bound `created`; newest first.
    let all = json_of(&["--db", &db, "events"], 0);
    let all = all.as_array().unwrap();
    let created: Vec<i64> = all.iter().map(|e| e["created"].as_i64().unwrap()).collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]));
    let (lo, hi) = (created[created.len() - 1], created[0]);
    let mid = created[created.len() / 2];
    let since = json_of(&["--db", &db, "events", "--since", &mid.to_string()], 0);
    assert!(
        since
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["created"].as_i64().unwrap() >= mid)
    );
    assert!(since.as_array().unwrap().len() < all.len());
    let until = json_of(&["--db", &db, "events", "--until", &hi.to_string()], 0);
    assert_eq!(until.as_array().unwrap().len(), all.len() - 1);
    let none = json_of(&["--db", &db, "events", "--until", &lo.to_string()], 0);
    assert!(none.as_array().unwrap().is_empty());
    let limited = json_of(&["--db", &db, "events", "--limit", "3"], 0);
    assert_eq!(limited.as_array().unwrap().len(), 3);
    // --customer takes an id, an email or a user id.
    for who in ["cus_Ada42Lovelace", "ada@example.com", "user_42"] {
        let e = json_of(&["--db", &db, "events", "--customer", who], 0);
        assert_eq!(e.as_array().unwrap().len(), all.len(), "{who}");
    }
    let nobody = json_of(&["--db", &db, "events", "--customer", "cus_nobody"], 0);
    assert!(nobody.as_array().unwrap().is_empty());

    let crm = json_of(&["--db", &db, "jobs", "--kind", "crm.sync_customer"], 0);
    assert_eq!(crm.as_array().unwrap().len(), 1);
    assert_eq!(crm[0]["key"], "cus_Ada42Lovelace");
    let done = json_of(
        &[
            "--db",
            &db,
            "jobs",
            "--state",
            "done",
            "--customer",
            "user_42",
        ],
        0,
    );
    // CRM, the failed payment's ticket and its close, two refund tickets, the dispute's
    // ticket and its close, the revocation.
    assert_eq!(done.as_array().unwrap().len(), 8);
    let dead = json_of(&["--db", &db, "jobs", "--dead"], 0);
    assert!(
        dead.as_array().unwrap().is_empty(),
        "the demo replayed its dead job"
    );
    // Usage errors are exit 2.
    assert_eq!(
        tb(&["--db", &db, "jobs", "--state", "nope"]).status.code(),
        Some(2)
    );
    assert_eq!(
        tb(&["--db", &db, "events", "--limit", "x"]).status.code(),
        Some(2)
    );
}

/// A database with one job in dead-letter, made through the library.
fn db_with_dead_job(dir: &Path) -> (String, i64) {
    let db = db_arg(dir, "dead.db");
    let mut config = Config::new(&db, &[SECRET]).unwrap();
    config.max_attempts = 1;
    let engine = Engine::open(config).unwrap();
    let body = sub_event("evt_dead_1", "cus_dead", "active", NOW - 100);
    let header = sign_for_test(body.as_bytes(), SECRET, NOW - 90);
    engine
        .handle_webhook_at(body.as_bytes(), &header, NOW - 90)
        .unwrap();
    let job = engine.claim(&[], 1, 60, NOW - 80).unwrap().remove(0);
    let outcome = engine
        .fail(job.id, job.lease_token, "CRM down", NOW - 80)
        .unwrap();
    assert_eq!(outcome, FailOutcome::Dead);
    engine.close().unwrap();
    (db, job.id)
}

fn sub_event(id: &str, customer: &str, status: &str, created: i64) -> String {
    json!({
        "id": id, "object": "event", "type": "customer.subscription.updated",
        "created": created, "livemode": false,
        "data": { "object": {
            "id": format!("sub_{customer}"), "object": "subscription", "customer": customer,
            "status": status, "cancel_at_period_end": false,
            "items": { "data": [{ "price": { "id": "price_pro", "product": "prod_pro" },
                                   "current_period_end": created + 30 * 86_400 }] } } }
    })
    .to_string()
}

#[test]
fn status_exit_codes_and_replay_of_a_dead_job() {
    let dir = tempfile::tempdir().unwrap();
    let (db, id) = db_with_dead_job(dir.path());
    let now = NOW.to_string();
    let status = json_of(&["--db", &db, "--now", &now, "status"], 3);
    assert_eq!(status["health"]["ok"], false);
    assert!(
        status["health"]["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "dead_letter")
    );
    assert_eq!(
        tb(&["--db", &db, "--now", &now, "health"]).status.code(),
        Some(3)
    );
    let human = tb(&["--db", &db, "--now", &now, "status"]);
    assert_eq!(human.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&human.stdout).contains("dead_letter"));

    let dead = json_of(&["--db", &db, "jobs", "--dead"], 0);
    assert_eq!(dead[0]["id"], id);
    let r = json_of(
        &["--db", &db, "--now", &now, "replay-job", &id.to_string()],
        0,
    );
    assert_eq!(r["replayed"], id);
    assert_eq!(r["runs_as"], id);
    assert_eq!(r["job"]["state"], "due");
    assert!(
        json_of(&["--db", &db, "jobs", "--dead"], 0)
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Replaying it again is an error: it is no longer dead.
    let again = tb(&["--db", &db, "replay-job", &id.to_string()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).contains("JOB_NOT_FOUND"), "{}", text(&again));
    let healthy = json_of(&["--db", &db, "--now", &now, "status"], 0);
    assert_eq!(healthy["health"]["ok"], true);
    // A missing database is an error, not a fresh empty one.
    let missing = db_arg(dir.path(), "missing.db");
    assert_eq!(tb(&["--db", &missing, "status"]).status.code(), Some(1));
    assert!(!Path::new(&missing).exists());
}

#[test]
fn reprocess_is_a_no_op_when_nothing_would_change() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = db_with_dead_job(dir.path());
    let r = json_of(&["--db", &db, "reprocess", "evt_dead_1"], 0);
    assert_eq!(r["noop"], true, "{r:#}");
    assert_eq!(r["handled"]["jobs"].as_array().unwrap().len(), 0);
    let human = tb(&["--db", &db, "reprocess", "evt_dead_1"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("no-op"));
    assert_eq!(
        tb(&["--db", &db, "reprocess", "evt_unknown"]).status.code(),
        Some(1)
    );
}

/// A shuffled export: several customers, each going incomplete → active → past_due → active,
/// plus event types tollbooth ignores.
fn export_events() -> Vec<String> {
    let mut out = Vec::new();
    for c in 0..12 {
        let cus = format!("cus_imp{c}");
        for (i, status) in ["incomplete", "active", "past_due", "active"]
            .iter()
            .enumerate()
        {
            let created = NOW - 10_000 + (c * 10 + i as i64) * 7;
            out.push(sub_event(
                &format!("evt_imp_{c}_{i}"),
                &cus,
                status,
                created,
            ));
        }
        out.push(
            json!({ "id": format!("evt_imp_{c}_x"), "object": "event", "type": "payment_intent.created",
                    "created": NOW - 20_000, "livemode": false,
                    "data": { "object": { "id": format!("pi_{c}"), "object": "payment_intent" } } })
            .to_string(),
        );
    }
    out.reverse(); // newest first, as Stripe lists them
    out
}

fn import(db: &str, file: &Path) -> Value {
    json_of(&["--db", db, "import", &file.to_string_lossy()], 0)
}

#[test]
fn import_twice_changes_nothing_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let events = export_events();
    let lines = dir.path().join("events.jsonl");
    std::fs::write(&lines, events.join("\n") + "\n").unwrap();
    let db = db_arg(dir.path(), "import.db");
    let first = import(&db, &lines);
    assert_eq!(first["total"], events.len());
    assert_eq!(first["by_outcome"]["processed"], 48);
    assert_eq!(first["by_outcome"]["ignored"], 12);
    assert!(first["by_outcome"].get("duplicate").is_none());
    // Applied in `created` order although the file is newest first: nothing stale, final
    // state is the newest.
    assert!(first["by_outcome"].get("stale").is_none());
    let c = json_of(&["--db", &db, "customer", "cus_imp3"], 0);
    assert_eq!(c["access"]["state"], "active");
    assert_eq!(c["events"].as_array().unwrap().len(), 4);
    let second = import(&db, &lines);
    assert_eq!(second["total"], events.len());
    assert_eq!(second["by_outcome"], json!({ "duplicate": events.len() }));
    assert_eq!(second["jobs_written"], 0);

    // The list object and a plain array are the same events: all duplicates too.
    let raw: Vec<Value> = events
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let list = dir.path().join("list.json");
    let body = json!({ "object": "list", "data": raw, "has_more": false, "url": "/v1/events" });
    std::fs::write(&list, serde_json::to_string_pretty(&body).unwrap()).unwrap();
    assert_eq!(
        import(&db, &list)["by_outcome"],
        json!({ "duplicate": events.len() })
    );
    let array = dir.path().join("array.json");
    std::fs::write(&array, serde_json::to_string(&raw).unwrap()).unwrap();
    let fresh = db_arg(dir.path(), "fresh.db");
    let from_array = import(&fresh, &array);
    assert_eq!(from_array["by_outcome"]["processed"], 48);
}

#[test]
fn import_keeps_exact_bytes_and_reports_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    // Odd but valid spacing: the stored body must be these exact bytes.
    let spaced = sub_event("evt_sp", "cus_sp", "active", NOW - 50).replace(",", " ,  ");
    let file = dir.path().join("mixed.jsonl");
    std::fs::write(
        &file,
        format!("{spaced}\r\nnot json\n\n{{\"id\":\"evt_x\"}}\n"),
    )
    .unwrap();
    let db = db_arg(dir.path(), "mixed.db");
    let r = import(&db, &file);
    assert_eq!(r["by_outcome"]["processed"], 1);
    // A line that is not JSON is no event: refused. An event tollbooth cannot read is kept
    // in quarantine (with its code), not dropped.
    assert_eq!(r["by_outcome"]["rejected"], 1, "{r:#}");
    assert_eq!(r["by_outcome"]["quarantined"], 1, "{r:#}");
    let engine = Engine::open(Config::new(&db, &[SECRET]).unwrap()).unwrap();
    let stored = engine.event_body("evt_sp").unwrap().unwrap();
    assert_eq!(stored, spaced.as_bytes());
}

/// Issue 13, finding 10: a test-mode export into a live store is refused whole, with a
/// stable code, unless the operator says otherwise.
#[test]
fn import_refuses_an_export_of_the_other_mode_without_the_override() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_arg(dir.path(), "live.db");
    let live = dir.path().join("live.jsonl");
    let live_event = sub_event("evt_live", "cus_live", "active", NOW - 100)
        .replace("\"livemode\":false", "\"livemode\":true");
    std::fs::write(&live, live_event + "\n").unwrap();
    assert_eq!(import(&db, &live)["by_outcome"]["processed"], 1);

    let test = dir.path().join("test.jsonl");
    std::fs::write(
        &test,
        sub_event("evt_test", "cus_test", "active", NOW - 50) + "\n",
    )
    .unwrap();
    let refused = json_of(&["--db", &db, "import", &test.to_string_lossy()], 1);
    assert_eq!(refused["error"]["code"], "LIVEMODE_MISMATCH", "{refused:#}");
    let msg = refused["error"]["message"].as_str().unwrap();
    assert!(msg.contains("--allow-livemode-mismatch"), "{msg}");
    assert!(!msg.contains("evt_test"), "{msg}");
    let engine = Engine::open(Config::new(&db, &[SECRET]).unwrap()).unwrap();
    assert!(
        engine.event_body("evt_test").unwrap().is_none(),
        "nothing imported"
    );
    drop(engine);

    let forced = json_of(
        &[
            "--db",
            &db,
            "import",
            "--allow-livemode-mismatch",
            &test.to_string_lossy(),
        ],
        0,
    );
    assert_eq!(forced["by_outcome"]["processed"], 1);
}

fn verifies(body: &[u8], header: &str, at: i64) -> bool {
    let opts = VerifyOptions::default();
    verify(body, header, &[Secret::new(SECRET).unwrap()], at, &opts).is_ok()
}

#[test]
fn sign_output_verifies_in_both_api_shapes() {
    let env = [("STRIPE_WEBHOOK_SECRET", SECRET)];
    let scenarios = [
        "checkout",
        "renewal",
        "failed-renewal",
        "recovery",
        "cancel",
        "refund",
        "dispute",
    ];
    for api in ["2024-06-20", "2025-03-31.basil"] {
        for s in scenarios {
            let args = [
                "--json",
                "sign",
                "--scenario",
                s,
                "--api-version",
                api,
                "--timestamp",
                "1750000000",
            ];
            let o = tb_env(&args, &env);
            assert_eq!(o.status.code(), Some(0), "{}", text(&o));
            let v: Value = serde_json::from_slice(&o.stdout).unwrap();
            let body = v["body"].as_str().unwrap().as_bytes();
            let header = v["header"].as_str().unwrap();
            assert!(verifies(body, header, 1_750_000_000), "{s} {api}");
            let event = tollbooth::event::parse_event(body).unwrap();
            assert_eq!(event.api_version.as_deref(), Some(api));
            // Both shapes normalize to the same subscription and period end.
            match &event.object {
                tollbooth::event::Object::Invoice(i) => {
                    assert_eq!(
                        i.subscription_id.as_deref(),
                        Some("sub_Ada42Pro"),
                        "{s} {api}"
                    )
                }
                tollbooth::event::Object::Subscription(sub) => {
                    assert!(sub.current_period_end.is_some(), "{s} {api}")
                }
                _ => {}
            }
            // Plain output is the header alone.
            let plain = tb_env(&args[1..], &env);
            assert_eq!(String::from_utf8_lossy(&plain.stdout).trim(), header);
        }
    }
    // --payload signs the file's exact bytes.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.json");
    std::fs::write(&file, b"{\"id\": \"evt_file\" }\n").unwrap();
    let o = tb(&[
        "--secret",
        SECRET,
        "--json",
        "sign",
        "--payload",
        &file.to_string_lossy(),
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let t = v["timestamp"].as_i64().unwrap();
    assert!(verifies(
        b"{\"id\": \"evt_file\" }\n",
        v["header"].as_str().unwrap(),
        t
    ));
    assert_eq!(
        tb(&["sign", "--scenario", "checkout"]).status.code(),
        Some(1),
        "no secret"
    );
}

/// What the test server saw: lowercased header names with values, and the body.
type Seen = (Vec<(String, String)>, Vec<u8>);

/// Serves one HTTP request on loopback, replies `status` with `reply`; returns the URL.
fn one_shot_server(status: u16, reply: &'static str) -> (String, std::thread::JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/api/webhooks/stripe",
        listener.local_addr().unwrap()
    );
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut headers = Vec::new();
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("POST /api/webhooks/stripe "), "{line}");
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (k, v) = l.split_once(':').unwrap();
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .unwrap()
            .1
            .parse()
            .unwrap();
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        write!(stream, "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}", reply.len()).unwrap();
        stream.flush().unwrap();
        (headers, body)
    });
    (url, handle)
}

#[test]
fn send_posts_a_verifiable_delivery() {
    let (url, server) = one_shot_server(200, "{\"received\":true}");
    let env = [("STRIPE_WEBHOOK_SECRET", SECRET)];
    let o = tb_env(
        &[
            "--json",
            "send",
            "--url",
            &url,
            "--scenario",
            "failed-renewal",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["status"], 200);
    assert_eq!(v["response"], "{\"received\":true}");
    let (headers, body) = server.join().unwrap();
    let sig = &headers
        .iter()
        .find(|(k, _)| k == "stripe-signature")
        .unwrap()
        .1;
    let t = v["timestamp"].as_i64().unwrap();
    assert!(verifies(&body, sig, t));
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["type"], "invoice.payment_failed");

    // A route that refuses the delivery: status and body printed, exit 1.
    let (url, server) = one_shot_server(400, "{\"error\":\"SIGNATURE_MISMATCH\"}");
    let o = tb_env(&["send", "--url", &url, "--scenario", "refund"], &env);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("400") && out.contains("SIGNATURE_MISMATCH"),
        "{out}"
    );
    server.join().unwrap();
}

#[test]
fn the_secret_never_appears_in_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = db_with_dead_job(dir.path());
    let missing: PathBuf = dir.path().join("nope.json");
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    }; // dropped: connection refused
    let m = missing.to_string_lossy().into_owned();
    let runs: Vec<Vec<&str>> = vec![
        vec!["sign", "--scenario", "checkout"],
        vec!["--json", "sign", "--scenario", "checkout"],
        vec!["sign", "--payload", &m],
        vec!["send", "--url", &closed, "--scenario", "checkout"],
        vec![
            "--json",
            "send",
            "--url",
            "https://127.0.0.1:1/",
            "--scenario",
            "dispute",
        ],
        vec!["--db", &db, "status"],
        vec!["--db", &db, "--json", "status"],
        vec!["--db", &db, "customer", "cus_dead"],
        vec!["--db", &db, "jobs"],
        vec!["--db", &db, "events"],
        vec!["--db", &db, "metrics"],
        vec!["--db", &db, "metrics", "--prometheus"],
        vec!["--db", &db, "health"],
        vec!["--db", &db, "import", &m],
        vec!["--db", "/nonexistent/dir/x.db", "status"],
        vec!["sign", "--help"],
        vec!["--help"],
        vec!["bogus-command"],
        vec!["sign", "--scenario", "nope"],
    ];
    // A Stripe-shaped secret and one that no pattern would recognise.
    for secret in [SECRET, "plain-Qm7v2-not-shaped-like-stripe"] {
        for args in &runs {
            for how in ["env", "flag", "flag="] {
                let flag = format!("--secret={secret}");
                let (mut all, env): (Vec<&str>, Vec<(&str, &str)>) = match how {
                    "env" => (vec![], vec![("STRIPE_WEBHOOK_SECRET", secret)]),
                    "flag" => (vec!["--secret", secret], vec![]),
                    _ => (vec![&flag], vec![]),
                };
                all.extend(args.iter());
                let o = tb_env(&all, &env);
                let t = text(&o);
                assert!(
                    !t.contains(SECRET),
                    "{how} {args:?} leaked the secret:\n{t}"
                );
                assert!(
                    !t.contains("Zq81PvX0"),
                    "{how} {args:?} leaked part of the secret:\n{t}"
                );
            }
        }
    }
    // Even a secret given where a command was expected is not echoed back.
    for secret in [SECRET, "plain-Qm7v2-not-shaped-like-stripe"] {
        let o = tb_env(&[secret], &[("STRIPE_WEBHOOK_SECRET", secret)]);
        assert_eq!(o.status.code(), Some(2));
        assert!(!text(&o).contains(secret), "{}", text(&o));
    }
}

/// What the portal sees of each customer in `ids`.
fn customer_views(e: &Engine, ids: &[String]) -> serde_json::Map<String, Value> {
    ids.iter()
        .map(|c| {
            let subs: Vec<_> = e
                .subscriptions(c)
                .unwrap()
                .into_iter()
                .map(|s| s.record)
                .collect();
            let view = json!({
                "access": e.access(c, NOW).unwrap(),
                "invoices": e.invoices(c).unwrap(),
                "subscriptions": serde_json::to_value(subs).unwrap(),
                "customer": e.find_customer(c).unwrap(),
            });
            (c.clone(), view)
        })
        .collect()
}

/// Everything a portal and an operator see of a store, for comparing two of them.
fn observable(db: &str) -> Value {
    let e = Engine::open(Config::new(db, &[SECRET]).unwrap()).unwrap();
    let events = e
        .events(&tollbooth::event::EventFilter {
            limit: Some(100_000),
            ..Default::default()
        })
        .unwrap();
    let ids: Vec<String> = events
        .iter()
        .filter_map(|ev| ev.customer_id.clone())
        .collect();
    let per_customer = customer_views(&e, &ids);
    let bodies: Vec<Vec<u8>> = events
        .iter()
        .map(|ev| e.event_body(&ev.id).unwrap().unwrap())
        .collect();
    let jobs = e
        .jobs(&tollbooth::JobFilter {
            limit: Some(100_000),
            ..Default::default()
        })
        .unwrap();
    let attempts: Vec<_> = jobs.iter().map(|j| e.job_attempts(j.id).unwrap()).collect();
    json!({
        "events": events,
        "bodies": bodies,
        "customers": per_customer,
        "jobs": jobs,
        "attempts": attempts,
        "deliveries": e.recent_deliveries(100_000).unwrap(),
    })
}

#[test]
fn copy_moves_a_whole_store_and_verifies_it_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let (src, _) = demo_db(dir.path());
    let dst = db_arg(dir.path(), "copy.db");
    let r = json_of(&["copy", "--from", &src, "--to", &dst], 0);
    assert_eq!(r["verified"], true, "{r:#}");
    let tables = r["tables"].as_array().unwrap();
    assert!(tables.iter().all(|t| t["verified"] == true));
    let rows = |name: &str| {
        tables.iter().find(|t| t["table"] == name).unwrap()["rows"]
            .as_u64()
            .unwrap()
    };
    assert!(rows("events") > 10 && rows("jobs") > 3 && rows("job_attempts") > 3);
    assert!(
        rows("deliveries") > rows("events"),
        "duplicates are logged too"
    );
    assert_eq!(observable(&src), observable(&dst));
    // Again: nothing changes, still verified.
    assert_eq!(
        json_of(&["copy", "--from", &src, "--to", &dst], 0)["verified"],
        true
    );
    assert_eq!(observable(&src), observable(&dst));
    // The source moved on (a new customer, its CRM job failed once); a second copy brings the
    // copy up to date.
    {
        let e = Engine::open(Config::new(src.as_str(), &[SECRET]).unwrap()).unwrap();
        let body = br#"{"id":"evt_after_copy","object":"event","type":"customer.created","created":1760000100,"livemode":false,"data":{"object":{"id":"cus_after_copy","object":"customer","email":"late@example.com","metadata":{"user_id":"user_late"}}}}"#;
        e.ingest_trusted(body, NOW + 100).unwrap();
        let job = e
            .claim(&["crm.sync_customer"], 100, 60, NOW + 200)
            .unwrap()
            .into_iter()
            .find(|j| j.customer_id.as_deref() == Some("cus_after_copy"))
            .unwrap();
        e.fail(job.id, job.lease_token, "CRM timed out", NOW + 201)
            .unwrap();
    }
    assert_ne!(observable(&src), observable(&dst));
    assert_eq!(
        json_of(&["copy", "--from", &src, "--to", &dst], 0)["verified"],
        true
    );
    assert_eq!(observable(&src), observable(&dst));
    // Misuse is refused clearly.
    let same = tb(&["copy", "--from", &src, "--to", &src]);
    assert_eq!(same.status.code(), Some(1));
    assert!(text(&same).contains("same database"));
    let missing = tb(&[
        "copy",
        "--from",
        &db_arg(dir.path(), "nope.db"),
        "--to",
        &dst,
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing).contains("no database"));
}

#[test]
fn backup_restore_and_prune_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = demo_db(dir.path());
    let before = observable(&db);
    let file = db_arg(dir.path(), "backup.db");
    assert_eq!(json_of(&["backup", &file, "--db", &db], 0)["backup"], file);
    // A second backup to the same file is refused rather than overwritten.
    assert_eq!(tb(&["backup", &file, "--db", &db]).status.code(), Some(1));
    // Far in the future (2100) everything finished has aged out; billing state has not.
    let later = "4102444800".to_owned();
    let p = json_of(&["prune", "--db", &db, "--now", &later], 0);
    assert!(p["pruned"]["events"].as_u64().unwrap() > 0, "{p:#}");
    assert_ne!(observable(&db)["events"], before["events"]);
    let ids: Vec<String> = before["customers"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(!ids.is_empty());
    let e = Engine::open(Config::new(db.as_str(), &[SECRET]).unwrap()).unwrap();
    assert_eq!(
        Value::Object(customer_views(&e, &ids)),
        before["customers"],
        "billing state is never pruned"
    );
    drop(e);
    // Refused ages are a usage error with a code, not a silent no-op.
    let bad = tb(&["prune", "--db", &db, "--event-days", "3"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).contains("event_days"));
    json_of(&["restore", &file, "--db", &db], 0);
    assert_eq!(observable(&db), before);
}

#[test]
fn stored_fields_cannot_drive_the_operators_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_arg(dir.path(), "evil.db");
    {
        let e = Engine::open(Config::new(db.as_str(), &[SECRET]).unwrap()).unwrap();
        let body = serde_json::to_vec(&json!({
            "id": "evt_evil", "object": "event", "type": "customer.created", "created": NOW,
            "livemode": false, "data": {"object": {"id": "cus_evil", "object": "customer",
            "email": "e@example.com", "name": "Eve\u{1b}[2J\u{1b}]0;owned\u{7}\u{1b}[8m"}}
        }))
        .unwrap();
        e.ingest_trusted(&body, NOW).unwrap();
    }
    for args in [vec!["customer", "cus_evil"], vec!["events"]] {
        let mut all = args.clone();
        all.extend(["--db", &db]);
        let o = tb(&all);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(
            !o.stdout.contains(&0x1b) && !o.stdout.contains(&0x07),
            "{args:?}: {}",
            text(&o)
        );
    }
}

/// `copy` from SQLite to PostgreSQL and back: every table verified, the portal and operator
/// view identical on all three, idempotent, and the password never printed. Runs when the
/// harness provides PostgreSQL (required under CI).
#[test]
fn copy_moves_a_store_to_postgres_and_back() {
    let Some(pg) = backends().into_iter().find(Backend::is_postgres) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (src, _) = demo_db(dir.path());
    let remote = pg.fresh_db();
    let password = remote
        .split_once("://")
        .and_then(|(_, r)| r.split_once('@'))
        .and_then(|(u, _)| u.split_once(':'))
        .map(|(_, p)| p.to_owned())
        .unwrap();
    for _ in 0..2 {
        let o = tb(&["--json", "copy", "--from", &src, "--to", &remote]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(!text(&o).contains(&password), "{}", text(&o));
        let r: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(r["verified"], true, "{r:#}");
        assert_eq!(observable(&src), observable(&remote));
    }
    // The PostgreSQL copy goes on living (new ids continue after the copied ones) ...
    {
        let e = Engine::open(Config::new(remote.as_str(), &[SECRET]).unwrap()).unwrap();
        let body = br#"{"id":"evt_on_pg","object":"event","type":"customer.created","created":1760000100,"livemode":false,"data":{"object":{"id":"cus_on_pg","object":"customer","email":"pg@example.com","metadata":{}}}}"#;
        e.ingest_trusted(body, NOW + 100).unwrap();
        let before = e.jobs(&tollbooth::JobFilter::default()).unwrap().len();
        assert!(before > 0);
    }
    // ... and comes back to SQLite whole.
    let back = db_arg(dir.path(), "back.db");
    let r = json_of(&["copy", "--from", &remote, "--to", &back], 0);
    assert_eq!(r["verified"], true, "{r:#}");
    assert_eq!(observable(&remote), observable(&back));
}

/// The billing-model fixtures (one dahlia story) as an export file for `import`.
fn billing_model_export(dir: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/billing_model/2026-07-29.dahlia");
    let mut lines = String::new();
    for name in [
        "product.created",
        "price.created",
        "payment_intent.succeeded",
        "charge.succeeded",
        "checkout.session.completed",
        "customer.subscription.created",
        "entitlements.active_entitlement_summary.updated",
    ] {
        let v: Value =
            serde_json::from_slice(&std::fs::read(root.join(format!("{name}.json"))).unwrap())
                .unwrap();
        lines.push_str(&v.to_string());
        lines.push('\n');
    }
    let path = dir.join("export.jsonl");
    std::fs::write(&path, lines).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn customer_view_shows_items_purchases_and_features_and_features_answers() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_arg(dir.path(), "bm.db");
    let export = billing_model_export(dir.path());
    json_of(&["--db", &db, "import", &export], 0);
    let grants = ["--db", &db, "--purchase-grants", "price_Tb2Lifetime"];
    let c = json_of(&[&grants[..], &["customer", "user_77"]].concat(), 0);
    assert_eq!(c["features"], json!(["audit_log", "sso"]));
    assert_eq!(c["purchases"][0]["id"], "pi_Tb2Lifetime");
    assert_eq!(c["subscriptions"][0]["items"][0]["quantity"], 5);
    let o = tb(&[&grants[..], &["customer", "user_77"]].concat());
    let shown = text(&o);
    assert!(shown.contains("5 × prod_Tb2Team"), "{shown}");
    assert!(shown.contains("Lifetime (price_Tb2Lifetime)"), "{shown}");
    assert!(shown.contains("199.00 USD"), "{shown}");
    assert!(shown.contains("audit_log, sso"), "{shown}");
    let yes = tb(&["--db", &db, "features", "user_77", "--has", "sso"]);
    assert_eq!(text(&yes).trim(), "yes");
    let no = tb(&[
        "--db",
        &db,
        "features",
        "cus_Tb2Buyer",
        "--has",
        "priority_support",
    ]);
    assert_eq!(text(&no).trim(), "no");
    let list = json_of(&["--db", &db, "features", "user_77"], 0);
    assert_eq!(list["features"], json!(["audit_log", "sso"]));
    // A malformed grant is a usage error that says what is wrong.
    let bad = tb(&[
        "--db",
        &db,
        "--purchase-grants",
        "price_1=soon",
        "customer",
        "user_77",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad).contains("positive number of seconds"),
        "{}",
        text(&bad)
    );
}
