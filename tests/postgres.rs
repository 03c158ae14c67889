//! The PostgreSQL store against a real server (`.ci/postgres.sh`): opening, migrations under
//! concurrency, the failure codes (wrong password, unreachable, bad URL, TLS, schema too new,
//! statement timeout), and the store operations, directly and through PgBouncer in
//! transaction mode. Skips (with a notice) without the harness; fails under CI without it.
#![cfg(feature = "postgres")]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

use common::pg::{self, Schema};
use serde_json::json;
use tollbooth::billing::{CheckoutRow, SubscriptionView, Watermark};
use tollbooth::deliveries::{Delivery, DeliveryOutcome};
use tollbooth::event::{CheckoutRecord, CustomerRecord, InvoiceRecord, SubscriptionRecord};
use tollbooth::outbox::NewJob;
use tollbooth::store::postgres::{PG_SCHEMA_VERSION, PgStore};
use tollbooth::store::{NewEvent, Prefetch, StoreTx};
use tollbooth::{CheckoutState, ErrorCode, FailOutcome, JobFilter, JobState};

const DIRECT: &str = "TOLLBOOTH_TEST_POSTGRES";
const BOUNCER: &str = "TOLLBOOTH_TEST_PGBOUNCER";

/// A fresh schema reached through `var` (cleanup always direct).
fn schema(var: &str, tag: &str) -> Option<Schema> {
    let url = pg::env(var)?;
    let admin = pg::env(DIRECT)?;
    Some(Schema::new(&url, &admin, tag))
}

fn password_of(url: &str) -> String {
    let after = url.split_once("://").unwrap().1;
    let userinfo = after.split_once('@').unwrap().0;
    userinfo.split_once(':').unwrap().1.to_owned()
}

fn event<'a>(id: &'a str, customer: Option<&'a str>, body: &'a [u8]) -> NewEvent<'a> {
    NewEvent {
        id,
        event_type: "customer.updated",
        created: 1_700_000_000,
        livemode: false,
        api_version: Some("2024-06-20"),
        account: None,
        object_id: customer,
        customer_id: customer,
        outcome: "processed",
        error_code: None,
        received_at: 1_700_000_005,
        body,
    }
}

fn job(kind: &'static str, key: &str, customer: Option<&str>, coalesce: bool, n: i64) -> NewJob {
    NewJob {
        kind,
        key: key.to_owned(),
        customer_id: customer.map(str::to_owned),
        coalesce,
        payload: json!({"key": key, "n": n}),
    }
}

// ---------------------------------------------------------------- opening and migrations

#[test]
fn opens_migrates_once_and_reopens_without_migrating() {
    let Some(s) = schema(DIRECT, "open") else {
        return;
    };
    let a = PgStore::open(&s.url).unwrap();
    assert_eq!(a.migrations_applied() as i64, PG_SCHEMA_VERSION);
    assert_eq!(a.schema_version().unwrap(), PG_SCHEMA_VERSION);
    assert_eq!(a.schema(), s.name);
    let b = PgStore::open(&s.url).unwrap();
    assert_eq!(b.migrations_applied(), 0);
    // Lazy pool: opening used one connection, not pool_size.
    assert_eq!(b.open_connections(), 1);
}

#[test]
fn eight_concurrent_openers_exactly_one_migrates() {
    let Some(s) = schema(DIRECT, "mig8") else {
        return;
    };
    let start = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let url = s.url.clone();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                PgStore::open(&url).map(|st| st.migrations_applied())
            })
        })
        .collect();
    let applied: Vec<usize> = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    assert_eq!(
        applied.iter().sum::<usize>() as i64,
        PG_SCHEMA_VERSION,
        "{applied:?}"
    );
    assert_eq!(applied.iter().filter(|&&n| n > 0).count(), 1, "{applied:?}");
    let st = PgStore::open(&s.url).unwrap();
    assert_eq!(st.schema_version().unwrap(), PG_SCHEMA_VERSION);
}

#[test]
fn an_older_schema_is_upgraded_in_place_keeping_its_rows() {
    let Some(s) = schema(DIRECT, "upgrade") else {
        return;
    };
    let st = PgStore::open(&s.url).unwrap();
    st.write(|tx| tx.insert_event(&event("evt_old", None, b"{}")))
        .unwrap();
    st.log_delivery_now(&delivery(120, DeliveryOutcome::Processed))
        .unwrap();
    drop(st);
    // Back to v1: what a database written by the first release looks like.
    s.sql(&format!(
        "SET search_path TO {0}; DROP INDEX events_quarantined; ALTER TABLE events DROP COLUMN error_code; \
         DROP TABLE delivery_stats; ALTER TABLE deliveries DROP COLUMN secret_index; \
         DROP TABLE stripe_sync_cursors, stripe_catalog, job_throttles, job_throttle_claims; \
         DROP TABLE purchases, customer_features; ALTER TABLE subscriptions DROP COLUMN items; \
         DROP INDEX events_received; \
         DROP TABLE payment_refs, orphan_jobs, payment_actions; ALTER TABLE customers DROP COLUMN account; \
         ALTER TABLE subscriptions DROP COLUMN trial_missing_payment_method, DROP COLUMN has_payment_method; \
         ALTER TABLE customers DROP COLUMN has_payment_method; \
         DELETE FROM schema_migrations WHERE version > 1",
        s.name
    ));
    let st = PgStore::open(&s.url).unwrap();
    assert_eq!(st.migrations_applied() as i64, PG_SCHEMA_VERSION - 1);
    assert_eq!(st.schema_version().unwrap(), PG_SCHEMA_VERSION);
    assert!(
        st.event_exists("evt_old").unwrap(),
        "rows survive the upgrade"
    );
    let quarantined = NewEvent {
        outcome: "quarantined",
        error_code: Some("EVENT_FIELD_MISSING"),
        ..event("evt_q", None, b"{}")
    };
    st.write(|tx| tx.insert_event(&quarantined)).unwrap();
    assert_eq!(st.quarantined_count().unwrap(), 1);
    // v3 built the per-minute delivery stats from the log it found.
    assert_eq!(st.delivery_counts(0).unwrap().total, 1);
}

