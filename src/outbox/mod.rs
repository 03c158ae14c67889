//! The transactional outbox: which side effects an event causes, under which deterministic
//! key, and when a failed job runs again. Pure; the store writes the rows in the same
//! transaction as the billing state, so a job exists exactly when its cause was committed.

mod job;
mod throttle;

pub use job::{
    ClaimRequest, ClaimedJob, EXPIRED_PER_CLAIM, EndedAttempt, EnqueuedJob, FailOutcome,
    FailedAttempt, Job, JobAttempt, JobFilter, JobState, KindStats, LEASE_EXPIRED_ERROR, LeasedJob,
    MAX_ERROR_CHARS, MAX_RETRY_AFTER_SECS, after_failure, truncate_error,
};
pub use throttle::{JobThrottle, KindPick, ThrottleCounts, ThrottleGate, throttle_now};

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{Error, ErrorCode, Result};

/// Job kinds. Hosts claim by kind, so a slow CRM never holds up a support ticket.
pub mod kinds {
    /// Push the customer's newest state to the CRM (coalesced per customer).
    pub const CRM_SYNC_CUSTOMER: &str = "crm.sync_customer";
    /// Open a helpdesk ticket (failed payment attempt, refund, dispute).
    pub const SUPPORT_OPEN_TICKET: &str = "support.open_ticket";
    /// Close a ticket: the failed payment was recovered, or the dispute closed (won or lost).
    pub const SUPPORT_CLOSE_TICKET: &str = "support.close_ticket";
    /// Add a note to an open ticket: a dispute changed, or a refund failed.
    pub const SUPPORT_UPDATE_TICKET: &str = "support.update_ticket";
    /// Tell the app (email, session revocation) that a subscription ended.
    pub const PORTAL_ACCESS_REVOKED: &str = "portal.access_revoked";
    /// Ask the customer to confirm a payment (3-D Secure / SCA) on the hosted invoice page.
    pub const PORTAL_PAYMENT_ACTION_REQUIRED: &str = "portal.payment_action_required";
    /// Tell the customer their trial ends soon (Stripe sends it three days before).
    pub const PORTAL_TRIAL_WILL_END: &str = "portal.trial_will_end";
    /// Refetch an object from the Stripe API and hand it to `apply_snapshot`.
    pub const STRIPE_RECONCILE: &str = "stripe.reconcile";
    /// Fetch the full event a thin event (v2 notification) announced and ingest it.
    pub const STRIPE_FETCH_EVENT: &str = "stripe.fetch_event";
    /// Every kind the engine enqueues.
    pub const ALL: &[&str] = &[
        CRM_SYNC_CUSTOMER,
        SUPPORT_OPEN_TICKET,
        SUPPORT_CLOSE_TICKET,
        SUPPORT_UPDATE_TICKET,
        PORTAL_ACCESS_REVOKED,
        PORTAL_PAYMENT_ACTION_REQUIRED,
        PORTAL_TRIAL_WILL_END,
        STRIPE_RECONCILE,
        STRIPE_FETCH_EVENT,
    ];
}

/// The ordering queue of a kind: its family before the first dot (`support.close_ticket` ->
/// `support`). One customer's jobs of one queue run in order; queues are independent.
pub fn queue_of(kind: &str) -> &str {
    kind.split('.').next().unwrap_or(kind)
}

/// A job to write in the ingest transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// One of [`kinds`].
    pub kind: &'static str,
    /// Deterministic key; also inside the payload so the handler can pass it on as an
    /// idempotency key / external id.
    pub key: String,
    /// The customer the job concerns (jobs of one kind for one customer run in order).
    pub customer_id: Option<String>,
    /// `true`: at most one due job per key, updated to the newest payload.
    /// `false`: one job per key, ever.
    pub coalesce: bool,
    /// JSON payload: the normalized record the handler needs. Never a secret.
    pub payload: Value,
}

impl NewJob {
    fn new(
        kind: &'static str,
        key: String,
        customer_id: Option<&str>,
        coalesce: bool,
        body: Value,
    ) -> NewJob {
        let mut payload = json!({ "kind": kind, "key": key });
        if let (Value::Object(dst), Value::Object(src)) = (&mut payload, body) {
            dst.extend(src);
        }
        NewJob {
            kind,
            key,
            customer_id: customer_id.map(str::to_owned),
            coalesce,
            payload,
        }
    }

    /// `crm.sync_customer`, keyed by customer id, carrying the customer's newest state.
    pub fn crm_sync(customer_id: &str, state: &impl Serialize) -> NewJob {
        let body = json!({ "customer_id": customer_id, "customer": state });
        NewJob::new(
            kinds::CRM_SYNC_CUSTOMER,
            customer_id.to_owned(),
            Some(customer_id),
            true,
            body,
        )
    }

