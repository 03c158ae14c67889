//! `Engine::apply_snapshot` on arbitrary bytes (what a host hands back from the Stripe API):
//! never panics, errors are client errors, and applying the same snapshot twice changes
//! nothing the second time.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use tollbooth::{Config, Engine};

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    let (at, json) = match data.split_first() {
        Some((b, rest)) => (1_700_000_000 + i64::from(*b), rest),
        None => return,
    };
    ENGINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let engine = slot.get_or_insert_with(|| {
            Engine::open(Config::new(":memory:", &["whsec_fuzz"]).unwrap()).unwrap()
        });
        match engine.apply_snapshot(json, at) {
            Ok(first) => {
                assert!(!first.object_id.is_empty());
                let second = engine.apply_snapshot(json, at).unwrap();
                assert!(
                    !second.changed,
                    "the same snapshot applied twice changed state"
                );
            }
            Err(e) => assert!(e.code().is_client_error(), "{e}"),
        }
    });
});