#[test]
fn a_schema_newer_than_the_code_is_refused() {
    let Some(s) = schema(DIRECT, "toonew") else {
        return;
    };
    drop(PgStore::open(&s.url).unwrap());
    s.sql(&format!(
        "INSERT INTO {}.schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)",
        s.name
    ));
    let e = PgStore::open(&s.url).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StoreSchemaTooNew, "{e}");
    assert!(e.message().contains("v999"), "{e}");
}

// ---------------------------------------------------------------- failures at open

#[test]
fn a_wrong_password_is_store_open_failed_and_never_shown() {
    let Some(url) = pg::env(DIRECT) else { return };
    let real = password_of(&url);
    let wrong = "WrongPassw0rdXyz";
    let bad = url.replacen(&format!(":{real}@"), &format!(":{wrong}@"), 1);
    assert_ne!(bad, url);
    let e = PgStore::open(&bad).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StoreOpenFailed, "{e}");
    assert!(
        e.message().contains("password authentication failed"),
        "{e}"
    );
    for shown in [e.to_string(), format!("{e:?}")] {
        assert!(!shown.contains(wrong), "{shown}");
        assert!(!shown.contains(&real), "{shown}");
    }
}

#[test]
fn the_password_is_not_in_debug_output() {
    let Some(s) = schema(DIRECT, "dbg") else {
        return;
    };
    let st = PgStore::open(&s.url).unwrap();
    let real = password_of(&s.url);
    let shown = format!("{st:?} {:?}", st.options());
    assert!(shown.contains("tollbooth"), "{shown}");
    assert!(!shown.contains(&real), "{shown}");
}

#[test]
fn an_unreachable_server_is_store_unavailable() {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let e = PgStore::open("postgres://u:secretpw@127.0.0.1:1/db?sslmode=disable").unwrap_err();
    assert_eq!(e.code(), ErrorCode::StoreUnavailable, "{e}");
    assert!(!e.to_string().contains("secretpw"), "{e}");
}

#[test]
fn a_bad_url_is_config_invalid() {
    for url in [
        "postgres://u:pw@h/db?sslmode=maybe",
        "postgres://u:pw@h:port/db",
        "postgres://u:pw@h/db?schema=Bad-Name",
    ] {
        let e = PgStore::open(url).unwrap_err();
        assert_eq!(e.code(), ErrorCode::ConfigInvalid, "{url}: {e}");
    }
}

#[test]
fn tls_verify_full_connects_with_the_right_ca() {
    let Some(url) = pg::env("TOLLBOOTH_TEST_POSTGRES_TLS") else {
        return;
    };
    let Some(admin) = pg::env(DIRECT) else { return };
    let s = Schema::new(&url, &admin, "tls");
    let st = PgStore::open(&s.url).unwrap();
    assert_eq!(st.schema_version().unwrap(), PG_SCHEMA_VERSION);
    // The server reports this connection as TLS (verify-full would have refused plain text).
    assert!(
        st.connection_encrypted().unwrap(),
        "connection is not encrypted"
    );
}

#[test]
fn tls_with_a_ca_that_did_not_sign_the_server_is_refused() {
    let Some(url) = pg::env("TOLLBOOTH_TEST_POSTGRES_TLS") else {
        return;
    };
    let Some(other) = pg::env("TOLLBOOTH_TEST_POSTGRES_OTHER_CA") else {
        return;
    };
    let (base, _) = url.split_once("sslrootcert=").unwrap();
    let bad = format!("{base}sslrootcert={other}");
    let e = PgStore::open(&bad).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StoreOpenFailed, "{e}");
    assert!(e.message().contains("certificate"), "{e}");
    assert!(!e.to_string().contains(&password_of(&url)), "{e}");
    // A missing CA file is a configuration error before any connection.
    let e = PgStore::open(&format!("{base}sslrootcert=/nonexistent/ca.pem")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConfigInvalid, "{e}");
}

#[test]
fn a_statement_past_the_timeout_is_store_timeout() {
    let Some(s) = schema(DIRECT, "timeout") else {
        return;
    };
    let waiter = PgStore::open(&pg::with_param(&s.url, "statement_timeout", "200")).unwrap();
    let (release, h) = hold_writer_lock(&s.url);
    // The writer lock is held: this write waits for it past its 200 ms statement timeout.
    let e = waiter
        .log_delivery_now(&delivery(1, DeliveryOutcome::Rejected))
        .unwrap_err();
    release.wait();
    h.join().unwrap();
    assert_eq!(e.code(), ErrorCode::StoreTimeout, "{e}");
    // Nothing was written, and the store works afterwards.
    assert!(waiter.recent_deliveries(10).unwrap().is_empty());
    waiter
        .log_delivery_now(&delivery(2, DeliveryOutcome::Rejected))
        .unwrap();
    assert_eq!(waiter.recent_deliveries(10).unwrap().len(), 1);
}

#[test]
fn log_only_writes_never_wait_for_the_writer_lock() {
    let Some(s) = schema(DIRECT, "nowait") else {
        return;
    };
    // A statement timeout far longer than the test: a write that waited would hang it.
    let waiter = PgStore::open(&pg::with_param(&s.url, "statement_timeout", "60000")).unwrap();
    let (release, h) = hold_writer_lock(&s.url);
    let e = waiter.try_write(|_| Ok(())).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StoreBusy, "{e}");
    // Due rows (a second old) try to flush, find the lock taken and stay buffered.
    waiter.buffer_delivery(delivery(100, DeliveryOutcome::Duplicate), 100);
    assert_eq!(
        waiter.buffer_delivery(delivery(101, DeliveryOutcome::Duplicate), 101),
        0
    );
    release.wait();
    h.join().unwrap();
    assert!(waiter.recent_deliveries(10).unwrap().is_empty());
    waiter.flush_deliveries().unwrap();
    assert_eq!(
        waiter.recent_deliveries(10).unwrap().len(),
        2,
        "nothing lost"
    );
}