    /// `support.open_ticket` for one failed attempt of one invoice.
    pub fn payment_failed_ticket(
        customer_id: &str,
        invoice: &impl Serialize,
        invoice_id: &str,
        attempt: i64,
    ) -> NewJob {
        let key = format!("invoice:{invoice_id}:attempt:{attempt}");
        let body =
            json!({ "reason": "payment_failed", "customer_id": customer_id, "invoice": invoice });
        NewJob::new(
            kinds::SUPPORT_OPEN_TICKET,
            key,
            Some(customer_id),
            false,
            body,
        )
    }

    /// `support.close_ticket` once a previously failed invoice is paid.
    pub fn payment_recovered(
        customer_id: &str,
        invoice: &impl Serialize,
        invoice_id: &str,
    ) -> NewJob {
        let key = format!("invoice:{invoice_id}:recovered");
        let body = json!({ "reason": "payment_recovered", "customer_id": customer_id, "invoice": invoice });
        NewJob::new(
            kinds::SUPPORT_CLOSE_TICKET,
            key,
            Some(customer_id),
            false,
            body,
        )
    }

    /// A support ticket job about money (a refund or a dispute): `kind` opens, notes or closes
    /// it, `key` names it, `body` is what the handler needs. The customer may be unknown yet
    /// (`null` in the payload until a charge tells; see [`crate::store::PaymentsTx`]); the
    /// amount and currency are at the top level of every such payload.
    pub fn money_ticket(
        kind: &'static str,
        key: String,
        customer_id: Option<&str>,
        amount: i64,
        currency: &str,
        body: Value,
    ) -> NewJob {
        let mut head =
            json!({ "customer_id": customer_id, "amount": amount, "currency": currency });
        if let (Value::Object(dst), Value::Object(src)) = (&mut head, body) {
            dst.extend(src);
        }
        NewJob::new(kind, key, customer_id, false, head)
    }

    /// `portal.payment_action_required` once per invoice attempt that needs the customer
    /// (3-D Secure / SCA): the hosted invoice URL is where they confirm.
    pub fn payment_action_required(
        customer_id: &str,
        invoice: &crate::event::InvoiceRecord,
    ) -> NewJob {
        let key = format!("invoice:{}:action:{}", invoice.id, invoice.attempt_count);
        let body = json!({
            "reason": "payment_action_required", "customer_id": customer_id,
            "invoice_id": invoice.id, "subscription_id": invoice.subscription_id,
            "hosted_invoice_url": invoice.hosted_invoice_url,
            "amount": invoice.amount_due, "currency": invoice.currency,
        });
        NewJob::new(
            kinds::PORTAL_PAYMENT_ACTION_REQUIRED,
            key,
            Some(customer_id),
            false,
            body,
        )
    }

    /// `portal.trial_will_end` once per subscription and trial end.
    pub fn trial_will_end(sub: &crate::event::SubscriptionRecord) -> NewJob {
        let key = format!(
            "subscription:{}:trial_end:{}",
            sub.id,
            sub.trial_end.unwrap_or(0)
        );
        let body = json!({
            "customer_id": sub.customer_id, "subscription_id": sub.id,
            "trial_end": sub.trial_end, "price_id": sub.price_id, "product_id": sub.product_id,
            "cancel_at_period_end": sub.cancel_at_period_end,
        });
        NewJob::new(
            kinds::PORTAL_TRIAL_WILL_END,
            key,
            Some(&sub.customer_id),
            false,
            body,
        )
    }

    /// `portal.access_revoked` once per ended subscription.
    pub fn access_revoked(
        customer_id: &str,
        subscription: &impl Serialize,
        subscription_id: &str,
    ) -> NewJob {
        let body = json!({ "customer_id": customer_id, "subscription": subscription });
        NewJob::new(
            kinds::PORTAL_ACCESS_REVOKED,
            subscription_id.to_owned(),
            Some(customer_id),
            false,
            body,
        )
    }

    /// `portal.access_revoked` once per one-time purchase refunded in full (keyed by the
    /// purchase, so a repeated or reordered refund event revokes once).
    pub fn purchase_access_revoked(
        customer_id: Option<&str>,
        purchase: &impl Serialize,
        purchase_id: &str,
    ) -> NewJob {
        let body = json!({ "customer_id": customer_id, "purchase": purchase });
        NewJob::new(
            kinds::PORTAL_ACCESS_REVOKED,
            purchase_id.to_owned(),
            customer_id,
            false,
            body,
        )
    }

