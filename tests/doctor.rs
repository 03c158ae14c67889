//! `tollbooth doctor --url` against loopback stub servers that misbehave in each way a
//! deployed webhook route does (redirect, HTML page, cache, bot challenge, 404/405/5xx, slow,
//! echo, wrong secret), each detected with its advice; and a stub that serves the real engine
//! the way the example's route handler does, which passes every check.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tollbooth::{Config, Engine};

const SECRET: &str = "whsec_doctor_test_8fJq2secret";

/// One request as the stub saw it.
struct Req {
    method: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A raw HTTP/1.1 response.
fn resp(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut r = format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (n, v) in headers {
        r.push_str(&format!("{n}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r
}

fn read_req(stream: &TcpStream) -> Option<Req> {
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let method = line.split_whitespace().next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (n, v) = h.split_once(':')?;
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let len = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0usize);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Req {
        method,
        headers,
        body,
    })
}

/// Serves `handler` on a loopback port for the rest of the test process; returns the URL.
fn stub(handler: impl Fn(&Req) -> String + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/api/webhooks/stripe",
        listener.local_addr().unwrap()
    );
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handler = Arc::clone(&handler);
            std::thread::spawn(move || {
                let mut stream = stream;
                if let Some(req) = read_req(&stream) {
                    let _ = stream.write_all(handler(&req).as_bytes());
                }
            });
        }
    });
    url
}

/// A stub serving the real engine the way examples/nextjs-portal's route handler does.
fn engine_route(secret: &'static str) -> String {
    let engine = Engine::open(Config::new(":memory:", &[secret]).unwrap()).unwrap();
    stub(move |req| {
        let no_store = [
            ("content-type", "application/json"),
            ("cache-control", "no-store"),
        ];
        if req.method != "POST" {
            return resp("405 Method Not Allowed", &[("allow", "POST")], "");
        }
        let sig = req.header("stripe-signature").unwrap_or("");
        match engine.handle_webhook(&req.body, sig) {
            Ok(h) => resp(
                "200 OK",
                &no_store,
                &json!({"received": true, "outcome": h.outcome.as_str(), "eventId": h.event_id})
                    .to_string(),
            ),
            Err(e) => resp(
                if e.code().is_client_error() {
                    "400 Bad Request"
                } else {
                    "500 Internal Server Error"
                },
                &no_store,
                &json!({"received": false, "error": e.code().as_str()}).to_string(),
            ),
        }
    })
}

fn doctor(url: &str, extra: &[&str], secret: Option<&str>) -> (i32, Value, Output) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tollbooth"));
    cmd.args(["--json", "doctor", "--url", url])
        .args(extra)
        .env_remove("TOLLBOOTH_DB")
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .env("NO_COLOR", "1")
        // The default database must not exist here, so only the route is checked.
        .current_dir(std::env::temp_dir());
    if let Some(s) = secret {
        cmd.env("STRIPE_WEBHOOK_SECRET", s);
    }
    let out = cmd.output().expect("the binary runs");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v, out)
}

