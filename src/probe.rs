//! The doctor's probe: one signed delivery that proves a deployed webhook route reaches the
//! engine with the right secret, and changes nothing.
//!
//! A probe is an ordinary Stripe-shaped event envelope whose `type` is [`PROBE_EVENT_TYPE`], a
//! type Stripe never sends (its types have no `tollbooth.` prefix). The engine verifies its
//! signature exactly like any delivery, recognises it after parsing the envelope, and answers
//! [`crate::Outcome::Probe`] without opening a write transaction: no event row (so the same
//! probe can be sent again), no billing row, no job, no delivery-log row (so a probe never
//! resets the silence clock of the `deliveries_stopped` alert) and no in-process counter.
//! Only someone holding a webhook secret can make one, so it costs no more than a duplicate.

use serde_json::json;

use crate::event::Event;

/// The event type of a probe.
pub const PROBE_EVENT_TYPE: &str = "tollbooth.probe";

/// The probe body for `nonce` (any short token; it becomes part of the event id) at `now`.
/// `livemode` is `false`: the engine answers a probe before its livemode guard, so one probe
/// works against test and live deployments alike.
pub fn probe_body(nonce: &str, now: i64) -> Vec<u8> {
    json!({
        "id": format!("evt_tollbooth_probe_{nonce}"),
        "object": "event",
        "type": PROBE_EVENT_TYPE,
        "created": now,
        "livemode": false,
        "data": { "object": { "object": "tollbooth.probe", "id": format!("probe_{nonce}") } }
    })
    .to_string()
    .into_bytes()
}

/// Whether a verified, parsed event is a probe.
pub fn is_probe(event: &Event) -> bool {
    event.kind.as_str() == PROBE_EVENT_TYPE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_body_parses_as_an_event_of_the_probe_type() {
        let ev = crate::event::parse_event(&probe_body("abc", 1_700_000_000)).unwrap();
        assert!(is_probe(&ev));
        assert_eq!(ev.id, "evt_tollbooth_probe_abc");
        assert_eq!(ev.created, 1_700_000_000);
    }

    #[test]
    fn a_stripe_event_is_not_a_probe() {
        let body = br#"{"id":"evt_1","object":"event","type":"invoice.created","created":1,
            "livemode":false,"data":{"object":{"id":"in_1","object":"invoice"}}}"#;
        assert!(!is_probe(&crate::event::parse_event(body).unwrap()));
    }
}
