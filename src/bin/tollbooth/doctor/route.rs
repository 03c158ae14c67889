//! Checks of a deployed webhook route, as pure functions of what the route answered. The
//! requests are made in `http.rs`; everything here judges [`RouteFacts`] and says what to
//! change, so each check is tested on hand-made facts.

use serde::Serialize;
use tollbooth::ErrorCode;

use super::check::Check;

/// One HTTP exchange as observed (no redirect followed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The first bytes of the body (bounded), lossy UTF-8.
    pub body: String,
    /// From sending the request to the end of the (bounded) body.
    pub elapsed_ms: u64,
}

impl Exchange {
    /// The first header named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn is_html(&self) -> bool {
        self.header("content-type")
            .is_some_and(|t| t.to_ascii_lowercase().contains("text/html"))
            || self.body.trim_start().get(..15).is_some_and(|b| {
                let b = b.to_ascii_lowercase();
                b.starts_with("<!doctype html") || b.starts_with("<html")
            })
    }

    /// The tollbooth error code the body names, if any (`{"error":"SIGNATURE_MISMATCH"}`).
    fn error_code(&self) -> Option<&'static str> {
        ErrorCode::ALL
            .iter()
            .map(|c| c.as_str())
            .filter(|c| *c != "OK")
            .find(|c| self.body.contains(&format!("\"{c}\"")))
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The TLS handshake failed (certificate not trusted, wrong host name, expired).
    Tls,
    /// No answer within the time limit.
    Timeout,
    /// No connection (DNS, refused, unreachable).
    Connect,
    /// Anything else (a malformed response).
    Other,
}

/// A request that got no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The client's message.
    pub message: String,
    /// Time until it failed.
    pub elapsed_ms: u64,
}

/// What one request observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Observed {
    /// An HTTP answer.
    Answered(Exchange),
    /// No answer.
    Failed(Failure),
}

/// Everything the route checks judge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteFacts {
    /// The URL checked.
    pub url: String,
    /// `https://`.
    pub https: bool,
    /// The host is loopback (`localhost`, 127.0.0.0/8, `::1`): plain HTTP and any certificate
    /// are fine there.
    pub loopback: bool,
    /// A token inside the unsigned POST's body; seeing it in the answer means an echo.
    pub marker: String,
    /// A POST with a Stripe-shaped body and no `Stripe-Signature`.
    pub unsigned_post: Observed,
    /// A plain GET.
    pub get: Observed,
    /// One signed probe delivery (`--secret`), if a secret was given.
    pub probe: Option<Observed>,
}

/// Time limits for the answer to an unsigned POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// At or under this: a pass.
    pub fast_ms: u64,
    /// Over this: a fail (between the two: a warning).
    pub slow_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fast_ms: 1000,
            slow_ms: 5000,
        }
    }
}

const MIDDLEWARE_FIX: &str = "exclude the webhook path from middleware: in proxy.ts (Next.js 16; \
middleware.ts before) `export const config = { matcher: ['/((?!api/webhooks).*)'] }`, or return \
NextResponse.next() for it before any auth or locale redirect";
const BOT_FIX: &str = "exempt the webhook path from the host's bot protection and firewall \
challenges (Vercel: a Firewall bypass rule for the path, Attack Challenge Mode off for it; \
Cloudflare: a WAF skip rule / Bot Fight Mode exception for the path): Stripe cannot solve a challenge";
const CRASH_FIX: &str = "read the server log for this request. Usual causes: the route runs on \
the Edge runtime (add `export const runtime = 'nodejs'` to route.ts: tollbooth is a native \
addon), `serverExternalPackages: ['tollbooth']` missing from next.config, STRIPE_WEBHOOK_SECRET \
not set in this deployment, or a database path the server cannot write";
const CACHE_FIX: &str = "never cache the webhook route: `export const dynamic = 'force-dynamic'` \
in route.ts, answer every request with `cache-control: no-store`, and add a CDN rule that \
bypasses the cache for the webhook path";