/// Another store holds the writer lock (inside a write transaction) until `release.wait()`;
/// returns once it holds it.
fn hold_writer_lock(url: &str) -> (Arc<Barrier>, thread::JoinHandle<()>) {
    let holder = PgStore::open(url).unwrap();
    let held = Arc::new(Barrier::new(2));
    let release = Arc::new(Barrier::new(2));
    let h = {
        let (held, release) = (held.clone(), release.clone());
        thread::spawn(move || {
            holder
                .write(|tx| {
                    // `BEGIN` and the lock go with a transaction's first round trip: make one.
                    tx.event_exists("evt_hold")?;
                    held.wait();
                    release.wait();
                    Ok(())
                })
                .unwrap();
        })
    };
    held.wait();
    (release, h)
}

fn delivery(at: i64, outcome: DeliveryOutcome) -> Delivery {
    Delivery {
        at,
        outcome,
        reason: (outcome == DeliveryOutcome::Rejected).then_some("SIGNATURE_MISMATCH"),
        event_id: Some(format!("evt_{at}")),
        event_type: Some("invoice.paid".into()),
        body_bytes: 100,
        latency_us: 50,
        lag_s: Some(1),
        secret_index: Some(0),
    }
}

// ---------------------------------------------------------------- operations, direct and pooled

/// Each operation suite runs directly and through PgBouncer in transaction mode.
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[test]
            fn direct() {
                if let Some(s) = super::schema(super::DIRECT, stringify!($name)) {
                    super::$name(&s.url);
                }
            }
            #[test]
            fn through_pgbouncer() {
                if let Some(s) = super::schema(super::BOUNCER, stringify!($name)) {
                    super::$name(&s.url);
                }
            }
        }
    };
}

both!(read_ahead_stays_true);
/// A batch's read-ahead (`StoreTx::prefetch`) answers the first reads without a round trip,
/// and never answers with a row the transaction has changed since: its own event, invoice and
/// customer writes are seen, and a statement the read-ahead does not know forgets all of it.
fn read_ahead_stays_true(url: &str) {
    let st = PgStore::open(url).unwrap();
    let wm = Watermark::event(1_700_000_000, "evt_1");
    let customer = |id: &str, email: &str| CustomerRecord {
        id: id.into(),
        email: Some(email.into()),
        ..Default::default()
    };
    let inv = InvoiceRecord {
        id: "in_1".into(),
        customer_id: "cus_1".into(),
        amount_due: 2900,
        currency: "usd".into(),
        ..Default::default()
    };
    st.write(|tx| {
        tx.insert_event(&event("evt_old", Some("cus_1"), b"{}"))?;
        tx.put_customer(&customer("cus_1", "a@example.com"), &wm)
    })
    .unwrap();
    st.write(|tx| {
        tx.prefetch(&Prefetch {
            event_ids: vec!["evt_old", "evt_new"],
            invoices: vec!["in_1"],
            subscriptions: vec!["sub_1"],
            customers: vec!["cus_1", "cus_2"],
        })?;
        let before = st.round_trips();
        assert!(tx.event_exists("evt_old")?);
        assert!(!tx.event_exists("evt_new")?);
        assert!(tx.invoice("in_1")?.is_none());
        assert!(tx.subscription("sub_1")?.is_none());
        let email = |c: Option<(CustomerRecord, Watermark)>| c.and_then(|(c, _)| c.email);
        assert_eq!(
            email(tx.customer("cus_1")?).as_deref(),
            Some("a@example.com")
        );
        assert!(tx.customer("cus_2")?.is_none());
        assert_eq!(st.round_trips(), before, "answered from the read-ahead");

        tx.insert_event(&event("evt_new", None, b"{}"))?;
        assert!(tx.event_exists("evt_new")?, "its own event is stored");
        tx.put_invoice(&inv, &wm)?;
        assert_eq!(tx.invoice("in_1")?.map(|(i, _)| i.amount_due), Some(2900));
        tx.put_customer(&customer("cus_1", "b@example.com"), &wm)?;
        assert_eq!(
            email(tx.customer("cus_1")?).as_deref(),
            Some("b@example.com")
        );
        // Not a write the read-ahead knows (it creates cus_2's row): everything is forgotten.
        tx.payments().set_customer_account("cus_2", "acct_1")?;
        assert!(
            tx.customer("cus_2")?.is_some(),
            "read again, not the stale answer"
        );
        Ok(())
    })
    .unwrap();
}

