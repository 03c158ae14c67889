-- tollbooth schema v2: indexes that keep `claim` O(jobs handed out), whatever the backlog.
--
-- A claim over every kind could not use v1's jobs_due (state, kind, run_at, id) for run_at
-- order, so it read and sorted every due job (O(backlog) per claim: ~19 ms with 10,000 due
-- jobs). jobs_due_any serves that claim in order; jobs_due still serves one-kind claims.
CREATE INDEX jobs_due_any ON jobs (state, run_at, id);

-- The per-customer ordering check only looks for older *open* jobs of the same kind and
-- customer; v1's index held every job ever (done ones included), so the check walked a
-- customer's whole history. The partial index holds open jobs only: small, and cheap to keep.
DROP INDEX jobs_customer;
CREATE INDEX jobs_customer_open ON jobs (kind, customer_id, id) WHERE state IN ('due', 'leased');
