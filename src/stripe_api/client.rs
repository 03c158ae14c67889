//! The HTTP side: one GET with Stripe's headers, retried by [`RetryPolicy`], and list pages.
//!
//! Blocking (ureq) on purpose: sync, catch-up and the reconcile worker are sequential loops
//! that run off the webhook path, so an async runtime would buy nothing. Time comes from a
//! [`Clock`] so tests run the whole retry schedule instantly.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::key::ApiKey;
use super::retry::{Attempt, RetryPolicy, Verdict};
use crate::error::{Error, ErrorCode, Result};
use crate::outbox::redact_secrets;

/// The Stripe API version tollbooth asks for. Objects come back in this shape whatever the
/// account's default; the normalizer also reads older shapes, so events rendered in an
/// endpoint's own version still parse.
pub const STRIPE_VERSION: &str = "2025-03-31.basil";

/// The production API.
pub const DEFAULT_BASE_URL: &str = "https://api.stripe.com";

/// Stripe's largest page.
pub const PAGE_LIMIT: u32 = 100;

/// Where the client reads the time and sleeps. Injected so tests are fast and deterministic.
pub trait Clock: Send + Sync {
    /// Unix seconds.
    fn now(&self) -> i64;
    /// Waits (between retries).
    fn sleep(&self, d: Duration);
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        crate::engine::unix_now()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// Client options beyond the key.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `https://api.stripe.com`, or a loopback `http://` URL for tests and local stubs.
    pub base_url: String,
    /// The whole-request timeout (connect, send, read).
    pub timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
    /// The largest answer read, in bytes (a page of 100 invoices is well under this).
    pub max_body_bytes: u64,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            base_url: DEFAULT_BASE_URL.into(),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            max_body_bytes: 32 << 20,
        }
    }
}

/// One page of a list endpoint.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// The objects, in Stripe's order (newest first).
    pub items: Vec<ListItem>,
    /// Whether another page follows (`starting_after` = the last item's id).
    pub has_more: bool,
}

/// One object of a page: its id, `created` when it has one, and its exact JSON.
#[derive(Debug, Clone)]
pub struct ListItem {
    /// `id`.
    pub id: String,
    /// `created`, when present.
    pub created: Option<i64>,
    /// The object's JSON text, as Stripe sent it.
    pub json: String,
}

#[derive(Deserialize)]
struct RawPage<'a> {
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
    has_more: bool,
}

#[derive(Deserialize)]
struct IdProbe {
    id: String,
    created: Option<i64>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<String>,
    message: Option<String>,
}

/// A Stripe API client: read-only GETs with retries.
pub struct StripeClient {
    agent: ureq::Agent,
    base: String,
    key: ApiKey,
    clock: Arc<dyn Clock>,
    opts: ClientOptions,
    seq: AtomicU64,
    requests: AtomicU64,
    retries: AtomicU64,
}

impl std::fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeClient")
            .field("base", &self.base)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// `true` for a base URL the key may be sent to: HTTPS anywhere, plain HTTP only to loopback.
