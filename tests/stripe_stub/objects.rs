//! Stripe objects for the stub, built from the basil-era `data.object`s committed under
//! tests/fixtures/events/2025-03-31.basil (Stripe's documented shapes) and the product/price
//! fixtures under tests/fixtures/stripe_api, with ids, customers and times replaced.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// tests/fixtures of the repository (also from bindings/c, whose manifest is two levels down).
fn root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        here.join("tests/fixtures"),
        here.join("../../tests/fixtures"),
    ]
    .into_iter()
    .find(|p| p.join("stripe_api").exists())
    .expect("tests/fixtures/stripe_api")
}

/// A file of tests/fixtures/stripe_api as text.
pub fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(root().join("stripe_api").join(name)).unwrap()
}

fn event_object(name: &str) -> Value {
    let text = std::fs::read_to_string(
        root()
            .join("events/2025-03-31.basil")
            .join(format!("{name}.json")),
    )
    .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["data"]["object"].clone()
}

pub fn customer(id: &str, email: &str, created: i64) -> Value {
    let mut c = event_object("customer.created");
    c["id"] = json!(id);
    c["email"] = json!(email);
    c["created"] = json!(created);
    c
}

/// A subscription of `customer` with `status`, its period ending at `period_end`, linked to
/// app user `user`.
pub fn subscription(
    id: &str,
    customer: &str,
    status: &str,
    created: i64,
    period_end: i64,
    user: &str,
) -> Value {
    let mut s = event_object("customer.subscription.created");
    s["id"] = json!(id);
    s["customer"] = json!(customer);
    s["status"] = json!(status);
    s["created"] = json!(created);
    s["start_date"] = json!(created);
    s["metadata"] = json!({ "user_id": user });
    let item = &mut s["items"]["data"][0];
    item["subscription"] = json!(id);
    item["current_period_start"] = json!(period_end - 2_592_000);
    item["current_period_end"] = json!(period_end);
    if status == "canceled" {
        s["canceled_at"] = json!(created + 10);
        s["ended_at"] = json!(created + 10);
    }
    s
}

pub fn invoice(id: &str, customer: &str, subscription: &str, status: &str, created: i64) -> Value {
    let mut i = event_object("invoice.paid");
    i["id"] = json!(id);
    i["customer"] = json!(customer);
    i["status"] = json!(status);
    i["created"] = json!(created);
    i["parent"]["subscription_details"]["subscription"] = json!(subscription);
    i
}

pub fn checkout_session(
    id: &str,
    customer: &str,
    subscription: &str,
    user: &str,
    created: i64,
) -> Value {
    let mut c = event_object("checkout.session.completed");
    c["id"] = json!(id);
    c["customer"] = json!(customer);
    c["subscription"] = json!(subscription);
    c["client_reference_id"] = json!(user);
    c["metadata"] = json!({ "user_id": user });
    c["created"] = json!(created);
    c
}

pub fn product(id: &str, name: &str, created: i64) -> Value {
    let mut p: Value = serde_json::from_str(&fixture_text("product.json")).unwrap();
    p["id"] = json!(id);
    p["name"] = json!(name);
    p["created"] = json!(created);
    p
}

pub fn price(id: &str, product: &str, amount: i64, created: i64) -> Value {
    let mut p: Value = serde_json::from_str(&fixture_text("price.json")).unwrap();
    p["id"] = json!(id);
    p["product"] = json!(product);
    p["unit_amount"] = json!(amount);
    p["created"] = json!(created);
    p
}

/// An event envelope around `object`, as `GET /v1/events` lists it.
pub fn event(id: &str, kind: &str, created: i64, object: Value) -> Value {
    json!({
        "id": id, "object": "event", "api_version": "2025-03-31.basil", "created": created,
        "livemode": false, "pending_webhooks": 0, "request": {"id": null, "idempotency_key": null},
        "type": kind, "data": {"object": object}
    })
}

/// A small account: `n` customers, each with a subscription (every 7th canceled, every 5th
/// past_due), an invoice and a checkout session linking app user `user_{i}`; two products
/// and three prices. Times count up from `t0`, one second per customer.
pub fn account(n: usize, t0: i64) -> Account {
    let mut a = Account::default();
    for i in 0..n {
        let t = t0 + i as i64;
        let (cus, sub) = (format!("cus_{i:06}"), format!("sub_{i:06}"));
        let user = format!("user_{i}");
        let status = if i % 7 == 3 {
            "canceled"
        } else if i % 5 == 4 {
            "past_due"
        } else {
            "active"
        };
        a.customers
            .push(customer(&cus, &format!("c{i}@example.com"), t));
        a.subscriptions
            .push(subscription(&sub, &cus, status, t, t0 + 40 * 86_400, &user));
        a.invoices
            .push(invoice(&format!("in_{i:06}"), &cus, &sub, "paid", t));
        a.sessions.push(checkout_session(
            &format!("cs_{i:06}"),
            &cus,
            &sub,
            &user,
            t,
        ));
    }
    a.products = vec![
        product("prod_pro", "Pro", t0),
        product("prod_team", "Team", t0 + 1),
    ];
    a.prices = vec![
        price("price_pro_m", "prod_pro", 2900, t0),
        price("price_pro_y", "prod_pro", 29000, t0 + 1),
        price("price_team_m", "prod_team", 9900, t0 + 2),
    ];
    a
}

/// Objects of one account, by list endpoint.
#[derive(Default, Clone)]
pub struct Account {
    pub customers: Vec<Value>,
    pub subscriptions: Vec<Value>,
    pub invoices: Vec<Value>,
    pub sessions: Vec<Value>,
    pub products: Vec<Value>,
    pub prices: Vec<Value>,
}

impl Account {
    /// Serves everything from `stub`.
    pub fn serve(&self, stub: &super::Stub) {
        stub.add("/v1/customers", self.customers.clone());
        stub.add("/v1/subscriptions", self.subscriptions.clone());
        stub.add("/v1/invoices", self.invoices.clone());
        stub.add("/v1/checkout/sessions", self.sessions.clone());
        stub.add("/v1/products", self.products.clone());
        stub.add("/v1/prices", self.prices.clone());
    }

    pub fn len(&self) -> usize {
        self.customers.len()
            + self.subscriptions.len()
            + self.invoices.len()
            + self.sessions.len()
            + self.products.len()
            + self.prices.len()
    }
}
