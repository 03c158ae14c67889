//! Stripe webhook signature verification (the `v1` scheme), pure and clock-free.
//!
//! Stripe signs `"{t}." + raw body` with HMAC-SHA256, keyed with the endpoint secret's bytes
//! used verbatim (`whsec_` prefix included, no base64 decoding), and sends
//! `Stripe-Signature: t=<unix seconds>,v1=<64 hex>[,v1=...][,v0=...]`. A delivery is genuine if
//! any `v1` matches any configured secret (several of each appear while a secret is rolled).
//!
//! This module does no I/O and never reads the clock: the caller passes `now`, which keeps it
//! deterministic for tests and usable from every binding. Work is bounded before any hashing:
//! the body size is checked first, the header is capped at [`MAX_HEADER_BYTES`], and at most
//! [`MAX_V1_SIGNATURES`] well-formed `v1` values are compared. Error messages carry only
//! lengths, counts and the timestamp skew: never a secret, a signature or the body.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorCode, Result};

type HmacSha256 = Hmac<Sha256>;

fn fail<T>(code: ErrorCode, message: impl Into<String>) -> Result<T> {
    Err(Error::new(code, message))
}

/// Longest `Stripe-Signature` header accepted, in bytes. Real headers are about 150 bytes
/// (two or three entries); the cap keeps parsing cheap for hostile input.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// Most well-formed `v1` signatures kept from one header. Stripe sends one per active secret
/// (two while rolling); later ones are ignored so the number of comparisons stays bounded.
pub const MAX_V1_SIGNATURES: usize = 16;

/// A webhook signing secret (`whsec_...`), used verbatim as the HMAC key.
///
/// The keyed HMAC state is computed once here and cloned per verification, so the key is
/// hashed once per secret rather than once per delivery. The secret string itself is not
/// kept: only its SHA-256 and length, so [`Secret::is`] can recognise it in text to redact.
/// `Debug` prints `Secret(<redacted>)` and there is no `Display`, so it cannot leak into logs
/// by accident.
#[derive(Clone)]
pub struct Secret {
    keyed: HmacSha256,
    digest: [u8; 32],
    len: usize,
}

impl Secret {
    /// Builds a secret from its text, trimmed of surrounding whitespace (a `.env` line or a
    /// comma-separated list often carries some). Fails with [`ErrorCode::SecretInvalid`] if it
    /// is empty (an empty key would make every signature forgeable) or has whitespace or a
    /// control character inside (a paste error: no Stripe secret has one). The message never
    /// contains the text.
    pub fn new(s: impl Into<String>) -> Result<Secret> {
        let s = s.into();
        let s = s.trim();
        if s.is_empty() {
            return fail(ErrorCode::SecretInvalid, "webhook secret is empty");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return fail(
                ErrorCode::SecretInvalid,
                "webhook secret has whitespace or a control character inside",
            );
        }
        let keyed = HmacSha256::new_from_slice(s.as_bytes())
            .map_err(|_| Error::new(ErrorCode::SecretInvalid, "webhook secret is unusable"))?;
        Ok(Secret {
            keyed,
            digest: Sha256::digest(s.as_bytes()).into(),
            len: s.len(),
        })
    }

    /// Whether `text` is exactly this secret (compared by SHA-256, so the text is not kept).
    pub fn is(&self, text: &str) -> bool {
        text.len() == self.len && Sha256::digest(text.as_bytes())[..] == self.digest[..]
    }

    /// The secret's length in bytes.
    pub fn byte_len(&self) -> usize {
        self.len
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Verification options; the defaults match Stripe's SDKs and suit production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Largest allowed `|now - t|` in seconds (default 300, as in every Stripe SDK). Unlike
    /// stripe-node we also reject timestamps this far in the future. `<= 0` disables the check;
    /// that is only meant for replaying recorded fixtures in tests.
    pub tolerance_secs: i64,
    /// Largest body accepted, in bytes (default 1 MiB). Checked before any hashing so an
    /// oversized request costs nothing.
    pub max_body_bytes: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            tolerance_secs: 300,
            max_body_bytes: 1_048_576,
        }
    }
}