    /// `stripe.reconcile` for an object whose same-second events disagreed (coalesced).
    pub fn reconcile(object_type: &str, object_id: &str, customer_id: Option<&str>) -> NewJob {
        let body = json!({ "object_type": object_type, "object_id": object_id, "customer_id": customer_id });
        NewJob::new(
            kinds::STRIPE_RECONCILE,
            object_id.to_owned(),
            customer_id,
            true,
            body,
        )
    }

    /// `stripe.fetch_event` for one thin event, keyed by its id: everything the worker needs to
    /// fetch the full event (`GET /v2/core/events/{id}` with the event's context, then the
    /// snapshot event it names) without reading the stored body.
    pub fn fetch_event(thin: &crate::event::ThinEvent) -> NewJob {
        let body = json!({
            "event_id": thin.id,
            "event_type": thin.event_type,
            "created": thin.created,
            "livemode": thin.livemode,
            "account": thin.context,
            "related_object": thin.related_object,
        });
        NewJob::new(
            kinds::STRIPE_FETCH_EVENT,
            thin.id.clone(),
            None,
            false,
            body,
        )
    }
}

/// The retry schedule (River's, which is Sidekiq's without the constant): attempt `n` (1-based,
/// the attempt that just failed) waits `n⁴` seconds, ±10 % jitter, plus one second.
/// 1 s, 17 s, 82 s, 257 s, 626 s, ... ; 25 attempts span about 19 days, longer than Stripe's
/// own three-day redelivery window, so a CRM outage of a week still drains.
///
/// `jitter` is a number in `[0, 1)` supplied by the caller (the store derives it from the job
/// id and attempt, so the schedule is reproducible in tests and still spreads a herd).
pub fn backoff_secs(attempt: u32, jitter: f64) -> i64 {
    let base = (attempt.max(1) as f64).powi(4);
    let factor = 0.9 + 0.2 * jitter.clamp(0.0, 1.0);
    (base * factor).round() as i64 + 1
}

/// A reproducible jitter in `[0, 1)` from a job id and attempt (SplitMix64 finalizer).
pub fn jitter_for(job_id: i64, attempt: u32) -> f64 {
    let mut z = (job_id as u64) ^ ((attempt as u64) << 32) ^ 0x9E37_79B9_7F4A_7C15;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Default maximum attempts before a job moves to dead-letter (River's default).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 25;

/// Longest lease a claim may take (a week): longer is a mistake (a lease of 2⁶³ s would lock
/// a job forever), and a worker that needs more can fail and retry.
pub const MAX_LEASE_SECS: i64 = 7 * 86_400;
/// Most jobs one claim hands out.
pub const MAX_CLAIM_LIMIT: u32 = 10_000;
/// Latest clock a worker call accepts: 9999-12-31T23:59:59Z. A `now` past it (1e300 from
/// JavaScript) would lease or schedule beyond any real time.
pub const MAX_NOW_SECS: i64 = 253_402_300_799;

/// `INVALID_ARGUMENT` with a fixed message (never the value given).
fn invalid(msg: &'static str) -> Error {
    Error::new(ErrorCode::InvalidArgument, msg)
}

/// Checks a worker call's clock: `0..=`[`MAX_NOW_SECS`].
pub fn check_now(now: i64) -> Result<()> {
    if (0..=MAX_NOW_SECS).contains(&now) {
        Ok(())
    } else {
        Err(invalid(
            "now must be unix seconds between 0 and 253402300799 (9999-12-31)",
        ))
    }
}

/// Checks a claim's arguments: a limit of `1..=`[`MAX_CLAIM_LIMIT`], a lease of
/// `1..=`[`MAX_LEASE_SECS`] seconds, and the clock.
pub fn check_claim(limit: u32, lease_secs: i64, now: i64) -> Result<()> {
    if !(1..=MAX_CLAIM_LIMIT).contains(&limit) {
        return Err(invalid("limit must be between 1 and 10000"));
    }
    if !(1..=MAX_LEASE_SECS).contains(&lease_secs) {
        return Err(invalid(
            "the lease must be between 1 and 604800 seconds (a week)",
        ));
    }
    check_now(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_attempt_to_the_fourth_with_ten_percent_jitter() {
        for n in 1..=25u32 {
            let base = (n as f64).powi(4);
            let lo = backoff_secs(n, 0.0);
            let hi = backoff_secs(n, 0.999_999);
            assert!(
                (lo as f64 - 1.0 - base * 0.9).abs() <= 1.0,
                "attempt {n}: {lo}"
            );
            assert!(
                (hi as f64 - 1.0 - base * 1.1).abs() <= 1.0,
                "attempt {n}: {hi}"
            );
        }
        assert_eq!(backoff_secs(2, 0.5), 17);
    }

    #[test]
    fn jitter_is_in_range_and_spreads() {
        let xs: Vec<f64> = (0..1000).map(|i| jitter_for(i, 3)).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - 0.5).abs() < 0.05, "{mean}");
    }

    #[test]
    fn payload_carries_kind_and_key() {
        let j = NewJob::payment_failed_ticket("cus_1", &json!({"id": "in_1"}), "in_1", 2);
        assert_eq!(j.key, "invoice:in_1:attempt:2");
        assert_eq!(j.payload["key"], "invoice:in_1:attempt:2");
        assert_eq!(j.payload["kind"], "support.open_ticket");
        assert_eq!(j.payload["invoice"]["id"], "in_1");
        assert!(!j.coalesce);
        assert!(NewJob::crm_sync("cus_1", &json!({})).coalesce);
    }
}

/// Prefixes of Stripe credentials that must never be stored in a job's error history.
const SECRET_PREFIXES: &[&str] = &["whsec_", "sk_live_", "sk_test_", "rk_live_", "rk_test_"];

/// Characters that end a token when looking for a configured secret in text.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || c.is_control() || "\"'`,;:()[]{}<>=&|".contains(c)
}

