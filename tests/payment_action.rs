//! SCA / 3-D Secure and trials, on every backend: `invoice.payment_action_required` gives the
//! portal its own state ("confirm your payment") with the hosted invoice URL and a notification
//! job, whatever order it arrives in relative to the invoice's payment;
//! `customer.subscription.trial_will_end` enqueues a notification; trialing shows the trial end.

mod common;

use common::*;
use serde_json::{Value, json};
use tollbooth::{AccessState, Engine, JobFilter};

fn payloads(e: &Engine, kind: &str) -> Vec<(String, Value)> {
    e.jobs(&JobFilter {
        kind: Some(kind.into()),
        ..JobFilter::default()
    })
    .unwrap()
    .into_iter()
    .map(|j| (j.key, serde_json::from_str(&j.payload).unwrap()))
    .collect()
}

/// A subscription whose first payment needs 3-D Secure: incomplete, its invoice open.
fn incomplete(e: &Engine, shape: Shape) {
    let sub = subscription("sub_3ds", "cus_3ds", "incomplete", T0 + 2_592_000, shape);
    deliver(
        e,
        &event_shaped("evt_s1", "customer.subscription.created", T0, sub, shape),
        T0,
    )
    .unwrap();
}

fn action_required(shape: Shape) -> Vec<u8> {
    let mut inv = invoice("in_3ds", "cus_3ds", "sub_3ds", "open", 1, T0, shape);
    inv["billing_reason"] = json!("subscription_create");
    event_shaped(
        "evt_a1",
        "invoice.payment_action_required",
        T0 + 1,
        inv,
        shape,
    )
}

fn paid(shape: Shape) -> Vec<u8> {
    let mut inv = invoice("in_3ds", "cus_3ds", "sub_3ds", "paid", 1, T0, shape);
    inv["billing_reason"] = json!("subscription_create");
    event_shaped("evt_p1", "invoice.paid", T0 + 60, inv, shape)
}

#[test]
fn a_payment_that_needs_authentication_has_its_own_state_link_and_job() {
    for b in backends() {
        for shape in [Shape::Legacy, Shape::Basil] {
            let e = b.engine();
            incomplete(&e, shape);
            let h = deliver(&e, &action_required(shape), T0 + 1).unwrap();
            assert_eq!(h.outcome, tollbooth::Outcome::Processed);
            let a = e.access("cus_3ds", T0 + 2).unwrap();
            assert_eq!(a.state, AccessState::ActionRequired, "{} {shape:?}", b.name);
            assert!(!a.has_access);
            assert!(a.reason.starts_with("confirm your payment"), "{}", a.reason);
            assert_eq!(
                a.payment_action_url.as_deref(),
                Some("https://invoice.stripe.com/i/in_3ds")
            );
            let jobs = payloads(&e, "portal.payment_action_required");
            assert_eq!(jobs.len(), 1);
            assert_eq!(jobs[0].0, "invoice:in_3ds:action:1");
            let p = &jobs[0].1;
            assert_eq!(p["customer_id"], "cus_3ds");
            assert_eq!(
                p["hosted_invoice_url"],
                "https://invoice.stripe.com/i/in_3ds"
            );
            assert_eq!(
                (p["amount"].as_i64(), p["currency"].as_str()),
                (Some(2900), Some("usd"))
            );
            assert_eq!(p["subscription_id"], "sub_3ds");
            // Authenticated and paid: the action is over.
            deliver(&e, &paid(shape), T0 + 60).unwrap();
            let a = e.access("cus_3ds", T0 + 61).unwrap();
            assert_eq!(
                a.state,
                AccessState::Incomplete,
                "the subscription event is still to come"
            );
            assert_eq!(a.payment_action_url, None);
        }
    }
}

#[test]
fn a_late_action_required_after_the_payment_changes_nothing() {
    for b in backends() {
        let e = b.engine();
        incomplete(&e, Shape::Basil);
        deliver(&e, &paid(Shape::Basil), T0 + 60).unwrap();
        deliver(&e, &action_required(Shape::Basil), T0 + 1).unwrap();
        let a = e.access("cus_3ds", T0 + 61).unwrap();
        assert_eq!(a.state, AccessState::Incomplete, "{}", b.name);
        assert_eq!(a.payment_action_url, None);
    }
}

#[test]
fn trial_will_end_notifies_and_trialing_shows_the_trial_end() {
    for b in backends() {
        let e = b.engine();
        let trial_end = T0 + 14 * 86_400;
        let mut sub = subscription("sub_tr", "cus_tr", "trialing", trial_end, Shape::Basil);
        sub["trial_end"] = json!(trial_end);
        deliver(
            &e,
            &event_shaped(
                "evt_t1",
                "customer.subscription.created",
                T0,
                sub.clone(),
                Shape::Basil,
            ),
            T0,
        )
        .unwrap();
        let a = e.access("cus_tr", T0 + 1).unwrap();
        assert_eq!(a.state, AccessState::Trialing);
        assert_eq!(a.trial_end, Some(trial_end));
        assert!(a.reason.starts_with("trial until "), "{}", a.reason);
        let h = deliver(
            &e,
            &event_shaped(
                "evt_t2",
                "customer.subscription.trial_will_end",
                trial_end - 3 * 86_400,
                sub,
                Shape::Basil,
            ),
            trial_end - 3 * 86_400,
        )
        .unwrap();
        assert_eq!(
            h.jobs
                .iter()
                .filter(|j| j.kind == "portal.trial_will_end")
                .count(),
            1,
            "{}",
            b.name
        );
        let jobs = payloads(&e, "portal.trial_will_end");
        assert_eq!(jobs.len(), 1);
        assert_eq!(
            jobs[0].0,
            format!("subscription:sub_tr:trial_end:{trial_end}")
        );
        assert_eq!(jobs[0].1["trial_end"], trial_end);
        assert_eq!(jobs[0].1["customer_id"], "cus_tr");
    }
}