/// A parsed `Stripe-Signature` header.
///
/// Items are comma-separated `key=value` pairs (whitespace around items is tolerated).
/// Unknown keys and `v0` are ignored. A `v1` value that is not exactly 64 hex characters is
/// counted as present but dropped (it can never match), like stripe-go does.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// The signed unix timestamp (`t=`).
    pub timestamp: i64,
    v1: Vec<[u8; 32]>,
    v1_present: usize,
}

impl SignatureHeader {
    /// Parses a header. Errors: [`ErrorCode::SignatureHeaderMissing`] if it is empty or blank;
    /// [`ErrorCode::SignatureHeaderInvalid`] if it is longer than [`MAX_HEADER_BYTES`], has an
    /// item without `=`, has no `t`, a repeated `t`, a non-integer `t`, or no `v1` entry at all.
    pub fn parse(header: &str) -> Result<SignatureHeader> {
        let invalid = |msg: String| Error::new(ErrorCode::SignatureHeaderInvalid, msg);
        if header.trim().is_empty() {
            return fail(ErrorCode::SignatureHeaderMissing, "the header is empty");
        }
        let len = header.len();
        if len > MAX_HEADER_BYTES {
            let msg = format!("header is {len} bytes; the limit is {MAX_HEADER_BYTES}");
            return Err(invalid(msg));
        }
        let mut timestamp = None;
        let mut v1 = Vec::new();
        let mut v1_present = 0usize;
        for (i, item) in header.split(',').map(str::trim).enumerate() {
            if item.is_empty() {
                continue;
            }
            let Some((key, value)) = item.split_once('=') else {
                return Err(invalid(format!("header item {i} is not a key=value pair")));
            };
            match key.trim() {
                "t" => {
                    if timestamp.is_some() {
                        return Err(invalid("header has more than one t= entry".into()));
                    }
                    let value = value.trim();
                    let t = value.parse::<i64>().map_err(|_| {
                        invalid(format!("t= is not an integer ({} bytes)", value.len()))
                    })?;
                    timestamp = Some(t);
                }
                "v1" => {
                    v1_present += 1;
                    if v1.len() < MAX_V1_SIGNATURES
                        && let Some(sig) = decode_hex32(value.trim())
                    {
                        v1.push(sig);
                    }
                }
                _ => {} // v0 and unknown schemes are ignored.
            }
        }
        let Some(timestamp) = timestamp else {
            return Err(invalid("header has no t= timestamp".into()));
        };
        if v1_present == 0 {
            return Err(invalid("header has no v1 signature".into()));
        }
        Ok(SignatureHeader {
            timestamp,
            v1,
            v1_present,
        })
    }

    /// The well-formed `v1` signatures (at most [`MAX_V1_SIGNATURES`]), in header order.
    pub fn v1(&self) -> &[[u8; 32]] {
        &self.v1
    }
}

impl fmt::Debug for SignatureHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureHeader")
            .field("timestamp", &self.timestamp)
            .field("v1_well_formed", &self.v1.len())
            .field("v1_present", &self.v1_present)
            .finish()
    }
}

/// A successful verification: what was signed and which secret signed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The signed timestamp from the header.
    pub timestamp: i64,
    /// Index into the `secrets` slice of the first secret that matched; lets operators see
    /// when the old secret stops being used during a roll.
    pub secret_index: usize,
}