/// The route check named `name`: (status, summary, fix).
fn check(v: &Value, name: &str) -> (String, String, String) {
    let c = v["route"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {v:#}"));
    (
        c["status"].as_str().unwrap().to_owned(),
        c["summary"].as_str().unwrap().to_owned(),
        c["fix"].as_str().unwrap_or("").to_owned(),
    )
}

fn failing(v: &Value) -> Vec<String> {
    v["route"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts `name` failed with a fix mentioning `advice`, and the exit code says so.
fn assert_fails(url: &str, name: &str, advice: &str) -> Value {
    let (code, v, _) = doctor(url, &[], None);
    assert_eq!(code, 4, "{v:#}");
    assert_eq!(v["ok"], false);
    let (status, summary, fix) = check(&v, name);
    assert_eq!(status, "fail", "{name}: {summary}");
    assert!(fix.contains(advice), "{name}: fix {fix:?} lacks {advice:?}");
    v
}

const JSON_400: &str = r#"{"received":false,"error":"SIGNATURE_HEADER_MISSING"}"#;

#[test]
fn the_engine_route_passes_every_check_with_the_right_secret() {
    let url = engine_route(SECRET);
    let (code, v, out) = doctor(&url, &[], Some(SECRET));
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["ok"], true);
    assert!(failing(&v).is_empty(), "{v:#}");
    for name in [
        "https",
        "no_redirect",
        "unsigned_post_rejected",
        "answer_time",
        "no_body_leak",
        "not_cached",
        "not_a_challenge_page",
        "get_not_a_page",
        "signed_probe",
    ] {
        assert_eq!(check(&v, name).0, "pass", "{name}: {v:#}");
    }
    assert!(
        check(&v, "unsigned_post_rejected")
            .1
            .contains("SIGNATURE_HEADER_MISSING")
    );
    assert!(check(&v, "signed_probe").1.contains("recognised"));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(SECRET), "the secret is never printed");
}

#[test]
fn without_a_secret_the_probe_is_skipped_and_says_how() {
    let url = engine_route(SECRET);
    let (code, v, _) = doctor(&url, &[], None);
    assert_eq!(code, 0, "{v:#}");
    let (status, summary, _) = check(&v, "signed_probe");
    assert_eq!(status, "skip");
    assert!(summary.contains("--secret"));
}

#[test]
fn a_wrong_secret_is_named() {
    let url = engine_route("whsec_the_deployments_own_secret");
    let (code, v, out) = doctor(&url, &[], Some(SECRET));
    assert_eq!(code, 4);
    let (status, summary, fix) = check(&v, "signed_probe");
    assert_eq!(status, "fail");
    assert!(summary.contains("SIGNATURE_MISMATCH"));
    assert!(fix.contains("STRIPE_WEBHOOK_SECRET") && fix.contains("Signing secret"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(SECRET));
}

#[test]
fn a_redirect_to_sign_in_is_detected_with_the_middleware_fix() {
    let url = stub(|_| {
        resp(
            "307 Temporary Redirect",
            &[("location", "/login?next=%2Fapi%2Fwebhooks%2Fstripe")],
            "",
        )
    });
    let v = assert_fails(&url, "no_redirect", "matcher");
    assert!(check(&v, "no_redirect").1.contains("307"));
}

#[test]
fn a_trailing_slash_redirect_is_detected() {
    let url = stub(|_| {
        resp(
            "308 Permanent Redirect",
            &[("location", "/api/webhooks/stripe/")],
            "",
        )
    });
    assert_fails(&url, "no_redirect", "trailing slash");
}

#[test]
fn a_200_html_page_is_detected() {
    let page = "<!DOCTYPE html><html><head><title>Portal</title></head><body>Welcome</body></html>";
    let url = stub(move |_| {
        resp(
            "200 OK",
            &[("content-type", "text/html; charset=utf-8")],
            page,
        )
    });
    let v = assert_fails(
        &url,
        "unsigned_post_rejected",
        "verify before anything else",
    );
    assert_eq!(check(&v, "not_a_challenge_page").0, "fail");
    assert_eq!(check(&v, "get_not_a_page").0, "fail");
}

#[test]
fn a_get_that_serves_a_page_is_detected_even_when_post_is_right() {
    let url = stub(|req| {
        if req.method == "GET" {
            resp(
                "200 OK",
                &[("content-type", "text/html")],
                "<html><body>hi</body></html>",
            )
        } else {
            resp(
                "400 Bad Request",
                &[("content-type", "application/json")],
                JSON_400,
            )
        }
    });
    let v = assert_fails(&url, "get_not_a_page", "only a POST handler");
    assert_eq!(failing(&v), ["get_not_a_page"]);
}

#[test]
fn a_cached_answer_is_detected() {
    let url = stub(|_| {
        resp(
            "400 Bad Request",
            &[
                ("content-type", "application/json"),
                ("cache-control", "public, max-age=0, s-maxage=3600"),
                ("x-vercel-cache", "HIT"),
                ("age", "120"),
            ],
            JSON_400,
        )
    });
    let v = assert_fails(&url, "not_cached", "force-dynamic");
    assert!(check(&v, "not_cached").1.contains("s-maxage"));
}

#[test]
fn a_cdn_cache_hit_alone_is_detected() {
    let url = stub(|_| {
        resp(
            "400 Bad Request",
            &[
                ("content-type", "application/json"),
                ("cf-cache-status", "HIT"),
            ],
            JSON_400,
        )
    });
    let v = assert_fails(&url, "not_cached", "no-store");
    assert!(check(&v, "not_cached").1.contains("cf-cache-status"));
}

#[test]
fn a_bot_challenge_is_detected_with_the_bot_protection_fix() {
    let page = "<!DOCTYPE html><html><head><title>Just a moment...</title></head>\
                <body><div id=\"challenge-platform\"></div></body></html>";
    let url = stub(move |_| {
        resp(
            "403 Forbidden",
            &[("content-type", "text/html"), ("cf-mitigated", "challenge")],
            page,
        )
    });
    let v = assert_fails(&url, "not_a_challenge_page", "bot protection");
    assert_eq!(check(&v, "unsigned_post_rejected").0, "fail");
}

#[test]
fn a_sign_in_page_is_detected() {
    let page =
        "<html><body><form><input name=\"email\"><input type=\"password\"></form></body></html>";
    let url = stub(move |_| resp("401 Unauthorized", &[("content-type", "text/html")], page));
    assert_fails(&url, "not_a_challenge_page", "matcher");
}

#[test]
fn a_404_is_detected() {
    let url = stub(|_| {
        resp(
            "404 Not Found",
            &[("content-type", "text/plain")],
            "not found",
        )
    });
    assert_fails(&url, "unsigned_post_rejected", "route.ts");
}

#[test]
fn a_405_is_detected() {
    let url = stub(|_| resp("405 Method Not Allowed", &[("allow", "GET")], ""));
    assert_fails(
        &url,
        "unsigned_post_rejected",
        "export `async function POST",
    );
}

#[test]
fn a_500_is_detected_with_the_runtime_fix_and_its_stack_trace_as_a_leak() {
    let url = stub(|_| {
        resp(
            "500 Internal Server Error",
            &[("content-type", "text/plain")],
            "Error: Cannot find module 'tollbooth'\n    at Module._resolveFilename (node:internal)\n    at /app/node_modules/next/dist/server.js:1:1",
        )
    });
    let v = assert_fails(&url, "unsigned_post_rejected", "runtime = 'nodejs'");
    let (status, summary, _) = check(&v, "no_body_leak");
    assert_eq!(status, "fail");
    assert!(summary.contains("stack trace"));
}

#[test]
fn an_accepted_unsigned_post_is_detected() {
    let url = stub(|_| {
        resp(
            "200 OK",
            &[("content-type", "application/json")],
            r#"{"ok":true}"#,
        )
    });
    assert_fails(&url, "unsigned_post_rejected", "handleWebhook");
}

#[test]
fn an_echo_of_the_request_is_a_leak() {
    let url = stub(|req| {
        let body = format!(
            r#"{{"error":"bad signature","request":{}}}"#,
            String::from_utf8_lossy(&req.body)
        );
        resp(
            "400 Bad Request",
            &[("content-type", "application/json")],
            &body,
        )
    });
    let v = assert_fails(&url, "no_body_leak", "short fixed body");
    assert!(check(&v, "no_body_leak").1.contains("echoes"));
}

#[test]
fn a_slow_answer_is_detected() {
    let url = stub(|_| {
        std::thread::sleep(Duration::from_millis(600));
        resp(
            "400 Bad Request",
            &[("content-type", "application/json")],
            JSON_400,
        )
    });
    let (code, v, _) = doctor(&url, &["--fast-ms", "100", "--slow-ms", "300"], None);
    assert_eq!(code, 4);
    let (status, summary, fix) = check(&v, "answer_time");
    assert_eq!(status, "fail", "{summary}");
    assert!(fix.contains("cold start"));
    assert_eq!(failing(&v), ["answer_time"]);
}

#[test]
fn no_answer_at_all_is_detected() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/api/webhooks/stripe",
        listener.local_addr().unwrap()
    );
    drop(listener);
    let v = assert_fails(&url, "reachable", "deployment is up");
    assert_eq!(
        v["route"].as_array().unwrap().len(),
        2,
        "nothing else can be judged"
    );
}

#[test]
fn a_route_that_never_answers_times_out() {
    // Accepts and reads, never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/api/webhooks/stripe",
        listener.local_addr().unwrap()
    );
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let (code, v, _) = doctor(&url, &["--timeout", "1"], None);
    assert_eq!(code, 4);
    let (status, _, fix) = check(&v, "answer_time");
    assert_eq!(status, "fail");
    assert!(fix.contains("answer at once"));
}

