//! Retention and backups: a long simulated history with pruning on stays bounded, answers the
//! same as a store that keeps everything, and still dedupes what it pruned; a backup taken
//! while the app writes restores to a store that answers the same.

mod common;

use common::*;
use tollbooth::deliveries::DeliveryOutcome;
use tollbooth::event::EventFilter;
use tollbooth::retention::Retention;
use tollbooth::{Engine, JobFilter, Outcome};

const DAY: i64 = 86_400;
const CUSTOMERS: usize = 20;

/// Day `d`'s traffic: every customer's monthly renewal falls on its own day, plus junk.
fn day_events(d: i64) -> Vec<(String, i64, Vec<u8>)> {
    let mut out = Vec::new();
    for c in 0..CUSTOMERS {
        if (d + c as i64) % 30 != 0 {
            continue;
        }
        let t = T0 + d * DAY + c as i64;
        let (cus, sub) = (format!("cus_{c}"), format!("sub_{c}"));
        let inv = format!("in_{c}_{d}");
        let status = if (d / 30 + c as i64) % 4 == 0 {
            "past_due"
        } else {
            "active"
        };
        out.push((
            format!("evt_s_{c}_{d}"),
            t,
            event(
                &format!("evt_s_{c}_{d}"),
                "customer.subscription.updated",
                t,
                subscription(&sub, &cus, status, t + 30 * DAY, Shape::Basil),
            ),
        ));
        let paid = status == "active";
        out.push((
            format!("evt_i_{c}_{d}"),
            t + 1,
            event(
                &format!("evt_i_{c}_{d}"),
                if paid {
                    "invoice.paid"
                } else {
                    "invoice.payment_failed"
                },
                t + 1,
                invoice(
                    &inv,
                    &cus,
                    &sub,
                    if paid { "paid" } else { "open" },
                    1,
                    t,
                    Shape::Basil,
                ),
            ),
        ));
    }
    out
}

/// Works off every due job (the CRM and helpdesk answer at once).
fn work(e: &Engine, now: i64) {
    loop {
        let jobs = e.claim(&[], 100, 60, now).unwrap();
        if jobs.is_empty() {
            return;
        }
        for j in jobs {
            e.complete(j.id, j.lease_token, now).unwrap();
        }
    }
}

fn counts(e: &Engine) -> (usize, usize) {
    let events = e
        .events(&EventFilter {
            limit: Some(u32::MAX),
            ..EventFilter::default()
        })
        .unwrap()
        .len();
    let jobs = e
        .jobs(&JobFilter {
            limit: Some(u32::MAX),
            ..JobFilter::default()
        })
        .unwrap()
        .len();
    (events, jobs)
}

#[test]
fn a_long_history_with_pruning_stays_bounded_and_answers_like_the_full_store() {
    let dir = tempfile::tempdir().unwrap();
    let pruned = engine_at(dir.path().join("pruned.db").to_str().unwrap());
    let full = engine();
    let policy = Retention::default();
    let mut sizes = Vec::new();
    let mut kept_after_warmup = Vec::new();
    for d in 0..300 {
        let now = T0 + d * DAY + 3_600;
        for (_, t, body) in day_events(d) {
            for e in [&pruned, &full] {
                deliver(e, &body, t).unwrap();
                // Stripe delivers at least once.
                assert_eq!(deliver(e, &body, t).unwrap().outcome, Outcome::Duplicate);
            }
        }
        // A steady drizzle of junk: counted, not stored.
        for i in 0..200 {
            let _ = pruned.handle_webhook_at(format!("junk {i}").as_bytes(), "t=1,v1=00", now);
        }
        work(&pruned, now);
        work(&full, now);
        let p = pruned.prune(&policy, now).unwrap();
        if d >= 120 {
            kept_after_warmup.push(counts(&pruned));
            assert!(p.total() > 0 || d % 30 != 0, "day {d}: something ages out");
        }
        if d % 30 == 29 {
            pruned.checkpoint().unwrap();
            sizes.push(
                std::fs::metadata(dir.path().join("pruned.db"))
                    .unwrap()
                    .len(),
            );
        }
    }
    // Bounded: after the retention windows fill, the row counts and the file stop growing.
    let (max_events, max_jobs) = kept_after_warmup
        .iter()
        .fold((0, 0), |(a, b), (e, j)| (a.max(*e), b.max(*j)));
    let per_day = 2 * CUSTOMERS / 30 + 2;
    assert!(max_events <= 92 * per_day, "events kept: {max_events}");
    assert!(max_jobs <= 32 * 3 * per_day, "jobs kept: {max_jobs}");
    let (late, early) = (sizes[sizes.len() - 1], sizes[4]);
    assert!(
        late <= early + early / 5,
        "the file stopped growing: {sizes:?}"
    );
    // The full store kept everything; the pruned one answers every portal question the same.
    assert!(counts(&full).0 > 2 * max_events);
    assert_eq!(
        state_digest_of(&pruned),
        state_digest_of(&full),
        "pruning never touches billing state"
    );
    // A pruned body's event id is still known: a late redelivery is a duplicate.
    let (id, t, body) = day_events(255).into_iter().next().unwrap();
    assert!(
        pruned.event_body(&id).unwrap().unwrap().is_empty(),
        "body pruned"
    );
    assert_eq!(
        deliver(&pruned, &body, t).unwrap().outcome,
        Outcome::Duplicate
    );
    // Older than the event window: gone entirely.
    let (old, _, _) = day_events(0).into_iter().next().unwrap();
    assert!(pruned.event_body(&old).unwrap().is_none());
    // The junk left per-minute counts and samples only, all of them recent.
    let log = pruned.recent_deliveries(u32::MAX).unwrap();
    let rejected = log
        .iter()
        .filter(|d| d.outcome == DeliveryOutcome::Rejected)
        .count();
    assert!(
        rejected <= 31,
        "one sample per day's minute and code: {rejected}"
    );
}

