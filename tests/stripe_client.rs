//! The Stripe API client against the loopback stub: exactly what it sends (path, query,
//! headers), real pagination, and Stripe's retry rules under injected 429s, 500s, slow answers
//! and 401s. Time is a fake clock, so the retry schedule costs nothing.

mod stripe_stub;

use std::sync::Arc;
use std::time::Duration;

use stripe_stub::clock::FakeClock;
use stripe_stub::{Fault, Stub, objects};
use tollbooth::ErrorCode;
use tollbooth::stripe_api::{ApiKey, ClientOptions, RetryPolicy, STRIPE_VERSION, StripeClient};

const KEY: &str = "sk_test_51StubKeyDoNotLeakSECRET";
const T0: i64 = 1_767_000_000;

fn client(stub: &Stub, clock: Arc<FakeClock>) -> StripeClient {
    client_with(stub, clock, ClientOptions::default())
}

fn client_with(stub: &Stub, clock: Arc<FakeClock>, opts: ClientOptions) -> StripeClient {
    StripeClient::with_clock(
        ApiKey::new(KEY).unwrap(),
        ClientOptions {
            base_url: stub.base_url.clone(),
            ..opts
        },
        clock,
    )
    .unwrap()
}

fn customers(stub: &Stub, n: usize) {
    stub.add(
        "/v1/customers",
        (0..n).map(|i| objects::customer(&format!("cus_{i:04}"), "a@example.com", T0 + i as i64)),
    );
}

fn assert_no_key(what: &str, text: &str) {
    assert!(
        !text.contains(KEY),
        "the API key leaked into {what}: {text}"
    );
    assert!(
        !text.contains("StubKey"),
        "a fragment of the key leaked into {what}"
    );
}

#[test]
fn pages_with_limit_100_and_starting_after_sending_stripes_headers() {
    let stub = Stub::start(KEY);
    customers(&stub, 250);
    let c = client(&stub, FakeClock::at(T0));
    let mut after: Option<String> = None;
    let mut ids = Vec::new();
    loop {
        let page = c
            .list_page(
                "/v1/customers",
                &[("created[gte]", "5".into())],
                after.as_deref(),
                None,
            )
            .unwrap();
        ids.extend(page.items.iter().map(|i| i.id.clone()));
        after = page.items.last().map(|i| i.id.clone());
        if !page.has_more {
            break;
        }
    }
    assert_eq!(ids.len(), 250);
    assert_eq!(ids[0], "cus_0249", "newest first");
    let reqs = stub.requests();
    assert_eq!(reqs.len(), 3);
    for (n, r) in reqs.iter().enumerate() {
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/v1/customers");
        assert_eq!(r.h("authorization"), Some(format!("Bearer {KEY}").as_str()));
        assert_eq!(r.h("stripe-version"), Some(STRIPE_VERSION));
        assert_eq!(r.h("stripe-account"), None);
        assert!(r.h("user-agent").unwrap().starts_with("tollbooth/"));
        assert_eq!(r.q("limit"), Some("100"));
        assert_eq!(r.q("created[gte]"), Some("5"));
        let expected_after = match n {
            0 => None,
            1 => Some("cus_0150"),
            _ => Some("cus_0050"),
        };
        assert_eq!(r.q("starting_after"), expected_after, "request {n}");
    }
    // Exactly these query keys, in this order.
    let keys: Vec<&str> = reqs[1].query.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["limit", "created[gte]", "starting_after"]);
}

#[test]
fn connect_accounts_get_the_stripe_account_header() {
    let stub = Stub::start(KEY);
    customers(&stub, 1);
    let c = client(&stub, FakeClock::at(T0));
    let body = c
        .retrieve("/v1/customers/cus_0000", Some("acct_123"))
        .unwrap();
    assert!(String::from_utf8(body).unwrap().contains("cus_0000"));
    assert_eq!(stub.requests()[0].h("stripe-account"), Some("acct_123"));
}

#[test]
fn a_429_waits_for_retry_after_then_succeeds() {
    let stub = Stub::start(KEY);
    customers(&stub, 3);
    stub.queue_faults([Fault::rate_limited(Some(7)), Fault::rate_limited(None)]);
    let clock = FakeClock::at(T0);
    let c = client(&stub, clock.clone());
    let page = c.list_page("/v1/customers", &[], None, None).unwrap();
    assert_eq!(page.items.len(), 3);
    assert_eq!(stub.requests().len(), 3);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps[0], Duration::from_secs(7), "Retry-After honoured");
    // No Retry-After: the second retry's backoff, 0.5-1 s (half to full of 2 x 0.5 s).
    assert!(
        sleeps[1] >= Duration::from_millis(500) && sleeps[1] <= Duration::from_secs(1),
        "{sleeps:?}"
    );
    assert_eq!(c.retries(), 2);
}

#[test]
fn stripe_should_retry_false_and_long_retry_after_fail_at_once() {
    let stub = Stub::start(KEY);
    customers(&stub, 1);
    let clock = FakeClock::at(T0);
    let c = client(&stub, clock.clone());
    stub.queue_faults([Fault::Status {
        code: 429,
        retry_after: Some(1),
        should_retry: Some(false),
    }]);
    let e = c.list_page("/v1/customers", &[], None, None).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StripeRateLimited);
    assert_eq!(stub.requests().len(), 1);
    // A wait beyond the policy's patience (60 s) is handed back, not slept.
    stub.queue_faults([Fault::rate_limited(Some(3600))]);
    let (e, hint) = c.get_with_hint("/v1/customers", &[], None).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StripeRateLimited);
    assert_eq!(hint, Some(Duration::from_secs(3600)));
    assert!(clock.sleeps().is_empty());
    // And Stripe-Should-Retry: true makes even a 409 worth another try.
    stub.queue_faults([Fault::Status {
        code: 409,
        retry_after: None,
        should_retry: Some(true),
    }]);
    c.list_page("/v1/customers", &[], None, None).unwrap();
    assert_eq!(clock.sleeps().len(), 1);
}

