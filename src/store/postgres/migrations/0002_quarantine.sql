-- tollbooth PostgreSQL schema v2 (SQLite v5): authentic events that do not normalize are kept
-- (outcome 'quarantined') with the code that stopped them. The partial index makes the
-- quarantine count and the bulk reprocess cheap and costs nothing on ordinary writes.
ALTER TABLE events ADD COLUMN error_code TEXT;
CREATE INDEX events_quarantined ON events (received_at) WHERE outcome = 'quarantined';