both!(rows_round_trip);
fn rows_round_trip(url: &str) {
    let st = PgStore::open(url).unwrap();
    // Bytes that are not UTF-8 survive exactly.
    let body: Vec<u8> = (0..=255u8)
        .chain(b"{\"id\":\"evt_1\"}".iter().copied())
        .collect();
    let wm = Watermark::event(1_700_000_000, "evt_1");
    let sub = SubscriptionView {
        record: SubscriptionRecord {
            id: "sub_1".into(),
            customer_id: "cus_1".into(),
            status: "active".into(),
            price_id: Some("price_pro".into()),
            product_id: None,
            items: vec![
                tollbooth::event::SubscriptionItem {
                    id: "si_1".into(),
                    price_id: Some("price_pro".into()),
                    product_id: Some("prod_pro".into()),
                    quantity: 5,
                },
                tollbooth::event::SubscriptionItem {
                    id: "si_2".into(),
                    price_id: Some("price_seat".into()),
                    product_id: None,
                    quantity: 1,
                },
            ],
            current_period_end: Some(1_702_000_000),
            cancel_at_period_end: true,
            cancel_at: None,
            canceled_at: Some(5),
            ended_at: None,
            trial_end: None,
            trial_missing_payment_method: Some("pause".into()),
            has_payment_method: true,
            user_id: None,
        },
        status_since: 1_699_999_000,
    };
    let inv = InvoiceRecord {
        id: "in_1".into(),
        customer_id: "cus_1".into(),
        subscription_id: Some("sub_1".into()),
        amount_due: 2900,
        amount_remaining: 2900,
        currency: "usd".into(),
        attempt_count: 2,
        created: 1_700_000_000,
        ..Default::default()
    };
    let co = CheckoutRow {
        record: CheckoutRecord {
            id: "cs_1".into(),
            customer_id: Some("cus_1".into()),
            user_id: Some("user_9".into()),
            mode: Some("subscription".into()),
            ..Default::default()
        },
        state: CheckoutState::Complete,
    };
    st.write(|tx| {
        assert!(!tx.event_exists("evt_1")?);
        tx.insert_event(&event("evt_1", Some("cus_1"), &body))?;
        assert!(tx.event_exists("evt_1")?);
        let c = CustomerRecord {
            id: "cus_1".into(),
            email: None,
            name: Some("Ada".into()),
            user_id: None,
            deleted: false,
            has_payment_method: true,
        };
        tx.put_customer(&c, &wm)?;
        tx.fill_contact("cus_1", Some("ada@example.com"), Some("Not Ada"))?;
        assert!(tx.link_user("cus_1", "user_9", 10)?);
        assert!(!tx.link_user("cus_1", "user_8", 9)?, "an older link loses");
        assert!(tx.link_user("cus_1", "user_7", 11)?, "a newer link wins");
        tx.put_subscription(&sub, &wm)?;
        tx.put_invoice(&inv, &wm)?;
        tx.put_checkout(&co, &wm)?;
        Ok(())
    })
    .unwrap();
    assert!(st.event_exists("evt_1").unwrap());
    assert_eq!(st.event_body("evt_1").unwrap().unwrap(), body);
    assert_eq!(st.event_body("evt_2").unwrap(), None);
    let c = st.customer("cus_1").unwrap().unwrap();
    assert_eq!(c.email.as_deref(), Some("ada@example.com"));
    assert_eq!(
        c.name.as_deref(),
        Some("Ada"),
        "fill_contact never overwrites"
    );
    assert_eq!(c.user_id.as_deref(), Some("user_7"));
    assert!(
        c.has_payment_method,
        "the customer's default payment method is kept"
    );
    assert_eq!(st.customer_for_user("user_7").unwrap().unwrap().id, "cus_1");
    assert_eq!(
        st.customer_for_email("ada@example.com")
            .unwrap()
            .unwrap()
            .id,
        "cus_1"
    );
    assert_eq!(st.subscriptions("cus_1").unwrap(), vec![sub.clone()]);
    assert_eq!(st.invoices("cus_1").unwrap(), vec![inv.clone()]);
    // Rows read ahead come back as text, in the batch's first round trip: they decode to
    // exactly what a typed read gives, every column (NULLs, booleans, JSON items included).
    let typed = st
        .write(|tx| {
            Ok((
                tx.subscription("sub_1")?,
                tx.invoice("in_1")?,
                tx.customer("cus_1")?,
            ))
        })
        .unwrap();
    let ahead = st
        .write(|tx| {
            tx.prefetch(&Prefetch {
                event_ids: vec!["evt_1"],
                invoices: vec!["in_1"],
                subscriptions: vec!["sub_1"],
                customers: vec!["cus_1"],
            })?;
            let before = st.round_trips();
            let rows = (
                tx.subscription("sub_1")?,
                tx.invoice("in_1")?,
                tx.customer("cus_1")?,
            );
            assert_eq!(st.round_trips(), before, "answered from the read-ahead");
            Ok(rows)
        })
        .unwrap();
    assert_eq!(ahead, typed);
    assert_eq!(ahead.0.unwrap().0, sub);
    assert_eq!(st.checkout("cs_1").unwrap(), Some(co.clone()));
    let evs = st.events(&Default::default()).unwrap();
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].customer_id.as_deref(), Some("cus_1"));
    // Watermarks come back as written; an update replaces every column.
    st.write(|tx| {
        let (got, got_wm) = tx.subscription("sub_1")?.unwrap();
        assert_eq!((got, got_wm), (sub.clone(), wm.clone()));
        let mut newer = sub.clone();
        newer.record.status = "canceled".into();
        newer.record.price_id = None;
        tx.put_subscription(&newer, &Watermark::snapshot(1_700_000_100))?;
        let (_, w) = tx.invoice("in_1")?.unwrap();
        assert_eq!(w, wm);
        assert_eq!(tx.customer_user("cus_1")?.as_deref(), Some("user_7"));
        assert_eq!(tx.customer_subscriptions("cus_1")?.len(), 1);
        Ok(())
    })
    .unwrap();
    let subs = st.subscriptions("cus_1").unwrap();
    assert_eq!(subs[0].record.status, "canceled");
    assert_eq!(subs[0].record.price_id, None);
}

both!(a_failed_write_leaves_nothing);
fn a_failed_write_leaves_nothing(url: &str) {
    let st = PgStore::open(url).unwrap();
    let e = st
        .write(|tx| {
            tx.insert_event(&event("evt_x", None, b"{}"))?;
            tx.insert_event(&event("evt_x", None, b"{}"))?; // primary key violation
            Ok(())
        })
        .unwrap_err();
    assert!(!e.code().is_client_error(), "{e}");
    assert!(!st.event_exists("evt_x").unwrap(), "rolled back");
    // The connection went back to the pool clean: the next write works.
    st.write(|tx| tx.insert_event(&event("evt_x", None, b"{}")))
        .unwrap();
    assert!(st.event_exists("evt_x").unwrap());
}