/// Runs every route check on `f`.
pub fn check_route(f: &RouteFacts, limits: &Limits) -> Vec<Check> {
    let mut out = vec![https(f)];
    match &f.unsigned_post {
        Observed::Failed(fail) => {
            out.push(no_answer(fail));
            return out;
        }
        Observed::Answered(post) => {
            out.push(certificate(f));
            out.push(no_redirect(post, &f.get));
            out.push(unsigned_post_rejected(post));
            out.push(answer_time(post, limits));
            out.push(no_body_leak(post, &f.marker));
            out.push(not_cached(post, &f.get));
            out.push(not_a_challenge_page(post));
            out.push(get_not_a_page(&f.get));
            out.push(signed_probe(f.probe.as_ref()));
        }
    }
    out
}

fn https(f: &RouteFacts) -> Check {
    match (f.https, f.loopback) {
        (true, _) => Check::pass("https", "served over HTTPS"),
        (false, true) => Check::pass(
            "https",
            "plain HTTP on loopback: fine for development (a deployed endpoint needs HTTPS)",
        ),
        (false, false) => Check::fail(
            "https",
            "plain HTTP: Stripe sends live-mode events only to HTTPS endpoints",
            "serve the route over HTTPS and give Stripe the https:// URL",
        ),
    }
}

fn no_answer(fail: &Failure) -> Check {
    match fail.kind {
        FailureKind::Tls => Check::fail(
            "tls_certificate",
            format!("the TLS handshake failed: {}", fail.message),
            "serve a certificate from a public CA that covers this host name, with the full \
             chain and not expired: Stripe refuses endpoints whose certificate does not verify",
        ),
        FailureKind::Timeout => Check::fail(
            "answer_time",
            format!("no answer within {} ms", fail.elapsed_ms),
            "Stripe gives up on slow endpoints and retries: the route must answer at once (no \
             work before verifying; slow work goes to the job outbox). Check that the server \
             is up and not stuck in a cold start",
        ),
        FailureKind::Connect | FailureKind::Other => Check::fail(
            "reachable",
            format!("no HTTP answer: {}", fail.message),
            "check the URL (scheme, host, port, path), DNS, and that the deployment is up",
        ),
    }
}

fn certificate(f: &RouteFacts) -> Check {
    match (f.https, f.loopback) {
        (true, false) => Check::pass(
            "tls_certificate",
            "the certificate verifies against the public roots",
        ),
        (true, true) => Check::skip(
            "tls_certificate",
            "loopback: the certificate is not checked",
        ),
        (false, _) => Check::skip("tls_certificate", "not HTTPS"),
    }
}

fn redirect_fix(location: &str) -> String {
    let l = location.to_ascii_lowercase();
    let why = if ["login", "signin", "sign-in", "auth"]
        .iter()
        .any(|w| l.contains(w))
    {
        format!("the redirect goes to sign-in: {MIDDLEWARE_FIX}")
    } else if l.starts_with("https://") {
        "the route answers at another URL (http to https, www, or a trailing slash): give Stripe \
         the final URL exactly"
            .to_owned()
    } else {
        format!(
            "give Stripe the final URL exactly (mind the trailing slash: Next.js `trailingSlash`), \
             and {MIDDLEWARE_FIX}"
        )
    };
    format!("Stripe does not follow redirects and counts them as failed deliveries; {why}")
}

fn no_redirect(post: &Exchange, get: &Observed) -> Check {
    for (method, ex) in [("POST", Some(post)), ("GET", answered(get))] {
        if let Some(ex) = ex.filter(|e| (300..400).contains(&e.status)) {
            let to = ex.header("location").unwrap_or("(no location)");
            return Check::fail(
                "no_redirect",
                format!("{method} answered {} → {to}", ex.status),
                redirect_fix(to),
            );
        }
    }
    Check::pass("no_redirect", "no redirect")
}

fn answered(o: &Observed) -> Option<&Exchange> {
    match o {
        Observed::Answered(e) => Some(e),
        Observed::Failed(_) => None,
    }
}