fn state_digest_of(e: &Engine) -> Vec<String> {
    let now = T0 + 400 * DAY;
    (0..CUSTOMERS)
        .map(|c| {
            let cus = format!("cus_{c}");
            let subs: Vec<_> = e
                .subscriptions(&cus)
                .unwrap()
                .into_iter()
                .map(|v| v.record)
                .collect();
            format!(
                "{:?}|{subs:?}|{:?}",
                e.access(&cus, now).unwrap(),
                e.invoices(&cus).unwrap()
            )
        })
        .collect()
}

#[test]
fn pruning_keeps_quarantined_events_dead_jobs_and_billing_rows() {
    let e = engine();
    let bad = br#"{"id":"evt_q","object":"event","type":"invoice.paid","created":1767000000,"data":{"object":{"id":"in_q","object":"invoice","customer":"cus_q","amount_due":"x","currency":"usd","created":1}}}"#;
    assert_eq!(deliver(&e, bad, T0).unwrap().outcome, Outcome::Quarantined);
    for (_, t, body) in day_events(0) {
        deliver(&e, &body, t).unwrap();
    }
    let mut cfg_dead = None;
    for j in e.claim(&["support.open_ticket"], 10, 60, T0).unwrap() {
        // Fail until dead (max attempts is 25 by default: replay the schedule).
        let mut now = T0;
        let mut lease = j.lease_token;
        while let tollbooth::FailOutcome::Scheduled { next_attempt_at } =
            e.fail(j.id, lease, "down", now).unwrap()
        {
            now = next_attempt_at;
            lease = e
                .claim(&["support.open_ticket"], 10, 60, now)
                .unwrap()
                .into_iter()
                .find(|c| c.id == j.id)
                .unwrap()
                .lease_token;
        }
        cfg_dead = Some(j.id);
    }
    let later = T0 + 400 * DAY;
    let before = state_digest_of(&e);
    let p = e.prune(&Retention::default(), later).unwrap();
    assert!(p.events > 0 && p.deliveries > 0);
    assert_eq!(state_digest_of(&e), before);
    assert_eq!(e.event_body("evt_q").unwrap().as_deref(), Some(&bad[..]));
    if let Some(id) = cfg_dead {
        assert_eq!(e.job(id).unwrap().state, tollbooth::JobState::Dead);
    }
}

#[test]
fn a_backup_taken_while_writing_restores_to_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.db");
    let e = engine_at(path.to_str().unwrap());
    let events: Vec<_> = (0..60).flat_map(day_events).collect();
    let (first, rest) = events.split_at(events.len() / 2);
    for (_, t, body) in first {
        deliver(&e, body, *t).unwrap();
    }
    let backup = dir.path().join("backup.db");
    e.backup(&backup).unwrap();
    let at_backup = state_digest_of(&e);
    for (_, t, body) in rest {
        deliver(&e, body, *t).unwrap();
    }
    let at_end = state_digest_of(&e);
    assert_ne!(at_backup, at_end);
    e.close().unwrap();
    drop(e);
    // Restore over the live file: the store answers as it did at the backup...
    tollbooth::store::sqlite::restore(&backup, &path).unwrap();
    let r = engine_at(path.to_str().unwrap());
    assert_eq!(state_digest_of(&r), at_backup);
    // ...and Stripe's redelivery of everything converges to the end state (the first half
    // as duplicates).
    for (_, t, body) in &events {
        deliver(&r, body, *t).unwrap();
    }
    assert_eq!(state_digest_of(&r), at_end);
    // Not a tollbooth store: refused.
    let junk = dir.path().join("junk.db");
    rusqlite::Connection::open(&junk).unwrap();
    assert!(tollbooth::store::sqlite::restore(&junk, &path).is_err());
}
