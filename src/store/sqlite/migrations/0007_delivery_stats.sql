-- tollbooth schema v7: delivery counts per minute, outcome and reason, maintained as rows are
-- logged, so metrics and health read a handful of rows whatever the traffic, and requests that
-- are not authentic deliveries are counted here instead of logged one row each.
CREATE TABLE delivery_stats (
    minute  INTEGER NOT NULL,   -- unix seconds / 60
    outcome TEXT NOT NULL,
    reason  TEXT NOT NULL DEFAULT '',
    count   INTEGER NOT NULL,
    PRIMARY KEY (minute, outcome, reason)
) WITHOUT ROWID;
INSERT INTO delivery_stats (minute, outcome, reason, count)
    SELECT at / 60, outcome, coalesce(reason, ''), count(*) FROM deliveries GROUP BY 1, 2, 3;
