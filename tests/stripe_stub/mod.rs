//! A loopback stub of Stripe's API for the tests: a std::net server on 127.0.0.1 that serves
//! list endpoints with Stripe's real pagination (`limit`, `starting_after`, `has_more`,
//! `created[gte]`/`created[lte]`, subscriptions without `status=all` leave canceled ones out),
//! single objects, 401s for a wrong key, and injected faults (429 with `Retry-After` /
//! `Stripe-Should-Retry`, 500s, slow answers). Every request is recorded (method, path, decoded
//! query, headers) so tests assert exactly what the client sent.
#![allow(dead_code)]
// Shared with bindings/c's tests, a crate without the root's `rust-version = "1.85"`: clippy
// there suggests let-chains and `is_multiple_of`, which 1.85 does not have.
#![allow(clippy::collapsible_if, clippy::manual_is_multiple_of)]

pub mod clock;
pub mod objects;

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};

/// One request as the stub saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// Lower-cased names.
    pub headers: HashMap<String, String>,
}

impl Recorded {
    pub fn q(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.as_str())
    }
    pub fn h(&self, k: &str) -> Option<&str> {
        self.headers.get(k).map(String::as_str)
    }
}

/// A fault served instead of the normal answer.
#[derive(Debug, Clone)]
pub enum Fault {
    /// An HTTP status with Stripe's error body and optional retry headers.
    Status {
        code: u16,
        retry_after: Option<u64>,
        should_retry: Option<bool>,
    },
    /// Wait this long, then answer normally (the client may have timed out by then).
    Slow(Duration),
}

impl Fault {
    pub fn status(code: u16) -> Fault {
        Fault::Status {
            code,
            retry_after: None,
            should_retry: None,
        }
    }
    pub fn rate_limited(retry_after: Option<u64>) -> Fault {
        Fault::Status {
            code: 429,
            retry_after,
            should_retry: None,
        }
    }
}

#[derive(Default)]
struct State {
    key: String,
    /// List path -> objects, newest first.
    lists: HashMap<String, Vec<Value>>,
    requests: Vec<Recorded>,
    /// Served to the next requests, one each.
    queued: VecDeque<Fault>,
    /// Every n-th request (1-based count) gets this fault.
    every: Option<(u64, Fault)>,
    count: u64,
}

/// The running stub. Stops when dropped.
pub struct Stub {
    pub base_url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    port: u16,
    accept: Option<JoinHandle<()>>,
}

