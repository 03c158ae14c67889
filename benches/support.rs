//! Bench bodies shared by `benches/webhook.rs` and `examples/scale.rs`.
//!
//! Bodies come from the baseline fixtures in `../shared/baselines/fixtures/` when that folder
//! exists (read at run time, never copied into the repo), else they are generated here with
//! the same Stripe shape and sizes. Every unique delivery gets a fresh event id (and a fresh
//! invoice id, so each one writes a new invoice row as a real `invoice.paid` does) by
//! rewriting the id bytes in place: same length, so the body size never changes.

#![allow(dead_code)] // each includer uses a part

use std::path::PathBuf;

/// The webhook secret every bench signs with.
pub const SECRET: &str = "whsec_bench_0123456789abcdef0123456789abcdef";

/// Body sizes benchmarked: label and the fixture size tag / generated target size.
pub const SIZES: &[(&str, usize)] = &[
    ("1k", 1_100),
    ("5k", 5_100),
    ("16k", 16_400),
    ("64k", 65_500),
];

/// The baseline folder (`TOLLBOOTH_BASELINES`, else `../shared/baselines` beside the repo).
pub fn baselines_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TOLLBOOTH_BASELINES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/baselines"),
        PathBuf::from,
    );
    dir.join("fixtures").is_dir().then_some(dir)
}

/// A body whose ids can be rewritten: the bytes and where each id's counter digits sit.
#[derive(Clone)]
pub struct Template {
    /// The event type.
    pub kind: &'static str,
    /// Where the bytes came from (`fixture` or `generated`).
    pub source: &'static str,
    body: Vec<u8>,
    /// Offsets of the last [`COUNTER_DIGITS`] bytes of the event id.
    event_id_at: Vec<usize>,
    /// Offsets of the last [`COUNTER_DIGITS`] bytes of every copy of the object id.
    object_id_at: Vec<usize>,
}

/// How many trailing id characters carry the delivery counter.
pub const COUNTER_DIGITS: usize = 12;

