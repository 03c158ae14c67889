-- tollbooth PostgreSQL schema v8: what decides access when a trial ends without a payment
-- method (subscription and customer), as in SQLite's 0011_trial_end_behavior.sql.
ALTER TABLE subscriptions ADD COLUMN trial_missing_payment_method TEXT;
ALTER TABLE subscriptions ADD COLUMN has_payment_method BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE customers ADD COLUMN has_payment_method BOOLEAN NOT NULL DEFAULT FALSE;
