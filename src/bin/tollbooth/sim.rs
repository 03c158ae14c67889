//! The demo's simulated CRM, helpdesk and portal notifier: in-process, upsert-by-external-id
//! (the job key), and failing some calls deterministically from a seeded generator.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};
use tollbooth::outbox::kinds;
use tollbooth::{Engine, FailOutcome, JobFilter, JobState};

use crate::Res;
use crate::output::Out;

/// xorshift64*: small, seeded, reproducible.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    /// `true` with probability `pct` percent.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) % 100 < pct
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Contact {
    pub external_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub user_id: Option<String>,
    pub plan_status: Option<String>,
    pub writes: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ticket {
    pub external_id: String,
    pub subject: String,
    pub invoice_id: Option<String>,
    pub status: &'static str,
}

/// Everything outside tollbooth that the workers call.
#[derive(Debug)]
pub struct World {
    rng: Rng,
    pub contacts: BTreeMap<String, Contact>,
    pub tickets: BTreeMap<String, Ticket>,
    pub notices: Vec<String>,
    pub crm_calls: u32,
    pub helpdesk_calls: u32,
    /// The helpdesk's close endpoint answers 500 until the operator fixes it.
    pub close_broken: bool,
}

fn s(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().map(str::to_owned)
}

impl World {
    pub fn new(seed: u64) -> World {
        World {
            rng: Rng::new(seed),
            contacts: BTreeMap::new(),
            tickets: BTreeMap::new(),
            notices: Vec::new(),
            crm_calls: 0,
            helpdesk_calls: 0,
            close_broken: true,
        }
    }

    /// Runs one job against the outside world: `Ok(what happened)` or `Err(error)`.
    pub fn call(&mut self, kind: &str, key: &str, payload: &Value) -> Result<String, String> {
        match kind {
            kinds::CRM_SYNC_CUSTOMER => self.crm_upsert(key, payload),
            kinds::SUPPORT_OPEN_TICKET => self.open_ticket(key, payload),
            kinds::SUPPORT_CLOSE_TICKET if payload["reason"] == "dispute_closed" => {
                Ok(self.close_dispute(payload))
            }
            kinds::SUPPORT_CLOSE_TICKET => self.close_ticket(payload),
            kinds::SUPPORT_UPDATE_TICKET => {
                self.helpdesk_calls += 1;
                Ok(format!("note added to ticket {key}"))
            }
            kinds::PORTAL_ACCESS_REVOKED => {
                self.notices.push(key.to_owned());
                Ok("portal notified: access ended, goodbye email sent".into())
            }
            other => Ok(format!("{other}: nothing to do in the demo")),
        }
    }

    fn crm_upsert(&mut self, key: &str, p: &Value) -> Result<String, String> {
        self.crm_calls += 1;
        if self.rng.chance(50) {
            return Err("CRM: 503 Service Unavailable (rate limited)".into());
        }
        let c = &p["customer"];
        let status = c["subscriptions"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(|sub| s(sub, &["status"]));
        let contact = self
            .contacts
            .entry(key.to_owned())
            .or_insert_with(|| Contact {
                external_id: key.to_owned(),
                email: None,
                name: None,
                user_id: None,
                plan_status: None,
                writes: 0,
            });
        contact.email = s(c, &["email"]);
        contact.name = s(c, &["name"]);
        contact.user_id = s(c, &["user_id"]);
        contact.plan_status = status.clone();
        contact.writes += 1;
        Ok(format!(
            "CRM contact upserted (external id {key}): {} <{}>, plan {}",
            contact.name.as_deref().unwrap_or("?"),
            contact.email.as_deref().unwrap_or("?"),
            status.as_deref().unwrap_or("none")
        ))
    }

    fn open_ticket(&mut self, key: &str, p: &Value) -> Result<String, String> {
        self.helpdesk_calls += 1;
        let invoice_id = s(p, &["invoice", "id"]);
        let number = s(p, &["invoice", "number"]).unwrap_or_default();
        let subject = match s(p, &["reason"]).as_deref() {
            Some("payment_failed") => format!(
                "Payment failed: invoice {number}, attempt {}",
                p["invoice"]["attempt_count"]
            ),
            Some(what @ ("refund" | "dispute")) => format!(
                "{} of {} ({key})",
                if what == "refund" {
                    "Refund"
                } else {
                    "Dispute"
                },
                crate::output::money(
                    p["amount"].as_i64().unwrap_or(0),
                    p["currency"].as_str().unwrap_or("")
                )
            ),
            Some(other) => format!("{other}: {key}"),
            None => key.to_owned(),
        };
        let existed = self.tickets.contains_key(key);
        self.tickets
            .entry(key.to_owned())
            .or_insert_with(|| Ticket {
                external_id: key.to_owned(),
                subject: subject.clone(),
                invoice_id,
                status: "open",
            });
        // Sometimes the helpdesk writes the ticket and then times out: the worker cannot tell,
        // so it retries, and the upsert by external id keeps it at one ticket.
        if !existed && self.rng.chance(50) {
            return Err("helpdesk: timed out after 10 s (the ticket was in fact created)".into());
        }
        Ok(if existed {
            format!("ticket already exists (external id {key}): no duplicate")
        } else {
            format!("ticket opened: \"{subject}\"")
        })
    }

    /// A dispute's close: its ticket (keyed `dispute:<id>`) closes with the outcome.
    fn close_dispute(&mut self, p: &Value) -> String {
        self.helpdesk_calls += 1;
        let key = format!("dispute:{}", s(p, &["dispute_id"]).unwrap_or_default());
        let outcome = s(p, &["outcome"]).unwrap_or_default();
        match self.tickets.get_mut(&key) {
            Some(t) => {
                t.status = "closed";
                format!("ticket {key} closed: dispute {outcome}")
            }
            None => format!("no ticket {key} yet: dispute {outcome} noted"),
        }
    }

    fn close_ticket(&mut self, p: &Value) -> Result<String, String> {
        self.helpdesk_calls += 1;
        if self.close_broken {
            return Err("helpdesk: 500 Internal Server Error on POST /tickets/close".into());
        }
        let invoice = s(p, &["invoice", "id"]);
        let mut closed = 0;
        for t in self.tickets.values_mut() {
            if t.invoice_id == invoice && t.status == "open" {
                t.status = "closed";
                closed += 1;
            }
        }
        Ok(format!("{closed} ticket(s) closed: payment recovered"))
    }
}

/// What a failed call led to, for the log line and the JSON `next`: the retry time, `"dead"`,
/// or the superseding job.
fn failure(out: &Out, err: &str, outcome: &FailOutcome, t: i64, attempt: i64) -> (String, Value) {
    match *outcome {
        FailOutcome::Scheduled { next_attempt_at } => (
            format!("{err} → retry in {}s", next_attempt_at - t),
            json!(next_attempt_at),
        ),
        FailOutcome::Dead => (
            format!(
                "{err} → {} after {attempt} attempts",
                out.red("dead-letter")
            ),
            json!("dead"),
        ),
        FailOutcome::Superseded { by } => (format!("{err} → superseded by job {by}"), json!(by)),
    }
}

/// Workers claim every due job, call the world, complete or fail; the simulated clock
/// jumps to the next job's `run_at` whenever nothing is due.
pub fn run_workers(
    engine: &Engine,
    world: &mut World,
    out: &Out,
    t: &mut i64,
    w0: i64,
    log: &mut Vec<Value>,
) -> Res<Vec<i64>> {
    let mut dead = Vec::new();
    for _ in 0..200 {
        let claimed = engine.claim(&[], 10, 60, *t)?;
        if claimed.is_empty() {
            let due = engine.jobs(&JobFilter {
                state: Some(JobState::Due),
                limit: Some(1000),
                ..JobFilter::default()
            })?;
            match due.iter().map(|j| j.run_at).min() {
                Some(next) => *t = next.max(*t + 1),
                None => break,
            }
            continue;
        }
        for job in claimed {
            let payload: Value = serde_json::from_str(&job.payload)?;
            let result = world.call(&job.kind, &job.key, &payload);
            let (mark, text, next) = match &result {
                Ok(what) => {
                    engine.complete(job.id, job.lease_token, *t)?;
                    (out.green("✓"), what.clone(), Value::Null)
                }
                Err(err) => {
                    let outcome = engine.fail(job.id, job.lease_token, err, *t)?;
                    if outcome == FailOutcome::Dead {
                        dead.push(job.id);
                    }
                    let (text, next) = failure(out, err, &outcome, *t, job.attempt);
                    (out.red("✗"), text, next)
                }
            };
            out.line(format!(
                "  {:>5}  #{:<2} {:<22} attempt {}  {mark} {text}",
                format!("+{}s", *t - w0),
                job.id,
                job.kind,
                job.attempt
            ));
            log.push(json!({
                "at": *t, "job_id": job.id, "kind": job.kind, "key": job.key,
                "attempt": job.attempt, "ok": result.is_ok(),
                "message": result.as_ref().map_or_else(|e| e.clone(), |m| m.clone()), "next": next,
            }));
        }
    }
    Ok(dead)
}
