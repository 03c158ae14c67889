-- tollbooth PostgreSQL schema v4: tollbooth's own Stripe API work (sync and catch-up cursors,
-- the product and price catalog) and per-kind claim throttles, as in SQLite's
-- 0008_stripe_api.sql.
CREATE TABLE stripe_sync_cursors (
    stream         TEXT PRIMARY KEY,
    scope          TEXT NOT NULL,
    starting_after TEXT,
    applied        BIGINT NOT NULL DEFAULT 0,
    started_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    completed_at   BIGINT
);

CREATE TABLE stripe_catalog (
    id                 TEXT PRIMARY KEY,
    object             TEXT NOT NULL,
    active             BOOLEAN,
    name               TEXT,
    product_id         TEXT,
    unit_amount        BIGINT,
    currency           TEXT,
    recurring_interval TEXT,
    fetched_at         BIGINT NOT NULL
);

CREATE TABLE job_throttles (
    kind        TEXT PRIMARY KEY,
    max_claims  BIGINT NOT NULL CHECK (max_claims > 0),
    period_secs BIGINT NOT NULL CHECK (period_secs > 0),
    burst       BIGINT NOT NULL CHECK (burst > 0)
);

CREATE TABLE job_throttle_claims (
    kind TEXT NOT NULL,
    at   BIGINT NOT NULL
);
CREATE INDEX job_throttle_claims_kind_at ON job_throttle_claims (kind, at);
