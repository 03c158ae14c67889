//! Refunds and disputes end to end, on every backend: one ticket per refund (by refund id),
//! a dispute's ticket with the customer found through its charge or PaymentIntent (also when
//! the charge comes later), `updated` notes, `closed` closes with the outcome, and amount and
//! currency on every ticket job.

mod common;

use common::*;
use serde_json::{Value, json};
use tollbooth::{Engine, JobFilter};

fn jobs(e: &Engine, kind: &str) -> Vec<(String, Option<String>, Value)> {
    let mut v: Vec<_> = e
        .jobs(&JobFilter {
            kind: Some(kind.into()),
            ..JobFilter::default()
        })
        .unwrap()
        .into_iter()
        .map(|j| {
            (
                j.key,
                j.customer_id,
                serde_json::from_str(&j.payload).unwrap(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn charge(id: &str, customer: &str, pi: &str, refunded: i64, refunds: Option<Value>) -> Value {
    let mut c = json!({"id": id, "object": "charge", "customer": customer, "amount": 5000,
        "amount_refunded": refunded, "currency": "eur", "refunded": refunded == 5000,
        "payment_intent": pi, "status": "succeeded"});
    if let Some(r) = refunds {
        c["refunds"] = json!({"object": "list", "data": r, "has_more": false});
    }
    c
}

fn refund(id: &str, charge: &str, pi: &str, amount: i64, status: &str) -> Value {
    json!({"id": id, "object": "refund", "amount": amount, "charge": charge, "currency": "eur",
        "payment_intent": pi, "reason": "requested_by_customer", "status": status, "created": T0})
}

fn dispute(id: &str, charge: &str, pi: &str, status: &str) -> Value {
    json!({"id": id, "object": "dispute", "amount": 5000, "charge": charge, "currency": "eur",
        "payment_intent": pi, "reason": "fraudulent", "status": status, "created": T0,
        "is_charge_refundable": false})
}

#[test]
fn each_partial_refund_opens_its_own_ticket() {
    for b in backends() {
        let e = b.engine();
        deliver(
            &e,
            &event(
                "evt_c1",
                "charge.succeeded",
                T0,
                charge("ch_1", "cus_1", "pi_1", 0, None),
            ),
            T0,
        )
        .unwrap();
        for (n, (re, amount)) in [("re_1", 1000), ("re_2", 1500)].into_iter().enumerate() {
            let t = T0 + 10 + n as i64;
            let h = deliver(
                &e,
                &event(
                    &format!("evt_{re}"),
                    "refund.created",
                    t,
                    refund(re, "ch_1", "pi_1", amount, "succeeded"),
                ),
                t,
            )
            .unwrap();
            assert_eq!(h.outcome, tollbooth::Outcome::Processed, "{}", b.name);
            assert_eq!(h.customer_id.as_deref(), Some("cus_1"), "{}", b.name);
        }
        let open = jobs(&e, "support.open_ticket");
        let keys: Vec<_> = open.iter().map(|j| j.0.as_str()).collect();
        assert_eq!(keys, ["refund:re_1", "refund:re_2"], "{}", b.name);
        for (key, cus, p) in &open {
            assert_eq!(cus.as_deref(), Some("cus_1"), "{key}");
            assert_eq!(p["currency"], "eur");
            assert_eq!(p["amount"], p["refund"]["amount"]);
            assert_eq!(p["refund"]["charge_id"], "ch_1");
        }
        assert_eq!(open[1].2["amount"], 1500);
        // A refund that fails adds a note to its ticket.
        deliver(
            &e,
            &event(
                "evt_re_2f",
                "refund.updated",
                T0 + 20,
                refund("re_2", "ch_1", "pi_1", 1500, "failed"),
            ),
            T0 + 20,
        )
        .unwrap();
        let notes = jobs(&e, "support.update_ticket");
        assert_eq!(notes.len(), 1, "{}", b.name);
        assert_eq!(notes[0].0, "refund:re_2:failed");
        assert_eq!(
            (notes[0].2["amount"].as_i64(), notes[0].2["status"].as_str()),
            (Some(1500), Some("failed"))
        );
        assert_eq!(
            jobs(&e, "support.open_ticket").len(),
            2,
            "no second ticket for re_2"
        );
    }
}

#[test]
fn embedded_refunds_and_refund_events_share_one_ticket_per_refund() {
    for b in backends() {
        let e = b.engine();
        // Before 2022-11-15 charge.refunded embeds its refunds.
        let refunds = json!([
            refund("re_b", "ch_2", "pi_2", 2000, "succeeded"),
            refund("re_a", "ch_2", "pi_2", 1000, "succeeded")
        ]);
        deliver(
            &e,
            &event(
                "evt_cr",
                "charge.refunded",
                T0,
                charge("ch_2", "cus_2", "pi_2", 3000, Some(refunds)),
            ),
            T0,
        )
        .unwrap();
        deliver(
            &e,
            &event(
                "evt_rea",
                "refund.created",
                T0 - 5,
                refund("re_a", "ch_2", "pi_2", 1000, "succeeded"),
            ),
            T0,
        )
        .unwrap();
        let open = jobs(&e, "support.open_ticket");
        let keys: Vec<_> = open.iter().map(|j| j.0.as_str()).collect();
        assert_eq!(keys, ["refund:re_a", "refund:re_b"], "{}", b.name);
        assert!(open.iter().all(|j| j.1.as_deref() == Some("cus_2")));
    }
}

#[test]
fn a_dispute_finds_its_customer_through_the_charge_or_later() {
    for b in backends() {
        let e = b.engine();
        // The dispute first: nobody knows ch_3's customer yet.
        let h = deliver(
            &e,
            &event(
                "evt_d1",
                "charge.dispute.created",
                T0,
                dispute("dp_3", "ch_3", "pi_3", "needs_response"),
            ),
            T0,
        )
        .unwrap();
        assert_eq!(h.customer_id, None);
        let open = jobs(&e, "support.open_ticket");
        assert_eq!(open[0].1, None, "{}", b.name);
        assert_eq!(open[0].2["customer_id"], Value::Null);
        // The charge tells: the waiting ticket gets its customer, in the column and payload.
        deliver(
            &e,
            &event(
                "evt_c3",
                "charge.succeeded",
                T0 - 60,
                charge("ch_3", "cus_3", "pi_3", 0, None),
            ),
            T0 + 1,
        )
        .unwrap();
        let open = jobs(&e, "support.open_ticket");
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].1.as_deref(), Some("cus_3"), "{}", b.name);
        assert_eq!(open[0].2["customer_id"], "cus_3");
        assert_eq!(
            (open[0].2["amount"].as_i64(), open[0].2["currency"].as_str()),
            (Some(5000), Some("eur"))
        );
        // Updates add notes; the close carries the outcome.
        deliver(
            &e,
            &event(
                "evt_d2",
                "charge.dispute.updated",
                T0 + 100,
                dispute("dp_3", "ch_3", "pi_3", "under_review"),
            ),
            T0 + 100,
        )
        .unwrap();
        deliver(
            &e,
            &event(
                "evt_d3",
                "charge.dispute.closed",
                T0 + 200,
                dispute("dp_3", "ch_3", "pi_3", "lost"),
            ),
            T0 + 200,
        )
        .unwrap();
        let notes = jobs(&e, "support.update_ticket");
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].0, "dispute:dp_3:update:evt_d2");
        assert_eq!(notes[0].2["status"], "under_review");
        let closed = jobs(&e, "support.close_ticket");
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].0, "dispute:dp_3:closed");
        assert_eq!(closed[0].1.as_deref(), Some("cus_3"));
        assert_eq!(closed[0].2["outcome"], "lost");
        assert_eq!(closed[0].2["amount"], 5000);
        // A dispute resolved through the PaymentIntent alone.
        deliver(
            &e,
            &event(
                "evt_d4",
                "charge.dispute.closed",
                T0 + 300,
                dispute("dp_4", "ch_unknown", "pi_3", "won"),
            ),
            T0 + 300,
        )
        .unwrap();
        let closed = jobs(&e, "support.close_ticket");
        assert_eq!(closed[1].0, "dispute:dp_4:closed");
        assert_eq!(closed[1].1.as_deref(), Some("cus_3"));
        assert_eq!(closed[1].2["outcome"], "won");
        // The close came first for dp_4: its ticket was opened too, before the close.
        let open = jobs(&e, "support.open_ticket");
        assert_eq!(
            open.iter().map(|j| j.0.as_str()).collect::<Vec<_>>(),
            ["dispute:dp_3", "dispute:dp_4"]
        );
    }
}