fn unsigned_post_rejected(post: &Exchange) -> Check {
    const NAME: &str = "unsigned_post_rejected";
    let code = post
        .error_code()
        .map_or_else(String::new, |c| format!(" ({c})"));
    let s = post.status;
    match s {
        400 => Check::pass(NAME, format!("an unsigned POST is refused with 400{code}")),
        200..300 => Check::fail(
            NAME,
            format!("an unsigned POST was accepted with {s}: the route does not verify signatures"),
            "verify before anything else: pass the raw body and the stripe-signature header to \
             tollbooth's handleWebhook, and answer 2xx only when it returns",
        ),
        300..400 => Check::skip(NAME, format!("redirected ({s}), see no_redirect")),
        401 | 403 => {
            let fix = format!("{MIDDLEWARE_FIX}; and {BOT_FIX}");
            Check::fail(
                NAME,
                format!(
                    "answered {s} before the route handler: auth middleware or bot protection, which blocks Stripe too"
                ),
                fix,
            )
        }
        404 => Check::fail(
            NAME,
            "404: no route at this path",
            "deploy the handler at this exact path (app/api/webhooks/stripe/route.ts for \
             /api/webhooks/stripe; mind basePath and locale prefixes), and use the same URL in \
             the Stripe endpoint",
        ),
        405 => Check::fail(
            NAME,
            "405: the path exists but does not take POST",
            "export `async function POST(req)` from route.ts (a page cannot take a webhook, and \
             `output: 'export'` has no route handlers)",
        ),
        429 => Check::warn(
            NAME,
            "429: rate limited",
            "exempt the webhook path from rate limiting: a burst of Stripe retries must get through",
        ),
        402..500 => Check::warn(
            NAME,
            format!("refused with {s}{code}, where tollbooth answers 400"),
            "make sure the request reaches the tollbooth route handler unchanged (no proxy or \
             middleware answering first)",
        ),
        _ => Check::fail(
            NAME,
            format!("the route failed with {s}{code} instead of refusing the signature"),
            CRASH_FIX,
        ),
    }
}

fn answer_time(post: &Exchange, limits: &Limits) -> Check {
    const NAME: &str = "answer_time";
    let ms = post.elapsed_ms;
    const FIX: &str = "a refusal should take milliseconds: keep middleware and per-request setup \
        off the webhook path (open the engine once per process), and check for a cold start \
        (run doctor twice)";
    if ms <= limits.fast_ms {
        Check::pass(NAME, format!("answered in {ms} ms"))
    } else if ms <= limits.slow_ms {
        Check::warn(
            NAME,
            format!("answered in {ms} ms (over {} ms)", limits.fast_ms),
            FIX,
        )
    } else {
        Check::fail(
            NAME,
            format!("answered in {ms} ms (over {} ms)", limits.slow_ms),
            FIX,
        )
    }
}

fn no_body_leak(post: &Exchange, marker: &str) -> Check {
    const NAME: &str = "no_body_leak";
    const FIX: &str = "answer refusals with a short fixed body such as \
        {\"received\":false,\"error\":\"SIGNATURE_HEADER_MISSING\"}: never the request, an \
        error stack, or configuration";
    let b = &post.body;
    let found = if !marker.is_empty() && b.contains(marker) {
        Some("echoes the request body")
    } else if [
        "\n    at ",
        "node_modules",
        "webpack-internal",
        "Traceback (most recent call",
    ]
    .iter()
    .any(|p| b.contains(p))
    {
        Some("contains a stack trace")
    } else if b.contains("whsec_") || b.contains("sk_live_") || b.contains("sk_test_") {
        Some("contains something shaped like a Stripe secret")
    } else {
        None
    };
    match found {
        Some(what) => Check::fail(NAME, format!("the refusal {what}"), FIX),
        None if b.len() > 4096 => {
            Check::warn(NAME, format!("the refusal is {} bytes long", b.len()), FIX)
        }
        None => Check::pass(
            NAME,
            format!("the refusal is {} bytes and reveals nothing", b.len()),
        ),
    }
}