both!(jobs_lifecycle);
fn jobs_lifecycle(url: &str) {
    use tollbooth::outbox::kinds::{CRM_SYNC_CUSTOMER, SUPPORT_OPEN_TICKET};
    let st = PgStore::open(url).unwrap();
    let now = 1_000;
    let (a, b, c) = st
        .write(|tx| {
            let a = tx.enqueue(
                &job(CRM_SYNC_CUSTOMER, "cus_1", Some("cus_1"), true, 1),
                Some("evt_1"),
                now,
            )?;
            let b = tx.enqueue(
                &job(CRM_SYNC_CUSTOMER, "cus_1", Some("cus_1"), true, 2),
                Some("evt_2"),
                now,
            )?;
            let c = tx.enqueue(
                &job(SUPPORT_OPEN_TICKET, "in_1:1", Some("cus_1"), false, 1),
                None,
                now,
            )?;
            let again = tx.enqueue(
                &job(SUPPORT_OPEN_TICKET, "in_1:1", Some("cus_1"), false, 9),
                None,
                now,
            )?;
            assert_eq!(again, None, "once-jobs exist once per key");
            Ok((a.unwrap(), b.unwrap(), c.unwrap()))
        })
        .unwrap();
    assert!(
        !a.coalesced && b.coalesced && a.id == b.id,
        "coalesced into the due row"
    );
    let listed = st.jobs(&JobFilter::default()).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        st.job(a.id).unwrap().payload,
        json!({"key": "cus_1", "n": 2}).to_string()
    );

    // Claim, fail with backoff, LEASE_LOST for a stale token, complete.
    let got = st
        .claim(&claim_of(&[CRM_SYNC_CUSTOMER], 10, 30), now)
        .unwrap();
    assert_eq!(got.len(), 1);
    let j = &got[0];
    assert_eq!((j.id, j.attempt, j.lease_until), (a.id, 1, now + 30));
    assert_eq!(
        st.complete(j.id, j.lease_token + 1, now + 1)
            .unwrap_err()
            .code(),
        ErrorCode::LeaseLost
    );
    assert_eq!(
        st.complete(999_999, 1, now + 1).unwrap_err().code(),
        ErrorCode::JobNotFound
    );
    let out = st
        .fail(&failed(j.id, j.lease_token, "crm said 500"), now + 1)
        .unwrap();
    let FailOutcome::Scheduled { next_attempt_at } = out else {
        panic!("{out:?}")
    };
    assert!(next_attempt_at > now + 1);
    assert!(
        st.claim(&claim_of(&[CRM_SYNC_CUSTOMER], 10, 30), now + 1)
            .unwrap()
            .is_empty(),
        "backing off"
    );
    // A newer event coalesces into the due job while it backs off.
    st.write(|tx| {
        tx.enqueue(
            &job(CRM_SYNC_CUSTOMER, "cus_1", Some("cus_1"), true, 3),
            None,
            now + 2,
        )
        .map(|_| ())
    })
    .unwrap();
    // Run it out of attempts: dead, then replay.
    let mut t = next_attempt_at;
    let mut last = None;
    for _ in 0..2 {
        let got = st
            .claim(&claim_of(&[CRM_SYNC_CUSTOMER], 10, 30), t)
            .unwrap();
        assert_eq!(got.len(), 1, "at {t}");
        last = Some(
            st.fail(&failed(got[0].id, got[0].lease_token, "again"), t)
                .unwrap(),
        );
        t = match last {
            Some(FailOutcome::Scheduled { next_attempt_at }) => next_attempt_at,
            _ => t,
        };
    }
    assert_eq!(last, Some(FailOutcome::Dead));
    assert_eq!(st.job(a.id).unwrap().state, JobState::Dead);
    let attempts = st.job_attempts(a.id).unwrap();
    assert_eq!(attempts.len(), 3);
    assert!(
        attempts
            .iter()
            .all(|x| x.outcome.as_deref() == Some("failed"))
    );
    assert_eq!(st.replay(a.id, t).unwrap(), a.id);
    assert_eq!(
        st.replay(a.id, t).unwrap_err().code(),
        ErrorCode::JobNotFound,
        "not dead any more"
    );
    let got = st.claim(&claim_of(&[], 10, 30), t).unwrap();
    // Oldest run_at first: the ticket (due since `now`) before the replayed job (due at `t`).
    assert_eq!(
        got.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![c.id, a.id]
    );
    // An expired lease ends as a failed attempt (lease_expired) at the next claim: the job
    // backs off like any failure, and the crashed worker's late completion is refused.
    assert!(
        st.claim(&claim_of(&[SUPPORT_OPEN_TICKET], 10, 30), t + 31)
            .unwrap()
            .is_empty()
    );
    let job = st.job(c.id).unwrap();
    assert_eq!(job.state, JobState::Due);
    assert!(job.run_at > t + 31, "backs off");
    assert_eq!(
        st.complete(c.id, got[0].lease_token, t + 31)
            .unwrap_err()
            .code(),
        ErrorCode::LeaseLost
    );
    let again = st
        .claim(&claim_of(&[SUPPORT_OPEN_TICKET], 10, 30), job.run_at)
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2);
    st.complete(c.id, again[0].lease_token, job.run_at + 1)
        .unwrap();
    let att = st.job_attempts(c.id).unwrap();
    assert_eq!(att[0].outcome.as_deref(), Some("lease_expired"));
    assert_eq!(att[1].outcome.as_deref(), Some("completed"));
    let t = job.run_at;
    let stats = st.queue_stats(t + 40, 0).unwrap();
    let crm = stats.iter().find(|k| k.kind == CRM_SYNC_CUSTOMER).unwrap();
    // The CRM job's lease (taken with the ticket's) ran out too: ended by the same claim.
    assert_eq!(
        (crm.leased, crm.failed_attempts, crm.lease_expired_window),
        (0, 3, 1)
    );
    let sup = stats
        .iter()
        .find(|k| k.kind == SUPPORT_OPEN_TICKET)
        .unwrap();
    assert_eq!(
        (sup.done, sup.enqueued_window, sup.lease_expired_window),
        (1, 1, 1)
    );
}

