-- tollbooth PostgreSQL schema v5: events by arrival, newest first. SQLite reads its newest
-- events in rowid order for free; PostgreSQL has no insertion order, so `tollbooth doctor`'s
-- livemode sample (the newest 1,000 stored events) walks this index backwards instead of
-- sorting the whole table: its cost stays bounded however many events are stored.
CREATE INDEX events_received ON events (received_at);
