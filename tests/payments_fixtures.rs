//! The refunds, disputes, SCA and trial story of tests/fixtures/payments in four API versions
//! (pre-basil, basil, clover, dahlia), on every backend: each version tells the same story
//! (tickets, payloads, access, notification jobs), and the story is what the README says.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use serde_json::Value;
use tollbooth::{AccessState, Engine, JobFilter};

const VERSIONS: [&str; 4] = [
    "2024-06-20",
    "2025-03-31.basil",
    "2025-09-30.clover",
    "2026-07-29.dahlia",
];

/// The story's events, in created order.
fn story(version: &str) -> Vec<(i64, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/payments")
        .join(version);
    let mut all: Vec<(i64, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|f| {
            let body = std::fs::read(f.unwrap().path()).unwrap();
            (tollbooth::event::parse_event(&body).unwrap().created, body)
        })
        .collect();
    all.sort();
    all
}

/// Every job as (kind, key, payload without the event-specific key parts).
fn jobs(e: &Engine) -> BTreeSet<(String, String, String)> {
    e.jobs(&JobFilter {
        limit: Some(1_000),
        ..JobFilter::default()
    })
    .unwrap()
    .into_iter()
    // Update notes are keyed by their event id, which differs per version's fixture set.
    .map(|j| {
        let key = match j.key.split_once(":update:evt_") {
            Some((head, _)) => format!("{head}:update"),
            None => j.key,
        };
        let mut p: Value = serde_json::from_str(&j.payload).unwrap();
        p["key"] = Value::String(key.clone());
        (j.kind, key, p.to_string())
    })
    .collect()
}

#[test]
fn every_version_tells_the_same_refund_dispute_and_sca_story() {
    for b in backends() {
        let mut outcomes = Vec::new();
        for version in VERSIONS {
            let e = b.engine();
            for (created, body) in story(version) {
                let h = deliver(&e, &body, created).unwrap();
                assert_eq!(
                    h.outcome,
                    tollbooth::Outcome::Processed,
                    "{version}: {}",
                    h.event_type
                );
            }
            let js = jobs(&e);
            let keys: Vec<_> = js.iter().map(|(k, key, _)| format!("{k} {key}")).collect();
            for want in [
                "support.open_ticket refund:re_Tb3Part1",
                "support.open_ticket refund:re_Tb3Part2",
                "support.update_ticket refund:re_Tb3Part2:failed",
                "support.open_ticket dispute:dp_Tb3Dispute",
                "support.update_ticket dispute:dp_Tb3Dispute:update",
                "support.close_ticket dispute:dp_Tb3Dispute:closed",
                "portal.payment_action_required invoice:in_Tb3Sca:action:1",
            ] {
                assert!(
                    keys.iter().any(|k| k == want),
                    "{} {version}: no {want} in {keys:?}",
                    b.name
                );
            }
            assert!(keys.iter().any(|k| {
                k.starts_with("portal.trial_will_end subscription:sub_Tb3Plan:trial_end:")
            }));
            for (kind, key, payload) in &js {
                if kind.starts_with("support.") {
                    let p: Value = serde_json::from_str(payload).unwrap();
                    assert_eq!(p["customer_id"], "cus_Tb3Payer", "{version} {key}");
                    assert_eq!(p["currency"], "eur", "{version} {key}");
                    assert!(p["amount"].as_i64().unwrap() > 0, "{version} {key}");
                }
            }
            let a = e
                .access("cus_Tb3Payer", 1_767_300_000 + 3 * 86_400 + 20)
                .unwrap();
            assert_eq!(a.state, AccessState::ActionRequired, "{} {version}", b.name);
            assert_eq!(
                a.payment_action_url.as_deref(),
                Some("https://invoice.stripe.com/i/acct_Tb3/test_Tb3Sca")
            );
            outcomes.push((version, js, format!("{a:?}")));
        }
        for w in outcomes.windows(2) {
            assert_eq!(
                w[0].1, w[1].1,
                "{}: jobs of {} and {}",
                b.name, w[0].0, w[1].0
            );
            assert_eq!(
                w[0].2, w[1].2,
                "{}: access of {} and {}",
                b.name, w[0].0, w[1].0
            );
        }
    }
}