fn base_url_ok(url: &str) -> bool {
    if url.starts_with("https://") {
        return url.len() > "https://".len();
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

impl StripeClient {
    /// A client with the real clock.
    pub fn new(key: ApiKey, opts: ClientOptions) -> Result<StripeClient> {
        StripeClient::with_clock(key, opts, Arc::new(SystemClock))
    }

    /// A client reading time and sleeping through `clock`.
    pub fn with_clock(
        key: ApiKey,
        opts: ClientOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<StripeClient> {
        let base = opts.base_url.trim_end_matches('/').to_owned();
        if !base_url_ok(&base) {
            return Err(Error::new(
                ErrorCode::ConfigInvalid,
                format!(
                    "Stripe API base URL {base:?} must be https://, or http:// to a loopback host (127.0.0.1, localhost, [::1])"
                ),
            ));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(opts.timeout))
            .max_redirects(0)
            .user_agent(concat!("tollbooth/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(StripeClient {
            agent,
            base,
            key,
            clock,
            opts,
            seq: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        })
    }

    /// Removes this client's key and anything shaped like a Stripe credential from `text`
    /// (errors quote Stripe's answers and transport errors, which could echo it).
    fn redact(&self, text: &str) -> String {
        redact_secrets(text, |t| self.key.is(t))
    }

    /// The clock this client uses (sync and the worker stamp snapshots with it).
    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// HTTP requests sent so far (retries included).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Retries so far.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// `GET {base}{path}?{query}` with retries; the body of the 2xx answer. `account` sets the
    /// `Stripe-Account` header (a Connect account's objects).
    pub fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
        account: Option<&str>,
    ) -> Result<Vec<u8>> {
        self.get_with_hint(path, query, account).map_err(|(e, _)| e)
    }

    /// As [`StripeClient::get`], but a failure also carries Stripe's `Retry-After` (for a
    /// worker that reschedules a job instead of waiting).
    pub fn get_with_hint(
        &self,
        path: &str,
        query: &[(&str, String)],
        account: Option<&str>,
    ) -> std::result::Result<Vec<u8>, (Error, Option<Duration>)> {
        self.get_scoped(path, query, account.map(|a| ("Stripe-Account", a)))
    }

    /// A v2 API GET (`/v2/core/events/evt_...`): as [`StripeClient::get_with_hint`], but the
    /// connected account goes in v2's `Stripe-Context` header (a thin event's `context`).
    pub fn get_v2_with_hint(
        &self,
        path: &str,
        context: Option<&str>,
    ) -> std::result::Result<Vec<u8>, (Error, Option<Duration>)> {
        self.get_scoped(path, &[], context.map(|c| ("Stripe-Context", c)))
    }

    /// The GET with retries; `scope` is the account header and its value, if any.
    fn get_scoped(
        &self,
        path: &str,
        query: &[(&str, String)],
        scope: Option<(&str, &str)>,
    ) -> std::result::Result<Vec<u8>, (Error, Option<Duration>)> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}{}", self.base, path);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let (result, body, detail) = self.send_once(&url, query, scope);
            match self.opts.retry.decide(&result, attempt, seq) {
                Verdict::Done => return Ok(body),
                Verdict::Retry(wait) => {
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    self.clock.sleep(wait);
                }
                Verdict::Fail { code, retry_after } => {
                    let what = match &result {
                        Attempt::Status { code, .. } => format!("HTTP {code}"),
                        Attempt::Timeout => "timed out".to_owned(),
                        Attempt::Transport => "connection failed".to_owned(),
                    };
                    let msg = format!(
                        "GET {path}: {what} after {attempt} attempt(s){}",
                        detail.map(|d| format!(": {d}")).unwrap_or_default()
                    );
                    return Err((Error::new(code, self.redact(&msg)), retry_after));
                }
            }
        }
    }

    /// The GET of one attempt: authenticated, pinned to our API version, in `scope` (a
    /// `Stripe-Account` or `Stripe-Context` header) when given.
    fn request(
        &self,
        url: &str,
        query: &[(&str, String)],
        scope: Option<(&str, &str)>,
    ) -> ureq::RequestBuilder<ureq::typestate::WithoutBody> {
        let mut req = self
            .agent
            .get(url)
            .header("Authorization", self.key.bearer())
            .header("Stripe-Version", STRIPE_VERSION);
        if let Some((name, value)) = scope {
            req = req.header(name, value);
        }
        for (k, v) in query {
            req = req.query(*k, v);
        }
        req
    }

    /// One attempt: the retry-relevant result, the body (empty unless 2xx) and a short
    /// human detail for a failure (Stripe's error type/code/message, or the transport error).
    fn send_once(
        &self,
        url: &str,
        query: &[(&str, String)],
        scope: Option<(&str, &str)>,
    ) -> (Attempt, Vec<u8>, Option<String>) {
        let mut resp = match self.request(url, query, scope).call() {
            Ok(r) => r,
            Err(ureq::Error::Timeout(_)) => return (Attempt::Timeout, Vec::new(), None),
            Err(e) => {
                return (
                    Attempt::Transport,
                    Vec::new(),
                    Some(self.redact(&transport_detail(&e))),
                );
            }
        };
        let code = resp.status().as_u16();
        let (should_retry, retry_after) = retry_hints(resp.headers());
        let body = resp
            .body_mut()
            .with_config()
            .limit(self.opts.max_body_bytes)
            .read_to_vec();
        let result = Attempt::Status {
            code,
            should_retry,
            retry_after,
        };
        match body {
            Ok(b) if (200..300).contains(&code) => (result, b, None),
            Ok(b) => (
                result,
                Vec::new(),
                error_detail(&b).map(|d| self.redact(&d)),
            ),
            Err(ureq::Error::Timeout(_)) => (Attempt::Timeout, Vec::new(), None),
            Err(ureq::Error::BodyExceedsLimit(n)) if (200..300).contains(&code) => {
                // Not retried: the same answer would be just as large. Reported as a 2xx
                // that cannot be used, through the response check below.
                (
                    result,
                    Vec::new(),
                    Some(format!("answer larger than {n} bytes")),
                )
            }
            Err(e) => (
                Attempt::Transport,
                Vec::new(),
                Some(self.redact(&transport_detail(&e))),
            ),
        }
    }

    /// One object by path (`/v1/subscriptions/sub_1`).
    pub fn retrieve(&self, path: &str, account: Option<&str>) -> Result<Vec<u8>> {
        let body = self.get(path, &[], account)?;
        if body.is_empty() {
            return Err(Error::new(
                ErrorCode::StripeResponseInvalid,
                format!("GET {path}: empty or oversized answer"),
            ));
        }
        Ok(body)
    }

    /// One page of a list endpoint: `limit=100`, the caller's filters, and `starting_after`
    /// when continuing. Items come in Stripe's order (newest first).
    pub fn list_page(
        &self,
        path: &str,
        filters: &[(&str, String)],
        starting_after: Option<&str>,
        account: Option<&str>,
    ) -> Result<ListPage> {
        let mut query: Vec<(&str, String)> = vec![("limit", PAGE_LIMIT.to_string())];
        query.extend(filters.iter().cloned());
        if let Some(after) = starting_after {
            query.push(("starting_after", after.to_owned()));
        }
        let body = self.get(path, &query, account)?;
        parse_page(path, &body)
    }
}

