//! The access policy: what a customer's subscriptions mean for the portal.
//!
//! Defaults follow Laravel Cashier, the most widely copied policy: active and trialing have
//! access; a subscription set to cancel at period end keeps access until then; past_due has
//! none unless a configured grace period covers it; canceled, unpaid, incomplete and
//! incomplete_expired have none. With several subscriptions, the best one decides.

use serde::Serialize;

use crate::event::SubscriptionRecord;

/// The portal state shown to a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum AccessState {
    /// Paying and current.
    Active,
    /// In a free trial.
    Trialing,
    /// The latest renewal failed; Stripe is retrying.
    PastDue,
    /// Retries are exhausted; the invoice stays open.
    Unpaid,
    /// Waiting for the first payment (or it expired before it came).
    Incomplete,
    /// Paused by Stripe (a trial ended without a payment method).
    Paused,
    /// Ended.
    Canceled,
    /// No subscription known (unknown customer included).
    None,
}

impl AccessState {
    /// Stable lowercase name (`"past_due"`, ...), the same string the bindings return.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessState::Active => "active",
            AccessState::Trialing => "trialing",
            AccessState::PastDue => "past_due",
            AccessState::Unpaid => "unpaid",
            AccessState::Incomplete => "incomplete",
            AccessState::Paused => "paused",
            AccessState::Canceled => "canceled",
            AccessState::None => "none",
        }
    }

    /// Every state, in the order the C enum numbers them.
    pub const ALL: [AccessState; 8] = [
        AccessState::Active,
        AccessState::Trialing,
        AccessState::PastDue,
        AccessState::Unpaid,
        AccessState::Incomplete,
        AccessState::Paused,
        AccessState::Canceled,
        AccessState::None,
    ];

    fn from_status(status: &str) -> AccessState {
        match status {
            "active" => AccessState::Active,
            "trialing" => AccessState::Trialing,
            "past_due" => AccessState::PastDue,
            "unpaid" => AccessState::Unpaid,
            "incomplete" | "incomplete_expired" => AccessState::Incomplete,
            "paused" => AccessState::Paused,
            "canceled" => AccessState::Canceled,
            _ => AccessState::None,
        }
    }

    /// Preference when a customer has several subscriptions (lower is better).
    fn preference(self) -> u8 {
        self as u8
    }
}

/// Policy knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccessPolicy {
    /// Seconds after a subscription became past_due during which access continues. 0 = none.
    pub past_due_grace_secs: i64,
}

/// A subscription as the policy sees it: the record plus when its status last changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionView {
    /// The stored record.
    pub record: SubscriptionRecord,
    /// `created` of the event that moved it into its current status (for the grace period).
    pub status_since: i64,
}

/// The answer to "may this customer use the portal, and what should the UI say?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    /// The Stripe customer, when known.
    pub customer_id: Option<String>,
    /// The app user linked to the customer, when known.
    pub user_id: Option<String>,
    /// The deciding subscription's state.
    pub state: AccessState,
    /// Whether the portal should let the customer in.
    pub has_access: bool,
    /// A sentence the UI can show.
    pub reason: String,
    /// The deciding subscription.
    pub subscription_id: Option<String>,
    /// Its price.
    pub price_id: Option<String>,
    /// Its product.
    pub product_id: Option<String>,
    /// End of the current billing period (unix seconds).
    pub current_period_end: Option<i64>,
    /// Whether it is set to cancel at the end of the period.
    pub cancel_at_period_end: bool,
    /// When access ends (or ended), if known.
    pub access_ends_at: Option<i64>,
}

/// Formats a unix time as a calendar date for reasons (`2026-12-01`), UTC.
pub fn format_date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| unix.to_string())
}

