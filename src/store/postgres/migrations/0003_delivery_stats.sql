-- tollbooth PostgreSQL schema v3 (SQLite v6 + v7): which configured secret verified each
-- delivery (NULL: trusted input or not verified), and delivery counts per minute, outcome and
-- reason, maintained as rows are logged, so metrics and health read a handful of rows whatever
-- the traffic.
ALTER TABLE deliveries ADD COLUMN secret_index BIGINT;
CREATE TABLE delivery_stats (
    minute  BIGINT NOT NULL,    -- unix seconds / 60
    outcome TEXT NOT NULL,
    reason  TEXT NOT NULL DEFAULT '',
    count   BIGINT NOT NULL,
    PRIMARY KEY (minute, outcome, reason)
);
INSERT INTO delivery_stats (minute, outcome, reason, count)
    SELECT floor(at / 60.0)::bigint, outcome, coalesce(reason, ''), count(*) FROM deliveries GROUP BY 1, 2, 3;
