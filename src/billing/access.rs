//! The access policy: what a customer's subscriptions mean for the portal.
//!
//! Defaults follow Laravel Cashier, the most widely copied policy: active and trialing have
//! access; a subscription set to cancel at period end keeps access until then; past_due has
//! none unless a configured grace period covers it; canceled, unpaid, incomplete and
//! incomplete_expired have none. With several subscriptions, the best one decides.

use serde::Serialize;

use super::PaymentAction;
use super::purchase::{PurchaseGrant, PurchaseRecord};
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
    /// The payment needs the customer: their bank asks them to authenticate it (3-D Secure /
    /// SCA, `invoice.payment_action_required`). `payment_action_url` is where they confirm.
    ActionRequired,
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
            AccessState::ActionRequired => "action_required",
            AccessState::Canceled => "canceled",
            AccessState::None => "none",
        }
    }

    /// Every state, in the order the C enum numbers them.
    pub const ALL: [AccessState; 9] = [
        AccessState::Active,
        AccessState::Trialing,
        AccessState::PastDue,
        AccessState::Unpaid,
        AccessState::Incomplete,
        AccessState::Paused,
        AccessState::Canceled,
        AccessState::None,
        AccessState::ActionRequired,
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
    /// The deciding subscription's trial end, when it has one.
    pub trial_end: Option<i64>,
    /// For [`AccessState::ActionRequired`]: the hosted invoice page where the customer
    /// confirms the payment.
    pub payment_action_url: Option<String>,
    /// The one-time purchase that decides, when a purchase decides (then
    /// `subscription_id` is `None` and `price_id`/`product_id` are what was bought).
    pub purchase_id: Option<String>,
}

/// Formats a unix time as a calendar date for reasons (`2026-12-01`), UTC.
pub fn format_date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| unix.to_string())
}

/// When a trialing subscription's trial is over at `now` with no payment method and Stripe is
/// set to cancel or pause it: the state it is in from then on, and since when.
fn trial_lapse(s: &SubscriptionRecord, now: i64) -> Option<(AccessState, i64)> {
    let end = s.trial_end.filter(|&t| now >= t)?;
    if s.status != "trialing" || s.has_payment_method {
        return None;
    }
    match s.trial_missing_payment_method.as_deref() {
        Some("cancel") => Some((AccessState::Canceled, end)),
        Some("pause") => Some((AccessState::Paused, end)),
        _ => None,
    }
}

/// Whether the portal lets the customer in, until when, and the sentence the UI shows.
type Verdict = (bool, Option<i64>, String);

/// When the subscription is set to end: the period end for "cancel at period end", else a
/// scheduled `cancel_at`.
fn scheduled_end(s: &SubscriptionRecord) -> Option<i64> {
    if s.cancel_at_period_end {
        s.current_period_end.or(s.cancel_at)
    } else {
        s.cancel_at
    }
}

fn evaluate_one(policy: &AccessPolicy, view: &SubscriptionView, now: i64) -> Access {
    let s = &view.record;
    let scheduled_end = scheduled_end(s);
    let mut state = AccessState::from_status(&s.status);
    // A scheduled end is evaluated against `now`: when Stripe's
    // `customer.subscription.deleted` is late or lost (it retries for days), access still ends
    // on the date the customer paid up to, as Cashier does.
    if matches!(state, AccessState::Active | AccessState::Trialing)
        && scheduled_end.is_some_and(|end| now >= end)
    {
        state = AccessState::Canceled;
    }
    // A trial that ends without a payment method, set to cancel or pause, ends at
    // `trial_end` even when `customer.subscription.deleted`/`paused` is late or never comes.
    // `create_invoice` (Stripe's default) opens an invoice instead: the invoice and past-due
    // rules decide, from the events that follow.
    let lapsed_trial = trial_lapse(s, now).filter(|_| state == AccessState::Trialing);
    let verdict = match lapsed_trial {
        Some((lapsed, end)) => {
            state = lapsed;
            lapsed_trial_verdict(lapsed, end)
        }
        None => state_verdict(policy, view, state, scheduled_end, now),
    };
    subscription_access(s, state, verdict)
}

