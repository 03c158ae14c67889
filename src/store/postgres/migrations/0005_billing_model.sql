-- tollbooth PostgreSQL schema v5: every subscription item, one-time purchases and each
-- customer's active Stripe Entitlements, as in SQLite's 0009_billing_model.sql.
ALTER TABLE subscriptions ADD COLUMN items TEXT NOT NULL DEFAULT '[]';

CREATE TABLE purchases (
    id                  TEXT PRIMARY KEY,
    customer_id         TEXT,
    user_id             TEXT,
    checkout_session_id TEXT,
    items               TEXT NOT NULL DEFAULT '[]',
    amount              BIGINT NOT NULL DEFAULT 0,
    currency            TEXT NOT NULL DEFAULT '',
    purchase            BOOLEAN NOT NULL DEFAULT FALSE,
    paid_at             BIGINT,
    refunded_at         BIGINT,
    amount_refunded     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX purchases_customer ON purchases (customer_id);
CREATE INDEX purchases_user ON purchases (user_id);

CREATE TABLE customer_features (
    customer_id TEXT PRIMARY KEY,
    features    TEXT NOT NULL,
    wm_event    TEXT NOT NULL,
    wm_created  BIGINT NOT NULL,
    wm_snapshot BOOLEAN NOT NULL DEFAULT FALSE
);