/// Why `ex` looks cached or cacheable, if it does.
pub fn cache_problem(ex: &Exchange) -> Option<String> {
    if let Some(cc) = ex.header("cache-control") {
        let l = cc.to_ascii_lowercase();
        let private = l.contains("no-store") || l.contains("private") || l.contains("no-cache");
        let positive = |key: &str| {
            l.split(',').any(|d| {
                d.trim()
                    .strip_prefix(key)
                    .and_then(|v| v.strip_prefix('='))
                    .and_then(|v| v.trim_matches('"').parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            })
        };
        if positive("s-maxage") || (!private && (l.contains("public") || positive("max-age"))) {
            return Some(format!("cache-control: {cc}"));
        }
    }
    if let Some(age) = ex.header("age") {
        return Some(format!("age: {age} (served from a cache)"));
    }
    for (name, hits) in [
        ("x-vercel-cache", &["HIT", "STALE", "PRERENDER"][..]),
        (
            "cf-cache-status",
            &["HIT", "STALE", "UPDATING", "REVALIDATED"][..],
        ),
        ("x-nextjs-cache", &["HIT", "STALE"][..]),
        ("x-cache", &["HIT"][..]),
        ("cdn-cache", &["HIT"][..]),
        ("x-cache-status", &["HIT", "STALE"][..]),
    ] {
        if let Some(v) = ex.header(name) {
            let u = v.to_ascii_uppercase();
            if hits.iter().any(|h| u.contains(h)) {
                return Some(format!("{name}: {v}"));
            }
        }
    }
    None
}

fn not_cached(post: &Exchange, get: &Observed) -> Check {
    for (method, ex) in [("POST", Some(post)), ("GET", answered(get))] {
        if let Some(problem) = ex.and_then(cache_problem) {
            return Check::fail(
                "not_cached",
                format!("the {method} answer is cacheable or cached ({problem})"),
                CACHE_FIX,
            );
        }
    }
    Check::pass("not_cached", "no caching headers, no cache hit")
}

/// `challenge`, `login` or `page` when `ex` is an HTML interstitial rather than the route.
pub fn page_kind(ex: &Exchange) -> Option<&'static str> {
    let challenge_header = ex
        .header("cf-mitigated")
        .is_some_and(|v| v.eq_ignore_ascii_case("challenge"))
        || ex.header("x-vercel-mitigated").is_some()
        || ex.header("x-vercel-challenge-token").is_some();
    let b = ex.body.to_ascii_lowercase();
    let challenge_body = [
        "cf-chl",
        "challenge-platform",
        "just a moment...",
        "attention required",
        "captcha",
        "verify you are human",
        "checking your browser",
        "vercel security checkpoint",
    ]
    .iter()
    .any(|m| b.contains(m));
    if challenge_header || (ex.is_html() && challenge_body) {
        return Some("challenge");
    }
    if !ex.is_html() {
        return None;
    }
    if b.contains("type=\"password\"")
        || ["sign in", "log in", "signin", "login"]
            .iter()
            .any(|m| b.contains(m))
    {
        return Some("login");
    }
    Some("page")
}

fn not_a_challenge_page(post: &Exchange) -> Check {
    const NAME: &str = "not_a_challenge_page";
    match page_kind(post) {
        Some("challenge") => Check::fail(
            NAME,
            format!("the POST got a bot-protection challenge ({})", post.status),
            BOT_FIX,
        ),
        Some("login") => Check::fail(
            NAME,
            format!("the POST got a sign-in page ({})", post.status),
            MIDDLEWARE_FIX,
        ),
        Some(_) => Check::fail(
            NAME,
            format!(
                "the POST got an HTML page ({}), not the route handler's answer",
                post.status
            ),
            format!(
                "the path must be served by a route handler (route.ts exporting POST), not a page, \
                 a catch-all or an error page; check the path, and {MIDDLEWARE_FIX}"
            ),
        ),
        None => Check::pass(NAME, "no challenge, sign-in or HTML page"),
    }
}

