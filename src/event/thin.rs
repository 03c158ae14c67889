//! Thin events: the v2 event notifications (`"object": "v2.core.event"`) that Stripe's event
//! destinations send instead of a snapshot. They carry no object, only a reference to it
//! (`related_object`), the event's id and type, and the authentication `context` (a connected
//! account) needed to fetch the full event. tollbooth stores and dedupes them like any event and
//! turns each into a `stripe.fetch_event` job; the worker fetches the full event and feeds it
//! through the trusted ingest path.
//!
//! Pure: no I/O, no clock. `created` is an RFC 3339 timestamp in v2 (`2026-01-05T10:00:00.123Z`);
//! an integer is read too, so a host's own relay that converts it still works.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::loose::{Cx, Loose};
use crate::error::{Error, ErrorCode, Result};

/// Stripe's `object` string of a v2 event.
pub const THIN_OBJECT: &str = "v2.core.event";

/// The reference a thin event carries to the API resource it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RelatedObject {
    /// The resource's id (`sub_...`, `mtr_...`).
    pub id: String,
    /// Its object tag (`subscription`, `billing.meter`, `v2.core.account`).
    #[serde(rename = "type")]
    pub object_type: String,
    /// Its API path (`/v1/subscriptions/sub_...`).
    pub url: Option<String>,
}

/// A verified thin event notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThinEvent {
    /// `evt_...`: the dedupe key and what the worker fetches (`GET /v2/core/events/{id}`).
    pub id: String,
    /// The event type (`v1.customer.subscription.updated`, `v1.billing.meter.no_meter_found`).
    #[serde(rename = "type")]
    pub event_type: String,
    /// Unix seconds.
    pub created: i64,
    /// Live or test mode.
    pub livemode: bool,
    /// The authentication context (a connected account, `acct_...`), when the event is not
    /// the platform's own.
    pub context: Option<String>,
    /// The resource the event is about, when it names one.
    pub related_object: Option<RelatedObject>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawThin {
    object: Loose,
    id: Loose,
    #[serde(rename = "type")]
    kind: Loose,
    created: Loose,
    livemode: Loose,
    context: Loose,
    related_object: Option<RawRelated>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawRelated {
    id: Loose,
    #[serde(rename = "type")]
    kind: Loose,
    url: Loose,
}

/// Whether `body` claims to be a thin event (`"object": "v2.core.event"`): a cheap check the
/// engine runs only once the body failed to parse as a snapshot event.
pub fn is_thin(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Obj {
        #[serde(default)]
        object: Loose,
    }
    matches!(serde_json::from_slice::<Obj>(body), Ok(Obj { object: Loose::Str(s) }) if s == THIN_OBJECT)
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::PayloadInvalidJson, msg)
}

/// Longest id, type, context or url kept: a signed body is bounded, but the job payload that
/// carries these should stay small.
const MAX_FIELD: usize = 255;

/// Parses a verified thin event. `PayloadInvalidJson` (naming the field) when it is not one,
/// or lacks `id`, `type` or `created`.
pub fn parse_thin(body: &[u8]) -> Result<ThinEvent> {
    let raw: RawThin = serde_json::from_slice(body).map_err(|e| {
        invalid(format!(
            "thin event is not a JSON object ({})",
            e.classify_str()
        ))
    })?;
    let cx = Cx {
        code: ErrorCode::PayloadInvalidJson,
        at: "",
    };
    if raw.object.string(cx, "object")?.as_deref() != Some(THIN_OBJECT) {
        return Err(invalid("object is not \"v2.core.event\": not a thin event"));
    }
    let id = cx.need(bounded(raw.id.string(cx, "id")?, "id")?, "id")?;
    let event_type = cx.need(bounded(raw.kind.string(cx, "type")?, "type")?, "type")?;
    let created = match raw.created {
        Loose::Str(s) => OffsetDateTime::parse(&s, &Rfc3339)
            .map_err(|_| invalid("created is not an RFC 3339 timestamp"))?
            .unix_timestamp(),
        other => cx.need(other.int(cx, "created")?, "created")?,
    };
    let related_object = match raw.related_object {
        None => None,
        Some(r) => related_object(r, cx)?,
    };
    Ok(ThinEvent {
        id,
        event_type,
        created,
        livemode: raw.livemode.flag(cx, "livemode")?,
        context: bounded(raw.context.string(cx, "context")?, "context")?,
        related_object,
    })
}