both!(fifo_per_customer_and_queue);
fn fifo_per_customer_and_queue(url: &str) {
    use tollbooth::outbox::kinds::{CRM_SYNC_CUSTOMER, SUPPORT_CLOSE_TICKET, SUPPORT_OPEN_TICKET};
    let st = PgStore::open(url).unwrap();
    let ids = st
        .write(|tx| {
            let open = tx.enqueue(
                &job(SUPPORT_OPEN_TICKET, "in_1:1", Some("cus_1"), false, 1),
                None,
                5,
            )?;
            let close = tx.enqueue(
                &job(SUPPORT_CLOSE_TICKET, "in_1", Some("cus_1"), false, 1),
                None,
                1,
            )?;
            let crm = tx.enqueue(
                &job(CRM_SYNC_CUSTOMER, "cus_1", Some("cus_1"), true, 1),
                None,
                1,
            )?;
            Ok((open.unwrap().id, close.unwrap().id, crm.unwrap().id))
        })
        .unwrap();
    let (open, close, crm) = ids;
    // The close is due earlier, but the open (older id, same queue, same customer) goes first;
    // the CRM queue is independent.
    let got: Vec<i64> = st
        .claim(&claim_of(&[], 10, 30), 10)
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(got, vec![crm, open]);
    assert!(
        st.claim(&claim_of(&[], 10, 30), 11).unwrap().is_empty(),
        "close waits for open"
    );
    let lease = st.job(open).unwrap();
    assert_eq!(lease.state, JobState::Leased);
    let token = st.job_attempts(open).unwrap()[0].lease_token;
    st.complete(open, token, 12).unwrap();
    let got: Vec<i64> = st
        .claim(&claim_of(&[], 10, 30), 13)
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(got, vec![close]);
}

both!(delivery_log);
fn delivery_log(url: &str) {
    let st = PgStore::open(url).unwrap();
    st.log_delivery_now(&delivery(100, DeliveryOutcome::Rejected))
        .unwrap();
    // Buffered rows wait for the next write (or a second) ...
    assert_eq!(
        st.buffer_delivery(delivery(100, DeliveryOutcome::Duplicate), 100),
        0
    );
    assert_eq!(st.recent_deliveries(10).unwrap().len(), 1);
    st.write(|tx| tx.insert_event(&event("evt_d", None, b"{}")))
        .unwrap();
    assert_eq!(
        st.recent_deliveries(10).unwrap().len(),
        2,
        "flushed with the write"
    );
    // ... or flush on their own once the oldest is a second old.
    st.buffer_delivery(delivery(101, DeliveryOutcome::Duplicate), 101);
    st.buffer_delivery(delivery(102, DeliveryOutcome::Processed), 102);
    let counts = st.delivery_counts(0).unwrap();
    assert_eq!(counts.total, 4);
    assert_eq!(counts.count(DeliveryOutcome::Duplicate), 2);
    assert_eq!(counts.by_reason, vec![("SIGNATURE_MISMATCH".to_owned(), 1)]);
    // Counts are per minute: the window starts at the minute of `since`.
    assert_eq!(st.delivery_counts(60).unwrap().total, 4);
    assert_eq!(st.delivery_counts(120).unwrap().total, 0);
    let recent = st.recent_deliveries(1).unwrap();
    assert_eq!(recent[0].outcome, DeliveryOutcome::Processed);
    assert_eq!(recent[0].at, 102);
    // A transaction's log rows and counts go as one statement each, with its COMMIT: counts
    // on the same stats row add up, another minute or outcome gets a row of its own, and the
    // log keeps the order the rows were written in.
    st.write(|tx| {
        tx.log_delivery(&delivery(200, DeliveryOutcome::Processed))?;
        tx.log_delivery(&delivery(201, DeliveryOutcome::Processed))?;
        tx.log_delivery(&delivery(260, DeliveryOutcome::Rejected))?;
        tx.count_deliveries(3, DeliveryOutcome::Processed, "", 5)
    })
    .unwrap();
    let counts = st.delivery_counts(180).unwrap();
    assert_eq!(counts.total, 8);
    assert_eq!(counts.count(DeliveryOutcome::Processed), 7);
    assert_eq!(counts.by_reason, vec![("SIGNATURE_MISMATCH".to_owned(), 1)]);
    assert_eq!(st.delivery_counts(240).unwrap().total, 1);
    let ats: Vec<i64> = st
        .recent_deliveries(3)
        .unwrap()
        .iter()
        .map(|d| d.at)
        .collect();
    assert_eq!(ats, [260, 201, 200]);
    // A transaction that fails writes none of its log.
    let failed = st.write(|tx| {
        tx.log_delivery(&delivery(300, DeliveryOutcome::Processed))?;
        Err::<(), _>(tollbooth::Error::new(ErrorCode::StoreBusy, "test"))
    });
    assert!(failed.is_err());
    assert_eq!(st.recent_deliveries(1).unwrap()[0].at, 260);
}

// ---------------------------------------------------------------- concurrency