fn evaluate_one(policy: &AccessPolicy, view: &SubscriptionView, now: i64) -> Access {
    let s = &view.record;
    let mut state = AccessState::from_status(&s.status);
    let scheduled_end = if s.cancel_at_period_end {
        s.current_period_end.or(s.cancel_at)
    } else {
        s.cancel_at
    };
    // A scheduled end is evaluated against `now`: when Stripe's
    // `customer.subscription.deleted` is late or lost (it retries for days), access still ends
    // on the date the customer paid up to, as Cashier does.
    if matches!(state, AccessState::Active | AccessState::Trialing)
        && scheduled_end.is_some_and(|end| now >= end)
    {
        state = AccessState::Canceled;
    }
    let (has_access, access_ends_at, reason) = match state {
        AccessState::Canceled if s.status != "canceled" => {
            let end = scheduled_end.unwrap_or(now);
            (
                false,
                Some(end),
                format!(
                    "canceled on {} (the end of the paid period)",
                    format_date(end)
                ),
            )
        }
        AccessState::Active | AccessState::Trialing => match scheduled_end {
            Some(end) => (
                true,
                Some(end),
                format!("canceled, access until {}", format_date(end)),
            ),
            None if state == AccessState::Trialing => (
                true,
                None,
                match s.trial_end {
                    Some(t) => format!("trial until {}", format_date(t)),
                    None => "trialing".to_string(),
                },
            ),
            None => (true, None, "active".to_string()),
        },
        AccessState::PastDue => {
            let grace_end = view.status_since.saturating_add(policy.past_due_grace_secs);
            if policy.past_due_grace_secs > 0 && now < grace_end {
                (
                    true,
                    Some(grace_end),
                    format!(
                        "payment failed — update your card (access until {})",
                        format_date(grace_end)
                    ),
                )
            } else {
                (false, None, "payment failed — update your card".to_string())
            }
        }
        AccessState::Unpaid => (
            false,
            None,
            "unpaid — payment retries are exhausted; update your card to restore access"
                .to_string(),
        ),
        AccessState::Incomplete if s.status == "incomplete_expired" => (
            false,
            None,
            "the first payment never completed; start a new checkout".to_string(),
        ),
        AccessState::Incomplete => (false, None, "waiting for the first payment".to_string()),
        AccessState::Paused => (
            false,
            None,
            "paused — add a payment method to resume".to_string(),
        ),
        AccessState::Canceled => {
            let ended = s.ended_at.or(s.canceled_at);
            let reason = match ended {
                Some(t) => format!("canceled on {}", format_date(t)),
                None => "canceled".to_string(),
            };
            (false, ended, reason)
        }
        AccessState::None => (
            false,
            None,
            format!("unknown subscription status {:?}", s.status),
        ),
    };
    Access {
        customer_id: Some(s.customer_id.clone()),
        user_id: None,
        state,
        has_access,
        reason,
        subscription_id: Some(s.id.clone()),
        price_id: s.price_id.clone(),
        product_id: s.product_id.clone(),
        current_period_end: s.current_period_end,
        cancel_at_period_end: s.cancel_at_period_end,
        access_ends_at,
    }
}

/// The access answer for a customer with no subscriptions (or no record at all).
pub fn no_access(customer_id: Option<String>, user_id: Option<String>) -> Access {
    Access {
        customer_id,
        user_id,
        state: AccessState::None,
        has_access: false,
        reason: "no subscription".to_string(),
        subscription_id: None,
        price_id: None,
        product_id: None,
        current_period_end: None,
        cancel_at_period_end: false,
        access_ends_at: None,
    }
}