/// A trial that lapsed at `end` into `lapsed` (canceled or paused).
fn lapsed_trial_verdict(lapsed: AccessState, end: i64) -> Verdict {
    let then = if lapsed == AccessState::Paused {
        "paused — add a payment method to resume"
    } else {
        "canceled"
    };
    let reason = format!(
        "trial ended without a payment method on {} — {then}",
        format_date(end)
    );
    (false, Some(end), reason)
}

/// The verdict of a subscription in `state` (after a passed scheduled end turned it
/// canceled).
fn state_verdict(
    policy: &AccessPolicy,
    view: &SubscriptionView,
    state: AccessState,
    scheduled_end: Option<i64>,
    now: i64,
) -> Verdict {
    let s = &view.record;
    let deny = |reason: &str| (false, None, reason.to_string());
    match state {
        AccessState::Canceled if s.status != "canceled" => {
            let end = scheduled_end.unwrap_or(now);
            let reason = format!(
                "canceled on {} (the end of the paid period)",
                format_date(end)
            );
            (false, Some(end), reason)
        }
        AccessState::Active | AccessState::Trialing => running_verdict(s, state, scheduled_end),
        AccessState::PastDue => past_due_verdict(policy, view.status_since, now),
        AccessState::Unpaid => {
            deny("unpaid — payment retries are exhausted; update your card to restore access")
        }
        AccessState::Incomplete if s.status == "incomplete_expired" => {
            deny("the first payment never completed; start a new checkout")
        }
        AccessState::Incomplete => deny("waiting for the first payment"),
        AccessState::Paused => deny("paused — add a payment method to resume"),
        AccessState::Canceled => {
            let ended = s.ended_at.or(s.canceled_at);
            let reason = match ended {
                Some(t) => format!("canceled on {}", format_date(t)),
                None => "canceled".to_string(),
            };
            (false, ended, reason)
        }
        // ActionRequired comes from an invoice, never a status (`with_payment_actions`).
        AccessState::None | AccessState::ActionRequired => (
            false,
            None,
            format!("unknown subscription status {:?}", s.status),
        ),
    }
}

/// An active or trialing subscription: in, until its scheduled end if it has one.
fn running_verdict(
    s: &SubscriptionRecord,
    state: AccessState,
    scheduled_end: Option<i64>,
) -> Verdict {
    match scheduled_end {
        Some(end) => (
            true,
            Some(end),
            format!("canceled, access until {}", format_date(end)),
        ),
        None if state == AccessState::Trialing => {
            let reason = match s.trial_end {
                Some(t) => format!("trial until {}", format_date(t)),
                None => "trialing".to_string(),
            };
            (true, None, reason)
        }
        None => (true, None, "active".to_string()),
    }
}

/// A past-due subscription: in during the policy's grace period from when it became past
/// due (`since`), out after it.
fn past_due_verdict(policy: &AccessPolicy, since: i64, now: i64) -> Verdict {
    let grace_end = since.saturating_add(policy.past_due_grace_secs);
    if policy.past_due_grace_secs > 0 && now < grace_end {
        let reason = format!(
            "payment failed — update your card (access until {})",
            format_date(grace_end)
        );
        (true, Some(grace_end), reason)
    } else {
        (false, None, "payment failed — update your card".to_string())
    }
}

/// The access answer `s` gives in `state`.
fn subscription_access(s: &SubscriptionRecord, state: AccessState, verdict: Verdict) -> Access {
    let (has_access, access_ends_at, reason) = verdict;
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
        trial_end: s.trial_end,
        payment_action_url: None,
        purchase_id: None,
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
        trial_end: None,
        payment_action_url: None,
        purchase_id: None,
    }
}

