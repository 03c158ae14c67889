//! What can still be read from an authentic body that does not normalize, so it can be
//! stored (quarantined) under a stable id instead of being refused.
//!
//! Stripe retries every non-2xx answer for up to three days and may then disable the
//! endpoint, so an authentic event tollbooth cannot read yet (a new API shape, a field that
//! moved) is kept and acknowledged, then replayed by `reprocess` after an upgrade. Its id is
//! the envelope's `id` when that is a usable string, else one derived from the bytes: Stripe
//! redelivers the same bytes, so the derived id still dedupes.

use sha2::{Digest, Sha256};

/// The envelope fields of an event that failed to normalize, each read leniently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salvaged {
    /// `id` when it is a usable string, else `unparsed_` and 32 hex digits of the body's SHA-256.
    pub id: String,
    /// `type` when it is a string, else `unknown`.
    pub event_type: String,
    /// `created` when it is an integer, else 0.
    pub created: i64,
    /// `livemode` when it is a boolean, else `false`.
    pub livemode: bool,
    /// `api_version` when it is a string.
    pub api_version: Option<String>,
    /// `account` when it is a string.
    pub account: Option<String>,
}

/// Longest envelope string kept (ids and types are far shorter; this bounds junk).
const MAX_FIELD: usize = 255;

/// Reads what it can of `body`'s envelope. Never fails.
pub fn salvage(body: &[u8]) -> Salvaged {
    let value: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |k: &str| value.as_ref().and_then(|v| v.get(k));
    let text = |k: &str| {
        field(k)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty() && s.len() <= MAX_FIELD && !s.chars().any(char::is_control))
            .map(str::to_owned)
    };
    let id = text("id").unwrap_or_else(|| {
        let digest = Sha256::digest(body);
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("unparsed_{hex}")
    });
    Salvaged {
        id,
        event_type: text("type").unwrap_or_else(|| "unknown".to_owned()),
        created: field("created").and_then(|v| v.as_i64()).unwrap_or(0),
        livemode: field("livemode").and_then(|v| v.as_bool()).unwrap_or(false),
        api_version: text("api_version"),
        account: text("account"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_envelope_of_an_event_that_does_not_normalize() {
        let s = salvage(
            br#"{"id":"evt_1","type":"invoice.paid","created":1700000000,"livemode":true,
                "api_version":"2099-01-01.future","data":{"object":{"id":42}}}"#,
        );
        assert_eq!(s.id, "evt_1");
        assert_eq!(s.event_type, "invoice.paid");
        assert_eq!(s.created, 1_700_000_000);
        assert!(s.livemode);
        assert_eq!(s.api_version.as_deref(), Some("2099-01-01.future"));
    }

    #[test]
    fn derives_a_stable_id_from_the_bytes_when_there_is_none() {
        let a = salvage(b"not json at all");
        let b = salvage(b"not json at all");
        let c = salvage(b"not json at all!");
        assert!(a.id.starts_with("unparsed_"));
        assert_eq!(a.id.len(), "unparsed_".len() + 32);
        assert_eq!(a.id, b.id, "redelivered bytes dedupe");
        assert_ne!(a.id, c.id);
        assert_eq!(a.event_type, "unknown");
        assert_eq!(a.created, 0);
    }

    #[test]
    fn refuses_unusable_ids() {
        let long = format!(r#"{{"id":"{}"}}"#, "x".repeat(300));
        assert!(salvage(long.as_bytes()).id.starts_with("unparsed_"));
        assert!(salvage(br#"{"id":"evt_\n1"}"#).id.starts_with("unparsed_"));
        assert!(salvage(br#"{"id":7}"#).id.starts_with("unparsed_"));
    }
}
