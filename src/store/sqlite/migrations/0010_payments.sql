-- tollbooth schema v10: what refund, dispute and payment-action tickets need beyond the billing
-- rows.

-- Which customer a charge or PaymentIntent belongs to, learned from the events that carry both
-- (charges, refunds of them). A dispute or a refund names only its charge and PaymentIntent;
-- its ticket's customer is looked up here.
CREATE TABLE payment_refs (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    created INTEGER NOT NULL
);

-- Ticket jobs written before their customer was known, by the charge / PaymentIntent that will
-- tell: when payment_refs learns it, the still-due jobs get their customer, so the outbox ends
-- the same whatever order Stripe delivered the events in.
CREATE TABLE orphan_jobs (
    ref_id TEXT NOT NULL,
    job_id INTEGER NOT NULL,
    PRIMARY KEY (ref_id, job_id)
);

-- Invoices whose payment needs the customer (3-D Secure / SCA,
-- `invoice.payment_action_required`). It is pending while the stored invoice is still open.
CREATE TABLE payment_actions (
    invoice_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    created INTEGER NOT NULL
);
CREATE INDEX payment_actions_customer ON payment_actions (customer_id);

-- Connect: the connected account a customer belongs to (NULL: the platform's own). A user link
-- answers only within its account, so a connected account's `client_reference_id: user_42`
-- never stands for the platform's user_42.
ALTER TABLE customers ADD COLUMN account TEXT;
CREATE INDEX customers_account_user ON customers (account, user_id) WHERE account IS NOT NULL;
