-- tollbooth schema v4: per-customer ordering by queue (the kind's family before the first
-- dot), not by kind. `support.close_ticket` must not run before the `support.open_ticket` it
-- closes; `crm.*` and `support.*` stay independent, so a slow CRM never holds up a ticket.
ALTER TABLE jobs ADD COLUMN queue TEXT NOT NULL DEFAULT '';
UPDATE jobs SET queue = substr(kind, 1, instr(kind || '.', '.') - 1);
DROP INDEX jobs_customer_open;
CREATE INDEX jobs_queue_customer_open ON jobs (queue, customer_id, id) WHERE state IN ('due', 'leased');
