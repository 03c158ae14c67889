//! `SignatureHeader::parse` and `verify` on an arbitrary header and body.
//!
//! Input: `header \0 body`. Properties: never panics; parsing is bounded; a header that
//! `sign_for_test` made for the body verifies, and flipping the body's bytes never does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollbooth::ErrorCode;
use tollbooth::verify::{Secret, SignatureHeader, VerifyOptions, sign_for_test, verify};

const KEY: &str = "whsec_fuzz";

fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let header = String::from_utf8_lossy(head);
    let secrets = [Secret::new(KEY).unwrap()];
    let opts = VerifyOptions {
        tolerance_secs: 300,
        max_body_bytes: 4096,
    };
    if let Ok(h) = SignatureHeader::parse(&header) {
        assert!(h.v1().len() <= tollbooth::verify::MAX_V1_SIGNATURES);
        let _ = verify(body, &header, &secrets, h.timestamp, &opts);
    }
    let now = 1_700_000_000;
    match verify(body, &header, &secrets, now, &opts) {
        Ok(v) => assert!((v.timestamp - now).abs() <= 300),
        Err(e) => assert!(e.code().is_client_error() || e.code() == ErrorCode::SecretInvalid),
    }
    // A genuine signature over these exact bytes always verifies (unless the body is too big).
    let t = i64::from(head.first().copied().unwrap_or(0)) + now - 128;
    let good = sign_for_test(body, KEY, t);
    let r = verify(body, &good, &secrets, now, &opts);
    if body.len() <= opts.max_body_bytes {
        assert!(r.is_ok(), "{r:?}");
        // Any change to the body breaks it.
        if !body.is_empty() {
            let mut tampered = body.to_vec();
            tampered[0] ^= 1;
            let e = verify(&tampered, &good, &secrets, now, &opts).unwrap_err();
            assert_eq!(e.code(), ErrorCode::SignatureMismatch);
        }
    } else {
        assert_eq!(r.unwrap_err().code(), ErrorCode::PayloadTooLarge);
    }
});