/// A string field that must look like a Stripe identifier: bounded, no control characters.
fn bounded(v: Option<String>, name: &str) -> Result<Option<String>> {
    match v {
        Some(s) if s.len() > MAX_FIELD || s.chars().any(char::is_control) => {
            Err(invalid(format!("{name} is not a Stripe identifier")))
        }
        other => Ok(other),
    }
}

/// The related object, when it names both its id and its type.
fn related_object(r: RawRelated, cx: Cx) -> Result<Option<RelatedObject>> {
    let id = bounded(r.id.string(cx, "related_object.id")?, "related_object.id")?;
    let kind = bounded(
        r.kind.string(cx, "related_object.type")?,
        "related_object.type",
    )?;
    let url = bounded(
        r.url.string(cx, "related_object.url")?,
        "related_object.url",
    )?;
    Ok(match (id, kind) {
        (Some(id), Some(object_type)) => Some(RelatedObject {
            id,
            object_type,
            url,
        }),
        _ => None,
    })
}

/// serde_json's error category, without its message (which may quote input).
trait ClassifyStr {
    fn classify_str(&self) -> &'static str;
}

impl ClassifyStr for serde_json::Error {
    fn classify_str(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "i/o",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "wrong shape",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THIN: &str = r#"{"id":"evt_test_65T1","object":"v2.core.event","type":"v1.customer.subscription.updated",
        "livemode":false,"created":"2026-07-29T10:00:00.250Z","context":"acct_1Conn",
        "related_object":{"id":"sub_1","type":"subscription","url":"/v1/subscriptions/sub_1"},
        "reason":{"type":"request","request":{"id":"req_1","idempotency_key":null}}}"#;

    #[test]
    fn reads_a_thin_event_and_its_reference() {
        assert!(is_thin(THIN.as_bytes()));
        let t = parse_thin(THIN.as_bytes()).unwrap();
        assert_eq!(t.id, "evt_test_65T1");
        assert_eq!(t.event_type, "v1.customer.subscription.updated");
        assert_eq!(t.created, 1_785_319_200);
        assert_eq!(t.context.as_deref(), Some("acct_1Conn"));
        let r = t.related_object.unwrap();
        assert_eq!(
            (r.id.as_str(), r.object_type.as_str()),
            ("sub_1", "subscription")
        );
        assert_eq!(r.url.as_deref(), Some("/v1/subscriptions/sub_1"));
    }

    #[test]
    fn snapshot_events_and_broken_thin_events_are_told_apart() {
        assert!(!is_thin(br#"{"id":"evt_1","object":"event"}"#));
        assert!(!is_thin(b"[1]"));
        for (body, needle) in [
            (r#"{"object":"v2.core.event","type":"x","created":1}"#, "id"),
            (
                r#"{"object":"v2.core.event","id":"evt_1","type":"x","created":"yesterday"}"#,
                "RFC 3339",
            ),
            (
                r#"{"object":"v2.core.event","id":"evt_1","created":1}"#,
                "type",
            ),
        ] {
            let e = parse_thin(body.as_bytes()).unwrap_err();
            assert_eq!(e.code(), ErrorCode::PayloadInvalidJson);
            assert!(e.to_string().contains(needle), "{e}");
        }
        let long = format!(
            r#"{{"object":"v2.core.event","id":"{}","type":"x","created":1}}"#,
            "e".repeat(300)
        );
        assert!(parse_thin(long.as_bytes()).is_err());
    }
}