/// Offsets (just past the counter's first byte) of every quoted string that starts with
/// `prefix`, pointing at its last `COUNTER_DIGITS` characters.
fn id_slots(body: &[u8], prefix: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(pos) = find(&body[i..], prefix) {
        let start = i + pos + prefix.len();
        let end = start + body[start..].iter().position(|&b| b == b'"').unwrap_or(0);
        assert!(end - start > COUNTER_DIGITS, "id too short to rewrite");
        out.push(end - COUNTER_DIGITS);
        i = end;
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn write_counter(body: &mut [u8], at: &[usize], n: u64) {
    let digits = format!("{n:0width$}", width = COUNTER_DIGITS);
    for &o in at {
        body[o..o + COUNTER_DIGITS].copy_from_slice(digits.as_bytes());
    }
}

impl Template {
    /// A template from a body holding `"evt_...` and `object_prefix` ids.
    pub fn new(
        kind: &'static str,
        source: &'static str,
        body: Vec<u8>,
        object_prefix: &str,
    ) -> Template {
        let event_id_at = id_slots(&body, b"\"evt_");
        assert_eq!(event_id_at.len(), 1, "one event id expected");
        let object_id_at = id_slots(&body, format!("\"{object_prefix}").as_bytes());
        Template {
            kind,
            source,
            body,
            event_id_at,
            object_id_at,
        }
    }

    /// The body as is.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Body size in bytes.
    pub fn len(&self) -> usize {
        self.body.len()
    }

    /// Whether the body is empty (never, for a real template).
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }

    /// The body of delivery `n`: event id and object id end in `n`.
    pub fn unique(&self, n: u64) -> Vec<u8> {
        let mut b = self.body.clone();
        self.unique_into(&mut b, n);
        b
    }

    /// Rewrites `buf` (a copy of this template's body) for delivery `n`, without allocating.
    pub fn unique_into(&self, buf: &mut [u8], n: u64) {
        write_counter(buf, &self.event_id_at, n);
        write_counter(buf, &self.object_id_at, n);
    }

    /// Rewrites only the event id (the object stays the same one).
    pub fn with_event_id(&self, buf: &mut [u8], n: u64) {
        write_counter(buf, &self.event_id_at, n);
    }

    /// Rewrites only the object id.
    pub fn with_object_id(&self, buf: &mut [u8], n: u64) {
        write_counter(buf, &self.object_id_at, n);
    }
}

/// The `invoice.paid` and `invoice.payment_failed` templates of one size label.
pub fn invoice_templates(label: &str, target: usize) -> [Template; 2] {
    let kinds = ["invoice.paid", "invoice.payment_failed"];
    if let Some(dir) = baselines_dir() {
        let read = |kind: &str| std::fs::read(dir.join(format!("fixtures/{kind}.{label}.json")));
        if let (Ok(a), Ok(b)) = (read(kinds[0]), read(kinds[1])) {
            return [
                Template::new(kinds[0], "fixture", a, "in_"),
                Template::new(kinds[1], "fixture", b, "in_"),
            ];
        }
    }
    [
        Template::new(
            kinds[0],
            "generated",
            generate_invoice(kinds[0], target),
            "in_",
        ),
        Template::new(
            kinds[1],
            "generated",
            generate_invoice(kinds[1], target),
            "in_",
        ),
    ]
}

/// A Stripe-shaped invoice event (2025 API shape, pretty-printed) padded with line items to
/// about `target` bytes.
pub fn generate_invoice(kind: &str, target: usize) -> Vec<u8> {
    let failed = kind == "invoice.payment_failed";
    let (status, paid, attempts) = if failed {
        ("open", 0, 2)
    } else {
        ("paid", 2000, 1)
    };
    let line = |i: usize| {
        format!(
            r#"{{
          "id": "il_1QLine{i:017}",
          "object": "line_item",
          "amount": 2000,
          "currency": "usd",
          "description": "1 x Pro (at $20.00 / month)",
          "invoice": "in_1QInvoice00000000000001",
          "livemode": false,
          "metadata": {{}},
          "parent": {{
            "subscription_item_details": {{
              "subscription": "sub_1Q0000000000000000000000",
              "subscription_item": "si_Q000000000000{i:05}"
            }},
            "type": "subscription_item_details"
          }},
          "period": {{ "end": 1795592000, "start": 1793000000 }},
          "pricing": {{ "price_details": {{ "price": "price_1QPro000000000000000", "product": "prod_QPro0000000000" }}, "type": "price_details" }},
          "quantity": 1
        }}"#
        )
    };
    let head = format!(
        r#"{{
  "id": "evt_1Q0000000000000000000000",
  "object": "event",
  "api_version": "2025-03-31.basil",
  "created": 1793000000,
  "data": {{
    "object": {{
      "id": "in_1QInvoice00000000000001",
      "object": "invoice",
      "amount_due": 2000,
      "amount_paid": {paid},
      "amount_remaining": {rem},
      "attempt_count": {attempts},
      "billing_reason": "subscription_cycle",
      "created": 1792996400,
      "currency": "usd",
      "customer": "cus_QCustomer0000001",
      "customer_email": "jenny@example.com",
      "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1Q/test_Q",
      "invoice_pdf": "https://pay.stripe.com/invoice/acct_1Q/test_Q/pdf",
      "lines": {{
        "object": "list",
        "data": ["#,
        rem = 2000 - paid
    );
    let tail = r#"
        ],
        "has_more": false
      },
      "number": "QB1-0001",
      "parent": {
        "subscription_details": { "subscription": "sub_1Q0000000000000000000000" },
        "type": "subscription_details"
      },
      "status": "STATUS"
    }
  },
  "livemode": false,
  "pending_webhooks": 1,
  "request": { "id": null, "idempotency_key": null },
  "type": "KIND"
}
"#
    .replace("STATUS", status)
    .replace("KIND", kind);
    let mut body = head;
    let mut i = 0;
    loop {
        let l = line(i);
        if i > 0 && body.len() + l.len() + tail.len() + 2 > target {
            break;
        }
        if i > 0 {
            body.push(',');
        }
        body.push_str("\n        ");
        body.push_str(&l);
        i += 1;
    }
    body.push_str(&tail);
    body.into_bytes()
}

/// Percentile (0..=100) of sorted nanosecond samples.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