#[test]
fn https_to_a_server_without_tls_is_a_tls_failure() {
    // A plain-HTTP server on loopback: the doctor speaks TLS to it (no certificate check on
    // loopback, but the handshake itself fails on the plain answer).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://{}/api/webhooks/stripe",
        listener.local_addr().unwrap()
    );
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut hello = [0u8; 512];
            let _ = s.read(&mut hello);
            let _ = s.write_all(resp("400 Bad Request", &[], "").as_bytes());
        }
    });
    let v = assert_fails(&url, "tls_certificate", "certificate");
    assert!(check(&v, "tls_certificate").1.contains("TLS handshake"));
}

#[test]
fn not_a_url_is_an_error() {
    let (code, v, _) = doctor("ftp://example.com/x", &[], None);
    assert_eq!(code, 1);
    assert!(v["error"]["message"].as_str().unwrap().contains("http"));
}

/// Runs `doctor` on a database only.
fn doctor_db(db: &str, now: i64, secret: Option<&str>) -> (i32, Value, Output) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tollbooth"));
    cmd.args(["--json", "--now", &now.to_string(), "doctor", "--db", db])
        .env_remove("TOLLBOOTH_DB")
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .env("NO_COLOR", "1");
    if let Some(s) = secret {
        cmd.env("STRIPE_WEBHOOK_SECRET", s);
    }
    let out = cmd.output().expect("the binary runs");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (out.status.code().unwrap_or(-1), v, out)
}

