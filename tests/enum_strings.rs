//! Issue 16: every public enum's strings are defined once, in Rust, and every other face is
//! checked against that definition: the C header's enumerators (name and number), the
//! `.d.ts` unions of the Node package and the Python ctypes wrapper's lists. A test fails
//! when any copy drifts. (The error-code table has its own checks: `bindings/c/tests/header.rs`,
//! `tests/node/api.test.mjs`, `examples/python/test_ctypes.py`.)

use std::path::Path;

use tollbooth::deliveries::DeliveryOutcome;
use tollbooth::{AccessState, CheckoutState, FailOutcome, JobState, Outcome};

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One public enum and where its strings are copied.
struct Strings {
    name: &'static str,
    /// Prefix of its C enumerators (`None`: not in C).
    c_prefix: Option<&'static str>,
    /// Name of its Python list (`None`: not there).
    py_list: Option<&'static str>,
    /// Its strings, in order.
    strings: Vec<&'static str>,
}

fn strings(
    name: &'static str,
    c_prefix: Option<&'static str>,
    py_list: Option<&'static str>,
    strings: Vec<&'static str>,
) -> Strings {
    Strings {
        name,
        c_prefix,
        py_list,
        strings,
    }
}

fn enums() -> Vec<Strings> {
    vec![
        strings(
            "Outcome",
            Some("TB_OUTCOME_"),
            Some("OUTCOMES"),
            Outcome::ALL.iter().map(|o| o.as_str()).collect(),
        ),
        strings(
            "AccessState",
            Some("TB_ACCESS_STATE_"),
            Some("ACCESS_STATES"),
            AccessState::ALL.iter().map(|o| o.as_str()).collect(),
        ),
        strings(
            "CheckoutState",
            Some("TB_CHECKOUT_STATE_"),
            Some("CHECKOUT_STATES"),
            CheckoutState::ALL.iter().map(|o| o.as_str()).collect(),
        ),
        strings(
            "JobState",
            Some("TB_JOB_STATE_"),
            None,
            JobState::ALL.iter().map(|o| o.as_str()).collect(),
        ),
        strings(
            "FailOutcome",
            Some("TB_FAIL_STATE_"),
            Some("FAIL_STATES"),
            FailOutcome::STATES.to_vec(),
        ),
        strings(
            "DeliveryOutcome",
            None,
            None,
            DeliveryOutcome::ALL.iter().map(|o| o.as_str()).collect(),
        ),
    ]
}

/// `(NAME, number)` of every enumerator starting with `prefix`, in header order.
fn enumerators(header: &str, prefix: &str) -> Vec<(String, u32)> {
    header
        .lines()
        .filter_map(|l| {
            let (lhs, rhs) = l.trim().split_once('=')?;
            let name = lhs.trim();
            let n = rhs.trim().trim_end_matches(',').trim().parse().ok()?;
            name.starts_with(prefix).then(|| (name.to_owned(), n))
        })
        .collect()
}

#[test]
fn the_c_header_numbers_every_enum_as_rust_orders_it() {
    let header = read("include/tollbooth.h");
    for Strings {
        name,
        c_prefix,
        strings,
        ..
    } in enums()
    {
        let Some(prefix) = c_prefix else { continue };
        let want: Vec<(String, u32)> = strings
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("{prefix}{}", s.to_uppercase()), i as u32))
            .collect();
        assert_eq!(
            enumerators(&header, prefix),
            want,
            "{name} in include/tollbooth.h"
        );
    }
}

#[test]
fn the_typescript_unions_are_the_rust_strings() {
    let dts = read("bindings/node/index.d.ts");
    // A TS union is a set: its members in any order.
    let unions: Vec<std::collections::BTreeSet<String>> = dts
        .lines()
        .filter_map(|l| l.split_once(": '").map(|(_, rest)| rest))
        .map(|rest| {
            format!("'{rest}")
                .split(" | ")
                .map(|m| m.trim().trim_matches('\'').to_owned())
                .collect()
        })
        .collect();
    for Strings { name, strings, .. } in enums() {
        let want: std::collections::BTreeSet<String> =
            strings.iter().map(|s| s.to_string()).collect();
        assert!(
            unions.contains(&want),
            "{name}: bindings/node/index.d.ts has no union of exactly {want:?}"
        );
    }
    // (Fields of option objects only: `name?: 'a' | 'b'`.)
    for line in dts.lines() {
        let Some((field, union)) = line.trim().split_once("?: ") else {
            continue;
        };
        if !union.starts_with('\'') || !field.chars().all(char::is_alphanumeric) {
            continue;
        }
        let members: Vec<&str> = union
            .split(" | ")
            .map(|m| m.trim().trim_matches('\''))
            .collect();
        let known = enums()
            .into_iter()
            .chain([strings("Durability", None, None, vec!["normal", "full"])])
            .any(|e| members.iter().all(|m| e.strings.contains(m)));
        assert!(known, "{field}: {union} is not a subset of any Rust enum");
    }
}

#[test]
fn the_python_wrapper_lists_are_the_rust_strings() {
    let py = read("examples/python/tollbooth_ctypes.py");
    for Strings {
        name,
        py_list,
        strings,
        ..
    } in enums()
    {
        let Some(list) = py_list else { continue };
        let want = format!(
            "{list} = [{}]",
            strings
                .iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
        assert!(
            py.contains(&want),
            "{name}: examples/python has no `{want}`"
        );
    }
}

#[test]
fn every_stored_name_parses_back_and_an_unknown_one_is_corrupt() {
    for s in JobState::ALL {
        assert_eq!(JobState::parse(s.as_str()).unwrap(), s);
    }
    for s in CheckoutState::ALL {
        assert_eq!(CheckoutState::parse(s.as_str()).unwrap(), s);
    }
    for s in DeliveryOutcome::ALL {
        assert_eq!(DeliveryOutcome::parse(s.as_str()).unwrap(), s);
    }
    for bad in ["", "Pending", "due ", "replayed"] {
        use tollbooth::ErrorCode::StoreCorrupt;
        assert_eq!(JobState::parse(bad).unwrap_err().code(), StoreCorrupt);
        assert_eq!(CheckoutState::parse(bad).unwrap_err().code(), StoreCorrupt);
        assert_eq!(
            DeliveryOutcome::parse(bad).unwrap_err().code(),
            StoreCorrupt
        );
    }
}