fn get_not_a_page(get: &Observed) -> Check {
    const NAME: &str = "get_not_a_page";
    let Some(ex) = answered(get) else {
        return Check::skip(NAME, "the GET got no answer");
    };
    let s = ex.status;
    match s {
        200..300 => Check::fail(
            NAME,
            format!(
                "a GET answered {s}{}: something other than the webhook handler answers at this path",
                if ex.is_html() {
                    " with an HTML page"
                } else {
                    ""
                }
            ),
            "only a POST handler should live at the webhook path: remove the page or catch-all \
             route that answers there, and make sure no CDN serves a cached copy",
        ),
        300..400 => Check::skip(NAME, format!("redirected ({s}), see no_redirect")),
        400..500 => Check::pass(NAME, format!("a GET is answered {s}")),
        _ => Check::warn(
            NAME,
            format!("a GET failed with {s}"),
            "a GET should get a plain 405; a 5xx suggests the route module fails to load. Read \
             the server log",
        ),
    }
}

fn signed_probe(probe: Option<&Observed>) -> Check {
    const NAME: &str = "signed_probe";
    let Some(probe) = probe else {
        return Check::skip(
            NAME,
            "no secret given: add --secret (or STRIPE_WEBHOOK_SECRET) to send one signed probe",
        );
    };
    let ex = match probe {
        Observed::Answered(ex) => ex,
        Observed::Failed(f) => {
            return Check::fail(
                NAME,
                format!("the probe got no answer: {}", f.message),
                "see the checks above",
            );
        }
    };
    probe_verdict(ex)
}

/// The answer to the signed probe, judged: a table from (status, error code) to the verdict
/// and the fix an operator reads.
fn probe_verdict(ex: &Exchange) -> Check {
    const NAME: &str = "signed_probe";
    let s = ex.status;
    let recognised = serde_json::from_str::<serde_json::Value>(&ex.body)
        .ok()
        .is_some_and(|v| v.get("outcome").and_then(|o| o.as_str()) == Some("probe"));
    let code = ex.error_code();
    match (s, code) {
        (200..300, _) if recognised => Check::pass(
            NAME,
            format!(
                "a probe signed with the given secret was verified and recognised by tollbooth in {} ms (nothing stored)",
                ex.elapsed_ms
            ),
        ),
        (200..300, _) => Check::warn(
            NAME,
            format!(
                "the signed probe was accepted ({s}) but the answer does not say `outcome: probe`"
            ),
            "return tollbooth's result from the route (`{ received: true, outcome, eventId }`), \
             and upgrade tollbooth if it predates the probe (an old engine stores the probe as \
             an ignored event)",
        ),
        (_, Some("SIGNATURE_MISMATCH")) => Check::fail(
            NAME,
            "the route refused the probe: SIGNATURE_MISMATCH (its secret is not the one given)",
            "set STRIPE_WEBHOOK_SECRET in the deployment to this endpoint's signing secret \
             (Stripe Dashboard → Developers → Webhooks → the endpoint → Signing secret). Every \
             endpoint, and `stripe listen`, has its own; during a rotation list both, comma-separated",
        ),
        (_, Some("TIMESTAMP_OUT_OF_TOLERANCE")) => Check::fail(
            NAME,
            "the route refused the probe: TIMESTAMP_OUT_OF_TOLERANCE",
            "the server's clock (or this machine's) is off by more than the tolerance: sync it with NTP",
        ),
        (_, Some(c)) => Check::fail(
            NAME,
            format!("the route refused the probe with {s} ({c})"),
            if c.starts_with("STORE_") {
                CRASH_FIX.to_owned()
            } else {
                format!(
                    "the route rejects a correctly signed delivery: look up {c} in the error table"
                )
            },
        ),
        (500..600, None) => Check::fail(NAME, format!("the probe failed with {s}"), CRASH_FIX),
        _ => Check::fail(
            NAME,
            format!("the route refused the signed probe with {s}"),
            "the request does not reach tollbooth unchanged: see the checks above (middleware, \
             bot protection), and check that the route passes the raw body (`await req.text()` or \
             the bytes, never req.json())",
        ),
    }
}

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
