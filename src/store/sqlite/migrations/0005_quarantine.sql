-- tollbooth schema v5: authentic events that do not normalize are kept (outcome
-- 'quarantined') with the code that stopped them, instead of being refused with a 4xx that
-- Stripe would retry for days. The partial index makes the quarantine count and the bulk
-- reprocess cheap and costs nothing on the write path of ordinary events.
ALTER TABLE events ADD COLUMN error_code TEXT;
CREATE INDEX events_quarantined ON events (received_at) WHERE outcome = 'quarantined';
