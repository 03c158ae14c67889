-- tollbooth schema v8: state of tollbooth's own Stripe API work, and per-kind claim throttles.

-- One row per stream: an object type of `sync` ('customer', 'subscription', ...) or
-- 'events' for `catch-up`. A run pages newest first with `starting_after`; the cursor is the
-- last object applied, saved after every page, so a killed run resumes where it stopped.
CREATE TABLE stripe_sync_cursors (
    stream TEXT PRIMARY KEY,
    -- The run's filters as text (e.g. 'created[gte]=1700000000'); a resume needs the same.
    scope TEXT NOT NULL,
    starting_after TEXT,
    applied INTEGER NOT NULL DEFAULT 0,
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    -- NULL while the run is unfinished.
    completed_at INTEGER
);

-- Products and prices seen by `sync` (no billing state depends on them; the portal shows
-- plan names from here).
CREATE TABLE stripe_catalog (
    id TEXT PRIMARY KEY,
    object TEXT NOT NULL,
    active INTEGER,
    name TEXT,
    product_id TEXT,
    unit_amount INTEGER,
    currency TEXT,
    recurring_interval TEXT,
    fetched_at INTEGER NOT NULL
);

-- At most max_claims claims of a kind in any period_secs window, at most burst of them in any
-- period_secs * burst / max_claims window. Shared by every worker process through this file.
CREATE TABLE job_throttles (
    kind TEXT PRIMARY KEY,
    max_claims INTEGER NOT NULL CHECK (max_claims > 0),
    period_secs INTEGER NOT NULL CHECK (period_secs > 0),
    burst INTEGER NOT NULL CHECK (burst > 0)
);

-- One row per throttled claim inside the current window (older rows are pruned on claim).
CREATE TABLE job_throttle_claims (
    kind TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX job_throttle_claims_kind_at ON job_throttle_claims (kind, at);