impl Stub {
    /// Starts a stub that accepts `Authorization: Bearer {key}`.
    pub fn start(key: &str) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            key: key.to_owned(),
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || serve(conn, &st));
            }
        });
        Stub {
            base_url: format!("http://127.0.0.1:{port}"),
            state,
            stop,
            port,
            accept: Some(accept),
        }
    }

    /// Adds objects to a list endpoint (kept newest first by `created`, then id).
    pub fn add(&self, path: &str, objects: impl IntoIterator<Item = Value>) {
        let mut s = self.state.lock().unwrap();
        let list = s.lists.entry(path.to_owned()).or_default();
        list.extend(objects);
        list.sort_by(|a, b| {
            let k = |v: &Value| {
                (
                    v["created"].as_i64().unwrap_or(0),
                    v["id"].as_str().unwrap_or("").to_owned(),
                )
            };
            k(b).cmp(&k(a))
        });
    }

    /// Replaces one object (same id) in a list endpoint, e.g. a subscription that changed.
    pub fn replace(&self, path: &str, object: Value) {
        let mut s = self.state.lock().unwrap();
        let list = s.lists.entry(path.to_owned()).or_default();
        let id = object["id"].clone();
        match list.iter_mut().find(|o| o["id"] == id) {
            Some(o) => *o = object,
            None => panic!("no {id} under {path}"),
        }
    }

    /// The next requests get these faults, one each, in order.
    pub fn queue_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().queued.extend(faults);
    }

    /// Every `n`-th request from now on (by the stub's count) gets `fault`.
    pub fn fault_every(&self, n: u64, fault: Option<Fault>) {
        self.state.lock().unwrap().every = fault.map(|f| (n, f));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Forgets the recorded requests and restarts the count `fault_every` uses.
    pub fn clear_requests(&self) {
        let mut s = self.state.lock().unwrap();
        s.requests.clear();
        s.count = 0;
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads requests off one keep-alive connection until the client closes it.
fn serve(conn: TcpStream, state: &Mutex<State>) {
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let target = parts.next().unwrap_or("").to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        if let Some(n) = headers
            .get("content-length")
            .and_then(|v| v.parse::<usize>().ok())
        {
            let mut sink = vec![0; n];
            let _ = reader.read_exact(&mut sink);
        }
        let (path, qs) = target.split_once('?').unwrap_or((&target, ""));
        let query = qs
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect();
        let rec = Recorded {
            method,
            path: path.to_owned(),
            query,
            headers,
        };
        let (fault, answer) = {
            let mut s = state.lock().unwrap();
            s.count += 1;
            s.requests.push(rec.clone());
            let mut fault = s.queued.pop_front();
            if fault.is_none() {
                if let Some((n, f)) = &s.every {
                    if s.count % n == 0 {
                        fault = Some(f.clone());
                    }
                }
            }
            (fault, route(&s, &rec))
        };
        let (status, extra, body) = match fault {
            Some(Fault::Status {
                code,
                retry_after,
                should_retry,
            }) => {
                let mut extra = Vec::new();
                if let Some(r) = retry_after {
                    extra.push(format!("Retry-After: {r}"));
                }
                if let Some(s) = should_retry {
                    extra.push(format!("Stripe-Should-Retry: {s}"));
                }
                let body = json!({"error": {"type": if code == 429 { "rate_limit_error" } else { "api_error" },
                    "message": format!("injected {code}")}});
                (code, extra, body.to_string())
            }
            Some(Fault::Slow(d)) => {
                std::thread::sleep(d);
                (answer.0, Vec::new(), answer.1)
            }
            None => (answer.0, Vec::new(), answer.1),
        };
        let mut head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nRequest-Id: req_stub\r\n",
            body.len()
        );
        for e in extra {
            head.push_str(&e);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        // One write: a head and a body in two small writes meet Nagle and delayed ACKs
        // (a 40 ms stall per answer).
        head.push_str(&body);
        if writer.write_all(head.as_bytes()).is_err() {
            return;
        }
        let _ = writer.flush();
    }
}

fn error(code: u16, kind: &str, message: &str) -> (u16, String) {
    (
        code,
        json!({"error": {"type": kind, "message": message}}).to_string(),
    )
}

/// The normal answer to a request.
fn route(s: &State, r: &Recorded) -> (u16, String) {
    if r.h("authorization") != Some(&format!("Bearer {}", s.key)) {
        // Stripe masks the key it echoes; the stub echoes it whole (the worst case), so the
        // tests prove the client's own redaction.
        let presented = r
            .h("authorization")
            .unwrap_or("")
            .trim_start_matches("Bearer ");
        let body = objects::fixture_text("error_401.json")
            .replace("sk_test_********************************WRNG", presented);
        return (401, body);
    }
    if r.method != "GET" {
        return error(405, "invalid_request_error", "only GET");
    }
    if let Some(list) = s.lists.get(&r.path) {
        return list_page(&r.path, list, r);
    }
    // /v1/<collection>/<id>: look the object up in its list.
    if let Some((coll, id)) = r.path.rsplit_once('/') {
        if let Some(list) = s.lists.get(coll) {
            return match list.iter().find(|o| o["id"] == id) {
                Some(o) => (200, o.to_string()),
                None => error(
                    404,
                    "invalid_request_error",
                    &format!("No such object: '{id}'"),
                ),
            };
        }
    }
    error(404, "invalid_request_error", "Unrecognized request URL")
}

fn list_page(path: &str, list: &[Value], r: &Recorded) -> (u16, String) {
    let limit = match r.q("limit").map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        _ => return error(400, "invalid_request_error", "limit must be 1..100"),
    };
    let num = |k: &str| r.q(k).and_then(|v| v.parse::<i64>().ok());
    let (gte, lte) = (num("created[gte]"), num("created[lte]"));
    let status = r.q("status");
    let keep = |o: &&Value| {
        let created = o["created"].as_i64().unwrap_or(0);
        gte.is_none_or(|g| created >= g)
            && lte.is_none_or(|l| created <= l)
            && match (path, status) {
                ("/v1/subscriptions", None) => o["status"] != "canceled",
                ("/v1/subscriptions", Some("all")) => true,
                ("/v1/subscriptions", Some(st)) => o["status"] == st,
                _ => true,
            }
    };
    let filtered: Vec<&Value> = list.iter().filter(keep).collect();
    let start = match r.q("starting_after") {
        None => 0,
        Some(id) => match filtered.iter().position(|o| o["id"] == id) {
            Some(i) => i + 1,
            None => {
                return error(
                    400,
                    "invalid_request_error",
                    "starting_after is not in the list",
                );
            }
        },
    };
    let page: Vec<&Value> = filtered.iter().skip(start).take(limit).copied().collect();
    let has_more = start + page.len() < filtered.len();
    (
        200,
        json!({"object": "list", "url": path, "has_more": has_more, "data": page}).to_string(),
    )
}
