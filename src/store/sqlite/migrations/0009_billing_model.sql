-- tollbooth schema v9: the rest of the billing model (issue 11 part A): every subscription
-- item, one-time purchases, and each customer's active Stripe Entitlements.

-- Every item of the subscription as JSON: [{"id","price_id","product_id","quantity"}, ...].
-- price_id/product_id stay the first item's, for existing readers.
ALTER TABLE subscriptions ADD COLUMN items TEXT NOT NULL DEFAULT '[]';

-- One row per one-time payment (keyed by PaymentIntent, else Checkout Session or charge),
-- merged from checkout, payment_intent and charge events; facts only accumulate, so the row
-- needs no watermark. `purchase` = 0 rows are payments not (yet) known to be purchases.
CREATE TABLE purchases (
    id                  TEXT PRIMARY KEY,
    customer_id         TEXT,
    user_id             TEXT,
    checkout_session_id TEXT,
    items               TEXT NOT NULL DEFAULT '[]',
    amount              INTEGER NOT NULL DEFAULT 0,
    currency            TEXT NOT NULL DEFAULT '',
    purchase            INTEGER NOT NULL DEFAULT 0,
    paid_at             INTEGER,
    refunded_at         INTEGER,
    amount_refunded     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX purchases_customer ON purchases (customer_id);
CREATE INDEX purchases_user ON purchases (user_id);

-- The latest entitlements.active_entitlement_summary per customer: the lookup keys as a JSON
-- array, under the watermark of the event that wrote them.
CREATE TABLE customer_features (
    customer_id TEXT PRIMARY KEY,
    features    TEXT NOT NULL,
    wm_event    TEXT NOT NULL,
    wm_created  INTEGER NOT NULL,
    wm_snapshot INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
