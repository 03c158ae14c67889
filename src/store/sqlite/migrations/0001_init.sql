-- tollbooth schema v1. Applied inside one transaction; PRAGMA user_version records it.
-- Every billing row carries the watermark (event id + created) of what last wrote it.

-- Raw events, exact bytes, one row per Stripe event id (the dedupe key).
CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    created     INTEGER NOT NULL,
    livemode    INTEGER NOT NULL,
    api_version TEXT,
    account     TEXT,
    object_id   TEXT,
    customer_id TEXT,
    outcome     TEXT NOT NULL,          -- processed | ignored | stale
    received_at INTEGER NOT NULL,
    body        BLOB NOT NULL
);
CREATE INDEX events_customer ON events (customer_id, created) WHERE customer_id IS NOT NULL;
CREATE INDEX events_created ON events (created);

-- Every call to handle_webhook, accepted or rejected. Never the secret, never a rejected body.
CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    outcome     TEXT NOT NULL,          -- processed | duplicate | ignored | stale | rejected | failed
    reason      TEXT,                   -- error code for rejected / failed
    event_id    TEXT,
    event_type  TEXT,
    body_bytes  INTEGER NOT NULL,
    latency_us  INTEGER NOT NULL,
    lag_s       INTEGER                 -- at - event.created, when known
);
CREATE INDEX deliveries_at ON deliveries (at);

CREATE TABLE customers (
    id            TEXT PRIMARY KEY,
    email         TEXT,
    name          TEXT,
    deleted       INTEGER NOT NULL DEFAULT 0,
    wm_event      TEXT NOT NULL,
    wm_created    INTEGER NOT NULL,
    wm_snapshot   INTEGER NOT NULL DEFAULT 0,
    -- The app user link has its own watermark: checkout sessions and customer metadata both set it.
    user_id       TEXT,
    user_created  INTEGER
) WITHOUT ROWID;
CREATE INDEX customers_user ON customers (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX customers_email ON customers (email) WHERE email IS NOT NULL;

CREATE TABLE subscriptions (
    id                   TEXT PRIMARY KEY,
    customer_id          TEXT NOT NULL,
    status               TEXT NOT NULL,
    status_since         INTEGER NOT NULL,
    price_id             TEXT,
    product_id           TEXT,
    current_period_end   INTEGER,
    cancel_at_period_end INTEGER NOT NULL,
    cancel_at            INTEGER,
    canceled_at          INTEGER,
    ended_at             INTEGER,
    trial_end            INTEGER,
    wm_event             TEXT NOT NULL,
    wm_created           INTEGER NOT NULL,
    wm_snapshot          INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX subscriptions_customer ON subscriptions (customer_id);

CREATE TABLE invoices (
    id                   TEXT PRIMARY KEY,
    customer_id          TEXT NOT NULL,
    subscription_id      TEXT,
    number               TEXT,
    status               TEXT,
    amount_due           INTEGER NOT NULL,
    amount_paid          INTEGER NOT NULL,
    amount_remaining     INTEGER NOT NULL,
    currency             TEXT NOT NULL,
    hosted_invoice_url   TEXT,
    invoice_pdf          TEXT,
    attempt_count        INTEGER NOT NULL,
    next_payment_attempt INTEGER,
    created              INTEGER NOT NULL,
    billing_reason       TEXT,
    wm_event             TEXT NOT NULL,
    wm_created           INTEGER NOT NULL,
    wm_snapshot          INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
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
    wm_created      INTEGER NOT NULL,
    wm_snapshot     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- The transactional outbox. `coalesce` jobs keep at most one due row per (kind, key) that
-- is updated with the newest payload; other jobs exist once per (kind, key), ever.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    customer_id TEXT,
    coalesce    INTEGER NOT NULL,
    state       TEXT NOT NULL,          -- due | leased | done | dead
    payload     TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_at      INTEGER NOT NULL,
    lease_until INTEGER,
    lease_token INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    last_error  TEXT,
    event_id    TEXT
);
CREATE UNIQUE INDEX jobs_once ON jobs (kind, key) WHERE coalesce = 0;
CREATE UNIQUE INDEX jobs_coalesce_due ON jobs (kind, key) WHERE coalesce = 1 AND state = 'due';
CREATE INDEX jobs_due ON jobs (state, kind, run_at, id);
CREATE INDEX jobs_customer ON jobs (kind, customer_id, id) WHERE customer_id IS NOT NULL;

CREATE TABLE job_attempts (
    job_id      INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    outcome     TEXT,                   -- completed | failed | lease_expired | replayed
    error       TEXT,
    PRIMARY KEY (job_id, attempt)
) WITHOUT ROWID;
