-- tollbooth PostgreSQL schema v7: payment lookups, orphan ticket jobs and pending payment
-- actions, as in SQLite's 0010_payments.sql.
CREATE TABLE payment_refs (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    created     BIGINT NOT NULL
);

CREATE TABLE orphan_jobs (
    ref_id TEXT NOT NULL,
    job_id BIGINT NOT NULL,
    PRIMARY KEY (ref_id, job_id)
);

CREATE TABLE payment_actions (
    invoice_id  TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    created     BIGINT NOT NULL
);
CREATE INDEX payment_actions_customer ON payment_actions (customer_id);

ALTER TABLE customers ADD COLUMN account TEXT;
CREATE INDEX customers_account_user ON customers (account, user_id) WHERE account IS NOT NULL;
