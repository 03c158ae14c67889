//! The whole pipeline on an in-memory engine with arbitrary bytes.
//!
//! The first input byte picks the mode: even = a VALID signature computed over the body (so
//! the fuzzer reaches parse, dedupe, apply, enqueue and commit), odd = the header is taken from
//! the input too (`header \n body`). Properties: never panics; every error is a client error
//! (an in-memory store never fails); a processed event is then a duplicate, with no new jobs.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use tollbooth::verify::sign_for_test;
use tollbooth::{Config, Engine, Outcome};

const KEY: &str = "whsec_fuzz";
const NOW: i64 = 1_700_000_000;

thread_local! {
    // One engine for the whole run (opening SQLite per input would dominate); events from
    // earlier inputs stay stored, which also exercises the stale / duplicate paths.
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

fn run(engine: &Engine, data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (header, body) = if mode % 2 == 0 {
        let t = NOW - i64::from(mode >> 1);
        (sign_for_test(rest, KEY, t), rest)
    } else {
        match rest.iter().position(|b| *b == b'\n') {
            Some(i) => (
                String::from_utf8_lossy(&rest[..i]).into_owned(),
                &rest[i + 1..],
            ),
            None => (String::from_utf8_lossy(rest).into_owned(), &[][..]),
        }
    };
    match engine.handle_webhook_at(body, &header, NOW) {
        Ok(h) => {
            assert!(!h.event_id.is_empty());
            let again = engine.handle_webhook_at(body, &header, NOW).unwrap();
            assert_eq!(again.outcome, Outcome::Duplicate);
            assert!(again.jobs.is_empty());
        }
        Err(e) => assert!(e.code().is_client_error(), "{e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    ENGINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let engine = slot.get_or_insert_with(|| {
            let mut cfg = Config::new(":memory:", &[KEY]).unwrap();
            cfg.verify.max_body_bytes = 64 * 1024;
            Engine::open(cfg).unwrap()
        });
        run(engine, data);
    });
});