/// Decides access from all of a customer's subscriptions: the best one wins (access first,
/// then the better state, then the later period end, then the id for determinism).
pub fn evaluate(policy: &AccessPolicy, subs: &[SubscriptionView], now: i64) -> Option<Access> {
    subs.iter()
        .map(|v| evaluate_one(policy, v, now))
        .min_by(|a, b| {
            (
                !a.has_access,
                a.state.preference(),
                std::cmp::Reverse(a.current_period_end),
                &a.subscription_id,
            )
                .cmp(&(
                    !b.has_access,
                    b.state.preference(),
                    std::cmp::Reverse(b.current_period_end),
                    &b.subscription_id,
                ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(status: &str) -> SubscriptionView {
        SubscriptionView {
            record: SubscriptionRecord {
                id: format!("sub_{status}"),
                customer_id: "cus_1".into(),
                status: status.into(),
                current_period_end: Some(2_000_000_000),
                ..Default::default()
            },
            status_since: 1_000,
        }
    }
    const NOW: i64 = 1_500;

    #[test]
    fn cashier_defaults() {
        let p = AccessPolicy::default();
        for (status, access) in [
            ("active", true),
            ("trialing", true),
            ("past_due", false),
            ("unpaid", false),
            ("incomplete", false),
            ("incomplete_expired", false),
            ("paused", false),
            ("canceled", false),
        ] {
            let a = evaluate(&p, &[view(status)], NOW).unwrap();
            assert_eq!(a.has_access, access, "{status}");
        }
        assert!(evaluate(&p, &[], NOW).is_none());
    }

    #[test]
    fn past_due_grace_is_measured_from_the_status_change() {
        let p = AccessPolicy {
            past_due_grace_secs: 600,
        };
        let a = evaluate(&p, &[view("past_due")], 1_599).unwrap();
        assert!(a.has_access);
        assert_eq!(a.access_ends_at, Some(1_600));
        assert!(a.reason.starts_with("payment failed — update your card"));
        let b = evaluate(&p, &[view("past_due")], 1_600).unwrap();
        assert!(!b.has_access);
    }

    #[test]
    fn cancel_at_period_end_keeps_access_until_then() {
        let mut v = view("active");
        v.record.cancel_at_period_end = true;
        let a = evaluate(&AccessPolicy::default(), &[v], NOW).unwrap();
        assert!(a.has_access);
        assert_eq!(a.access_ends_at, Some(2_000_000_000));
        assert_eq!(a.reason, "canceled, access until 2033-05-18");
    }

    #[test]
    fn a_scheduled_end_ends_access_on_time_even_when_the_deleted_event_is_late() {
        let mut v = view("active");
        v.record.cancel_at_period_end = true;
        let p = AccessPolicy::default();
        let before = evaluate(&p, &[v.clone()], 1_999_999_999).unwrap();
        assert!(before.has_access);
        // The period is over and `customer.subscription.deleted` has not arrived (yet).
        let after = evaluate(&p, &[v.clone()], 2_000_000_000).unwrap();
        assert!(!after.has_access);
        assert_eq!(after.state, AccessState::Canceled);
        assert_eq!(after.access_ends_at, Some(2_000_000_000));
        assert!(
            after.reason.starts_with("canceled on 2033-05-18"),
            "{}",
            after.reason
        );
        // `cancel_at` (a chosen date) and a trial set to cancel behave the same.
        let mut at = view("trialing");
        at.record.cancel_at = Some(1_600);
        assert!(evaluate(&p, &[at.clone()], 1_599).unwrap().has_access);
        assert!(!evaluate(&p, &[at], 1_600).unwrap().has_access);
        // Without a scheduled end, a passed period end is a renewal in flight: access stays.
        assert!(
            evaluate(&p, &[view("active")], 2_100_000_000)
                .unwrap()
                .has_access
        );
    }

    #[test]
    fn best_subscription_decides() {
        let a = evaluate(
            &AccessPolicy::default(),
            &[view("canceled"), view("active"), view("past_due")],
            NOW,
        )
        .unwrap();
        assert_eq!(a.state, AccessState::Active);
        let b = evaluate(
            &AccessPolicy::default(),
            &[view("canceled"), view("past_due")],
            NOW,
        )
        .unwrap();
        assert_eq!(b.state, AccessState::PastDue);
    }
}