/// Folds a pending payment action (SCA) into the answer: when the deciding subscription waits
/// for a payment (incomplete, past_due, unpaid) and one of its invoices asks the customer to
/// authenticate, the state is [`AccessState::ActionRequired`], the reason says "confirm your
/// payment" and `payment_action_url` links to the hosted invoice page. Access itself is
/// unchanged (a past-due grace period still applies).
pub fn with_payment_actions(mut a: Access, actions: &[PaymentAction]) -> Access {
    let waiting = matches!(
        a.state,
        AccessState::Incomplete | AccessState::PastDue | AccessState::Unpaid
    );
    let action = actions
        .iter()
        .find(|p| p.subscription_id.is_none() || p.subscription_id == a.subscription_id);
    if let (true, Some(p)) = (waiting, action) {
        a.state = AccessState::ActionRequired;
        a.reason = match (a.has_access, a.access_ends_at) {
            (true, Some(end)) => format!(
                "confirm your payment — your bank asks you to authenticate it (access until {})",
                format_date(end)
            ),
            _ => "confirm your payment — your bank asks you to authenticate it".to_string(),
        };
        a.payment_action_url = p.hosted_invoice_url.clone();
    }
    a
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

/// What one paid purchase means at `now` under the grant that covers it: lifetime access,
/// access until the end of its duration, or none once refunded in full.
fn evaluate_purchase(p: &PurchaseRecord, grant: &PurchaseGrant, paid: i64, now: i64) -> Access {
    let end = grant.duration_secs.map(|d| paid.saturating_add(d));
    let (state, has_access, access_ends_at, reason) = match (p.refunded_at, end) {
        (Some(r), _) => (
            AccessState::Canceled,
            false,
            Some(r),
            format!("purchase refunded on {} — access revoked", format_date(r)),
        ),
        (None, None) => (
            AccessState::Active,
            true,
            None,
            format!(
                "lifetime access (one-time purchase on {})",
                format_date(paid)
            ),
        ),
        (None, Some(e)) if now < e => (
            AccessState::Active,
            true,
            Some(e),
            format!("one-time purchase, access until {}", format_date(e)),
        ),
        (None, Some(e)) => (
            AccessState::Canceled,
            false,
            Some(e),
            format!("one-time purchase access ended on {}", format_date(e)),
        ),
    };
    let item = p.items.iter().find(|i| {
        grant.id == "*"
            || i.price_id.as_deref() == Some(grant.id.as_str())
            || i.product_id.as_deref() == Some(grant.id.as_str())
    });
    Access {
        customer_id: p.customer_id.clone(),
        user_id: p.user_id.clone(),
        state,
        has_access,
        reason,
        subscription_id: None,
        price_id: item.and_then(|i| i.price_id.clone()),
        product_id: item.and_then(|i| i.product_id.clone()),
        current_period_end: None,
        cancel_at_period_end: false,
        access_ends_at,
        trial_end: None,
        payment_action_url: None,
        purchase_id: Some(p.id.clone()),
    }
}

/// Decides access from a customer's paid one-time purchases that a grant covers: access
/// first, then the later end (lifetime last of all), then the id. `None` when no paid
/// purchase is covered.
pub fn evaluate_purchases(
    grants: &[PurchaseGrant],
    purchases: &[PurchaseRecord],
    now: i64,
) -> Option<Access> {
    purchases
        .iter()
        .filter(|p| p.purchase)
        .filter_map(|p| Some(evaluate_purchase(p, p.grant(grants)?, p.paid_at?, now)))
        .min_by(|a, b| {
            let key = |x: &Access| {
                (
                    !x.has_access,
                    std::cmp::Reverse(x.access_ends_at.map_or(i64::MAX, |e| e)),
                    x.purchase_id.clone(),
                )
            };
            key(a).cmp(&key(b))
        })
}

/// The subscription answer and the purchase answer together: access beats none; with both
/// granting, the later end wins (lifetime beats any subscription) and a tie keeps the
/// subscription; with neither, the subscription's answer says more.
pub fn combine(subscription: Option<Access>, purchase: Option<Access>) -> Option<Access> {
    match (subscription, purchase) {
        (Some(s), Some(p)) => {
            let end = |a: &Access| a.access_ends_at.map_or(i64::MAX, |e| e);
            let purchase_wins = p.has_access && (!s.has_access || end(&p) > end(&s));
            Some(if purchase_wins { p } else { s })
        }
        (s, p) => s.or(p),
    }
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

    fn trial(behaviour: Option<&str>, has_payment_method: bool) -> SubscriptionView {
        let mut v = view("trialing");
        v.record.trial_end = Some(1_600);
        v.record.trial_missing_payment_method = behaviour.map(str::to_string);
        v.record.has_payment_method = has_payment_method;
        v
    }

    #[test]
    fn a_trial_ending_without_a_payment_method_ends_access_at_trial_end() {
        let p = AccessPolicy::default();
        for (behaviour, state, then) in [
            ("cancel", AccessState::Canceled, "canceled"),
            (
                "pause",
                AccessState::Paused,
                "paused — add a payment method to resume",
            ),
        ] {
            let v = trial(Some(behaviour), false);
            let before = evaluate(&p, std::slice::from_ref(&v), 1_599).unwrap();
            assert!(before.has_access, "{behaviour}");
            assert_eq!(before.state, AccessState::Trialing);
            assert_eq!(before.reason, "trial until 1970-01-01");
            for now in [1_600, 1_601, 2_100_000_000] {
                let a = evaluate(&p, std::slice::from_ref(&v), now).unwrap();
                assert!(!a.has_access, "{behaviour} at {now}");
                assert_eq!(a.state, state, "{behaviour} at {now}");
                assert_eq!(a.access_ends_at, Some(1_600));
                assert_eq!(a.trial_end, Some(1_600));
                assert_eq!(
                    a.reason,
                    format!("trial ended without a payment method on 1970-01-01 — {then}")
                );
            }
        }
    }

    #[test]
    fn a_payment_method_or_create_invoice_keeps_the_usual_rules_after_the_trial() {
        let p = AccessPolicy::default();
        // With a payment method the trial converts: Stripe charges it, and until the
        // `customer.subscription.updated` comes the subscription is still entitled.
        for behaviour in [Some("cancel"), Some("pause"), Some("create_invoice"), None] {
            let a = evaluate(&p, &[trial(behaviour, true)], 1_700).unwrap();
            assert!(a.has_access, "{behaviour:?} with a payment method");
            assert_eq!(a.state, AccessState::Trialing);
        }
        // create_invoice (and an absent setting, Stripe's default) opens an invoice: access
        // follows the invoice and past-due rules, decided by the events that follow.
        for behaviour in [Some("create_invoice"), None, Some("something_new")] {
            let a = evaluate(&p, &[trial(behaviour, false)], 1_700).unwrap();
            assert!(a.has_access, "{behaviour:?}");
            assert_eq!(a.state, AccessState::Trialing);
            let mut due = trial(behaviour, false);
            due.record.status = "past_due".into();
            assert!(!evaluate(&p, &[due], 1_700).unwrap().has_access);
        }
        // Once Stripe's own event has moved the status, the status decides as before.
        let mut paused = trial(Some("pause"), false);
        paused.record.status = "paused".into();
        let a = evaluate(&p, &[paused], 1_700).unwrap();
        assert_eq!(a.reason, "paused — add a payment method to resume");
        // An earlier scheduled cancellation still wins over the trial's end.
        let mut early = trial(Some("pause"), false);
        early.record.cancel_at = Some(1_550);
        let a = evaluate(&p, &[early], 1_700).unwrap();
        assert_eq!(a.state, AccessState::Canceled);
        assert_eq!(a.access_ends_at, Some(1_550));
    }

    #[test]
    fn a_pending_authentication_is_its_own_state_with_the_invoice_link() {
        let action = PaymentAction {
            invoice_id: "in_1".into(),
            subscription_id: Some("sub_past_due".into()),
            hosted_invoice_url: Some("https://invoice.stripe.com/i/acct_1/test_1".into()),
            amount_due: 2900,
            currency: "eur".into(),
            since: 1_000,
        };
        let p = AccessPolicy::default();
        let a = with_payment_actions(
            evaluate(&p, &[view("past_due")], NOW).unwrap(),
            std::slice::from_ref(&action),
        );
        assert_eq!(a.state, AccessState::ActionRequired);
        assert_eq!(a.state.as_str(), "action_required");
        assert!(!a.has_access);
        assert!(a.reason.starts_with("confirm your payment"), "{}", a.reason);
        assert_eq!(a.payment_action_url, action.hosted_invoice_url);
        // Within a grace period access stays, and the reason says until when.
        let grace = AccessPolicy {
            past_due_grace_secs: 600,
        };
        let g = with_payment_actions(
            evaluate(&grace, &[view("past_due")], NOW).unwrap(),
            std::slice::from_ref(&action),
        );
        assert!(
            g.has_access && g.reason.contains("access until"),
            "{}",
            g.reason
        );
        // An active subscription, or another subscription's invoice, is not affected.
        let ok = with_payment_actions(
            evaluate(&p, &[view("active")], NOW).unwrap(),
            std::slice::from_ref(&action),
        );
        assert_eq!(ok.state, AccessState::Active);
        let other = PaymentAction {
            subscription_id: Some("sub_other".into()),
            ..action
        };
        let b = with_payment_actions(evaluate(&p, &[view("past_due")], NOW).unwrap(), &[other]);
        assert_eq!(b.state, AccessState::PastDue);
        assert_eq!(b.payment_action_url, None);
    }

    #[test]
    fn trialing_shows_the_trial_end() {
        let mut v = view("trialing");
        v.record.trial_end = Some(1_800_000_000);
        let a = evaluate(&AccessPolicy::default(), &[v], NOW).unwrap();
        assert_eq!(a.trial_end, Some(1_800_000_000));
        assert_eq!(a.reason, "trial until 2027-01-15");
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

#[cfg(test)]
mod purchase_tests {
    use super::*;
    use crate::event::SubscriptionItem;

    fn bought(price: &str, paid: i64) -> PurchaseRecord {
        PurchaseRecord {
            id: format!("pi_{price}"),
            customer_id: Some("cus_1".into()),
            items: vec![SubscriptionItem {
                id: String::new(),
                price_id: Some(price.into()),
                product_id: Some(format!("prod_{price}")),
                quantity: 1,
            }],
            purchase: true,
            paid_at: Some(paid),
            ..Default::default()
        }
    }

    fn grants() -> Vec<PurchaseGrant> {
        PurchaseGrant::parse_list("price_life,prod_price_pass=1000").unwrap()
    }

    #[test]
    fn lifetime_and_timed_purchases_grant_and_a_full_refund_revokes() {
        let g = grants();
        let life = evaluate_purchases(&g, &[bought("price_life", 100)], 5_000_000_000).unwrap();
        assert!(life.has_access);
        assert_eq!(life.access_ends_at, None);
        assert_eq!(life.purchase_id.as_deref(), Some("pi_price_life"));
        assert_eq!(
            life.reason,
            "lifetime access (one-time purchase on 1970-01-01)"
        );
        let pass = [bought("price_pass", 100)];
        let during = evaluate_purchases(&g, &pass, 1_099).unwrap();
        assert!(during.has_access);
        assert_eq!(during.access_ends_at, Some(1_100));
        assert!(!evaluate_purchases(&g, &pass, 1_100).unwrap().has_access);
        let mut refunded = bought("price_life", 100);
        refunded.refunded_at = Some(86_400);
        let r = evaluate_purchases(&g, &[refunded], 200_000).unwrap();
        assert!(!r.has_access);
        assert_eq!(r.state, AccessState::Canceled);
        assert_eq!(r.reason, "purchase refunded on 1970-01-02 — access revoked");
        // Not covered by a grant, unpaid, or not a purchase: no answer at all.
        assert!(evaluate_purchases(&g, &[bought("price_other", 100)], 200).is_none());
        let mut unpaid = bought("price_life", 100);
        unpaid.paid_at = None;
        assert!(evaluate_purchases(&g, &[unpaid], 200).is_none());
        let mut payment = bought("price_life", 100);
        payment.purchase = false;
        assert!(evaluate_purchases(&g, &[payment], 200).is_none());
    }

    #[test]
    fn combine_prefers_access_then_the_later_end() {
        let g = grants();
        let life = evaluate_purchases(&g, &[bought("price_life", 100)], 200);
        let sub = evaluate(
            &AccessPolicy::default(),
            &[SubscriptionView {
                record: SubscriptionRecord {
                    id: "sub_1".into(),
                    customer_id: "cus_1".into(),
                    status: "canceled".into(),
                    ..Default::default()
                },
                status_since: 0,
            }],
            200,
        );
        let a = combine(sub.clone(), life.clone()).unwrap();
        assert!(a.has_access);
        assert!(a.purchase_id.is_some());
        assert_eq!(combine(sub.clone(), None), sub);
        assert_eq!(combine(None, life.clone()), life);
        // A timed pass ending before an active subscription's renewal: the subscription shows.
        let mut active = sub.unwrap();
        active.has_access = true;
        active.access_ends_at = None;
        let pass = evaluate_purchases(&g, &[bought("price_pass", 100)], 200);
        assert_eq!(combine(Some(active.clone()), pass).unwrap(), active);
    }
}