/// Replaces with `[redacted]` anything that looks like a Stripe credential (`whsec_…`,
/// `sk_live_…`, ...) and every token for which `is_secret` says yes (the configured secrets,
/// whatever their shape). Worker error messages often echo request configuration; this keeps
/// the job history safe to show to operators.
///
/// One pass, linear in the text: each position is tested against the few prefixes, and each
/// token once against `is_secret`. Callers cut the text to a bounded size first.
pub fn redact_secrets(msg: &str, is_secret: impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut i = 0;
    let bytes = msg.as_bytes();
    while i < msg.len() {
        // A credential prefix here: redact it and its [A-Za-z0-9_] tail.
        if let Some(p) = SECRET_PREFIXES.iter().find(|p| msg[i..].starts_with(**p)) {
            let tail = &bytes[i + p.len()..];
            let n = tail
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            out.push_str("[redacted]");
            i += p.len() + n;
            continue;
        }
        let c = msg[i..].chars().next().unwrap_or(' ');
        if is_separator(c) {
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        // A token: up to the next separator or credential prefix.
        let start = i;
        let mut end = i;
        for (off, ch) in msg[start..].char_indices() {
            let at = start + off;
            if is_separator(ch)
                || (at > start && SECRET_PREFIXES.iter().any(|p| msg[at..].starts_with(*p)))
            {
                break;
            }
            end = at + ch.len_utf8();
        }
        let token = &msg[start..end];
        if is_secret(token) {
            out.push_str("[redacted]");
        } else {
            out.push_str(token);
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod redact_tests {
    use super::redact_secrets;

    fn none(_: &str) -> bool {
        false
    }

    #[test]
    fn redacts_every_stripe_credential_shape() {
        let m = "CRM said 401 for key sk_live_abc123 and whsec_XyZ_9; retry with rk_test_1.";
        let r = redact_secrets(m, none);
        assert_eq!(
            r,
            "CRM said 401 for key [redacted] and [redacted]; retry with [redacted]."
        );
        assert_eq!(redact_secrets("plain timeout", none), "plain timeout");
        assert_eq!(redact_secrets("whsec_", none), "[redacted]");
        assert_eq!(redact_secrets("é whsec_1 é", none), "é [redacted] é");
    }

    #[test]
    fn redacts_a_configured_secret_of_any_shape() {
        let is = |t: &str| t == "hunter2-no-prefix";
        assert_eq!(
            redact_secrets("auth=hunter2-no-prefix; then \"hunter2-no-prefix\"", is),
            "auth=[redacted]; then \"[redacted]\""
        );
        assert_eq!(
            redact_secrets("hunter2-no-prefixes", is),
            "hunter2-no-prefixes"
        );
    }

    #[test]
    fn hostile_text_is_redacted_whole() {
        // 800 kB of prefixes and near-misses (a quadratic redaction blocked for seconds here).
        let hostile = "whsec_".repeat(50_000) + &"whse ".repeat(100_000);
        let r = redact_secrets(&hostile, |t| t == "whse");
        assert!(r.starts_with("[redacted]") && !r.contains("whse"));
        assert_eq!(r.matches("[redacted]").count(), 100_000);
    }
}