// Many writers (each its own store, i.e. its own pool and connections, like separate
// processes) race to store the same events: each event is stored and its job enqueued once.
both!(exactly_once_under_concurrent_writers);
fn exactly_once_under_concurrent_writers(url: &str) {
    use tollbooth::outbox::kinds::SUPPORT_OPEN_TICKET;
    drop(PgStore::open(url).unwrap());
    const WRITERS: usize = 6;
    const EVENTS: usize = 40;
    let start = Arc::new(Barrier::new(WRITERS));
    let handles: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (url, start) = (url.to_owned(), start.clone());
            thread::spawn(move || {
                let st = PgStore::open(&url).unwrap();
                start.wait();
                let mut won = 0;
                for i in 0..EVENTS {
                    // Each writer walks the events in its own order.
                    let id = format!("evt_{}", (i * 7 + w * 13) % EVENTS);
                    let stored = st
                        .write(|tx| {
                            if tx.event_exists(&id)? {
                                return Ok(false);
                            }
                            tx.insert_event(&event(&id, Some("cus_1"), b"{}"))?;
                            tx.enqueue(
                                &job(SUPPORT_OPEN_TICKET, &id, Some("cus_1"), false, 1),
                                Some(&id),
                                1,
                            )?;
                            Ok(true)
                        })
                        .unwrap();
                    won += usize::from(stored);
                }
                won
            })
        })
        .collect();
    let won: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(won, EVENTS);
    let st = PgStore::open(url).unwrap();
    let jobs = st
        .jobs(&JobFilter {
            limit: Some(1000),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(jobs.len(), EVENTS);
}

// Workers on separate stores claim concurrently: no job is handed out twice, and no job of a
// customer's queue is handed out while an older one of the same queue is open.
both!(concurrent_claims_never_double_hand_out);
fn concurrent_claims_never_double_hand_out(url: &str) {
    use tollbooth::outbox::kinds::SUPPORT_OPEN_TICKET;
    let st = PgStore::open(url).unwrap();
    const CUSTOMERS: usize = 5;
    const PER: usize = 8;
    st.write(|tx| {
        for n in 0..PER {
            for c in 0..CUSTOMERS {
                let cus = format!("cus_{c}");
                tx.enqueue(
                    &job(
                        SUPPORT_OPEN_TICKET,
                        &format!("{cus}:{n}"),
                        Some(&cus),
                        false,
                        n as i64,
                    ),
                    None,
                    1,
                )?;
            }
        }
        Ok(())
    })
    .unwrap();
    // In flight per customer, and the order each customer's jobs were handed out in.
    let in_flight = Arc::new(Mutex::new(HashSet::new()));
    let order = Arc::new(Mutex::new(HashMap::<String, Vec<i64>>::new()));
    let start = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (url, start) = (url.to_owned(), start.clone());
            let (in_flight, order) = (in_flight.clone(), order.clone());
            thread::spawn(move || {
                let st = PgStore::open(&url).unwrap();
                start.wait();
                let mut ids = Vec::new();
                let mut idle = 0;
                while idle < 50 {
                    let got = st.claim(&claim_of(&[], 2, 600), 10).unwrap();
                    if got.is_empty() {
                        idle += 1;
                        thread::yield_now();
                        continue;
                    }
                    for j in &got {
                        let cus = j.customer_id.clone().unwrap();
                        let n = serde_json::from_str::<serde_json::Value>(&j.payload).unwrap()["n"]
                            .as_i64()
                            .unwrap();
                        // The next job of a customer's queue is only handed out after the
                        // previous one completed: two in flight at once is a FIFO break.
                        assert!(
                            in_flight.lock().unwrap().insert(cus.clone()),
                            "{cus}: two jobs in flight"
                        );
                        order.lock().unwrap().entry(cus).or_default().push(n);
                        ids.push(j.id);
                    }
                    for j in got {
                        in_flight
                            .lock()
                            .unwrap()
                            .remove(j.customer_id.as_ref().unwrap());
                        st.complete(j.id, j.lease_token, 11).unwrap();
                    }
                }
                ids
            })
        })
        .collect();
    let mut all: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), total, "a job was handed out twice");
    assert_eq!(total, CUSTOMERS * PER);
    for (cus, ns) in order.lock().unwrap().iter() {
        assert_eq!(
            *ns,
            (0..PER as i64).collect::<Vec<_>>(),
            "{cus}: out of order"
        );
    }
    let st = PgStore::open(url).unwrap();
    let jobs = st
        .jobs(&JobFilter {
            limit: Some(1000),
            ..Default::default()
        })
        .unwrap();
    assert!(
        jobs.iter()
            .all(|j| j.state == JobState::Done && j.attempts == 1)
    );
}

// ---------------------------------------------------------------- the CLI on PostgreSQL

#[cfg(feature = "cli")]
#[test]
fn the_cli_reads_a_postgres_store_and_never_prints_the_password() {
    let Some(s) = schema(DIRECT, "cli") else {
        return;
    };
    let st = PgStore::open(&s.url).unwrap();
    st.write(|tx| tx.insert_event(&event("evt_cli", Some("cus_cli"), b"{}")))
        .unwrap();
    drop(st);
    let real = password_of(&s.url);
    for args in [&["status", "--json"][..], &["events", "--json"][..]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tollbooth"))
            .arg("--db")
            .arg(&s.url)
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{args:?}: {text}");
        assert!(
            !text.contains(&real),
            "{args:?} printed the password: {text}"
        );
        if args[0] == "events" {
            assert!(text.contains("evt_cli"), "{text}");
        } else {
            assert!(text.contains(":***@"), "{text}");
        }
    }
}

// ---------------------------------------------------------------- pooler safety

/// Every statement is unnamed: after a full round of operations on a one-connection pool, the
/// server holds no named prepared statement for that session (a transaction-mode pooler could
/// hand such a statement's session to another client, or lose it).
/// Raw bodies are compressed with lz4 (schema v9), where the server has it: pglz was the
/// costliest part of the writer's insert (PERFORMANCE.md).
#[test]
fn event_bodies_are_compressed_with_lz4_where_the_server_has_it() {
    let Some(s) = schema(DIRECT, "lz4") else {
        return;
    };
    if s.value("SELECT set_config('default_toast_compression', 'lz4', false)")
        .is_err()
    {
        eprintln!("notice: this PostgreSQL has no lz4; event bodies stay on pglz");
        return;
    }
    let st = PgStore::open(&s.url).unwrap();
    // Repetitive enough to compress, large enough (8 KB) that PostgreSQL tries.
    let body = br#"{"object":"invoice","lines":[],"amount_due":1000}"#.repeat(160);
    st.write(|tx| tx.insert_event(&event("evt_lz4", Some("cus_lz4"), &body)))
        .unwrap();
    assert_eq!(
        s.value("SELECT pg_column_compression(body) FROM events WHERE id = 'evt_lz4'"),
        Ok("lz4".to_owned())
    );
}

