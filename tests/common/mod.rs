//! Stripe-shaped event builders shared by the integration tests. They follow the documented
//! object shapes closely enough for normalization (both API shapes), and keep each test short.
#![allow(dead_code)]

use serde_json::{Value, json};
use tollbooth::verify::sign_for_test;
use tollbooth::{Config, Engine};

pub const SECRET: &str = "whsec_test_0123456789abcdefSECRET";
pub const T0: i64 = 1_767_000_000;

/// Which Stripe API shape to emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// 2024-06-20: `invoice.subscription`, top-level `current_period_end`.
    Legacy,
    /// 2025-03-31.basil: `invoice.parent.subscription_details`, item-level periods.
    Basil,
}

pub fn engine() -> Engine {
    Engine::open(Config::new(":memory:", &[SECRET]).unwrap()).unwrap()
}

pub fn engine_at(path: &str) -> Engine {
    Engine::open(Config::new(path, &[SECRET]).unwrap()).unwrap()
}

pub fn event(id: &str, kind: &str, created: i64, object: Value) -> Vec<u8> {
    event_shaped(id, kind, created, object, Shape::Legacy)
}

pub fn event_shaped(id: &str, kind: &str, created: i64, object: Value, shape: Shape) -> Vec<u8> {
    let api = match shape {
        Shape::Legacy => "2024-06-20",
        Shape::Basil => "2025-03-31.basil",
    };
    serde_json::to_vec_pretty(&json!({
        "id": id, "object": "event", "api_version": api, "created": created, "livemode": false,
        "pending_webhooks": 1, "request": {"id": null, "idempotency_key": null},
        "type": kind, "data": {"object": object, "previous_attributes": {}}
    }))
    .unwrap()
}

pub fn subscription(
    id: &str,
    customer: &str,
    status: &str,
    period_end: i64,
    shape: Shape,
) -> Value {
    let item = json!({"id": format!("si_{id}"), "object": "subscription_item",
        "price": {"id": "price_pro", "object": "price", "product": "prod_pro", "unit_amount": 2900, "currency": "usd"},
        "quantity": 1, "current_period_start": period_end - 2_592_000, "current_period_end": period_end});
    let mut s = json!({"id": id, "object": "subscription", "customer": customer, "status": status,
        "cancel_at_period_end": false, "cancel_at": null, "canceled_at": null, "ended_at": null,
        "trial_end": null, "metadata": {}, "items": {"object": "list", "data": [item]}});
    if shape == Shape::Legacy {
        s["current_period_end"] = json!(period_end);
        s["current_period_start"] = json!(period_end - 2_592_000);
        s["items"]["data"][0]
            .as_object_mut()
            .unwrap()
            .remove("current_period_end");
    }
    s
}

pub fn invoice(
    id: &str,
    customer: &str,
    sub: &str,
    status: &str,
    attempt: i64,
    created: i64,
    shape: Shape,
) -> Value {
    let paid = status == "paid";
    let mut i = json!({"id": id, "object": "invoice", "customer": customer, "number": format!("TB-{id}"),
        "status": status, "amount_due": 2900, "amount_paid": if paid {2900} else {0},
        "amount_remaining": if paid {0} else {2900}, "currency": "usd", "attempt_count": attempt,
        "next_payment_attempt": if paid { Value::Null } else { json!(created + 259_200) },
        "hosted_invoice_url": format!("https://invoice.stripe.com/i/{id}"),
        "invoice_pdf": format!("https://pay.stripe.com/invoice/{id}/pdf"),
        "created": created, "billing_reason": "subscription_cycle"});
    match shape {
        Shape::Legacy => i["subscription"] = json!(sub),
        Shape::Basil => {
            i["parent"] = json!({"type": "subscription_details",
                "subscription_details": {"subscription": sub, "metadata": {}}})
        }
    }
    i
}

pub fn checkout(
    id: &str,
    customer: &str,
    user: &str,
    sub: &str,
    status: &str,
    payment_status: &str,
) -> Value {
    json!({"id": id, "object": "checkout.session", "customer": customer, "client_reference_id": user,
        "customer_details": {"email": "ada@example.com", "name": "Ada Lovelace"},
        "mode": "subscription", "status": status, "payment_status": payment_status,
        "subscription": sub, "amount_total": 2900, "currency": "usd", "metadata": {}})
}

pub fn customer(id: &str, email: &str) -> Value {
    json!({"id": id, "object": "customer", "email": email, "name": "Ada Lovelace", "metadata": {}})
}

/// Signs `body` at `t` and delivers it at `t + 1`.
pub fn deliver(engine: &Engine, body: &[u8], t: i64) -> tollbooth::Result<tollbooth::Handled> {
    let header = sign_for_test(body, SECRET, t);
    engine.handle_webhook_at(body, &header, t + 1)
}