#[test]
fn server_errors_are_retried_a_bounded_number_of_times() {
    let stub = Stub::start(KEY);
    customers(&stub, 2);
    let clock = FakeClock::at(T0);
    let c = client(&stub, clock.clone());
    stub.queue_faults([Fault::status(500), Fault::status(503)]);
    assert_eq!(
        c.list_page("/v1/customers", &[], None, None)
            .unwrap()
            .items
            .len(),
        2
    );
    assert_eq!(stub.requests().len(), 3);
    let s = clock.sleeps();
    assert!(
        s[0] >= Duration::from_millis(250) && s[0] <= Duration::from_millis(500),
        "{s:?}"
    );
    assert!(
        s[1] >= Duration::from_millis(500) && s[1] <= Duration::from_secs(1),
        "{s:?}"
    );

    stub.clear_requests();
    stub.fault_every(1, Some(Fault::status(502)));
    let e = c.list_page("/v1/customers", &[], None, None).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StripeUnavailable);
    assert_eq!(stub.requests().len(), 5, "1 attempt + max_retries (4)");
    assert!(e.message().contains("HTTP 502 after 5 attempt(s)"), "{e}");
    assert!(
        e.message().contains("injected 502"),
        "Stripe's message is kept: {e}"
    );
}

#[test]
fn a_slow_answer_times_out_and_is_retried() {
    let stub = Stub::start(KEY);
    customers(&stub, 1);
    let clock = FakeClock::at(T0);
    let c = client_with(
        &stub,
        clock.clone(),
        ClientOptions {
            timeout: Duration::from_millis(200),
            ..ClientOptions::default()
        },
    );
    stub.queue_faults([Fault::Slow(Duration::from_millis(800))]);
    assert_eq!(
        c.list_page("/v1/customers", &[], None, None)
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(stub.requests().len(), 2);
    assert_eq!(clock.sleeps().len(), 1);
    // Always slow: bounded, then STRIPE_UNAVAILABLE.
    let c = client_with(
        &stub,
        clock,
        ClientOptions {
            timeout: Duration::from_millis(100),
            retry: RetryPolicy {
                max_retries: 1,
                ..RetryPolicy::default()
            },
            ..ClientOptions::default()
        },
    );
    stub.fault_every(1, Some(Fault::Slow(Duration::from_millis(400))));
    let e = c.list_page("/v1/customers", &[], None, None).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StripeUnavailable);
    assert!(e.message().contains("timed out after 2 attempt(s)"), "{e}");
}

#[test]
fn a_refused_key_fails_at_once_and_is_never_echoed() {
    let stub = Stub::start("sk_test_theRightKey");
    customers(&stub, 1);
    let clock = FakeClock::at(T0);
    let c = client(&stub, clock.clone());
    let e = c.list_page("/v1/customers", &[], None, None).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StripeAuth);
    assert_eq!(stub.requests().len(), 1, "401 is never retried");
    assert!(clock.sleeps().is_empty());
    assert!(e.message().contains("HTTP 401"), "{e}");
    // The stub echoes the presented key whole, as a worst case: the client redacts it.
    assert!(
        e.message().contains("Invalid API Key provided: [redacted]"),
        "{e}"
    );
    assert_no_key("error Display", &e.to_string());
    assert_no_key("error Debug", &format!("{e:?}"));
    assert_no_key("client Debug", &format!("{c:?}"));
    assert_no_key("key Debug", &format!("{:?}", ApiKey::new(KEY).unwrap()));
}

#[test]
fn not_found_bad_requests_and_unreachable_hosts() {
    let stub = Stub::start(KEY);
    customers(&stub, 1);
    let c = client(&stub, FakeClock::at(T0));
    let e = c.retrieve("/v1/customers/cus_nope", None).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StripeNotFound);
    assert!(e.message().contains("No such object"), "{e}");
    stub.queue_faults([Fault::status(403)]);
    assert_eq!(
        c.retrieve("/v1/customers/cus_0000", None)
            .unwrap_err()
            .code(),
        ErrorCode::StripeAuth
    );
    stub.queue_faults([Fault::status(400)]);
    assert_eq!(
        c.retrieve("/v1/customers/cus_0000", None)
            .unwrap_err()
            .code(),
        ErrorCode::StripeRequestInvalid
    );
    let base = stub.base_url.clone();
    drop(stub);
    let clock = FakeClock::at(T0);
    let c = StripeClient::with_clock(
        ApiKey::new(KEY).unwrap(),
        ClientOptions {
            base_url: base,
            ..ClientOptions::default()
        },
        clock.clone(),
    )
    .unwrap();
    let e = c.retrieve("/v1/customers/cus_0000", None).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StripeUnavailable);
    assert_eq!(clock.sleeps().len(), 4);
    assert_no_key("transport error", &format!("{e} {e:?}"));
}

#[test]
fn the_key_is_only_sent_over_https_or_to_loopback() {
    let e = StripeClient::new(
        ApiKey::new(KEY).unwrap(),
        ClientOptions {
            base_url: "http://api.stripe.com".into(),
            ..ClientOptions::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConfigInvalid);
    assert_no_key("config error", &e.to_string());
    let e = ApiKey::new(format!("{KEY}\r\nX: 1")).unwrap_err();
    assert_no_key("key error", &e.to_string());
}
