//! One stored event for operators (the admin page's event view, the Node `eventDetail`): its
//! row (outcome, customer, when received), the jobs it enqueued or last refreshed, and its exact
//! raw body. Read from the existing store methods, so every backend serves it.

use serde::Serialize;

use super::Engine;
use crate::error::Result;
use crate::event::{self, EventFilter, EventRow};
use crate::outbox::{Job, JobFilter};

/// Jobs scanned for the ones an event caused (newest first, of the event's customer).
const JOB_SCAN: u32 = 1000;

/// A stored event with what it caused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventDetail {
    /// The stored row.
    pub event: EventRow,
    /// `livemode` of the event.
    pub livemode: bool,
    /// The API version it was rendered in.
    pub api_version: Option<String>,
    /// Jobs this event enqueued (or was the last to refresh), newest first.
    pub jobs: Vec<Job>,
    /// The exact bytes Stripe signed, as text (lossy UTF-8). Operator eyes only.
    pub body: String,
}

impl Engine {
    /// A stored event by id, with its jobs and raw body; `None` when not stored.
    pub fn event_detail(&self, id: &str) -> Result<Option<EventDetail>> {
        let Some(body) = self.event_body(id)? else {
            return Ok(None);
        };
        // Stored bodies were verified and parsed when they arrived; the row is found by the
        // type and second they carry (a bounded read on the events index).
        // A thin event or a quarantined one is found by what it carries, read the same way as
        // when it was stored.
        let parsed = event::parse_event(&body).ok();
        let (event_type, created) = match &parsed {
            Some(ev) => (ev.kind.as_str().to_owned(), ev.created),
            None => match event::parse_thin(&body) {
                Ok(t) => (t.event_type, t.created),
                Err(_) => {
                    let s = event::salvage(&body);
                    (s.event_type, s.created)
                }
            },
        };
        let row = self
            .events(&EventFilter {
                event_type: Some(event_type),
                since: Some(created),
                until: Some(created.saturating_add(1)),
                limit: Some(10_000),
                ..EventFilter::default()
            })?
            .into_iter()
            .find(|r| r.id == id);
        let Some(row) = row else {
            return Ok(None);
        };
        let jobs = self
            .jobs(&JobFilter {
                customer_id: row.customer_id.clone(),
                limit: Some(JOB_SCAN),
                ..JobFilter::default()
            })?
            .into_iter()
            .filter(|j| j.event_id.as_deref() == Some(id))
            .collect();
        Ok(Some(EventDetail {
            livemode: parsed.as_ref().is_some_and(|e| e.livemode),
            api_version: parsed.and_then(|e| e.api_version),
            event: row,
            jobs,
            body: String::from_utf8_lossy(&body).into_owned(),
        }))
    }
}