fn store_check(v: &Value, name: &str) -> (String, String, String) {
    let c = v["store"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {v:#}"));
    (
        c["status"].as_str().unwrap().to_owned(),
        c["summary"].as_str().unwrap().to_owned(),
        c["fix"].as_str().unwrap_or("").to_owned(),
    )
}

const T0: i64 = 1_767_000_000;
const HOUR: i64 = 3600;

/// A database with one authentic delivery an hour for three days, ending at the returned time;
/// plus one rejected delivery and one dead job. With `work`, a worker ran every other job;
/// without, they wait.
fn steady_db(dir: &std::path::Path, work: bool) -> (String, i64) {
    let db = dir.join("steady.db").to_string_lossy().into_owned();
    let mut cfg = Config::new(db.clone(), &[SECRET]).unwrap();
    cfg.max_attempts = 1;
    let e = Engine::open(cfg).unwrap();
    let mut t = T0;
    let last = T0 + 3 * 24 * HOUR;
    while t <= last {
        let body = json!({"id": format!("evt_{t}"), "object": "event", "type": "customer.created",
            "created": t - 1, "livemode": false,
            "data": {"object": {"id": format!("cus_{t}"), "object": "customer", "email": "a@example.com"}}})
        .to_string();
        let h = tollbooth::verify::sign_for_test(body.as_bytes(), SECRET, t);
        e.handle_webhook_at(body.as_bytes(), &h, t).unwrap();
        t += HOUR;
    }
    let _ = e.handle_webhook_at(b"{}", "t=1,v1=00", last);
    // An authentic event that does not normalize (no customer, no status): quarantined.
    let odd = json!({"id": "evt_odd", "object": "event", "type": "customer.subscription.updated",
        "created": last - 1, "livemode": false, "data": {"object": {"id": "sub_odd", "object": "subscription"}}})
    .to_string();
    let h = tollbooth::verify::sign_for_test(odd.as_bytes(), SECRET, last);
    e.handle_webhook_at(odd.as_bytes(), &h, last).unwrap();
    let limit = if work { 1000 } else { 1 };
    let jobs = e.claim(&["crm.sync_customer"], limit, 60, last).unwrap();
    for (i, job) in jobs.iter().enumerate() {
        if i == 0 {
            e.fail(job.id, job.lease_token, "CRM down", last).unwrap();
        } else if work {
            e.complete(job.id, job.lease_token, last).unwrap();
        }
    }
    e.close().unwrap();
    (db, last)
}

#[test]
fn the_store_checks_read_the_engine_facts() {
    let dir = tempfile::tempdir().unwrap();
    let (db, last) = steady_db(dir.path(), true);
    let (code, v, out) = doctor_db(
        &db,
        last + 600,
        Some(&format!("{SECRET},whsec_next_rotation")),
    );
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(store_check(&v, "schema_version").0, "pass");
    let (s, summary, _) = store_check(&v, "last_authentic_delivery");
    assert_eq!(s, "pass");
    assert!(
        summary.contains("10m ago") && summary.contains("regular"),
        "{summary}"
    );
    let (s, summary, _) = store_check(&v, "failure_rate");
    assert_eq!(s, "pass", "junk is not a failed delivery: {summary}");
    let (s, summary, fix) = store_check(&v, "unauthenticated_requests");
    assert_eq!(s, "warn");
    assert!(summary.contains("TIMESTAMP_OUT_OF_TOLERANCE"), "{summary}");
    assert!(fix.contains("clock"));
    let (s, summary, fix) = store_check(&v, "quarantined_events");
    assert_eq!(s, "warn");
    assert!(summary.starts_with("1 authentic event"), "{summary}");
    assert!(fix.contains("reprocess --quarantined"));
    let (s, summary, fix) = store_check(&v, "dead_jobs");
    assert_eq!(s, "warn");
    assert!(summary.contains("1 crm.sync_customer"));
    assert!(fix.contains("replay-job"));
    assert_eq!(store_check(&v, "stalled_queues").0, "pass");
    let (s, summary, _) = store_check(&v, "livemode");
    assert_eq!(s, "pass");
    assert!(summary.contains("test mode"));
    let (s, summary, _) = store_check(&v, "secrets_configured");
    assert_eq!(s, "pass");
    assert!(summary.starts_with("2 secret(s)"));
    let all = String::from_utf8_lossy(&out.stdout);
    assert!(!all.contains(SECRET) && !all.contains("whsec_next_rotation"));
}

#[test]
fn the_store_checks_name_a_silent_endpoint_and_a_stalled_queue() {
    let dir = tempfile::tempdir().unwrap();
    let (db, last) = steady_db(dir.path(), true);
    let (code, v, _) = doctor_db(&db, last + 7 * HOUR, None);
    assert_eq!(code, 4, "{v:#}");
    let (s, summary, fix) = store_check(&v, "last_authentic_delivery");
    assert_eq!(s, "fail");
    assert!(summary.contains("7h ago"), "{summary}");
    assert!(
        fix.contains("tollbooth doctor --url") && fix.contains("import"),
        "{fix}"
    );
    assert_eq!(store_check(&v, "stalled_queues").0, "pass");
    assert_eq!(store_check(&v, "secrets_configured").0, "skip");
    // Without a worker, jobs from the first hours have waited for days.
    let dir = tempfile::tempdir().unwrap();
    let (db, last) = steady_db(dir.path(), false);
    let (code, v, _) = doctor_db(&db, last + 2 * HOUR, None);
    assert_eq!(code, 4, "{v:#}");
    let (s, summary, fix) = store_check(&v, "stalled_queues");
    assert_eq!(s, "fail");
    assert!(summary.contains("crm.sync_customer"), "{summary}");
    assert!(fix.contains("worker"));
    assert_eq!(store_check(&v, "last_authentic_delivery").0, "pass");
}

#[test]
fn an_api_key_given_as_the_secret_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (db, last) = steady_db(dir.path(), true);
    let (code, v, out) = doctor_db(&db, last + HOUR, Some("sk_test_51NotAWebhookSecret"));
    assert_eq!(code, 4);
    let (s, _, fix) = store_check(&v, "secrets_configured");
    assert_eq!(s, "fail");
    assert!(fix.contains("API key"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("sk_test_51NotAWebhookSecret"));
}

#[test]
fn doctor_with_nothing_to_check_says_what_to_give() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tollbooth"))
        .arg("doctor")
        .env_remove("TOLLBOOTH_DB")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--url"));
}

#[test]
fn a_store_from_a_newer_build_is_named_not_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("newer.db").to_string_lossy().into_owned();
    drop(Engine::open(Config::new(db.clone(), &[SECRET]).unwrap()).unwrap());
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    let (code, v, _) = doctor_db(&db, T0, None);
    assert_eq!(code, 4, "{v:#}");
    let (s, _, fix) = store_check(&v, "schema_version");
    assert_eq!(s, "fail");
    assert!(fix.contains("upgrade this CLI"));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 999, "the doctor never touches a newer schema");
}
