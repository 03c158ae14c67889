//! The route verdicts on hand-made facts: the cases a loopback stub cannot produce (a public
//! host over plain HTTP, a certificate that does not verify) and the edges of the cache and
//! page rules. The stub servers in tests/doctor.rs cover the rest end to end.

use super::*;
use crate::doctor::check::Status;

fn ex(status: u16, headers: &[(&str, &str)], body: &str) -> Exchange {
    Exchange {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
        body: body.to_owned(),
        elapsed_ms: 5,
    }
}

fn refusal() -> Exchange {
    ex(
        400,
        &[
            ("content-type", "application/json"),
            ("cache-control", "no-store"),
        ],
        r#"{"received":false,"error":"SIGNATURE_HEADER_MISSING"}"#,
    )
}

fn facts(https: bool, loopback: bool, post: Observed) -> RouteFacts {
    RouteFacts {
        url: "https://app.example.com/api/webhooks/stripe".into(),
        https,
        loopback,
        marker: "doctor-marker-1".into(),
        unsigned_post: post,
        get: Observed::Answered(ex(405, &[], "")),
        probe: None,
    }
}

fn find<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks.iter().find(|c| c.name == name).unwrap()
}

#[test]
fn a_healthy_https_route_passes_and_its_certificate_counts() {
    let c = check_route(
        &facts(true, false, Observed::Answered(refusal())),
        &Limits::default(),
    );
    assert!(c.iter().all(|c| c.status != Status::Fail), "{c:#?}");
    assert_eq!(find(&c, "tls_certificate").status, Status::Pass);
    assert_eq!(find(&c, "signed_probe").status, Status::Skip);
}

#[test]
fn plain_http_to_a_public_host_fails() {
    let c = check_route(
        &facts(false, false, Observed::Answered(refusal())),
        &Limits::default(),
    );
    let h = find(&c, "https");
    assert_eq!(h.status, Status::Fail);
    assert!(h.fix.as_deref().unwrap().contains("https://"));
}

#[test]
fn a_certificate_that_does_not_verify_fails_and_stops_there() {
    let post = Observed::Failed(Failure {
        kind: FailureKind::Tls,
        message: "invalid peer certificate: UnknownIssuer".into(),
        elapsed_ms: 30,
    });
    let c = check_route(&facts(true, false, post), &Limits::default());
    assert_eq!(c.len(), 2);
    let t = find(&c, "tls_certificate");
    assert_eq!(t.status, Status::Fail);
    assert!(t.summary.contains("UnknownIssuer"));
    assert!(t.fix.as_deref().unwrap().contains("full chain"));
}

#[test]
fn private_or_no_store_answers_are_not_cacheable() {
    for cc in ["no-store", "private, max-age=600", "no-cache", "max-age=0"] {
        assert_eq!(
            cache_problem(&ex(400, &[("cache-control", cc)], "")),
            None,
            "{cc}"
        );
    }
    for cc in [
        "public",
        "max-age=60",
        "s-maxage=10, private",
        "public, max-age=\"5\"",
    ] {
        assert!(
            cache_problem(&ex(400, &[("cache-control", cc)], "")).is_some(),
            "{cc}"
        );
    }
    for (h, v) in [
        ("cf-cache-status", "DYNAMIC"),
        ("x-vercel-cache", "MISS"),
        ("x-cache", "Miss from cloudfront"),
    ] {
        assert_eq!(cache_problem(&ex(400, &[(h, v)], "")), None, "{h}: {v}");
    }
    for (h, v) in [
        ("x-cache", "Hit from cloudfront"),
        ("x-vercel-cache", "STALE"),
        ("age", "0"),
    ] {
        assert!(cache_problem(&ex(400, &[(h, v)], "")).is_some(), "{h}: {v}");
    }
}

#[test]
fn pages_are_told_apart() {
    let html = [("content-type", "text/html")];
    assert_eq!(page_kind(&refusal()), None);
    assert_eq!(
        page_kind(&ex(403, &[("x-vercel-mitigated", "challenge")], "")),
        Some("challenge")
    );
    assert_eq!(
        page_kind(&ex(503, &html, "<title>Just a moment...</title>")),
        Some("challenge")
    );
    assert_eq!(
        page_kind(&ex(200, &html, "<form><input type=\"password\"></form>")),
        Some("login")
    );
    assert_eq!(page_kind(&ex(404, &html, "<h1>404</h1>")), Some("page"));
    // JSON mentioning a captcha is not a page.
    assert_eq!(page_kind(&ex(400, &[], r#"{"error":"captcha"}"#)), None);
}

#[test]
fn the_probe_verdicts() {
    let probe = |status, body: &str| {
        let mut f = facts(true, false, Observed::Answered(refusal()));
        f.probe = Some(Observed::Answered(ex(status, &[], body)));
        let c = check_route(&f, &Limits::default());
        find(&c, "signed_probe").clone()
    };
    assert_eq!(
        probe(200, r#"{"received":true,"outcome":"probe"}"#).status,
        Status::Pass
    );
    assert_eq!(probe(200, "ok").status, Status::Warn);
    let clock = probe(400, r#"{"error":"TIMESTAMP_OUT_OF_TOLERANCE"}"#);
    assert_eq!(clock.status, Status::Fail);
    assert!(clock.fix.unwrap().contains("NTP"));
    let store = probe(500, r#"{"error":"STORE_READONLY"}"#);
    assert!(store.fix.unwrap().contains("runtime = 'nodejs'"));
    let body = probe(400, r#"{"error":"PAYLOAD_INVALID_JSON"}"#);
    assert!(body.summary.contains("PAYLOAD_INVALID_JSON"));
}

#[test]
fn answer_time_bands() {
    let limits = Limits {
        fast_ms: 100,
        slow_ms: 300,
    };
    let at = |ms| {
        let mut e = refusal();
        e.elapsed_ms = ms;
        answer_time(&e, &limits).status
    };
    assert_eq!(at(100), Status::Pass);
    assert_eq!(at(101), Status::Warn);
    assert_eq!(at(300), Status::Warn);
    assert_eq!(at(301), Status::Fail);
}