#[test]
fn no_named_prepared_statement_is_left_on_the_session() {
    use tollbooth::outbox::kinds::SUPPORT_OPEN_TICKET;
    let Some(s) = schema(DIRECT, "unnamed") else {
        return;
    };
    let st = PgStore::open(&pg::with_param(&s.url, "pool_size", "1")).unwrap();
    st.write(|tx| {
        tx.insert_event(&event("evt_u", Some("cus_u"), b"{}"))?;
        tx.enqueue(
            &job(SUPPORT_OPEN_TICKET, "k", Some("cus_u"), false, 1),
            None,
            1,
        )?;
        tx.customer("cus_u")?;
        Ok(())
    })
    .unwrap();
    let j = st.claim(&claim_of(&[], 1, 30), 2).unwrap().pop().unwrap();
    st.complete(j.id, j.lease_token, 3).unwrap();
    st.events(&Default::default()).unwrap();
    st.queue_stats(4, 0).unwrap();
    st.delivery_counts(0).unwrap();
    assert_eq!(st.open_connections(), 1);
    assert_eq!(st.named_statements_on_a_connection().unwrap(), 0);
}

#[test]
fn livemode_counts_sample_the_newest_events_by_arrival_along_an_index() {
    use tollbooth::event::LivemodeCounts;
    use tollbooth::store::Store;
    let Some(s) = schema(DIRECT, "livemode") else {
        return;
    };
    let st = PgStore::open(&s.url).unwrap();
    let counts = |limit| Store::livemode_counts(&st, limit).unwrap();
    assert_eq!(counts(1000), Some(LivemodeCounts { live: 0, test: 0 }));
    // Three live events arrived first, then five test events (ids out of arrival order).
    let ids: Vec<String> = (0..8).map(|i| format!("evt_mode_{}", 7 - i)).collect();
    st.write(|tx| {
        for (i, id) in ids.iter().enumerate() {
            tx.insert_event(&NewEvent {
                livemode: i < 3,
                received_at: 1_700_000_000 + i as i64,
                ..event(id, None, b"{}")
            })?;
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(counts(1000), Some(LivemodeCounts { live: 3, test: 5 }));
    assert_eq!(
        counts(5),
        Some(LivemodeCounts { live: 0, test: 5 }),
        "the newest five"
    );
    assert_eq!(counts(6), Some(LivemodeCounts { live: 1, test: 5 }));
    assert_eq!(counts(0), Some(LivemodeCounts { live: 0, test: 0 }));
    // Bounded by the limit however large the table: the sample walks events_received backwards.
    let plan = s.plan(
        "SELECT count(*) FILTER (WHERE livemode) FROM \
         (SELECT livemode FROM events ORDER BY received_at DESC LIMIT 1000) newest",
    );
    assert!(
        plan.contains("Index Scan Backward using events_received"),
        "{plan}"
    );
}

#[test]
fn doctor_judges_the_livemode_of_a_postgres_store() {
    let Some(s) = schema(DIRECT, "doctor_mode") else {
        return;
    };
    let st = PgStore::open(&s.url).unwrap();
    let doctor = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tollbooth"))
            .args(["--json", "--now", "1700000100", "doctor", "--db", &s.url])
            .env_remove("TOLLBOOTH_DB")
            .env_remove("STRIPE_WEBHOOK_SECRET")
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let check = v["store"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "livemode")
            .cloned()
            .unwrap_or_else(|| panic!("no livemode check in {v:#}"));
        (
            check["status"].as_str().unwrap().to_owned(),
            check["summary"].as_str().unwrap().to_owned(),
        )
    };
    let (status, summary) = doctor();
    assert_eq!(
        (status.as_str(), summary.as_str()),
        ("skip", "no stored events yet")
    );
    st.write(|tx| tx.insert_event(&event("evt_doc_test", None, b"{}")))
        .unwrap();
    let (status, summary) = doctor();
    assert_eq!(status, "pass");
    assert!(
        summary.starts_with("test mode (1 recent events)"),
        "{summary}"
    );
    st.write(|tx| {
        tx.insert_event(&NewEvent {
            livemode: true,
            received_at: 1_700_000_050,
            ..event("evt_doc_live", None, b"{}")
        })
    })
    .unwrap();
    let (status, summary) = doctor();
    assert_eq!(status, "warn", "a live and a test endpoint in one database");
    assert!(summary.starts_with("mixed: 1 live and 1 test"), "{summary}");
}

#[test]
fn the_one_round_trip_duplicate_check_reads_any_id_as_a_literal() {
    for var in [DIRECT, BOUNCER] {
        let Some(s) = schema(var, "dedupe_literal") else {
            return;
        };
        let st = PgStore::open(&s.url).unwrap();
        let ids = [
            "evt_plain",
            "evt_quote'd",
            "evt_back\\slash",
            "evt_x'; DROP TABLE events; --",
            "evt_\\'mixed''",
        ];
        st.write(|tx| {
            for id in ids {
                tx.insert_event(&event(id, None, b"{}"))?;
            }
            Ok(())
        })
        .unwrap();
        for id in ids {
            assert!(st.event_exists(id).unwrap(), "{var}: {id:?} is stored");
        }
        for id in ["evt_quote", "evt_back\\\\slash", "evt_x'", "evt_'"] {
            assert!(!st.event_exists(id).unwrap(), "{var}: {id:?} is not");
        }
        // A NUL cannot be a literal: the parameterized read answers (with the server's error).
        assert!(st.event_exists("evt_\0").is_err());
        assert!(st.event_exists("evt_plain").unwrap(), "the table is intact");
    }
}

/// A worker's failure report without a downstream `Retry-After`, dead-lettered at 3 attempts.
fn failed(id: i64, lease_token: i64, error: &str) -> tollbooth::outbox::FailedAttempt<'_> {
    tollbooth::outbox::FailedAttempt {
        id,
        lease_token,
        error,
        retry_after_secs: None,
        max_attempts: 3,
    }
}

/// A claim of `kinds` with 25 attempts before dead-lettering.
fn claim_of<'a>(
    kinds: &'a [&'a str],
    limit: u32,
    lease_secs: i64,
) -> tollbooth::outbox::ClaimRequest<'a> {
    tollbooth::outbox::ClaimRequest {
        kinds,
        limit,
        lease_secs,
        max_attempts: 25,
    }
}
