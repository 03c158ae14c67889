//! `event::parse_event` and `event::parse_object` on arbitrary bytes: never panic, and an
//! event that parses has a non-empty id and a type string that maps back to its kind.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollbooth::event::{EventKind, parse_event, parse_object};

fuzz_target!(|data: &[u8]| {
    match parse_event(data) {
        Ok(ev) => {
            assert!(!ev.id.is_empty());
            assert_eq!(EventKind::from_type(ev.kind.as_str()), ev.kind);
        }
        Err(e) => assert!(e.code().is_client_error(), "{e}"),
    }
    match parse_object(data) {
        Ok(obj) => {
            let _ = (obj.id(), obj.customer_id(), obj.object_type());
        }
        Err(e) => assert!(e.code().is_client_error(), "{e}"),
    }
});
