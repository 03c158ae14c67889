-- tollbooth schema v11: what decides access when a trial ends without a payment method.
-- `trial_missing_payment_method` is Stripe's trial_settings.end_behavior.missing_payment_method
-- (cancel, pause, create_invoice; NULL = Stripe's default, create_invoice);
-- `has_payment_method` says the subscription names a default payment method. Rows written
-- before this migration read as "no end behaviour": access follows the status, as before.
ALTER TABLE subscriptions ADD COLUMN trial_missing_payment_method TEXT;
ALTER TABLE subscriptions ADD COLUMN has_payment_method INTEGER NOT NULL DEFAULT 0;
-- A customer's invoice_settings.default_payment_method also converts a trial.
ALTER TABLE customers ADD COLUMN has_payment_method INTEGER NOT NULL DEFAULT 0;
