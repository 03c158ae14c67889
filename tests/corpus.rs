//! Real Stripe payloads through the whole engine, byte for byte: the shared corpus (skipped
//! with a notice when `../shared` is absent) and our own fixtures in both API shapes.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use tollbooth::verify::sign_for_test;
use tollbooth::{AccessState, ErrorCode, Outcome};

fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TOLLBOOTH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    dir.join("fixtures/stripe/events").is_dir().then_some(dir)
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(json_files(&p));
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn created_of(body: &[u8]) -> i64 {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["created"].as_i64())
        .unwrap_or(T0)
}

#[test]
fn every_shared_event_goes_through_the_engine() {
    let Some(shared) = shared_dir() else {
        eprintln!("skipping: ../shared fixtures not present");
        return;
    };
    let files = json_files(&shared.join("fixtures/stripe/events"));
    assert!(files.len() > 100, "corpus shrank: {}", files.len());
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for f in &files {
        let body = std::fs::read(f).unwrap();
        let t = created_of(&body);
        let header = sign_for_test(&body, SECRET, t);
        // The corpus reuses placeholder event ids across files: one engine per file.
        let e = engine();
        let key = match e.handle_webhook_at(&body, &header, t + 1) {
            Ok(h) => {
                let again = e.handle_webhook_at(&body, &header, t + 2).unwrap();
                assert_eq!(again.outcome, Outcome::Duplicate, "{}", f.display());
                h.outcome.as_str().to_owned()
            }
            Err(err) => {
                assert!(
                    matches!(
                        err.code(),
                        ErrorCode::PayloadInvalidJson | ErrorCode::EventFieldMissing
                    ),
                    "{}: {err}",
                    f.display()
                );
                err.code().as_str().to_owned()
            }
        };
        *counts.entry(key).or_default() += 1;
    }
    eprintln!("shared corpus: {} files -> {counts:?}", files.len());
    assert!(
        counts.get("processed").copied().unwrap_or(0) >= 20,
        "{counts:?}"
    );
    assert!(
        counts.get("ignored").copied().unwrap_or(0) >= 50,
        "{counts:?}"
    );
}

fn own_fixtures(shape: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(shape);
    let mut bodies: Vec<Vec<u8>> = json_files(&dir)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    bodies.sort_by_key(|b| created_of(b));
    bodies
}

#[test]
fn own_fixtures_give_the_same_state_in_both_api_shapes() {
    let mut states = Vec::new();
    for shape in ["2024-06-20", "2025-03-31.basil"] {
        let bodies = own_fixtures(shape);
        assert!(bodies.len() >= 9, "{shape}: {}", bodies.len());
        let e = engine();
        for body in &bodies {
            let t = created_of(body);
            let h = e
                .handle_webhook_at(body, &sign_for_test(body, SECRET, t), t + 1)
                .unwrap();
            assert_ne!(h.outcome, Outcome::Duplicate, "{shape}: {}", h.event_id);
            // Redelivery of real-shaped bytes is a duplicate.
            let again = e
                .handle_webhook_at(body, &sign_for_test(body, SECRET, t + 2), t + 3)
                .unwrap();
            assert_eq!(again.outcome, Outcome::Duplicate);
        }
        let last = created_of(bodies.last().unwrap());
        let access = e.access("cus_Tb1Fixture", last).unwrap();
        let invoices = e.invoices("cus_Tb1Fixture").unwrap();
        assert!(!invoices.is_empty(), "{shape}");
        assert!(
            invoices
                .iter()
                .all(|i| i.subscription_id.as_deref() == Some("sub_Tb1Fixture")),
            "{shape}: {invoices:?}"
        );
        let jobs = e.jobs(&Default::default()).unwrap();
        let mut kinds: Vec<_> = jobs
            .iter()
            .map(|j| (j.kind.clone(), j.key.clone()))
            .collect();
        kinds.sort();
        states.push((
            access.state,
            access.price_id,
            access.current_period_end,
            invoices,
            kinds,
        ));
    }
    assert_eq!(
        states[0], states[1],
        "the two API shapes must normalize to the same state"
    );
    assert_ne!(states[0].0, AccessState::None);
}