fn invalid_answer(path: &str, why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::StripeResponseInvalid,
        format!("GET {path}: {why}"),
    )
}

/// Splits a list answer into items (id, created, exact JSON text).
pub(crate) fn parse_page(path: &str, body: &[u8]) -> Result<ListPage> {
    let page: RawPage<'_> = serde_json::from_slice(body)
        .map_err(|e| invalid_answer(path, format!("not a list object: {e}")))?;
    let mut items = Vec::with_capacity(page.data.len());
    for raw in page.data {
        let probe: IdProbe = serde_json::from_str(raw.get())
            .map_err(|e| invalid_answer(path, format!("a list item has no string id: {e}")))?;
        items.push(ListItem {
            id: probe.id,
            created: probe.created,
            json: raw.get().to_owned(),
        });
    }
    Ok(ListPage {
        items,
        has_more: page.has_more,
    })
}

/// Stripe's error `type`, `code` and `message`, length bounded (the caller redacts).
fn error_detail(body: &[u8]) -> Option<String> {
    let e: ErrorBody = serde_json::from_slice(body).ok()?;
    let parts: Vec<String> = [e.error.kind, e.error.code, e.error.message]
        .into_iter()
        .flatten()
        .collect();
    let text: String = parts.join(" / ").chars().take(300).collect();
    Some(text)
}

fn transport_detail(e: &ureq::Error) -> String {
    e.to_string().chars().take(200).collect()
}

/// Stripe's retry hints on an answer: `Stripe-Should-Retry` (`true`/`false`, else none) and
/// `Retry-After` in seconds.
fn retry_hints(headers: &ureq::http::HeaderMap) -> (Option<bool>, Option<Duration>) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let should_retry = header("stripe-should-retry").and_then(|v| match v {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    });
    let retry_after = header("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs);
    (should_retry, retry_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_only_goes_to_https_or_loopback() {
        for ok in [
            "https://api.stripe.com",
            "http://127.0.0.1:12111",
            "http://localhost:9",
            "http://[::1]:8080/",
        ] {
            assert!(base_url_ok(ok.trim_end_matches('/')), "{ok}");
        }
        for bad in [
            "http://api.stripe.com",
            "http://127.0.0.1.evil.com",
            "ftp://x",
            "https://",
            "http://localhost.evil:1",
        ] {
            assert!(!base_url_ok(bad), "{bad}");
        }
    }

    #[test]
    fn pages_keep_each_objects_exact_text() {
        let body = br#"{"object":"list","url":"/v1/customers","has_more":true,"data":[
            {"id":"cus_2","object":"customer","created":20, "email":"a@b"},
            {"id":"cus_1","object":"customer"}]}"#;
        let p = parse_page("/v1/customers", body).unwrap();
        assert!(p.has_more);
        assert_eq!(p.items[0].id, "cus_2");
        assert_eq!(p.items[0].created, Some(20));
        assert_eq!(
            p.items[0].json,
            r#"{"id":"cus_2","object":"customer","created":20, "email":"a@b"}"#
        );
        assert_eq!(p.items[1].created, None);
        let e = parse_page("/v1/x", b"{}").unwrap_err();
        assert_eq!(e.code(), ErrorCode::StripeResponseInvalid);
    }

    #[test]
    fn error_details_are_redacted_and_bounded() {
        let body = br#"{"error":{"type":"invalid_request_error","code":"api_key_expired","message":"Expired API Key provided: sk_test_abcdef123 (was rk_x9)"}}"#;
        let c = StripeClient::new(ApiKey::new("rk_x9").unwrap(), ClientOptions::default()).unwrap();
        let d = c.redact(&error_detail(body).unwrap());
        assert!(
            !d.contains("rk_x9"),
            "this client's key, whatever its shape: {d}"
        );
        assert!(
            d.contains("api_key_expired") && !d.contains("abcdef123"),
            "{d}"
        );
        let long = format!(r#"{{"error":{{"message":"{}"}}}}"#, "x".repeat(5000));
        assert!(error_detail(long.as_bytes()).unwrap().len() <= 300);
    }
}