/// Verifies a Stripe webhook delivery over the exact raw `body` bytes.
///
/// Checks, in order: body size ([`ErrorCode::PayloadTooLarge`], before any hashing); header
/// present and well-formed (see [`SignatureHeader::parse`]); timestamp within
/// `opts.tolerance_secs` of `now` in either direction ([`ErrorCode::TimestampOutOfTolerance`]);
/// then HMAC-SHA256 of `"{t}." + body` under every secret against every `v1`, compared in
/// constant time. No match gives [`ErrorCode::SignatureMismatch`]; an empty `secrets` slice
/// gives [`ErrorCode::SecretInvalid`] (a configuration bug, not the sender's fault).
pub fn verify(
    body: &[u8],
    header: &str,
    secrets: &[Secret],
    now: i64,
    opts: &VerifyOptions,
) -> Result<Verified> {
    let (len, max) = (body.len(), opts.max_body_bytes);
    if len > max {
        return fail(
            ErrorCode::PayloadTooLarge,
            format!("body is {len} bytes; the limit is {max}"),
        );
    }
    let parsed = SignatureHeader::parse(header)?;
    let t = parsed.timestamp;
    if opts.tolerance_secs > 0 {
        // i128 cannot overflow for any pair of i64 values.
        let (skew, tol) = (i128::from(now) - i128::from(t), opts.tolerance_secs);
        let (abs, dir) = (
            skew.unsigned_abs(),
            if skew > 0 { "old" } else { "in the future" },
        );
        if abs > u128::from(tol.unsigned_abs()) {
            let msg = format!("signature timestamp is {abs} s {dir}; the tolerance is {tol} s");
            return fail(ErrorCode::TimestampOutOfTolerance, msg);
        }
    }
    if secrets.is_empty() {
        return fail(ErrorCode::SecretInvalid, "no webhook secret is configured");
    }
    let t_text = t.to_string();
    for (secret_index, secret) in secrets.iter().enumerate() {
        let mut mac = secret.keyed.clone();
        feed(&mut mac, &t_text, body);
        // Cloning the finished-input state is cheap; verify_slice compares in constant time.
        let matches = |sig: &[u8; 32]| mac.clone().verify_slice(sig).is_ok();
        if parsed.v1.iter().any(matches) {
            return Ok(Verified {
                timestamp: t,
                secret_index,
            });
        }
    }
    let (n, ok, k) = (parsed.v1_present, parsed.v1.len(), secrets.len());
    let msg =
        format!("none of {n} v1 signature(s) ({ok} well-formed) matched any of {k} secret(s)");
    fail(ErrorCode::SignatureMismatch, msg)
}

/// Feeds Stripe's signed message `"{t}." + body` into `mac` without copying the body.
fn feed(mac: &mut HmacSha256, t_text: &str, body: &[u8]) {
    mac.update(t_text.as_bytes());
    mac.update(b".");
    mac.update(body);
}

/// Builds a `Stripe-Signature` header exactly as Stripe does: `t={timestamp},v1={hex}`.
///
/// A test helper (like stripe-node's `generateTestHeaderString`): lets tests, examples and
/// the bindings produce deliveries that [`verify`] accepts without a Stripe account.
pub fn sign_for_test(body: &[u8], secret: &str, timestamp: i64) -> String {
    let sig = compute_signature(body, secret.as_bytes(), timestamp);
    format!("t={timestamp},v1={}", encode_hex(&sig))
}

/// The raw HMAC-SHA256 of `"{timestamp}." + body` under `secret`: the bytes behind a `v1`.
/// Exposed for [`sign_for_test`] and benchmarks.
pub fn compute_signature(body: &[u8], secret: &[u8], timestamp: i64) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    feed(&mut mac, &timestamp.to_string(), body);
    mac.finalize().into_bytes().into()
}

