-- tollbooth schema v3: fewer pages written per webhook.
--
-- Every index on a table written by the ingest transaction is one more page in the WAL per
-- delivery. These two served only operator listings, which now walk the tables by rowid
-- (append order) instead: `events` newest first is arrival order; the delivery-log window
-- scans back from the newest row until it leaves the window.
DROP INDEX events_created;
DROP INDEX deliveries_at;
