-- tollbooth PostgreSQL schema v1: the SQLite schema after its v1..v4 migrations, in PostgreSQL
-- types (BIGINT for unix seconds and counters, BOOLEAN for flags, BYTEA for the exact bytes
-- Stripe signed). Applied inside one transaction in the store's own schema (search_path is
-- set for the transaction); `schema_migrations` records it.

-- Raw events, exact bytes, one row per Stripe event id (the dedupe key).
CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    created     BIGINT NOT NULL,
    livemode    BOOLEAN NOT NULL,
    api_version TEXT,
    account     TEXT,
    object_id   TEXT,
    customer_id TEXT,
    outcome     TEXT NOT NULL,          -- processed | ignored | stale
    received_at BIGINT NOT NULL,
    body        BYTEA NOT NULL
);
CREATE INDEX events_customer ON events (customer_id, created) WHERE customer_id IS NOT NULL;

-- Every call to handle_webhook, accepted or rejected. Never the secret, never a rejected body.
CREATE TABLE deliveries (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    outcome     TEXT NOT NULL,          -- processed | duplicate | ignored | stale | rejected | failed
    reason      TEXT,                   -- error code for rejected / failed
    event_id    TEXT,
    event_type  TEXT,
    body_bytes  BIGINT NOT NULL,
    latency_us  BIGINT NOT NULL,
    lag_s       BIGINT                  -- at - event.created, when known
);

CREATE TABLE customers (
    id            TEXT PRIMARY KEY,
    email         TEXT,
    name          TEXT,
    deleted       BOOLEAN NOT NULL DEFAULT false,
    wm_event      TEXT NOT NULL,
    wm_created    BIGINT NOT NULL,
    wm_snapshot   BOOLEAN NOT NULL DEFAULT false,
    -- The app user link has its own watermark: checkout sessions and customer metadata both set it.
    user_id       TEXT,
    user_created  BIGINT
);
CREATE INDEX customers_user ON customers (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX customers_email ON customers (email) WHERE email IS NOT NULL;

CREATE TABLE subscriptions (
    id                   TEXT PRIMARY KEY,
    customer_id          TEXT NOT NULL,
    status               TEXT NOT NULL,
    status_since         BIGINT NOT NULL,
    price_id             TEXT,
    product_id           TEXT,
    current_period_end   BIGINT,
    cancel_at_period_end BOOLEAN NOT NULL,
    cancel_at            BIGINT,
    canceled_at          BIGINT,
    ended_at             BIGINT,
    trial_end            BIGINT,
    wm_event             TEXT NOT NULL,
    wm_created           BIGINT NOT NULL,
    wm_snapshot          BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id);

CREATE TABLE invoices (
    id                   TEXT PRIMARY KEY,
    customer_id          TEXT NOT NULL,
    subscription_id      TEXT,
    number               TEXT,
    status               TEXT,
    amount_due           BIGINT NOT NULL,
    amount_paid          BIGINT NOT NULL,
    amount_remaining     BIGINT NOT NULL,
    currency             TEXT NOT NULL,
    hosted_invoice_url   TEXT,
    invoice_pdf          TEXT,
    attempt_count        BIGINT NOT NULL,
    next_payment_attempt BIGINT,
    created              BIGINT NOT NULL,
    billing_reason       TEXT,
    wm_event             TEXT NOT NULL,
    wm_created           BIGINT NOT NULL,
    wm_snapshot          BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX invoices_customer ON invoices (customer_id, created);

CREATE TABLE checkout_sessions (
    id              TEXT PRIMARY KEY,
    customer_id     TEXT,
    user_id         TEXT,
    mode            TEXT,
    status          TEXT,
    payment_status  TEXT,
    state           TEXT NOT NULL,      -- complete | payment_pending | payment_failed | expired | open
    subscription_id TEXT,
    wm_event        TEXT NOT NULL,
    wm_created      BIGINT NOT NULL,
    wm_snapshot     BOOLEAN NOT NULL DEFAULT false
);

-- The transactional outbox. `coalesce` jobs keep at most one due row per (kind, key) that
-- is updated with the newest payload; other jobs exist once per (kind, key), ever. `queue` is
-- the kind's family before the first dot: one customer's jobs run in id order per queue.
CREATE TABLE jobs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    customer_id TEXT,
    "coalesce"  BOOLEAN NOT NULL,
    state       TEXT NOT NULL,          -- due | leased | done | dead | superseded
    payload     TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    run_at      BIGINT NOT NULL,
    lease_until BIGINT,
    lease_token BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    last_error  TEXT,
    event_id    TEXT,
    queue       TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX jobs_once ON jobs (kind, key) WHERE NOT "coalesce";
CREATE UNIQUE INDEX jobs_coalesce_due ON jobs (kind, key) WHERE "coalesce" AND state = 'due';
CREATE INDEX jobs_due ON jobs (state, kind, run_at, id);
CREATE INDEX jobs_due_any ON jobs (state, run_at, id);
CREATE INDEX jobs_queue_customer_open ON jobs (queue, customer_id, id) WHERE state IN ('due', 'leased');

CREATE TABLE job_attempts (
    job_id      BIGINT NOT NULL,
    attempt     BIGINT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    outcome     TEXT,                   -- completed | failed | lease_expired | replayed
    error       TEXT,
    PRIMARY KEY (job_id, attempt)
);