/// Lowercase hex, as Stripe writes signatures.
fn encode_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Decodes exactly 64 hex characters (either case) into 32 bytes; anything else is `None`.
fn decode_hex32(s: &str) -> Option<[u8; 32]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let s = s.as_bytes();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        *o = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorCode as E;

    const KEY: &str = "whsec_unit_test_secret";
    const BODY: &[u8] = b"{\"id\":\"evt_1\",\"object\":\"event\"}";
    const NOW: i64 = 1_700_000_000;

    fn key(s: &str) -> Secret {
        Secret::new(s).unwrap()
    }
    fn opts(tolerance_secs: i64, max_body_bytes: usize) -> VerifyOptions {
        VerifyOptions {
            tolerance_secs,
            max_body_bytes,
        }
    }
    fn run(header: &str, secrets: &[Secret], now: i64) -> Result<Verified> {
        verify(BODY, header, secrets, now, &VerifyOptions::default())
    }
    fn code<T: fmt::Debug>(r: Result<T>) -> ErrorCode {
        r.unwrap_err().code()
    }
    fn index(r: Result<Verified>) -> usize {
        r.unwrap().secret_index
    }
    fn v1(secret: &str, t: i64) -> String {
        let sig = compute_signature(BODY, secret.as_bytes(), t);
        format!(",v1={}", encode_hex(&sig))
    }

    #[test]
    fn valid_signature_and_defaults() {
        let h = sign_for_test(BODY, KEY, NOW);
        assert_eq!(h, format!("t={NOW}{}", v1(KEY, NOW)));
        assert_eq!(run(&h, &[key(KEY)], NOW + 10).unwrap().timestamp, NOW);
        assert_eq!(VerifyOptions::default(), opts(300, 1_048_576));
        let upper = h.to_uppercase().replacen('T', "t", 1).replace("V1", "v1");
        assert_eq!(index(run(&upper, &[key(KEY)], NOW)), 0);
    }

    #[test]
    fn parse_edge_cases() {
        let sig = "ab".repeat(32);
        let h = SignatureHeader::parse(&format!(" t=5 , v1={sig} ,v0=zz,x=1,")).unwrap();
        assert_eq!((h.timestamp, h.v1()), (5, &[[0xab; 32]][..]));
        for blank in ["", " \t "] {
            assert_eq!(
                code(SignatureHeader::parse(blank)),
                E::SignatureHeaderMissing
            );
        }
        let v0_only = format!("t=5,v0={sig}");
        let bad = [
            "t=",
            "t=x,v1=0",
            "v1=0",
            "t=5",
            &v0_only,
            "t=1,t=2,v1=0",
            "v1,t=1",
            ",,",
        ];
        for b in bad.into_iter().chain(["t=1.5,v1=0", "t=,v1=0"]) {
            assert_eq!(
                code(SignatureHeader::parse(b)),
                E::SignatureHeaderInvalid,
                "{b}"
            );
        }
        // Bare `v1=` and short, long or non-hex values are present but never match.
        let good = v1(KEY, NOW);
        let (long, nonhex) = (format!("{}00", &good[4..]), format!("g{}", &good[5..]));
        for v in ["", &good[4..66], &good[4..67], &long, &nonhex] {
            let h = format!("t={NOW},v1={v}");
            assert!(SignatureHeader::parse(&h).unwrap().v1().is_empty(), "{v}");
            assert_eq!(code(run(&h, &[key(KEY)], NOW)), E::SignatureMismatch, "{v}");
        }
        for h in [format!("t={NOW}{good},v1=x"), format!("t={NOW},v1=x{good}")] {
            assert_eq!(index(run(&h, &[key(KEY)], NOW)), 0);
        }
    }

    #[test]
    fn rotation_with_two_secrets() {
        let (old, new) = (key("whsec_old"), key("whsec_new"));
        let both = [old.clone(), new.clone()];
        let h = sign_for_test(BODY, "whsec_new", NOW);
        assert_eq!(index(run(&h, &both, NOW)), 1);
        let h2 = format!("{h}{}", v1("whsec_old", NOW));
        assert_eq!(index(run(&h2, &both, NOW)), 0);
        assert_eq!(index(run(&h2, &[new], NOW)), 0);
        assert_eq!(code(run(&h, &[old], NOW)), E::SignatureMismatch);
        assert_eq!(code(run(&h, &[], NOW)), E::SecretInvalid);
    }

    #[test]
    fn tolerance_both_directions_and_disabled() {
        let (s, h) = ([key(KEY)], sign_for_test(BODY, KEY, NOW));
        assert!(run(&h, &s, NOW + 300).is_ok() && run(&h, &s, NOW - 300).is_ok());
        assert_eq!(code(run(&h, &s, NOW + 301)), E::TimestampOutOfTolerance);
        let e = run(&h, &s, NOW - 301).unwrap_err();
        assert!(e.message().contains("301 s in the future"), "{e}");
        assert!(verify(BODY, &h, &s, 0, &opts(0, 100)).is_ok());
    }

    #[test]
    fn i64_limits_do_not_overflow() {
        let s = [key(KEY)];
        for t in [i64::MAX, i64::MIN, -1] {
            for now in [i64::MIN, NOW, i64::MAX].into_iter().filter(|&n| n != t) {
                let r = run(&format!("t={t},v1=00"), &s, now);
                assert_eq!(code(r), E::TimestampOutOfTolerance);
            }
            assert_eq!(index(run(&sign_for_test(BODY, KEY, t), &s, t)), 0);
        }
        let h = sign_for_test(BODY, KEY, i64::MIN);
        let r = verify(BODY, &h, &s, i64::MAX, &opts(i64::MAX, 100));
        assert_eq!(code(r), E::TimestampOutOfTolerance);
        let r = run("t=9223372036854775808,v1=0", &s, 0);
        assert_eq!(code(r), E::SignatureHeaderInvalid);
    }

    #[test]
    fn many_v1_entries_are_bounded() {
        let (s, good) = ([key(KEY)], v1(KEY, NOW));
        let junk = ",v1=x".repeat(500);
        assert_eq!(index(run(&format!("t={NOW}{junk}{good}"), &s, NOW)), 0);
        let h = SignatureHeader::parse(&format!("t=1{junk}")).unwrap();
        assert_eq!((h.v1_present, h.v1().len()), (500, 0));
        // Well-formed signatures beyond the cap are not considered.
        let wrong = format!(",v1={}", "00".repeat(32));
        let late = format!("t={NOW}{}{good}", wrong.repeat(MAX_V1_SIGNATURES));
        let n = SignatureHeader::parse(&late).unwrap().v1().len();
        assert_eq!(n, MAX_V1_SIGNATURES);
        assert_eq!(code(run(&late, &s, NOW)), E::SignatureMismatch);
        let huge = format!("t={NOW}{good}{}", wrong.repeat(500));
        assert_eq!(code(run(&huge, &s, NOW)), E::SignatureHeaderInvalid);
    }

    #[test]
    fn body_size_checked_first() {
        let small = opts(300, 4);
        let r = verify(b"12345", "", &[], 0, &small);
        assert_eq!(code(r), E::PayloadTooLarge);
        let h = sign_for_test(b"1234", KEY, 0);
        assert!(verify(b"1234", &h, &[key(KEY)], 0, &small).is_ok());
    }

    #[test]
    fn secrets_and_signatures_never_leak() {
        let s = [key(KEY)];
        assert_eq!(format!("{:?}", s[0]), "Secret(<redacted>)");
        assert_eq!(code(Secret::new("")), E::SecretInvalid);
        let sig = v1("other", NOW);
        let h = format!("t={NOW}{sig}");
        let dbg = format!("{:?}", SignatureHeader::parse(&h).unwrap());
        assert!(!dbg.contains(&sig[4..]));
        let errors = [
            run(&h, &s, NOW).unwrap_err(),
            run(&h, &s, NOW + 1000).unwrap_err(),
            run(&format!("t=x{sig}"), &s, NOW).unwrap_err(),
            run(&format!("{KEY},t=1{sig}"), &s, NOW).unwrap_err(),
            verify(BODY, &h, &s, NOW, &opts(300, 1)).unwrap_err(),
        ];
        for e in errors {
            let text = format!("{e} {e:?}");
            let leaked = text.contains(KEY) || text.contains(&sig[4..]);
            assert!(!leaked && !text.contains("evt_1"), "{text}");
        }
    }
}