/// One realistic customer history: (event id, created, body).
pub fn history(n: usize, shape: Shape) -> Vec<(String, i64, Vec<u8>)> {
    let cus = format!("cus_{n}");
    let sub = format!("sub_{n}");
    let user = format!("user_{n}");
    let t = T0 + (n as i64) * 10_000;
    let pe1 = t + 2_592_000;
    let pe2 = pe1 + 2_592_000;
    let inv1 = format!("in_{n}_1");
    let inv2 = format!("in_{n}_2");
    let mut ev = Vec::new();
    let mut push = |id: &str, kind: &str, created: i64, obj: Value| {
        let id = format!("evt_{n}_{id}");
        ev.push((
            id.clone(),
            created,
            event_shaped(&id, kind, created, obj, shape),
        ));
    };
    push(
        "cs",
        "checkout.session.completed",
        t,
        checkout(&format!("cs_{n}"), &cus, &user, &sub, "complete", "paid"),
    );
    push(
        "cc",
        "customer.created",
        t + 1,
        customer(&cus, &format!("{user}@example.com")),
    );
    push(
        "sc",
        "customer.subscription.created",
        t + 2,
        subscription(&sub, &cus, "active", pe1, shape),
    );
    push(
        "ip1",
        "invoice.paid",
        t + 3,
        invoice(&inv1, &cus, &sub, "paid", 1, t + 2, shape),
    );
    push(
        "if",
        "invoice.payment_failed",
        pe1 + 10,
        invoice(&inv2, &cus, &sub, "open", 1, pe1, shape),
    );
    push(
        "su_pd",
        "customer.subscription.updated",
        pe1 + 11,
        subscription(&sub, &cus, "past_due", pe2, shape),
    );
    push(
        "ip2",
        "invoice.paid",
        pe1 + 90_000,
        invoice(&inv2, &cus, &sub, "paid", 2, pe1, shape),
    );
    push(
        "su_ok",
        "customer.subscription.updated",
        pe1 + 90_001,
        subscription(&sub, &cus, "active", pe2, shape),
    );
    if n % 2 == 0 {
        let mut canceling = subscription(&sub, &cus, "active", pe2, shape);
        canceling["cancel_at_period_end"] = json!(true);
        push(
            "su_cx",
            "customer.subscription.updated",
            pe1 + 100_000,
            canceling,
        );
        let mut dead = subscription(&sub, &cus, "canceled", pe2, shape);
        dead["ended_at"] = json!(pe2);
        dead["canceled_at"] = json!(pe1 + 100_000);
        push("sd", "customer.subscription.deleted", pe2 + 1, dead);
    }
    ev
}

/// A tiny deterministic PRNG (xorshift64*) for shuffles and kill timings in tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i as u64 + 1) as usize);
        }
    }
}

/// Events of customers `1..=n` in both shapes alternating, in created order.
pub fn many_histories(n: usize) -> Vec<(String, i64, Vec<u8>)> {
    let mut all: Vec<_> = (1..=n)
        .flat_map(|i| {
            history(
                i,
                if i % 2 == 0 {
                    Shape::Basil
                } else {
                    Shape::Legacy
                },
            )
        })
        .collect();
    all.sort_by_key(|(_, created, _)| *created);
    all
}

/// A comparable digest of the portal state of customers `1..=n`.
pub fn state_digest(e: &Engine, n: usize) -> Vec<String> {
    let now = T0 + 60_000_000;
    (1..=n)
        .map(|i| {
            let cus = format!("cus_{i}");
            let a = e.access(&cus, now).unwrap();
            let subs: Vec<_> = e
                .subscriptions(&cus)
                .unwrap()
                .into_iter()
                .map(|v| v.record)
                .collect();
            let inv = e.invoices(&cus).unwrap();
            format!("{a:?}|{subs:?}|{inv:?}")
        })
        .collect()
}

/// PostgreSQL test plumbing (server from `.ci/postgres.sh`).
#[cfg(feature = "postgres")]
pub mod pg;

/// The backend list the store-level suites loop over.
pub mod backend;
#[allow(unused_imports)]
pub use backend::{Backend, backends, with_pooler};

/// Delivers `bodies` (each `(body, created)`) as ONE group-committed batch: the pipeline is
/// held while one thread per delivery queues it, in the given order (each thread starts once
/// the previous delivery is queued), then released. Results in the same order. Deliveries
/// the store already holds are answered from a read and never queue, so only new ones are
/// waited for; batches beyond the pipeline's bound are split by it.
pub fn deliver_in_one_batch(
    e: &Engine,
    bodies: &[(Vec<u8>, i64)],
) -> Vec<tollbooth::Result<tollbooth::Handled>> {
    std::thread::scope(|s| {
        let hold = e.hold_commits();
        let mut handles = Vec::new();
        for (body, t) in bodies {
            let before = e.queued_commits();
            let h = s.spawn(move || deliver(e, body, *t));
            // Wait until this one queued (or was answered without queueing).
            while e.queued_commits() == before && !h.is_finished() {
                std::thread::yield_now();
            }
            handles.push(h);
        }
        drop(hold);
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}
