//! A trial that ends without a payment method, on every backend: with Stripe set to cancel
//! or pause it, access ends at `trial_end` even when `customer.subscription.deleted` (or
//! `paused`) arrives late or never; with a payment method, or `create_invoice`, it does not.
//! The story is tests/fixtures/trials (Stripe's documented Subscription object).

mod common;

use std::path::Path;

use common::*;
use serde_json::{Value, json};
use tollbooth::AccessState;

const TRIAL_END: i64 = 1_767_559_200;

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/trials/2025-09-30.clover")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

#[test]
fn a_late_or_lost_deleted_event_still_ends_access_at_trial_end() {
    for b in backends() {
        let e = b.engine();
        let created = fixture("customer.subscription.created.json");
        deliver(&e, &body(&created), created["created"].as_i64().unwrap()).unwrap();

        let before = e.access("cus_Tb4Trial", TRIAL_END - 1).unwrap();
        assert!(before.has_access, "{}", b.name);
        assert_eq!(before.state, AccessState::Trialing);
        // The trial is over and the deleted event has not come: no access, from trial_end on.
        for now in [TRIAL_END, TRIAL_END + 3 * 86_400] {
            let a = e.access("cus_Tb4Trial", now).unwrap();
            assert!(!a.has_access, "{} at {now}", b.name);
            assert_eq!(a.state, AccessState::Canceled);
            assert_eq!(a.access_ends_at, Some(TRIAL_END));
            assert_eq!(
                a.reason,
                "trial ended without a payment method on 2026-01-04 — canceled"
            );
        }
        // Stripe's deleted event, three days late, agrees.
        let late = TRIAL_END + 3 * 86_400;
        deliver(
            &e,
            &body(&fixture("customer.subscription.deleted.json")),
            late,
        )
        .unwrap();
        let a = e.access("cus_Tb4Trial", late).unwrap();
        assert!(!a.has_access);
        assert_eq!(a.state, AccessState::Canceled);
        assert_eq!(a.access_ends_at, Some(TRIAL_END));
        assert_eq!(a.reason, "canceled on 2026-01-04");
    }
}

#[test]
fn pause_payment_method_and_create_invoice_are_kept_through_the_store() {
    for b in backends() {
        let e = b.engine();
        let mut n = 0;
        let mut trial = |customer: &str, behaviour: &str, pm: Value| {
            n += 1;
            let mut ev = fixture("customer.subscription.created.json");
            ev["id"] = json!(format!("evt_trial_{n}"));
            let o = &mut ev["data"]["object"];
            o["id"] = json!(format!("sub_{customer}"));
            o["customer"] = json!(customer);
            o["trial_settings"]["end_behavior"]["missing_payment_method"] = json!(behaviour);
            o["default_payment_method"] = pm;
            deliver(&e, &body(&ev), ev["created"].as_i64().unwrap()).unwrap();
        };
        trial("cus_pause", "pause", Value::Null);
        trial("cus_card", "cancel", json!("pm_Tb4Card"));
        trial(
            "cus_expanded",
            "pause",
            json!({"id": "pm_Tb4Card", "object": "payment_method"}),
        );
        trial("cus_invoice", "create_invoice", Value::Null);
        // The customer's own default (invoice_settings) is what Stripe charges when the
        // subscription names none.
        let customer = json!({
            "id": "cus_default", "object": "customer", "email": "pat@example.com",
            "name": null, "metadata": {}, "default_source": null,
            "invoice_settings": {"custom_fields": null, "default_payment_method": "pm_Tb4Default",
                                 "footer": null, "rendering_options": null}
        });
        deliver(
            &e,
            &event("evt_cus_default", "customer.created", T0, customer),
            T0,
        )
        .unwrap();
        trial("cus_default", "cancel", Value::Null);

        let a = e.access("cus_pause", TRIAL_END).unwrap();
        assert!(!a.has_access, "{}", b.name);
        assert_eq!(a.state, AccessState::Paused);
        assert_eq!(
            a.reason,
            "trial ended without a payment method on 2026-01-04 — paused — add a payment method to resume"
        );
        for c in ["cus_card", "cus_expanded", "cus_invoice", "cus_default"] {
            let a = e.access(c, TRIAL_END + 60).unwrap();
            assert!(a.has_access, "{} {c}", b.name);
            assert_eq!(a.state, AccessState::Trialing, "{c}");
        }
    }
}
