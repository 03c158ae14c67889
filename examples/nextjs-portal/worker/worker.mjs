#!/usr/bin/env node
// The portal's job worker: runs beside `next start`, on the same tollbooth database.
//
// It claims due jobs from tollbooth's outbox, performs each side effect against the CRM and the
// helpdesk with the job's key as the Idempotency-Key (and as the external id, so a retried call
// upserts instead of duplicating), then completes the job, or fails it so tollbooth retries it
// with backoff (and dead-letters it after maxAttempts, for an operator to replay from /admin).
//
// Env: TOLLBOOTH_DB or a postgres:// DATABASE_URL, STRIPE_WEBHOOK_SECRET (the engine wants one; the worker verifies nothing),
// CRM_URL, HELPDESK_URL, WORKER_BATCH (10), WORKER_LEASE_S (60), WORKER_POLL_MS (250),
// CALL_TIMEOUT_MS (1500), WORKER_MAX_ATTEMPTS (tollbooth's default), STRIPE_SECRET_KEY and
// STRIPE_API_BASE (only for the Stripe jobs, stripe.reconcile and stripe.fetch_event, which
// tollbooth works off itself: tb.workStripeJobs).
import { setTimeout as sleep } from 'node:timers/promises';
import { Tollbooth } from 'tollbooth';

const env = process.env;
const CRM_URL = env.CRM_URL ?? 'http://127.0.0.1:4010';
const HELPDESK_URL = env.HELPDESK_URL ?? 'http://127.0.0.1:4020';
const BATCH = Number(env.WORKER_BATCH ?? 10);
const LEASE_S = Number(env.WORKER_LEASE_S ?? 60);
const POLL_MS = Number(env.WORKER_POLL_MS ?? 250);
const CALL_TIMEOUT_MS = Number(env.CALL_TIMEOUT_MS ?? 1500);

// The same configuration as the server (Tollbooth.fromEnv: TOLLBOOTH_DB, STRIPE_WEBHOOK_SECRET,
// ...), and the same database rule as lib/tollbooth.ts: a postgres:// DATABASE_URL when
// TOLLBOOTH_DB is unset. Opening the store now, off the event loop, makes a bad path or an
// unreachable server fail at start, not at the first job.
const postgres = !env.TOLLBOOTH_DB && /^postgres(ql)?:\/\//.test(env.DATABASE_URL ?? '');
const tb = Tollbooth.fromEnv({
  ...(postgres ? { database: env.DATABASE_URL } : {}),
  ...(env.WORKER_MAX_ATTEMPTS ? { maxAttempts: Number(env.WORKER_MAX_ATTEMPTS) } : {}),
});
await tb.open();

const log = (fields) => console.log(JSON.stringify({ t: new Date().toISOString(), ...fields }));

class CallError extends Error {}

/** One HTTP call to a downstream service; throws CallError on a non-2xx answer or a timeout. */
async function call(method, url, job, body) {
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: { 'content-type': 'application/json', 'idempotency-key': job.key },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
  } catch (err) {
    const what = err?.name === 'TimeoutError' ? `timeout after ${CALL_TIMEOUT_MS} ms` : `network error (${err?.cause?.code ?? err?.name})`;
    throw new CallError(`${method} ${new URL(url).pathname}: ${what}`);
  }
  const text = await res.text();
  if (!res.ok) throw new CallError(`${method} ${new URL(url).pathname}: HTTP ${res.status}`);
  return text ? JSON.parse(text) : null;
}

const path = (s) => encodeURIComponent(s);

function money(minor, currency) {
  return `${(minor / 100).toFixed(2)} ${String(currency ?? '').toUpperCase()}`;
}

const handlers = {
  /** Upsert the CRM contact whose external id is the Stripe customer id (= the job key). */
  async 'crm.sync_customer'(job) {
    const c = job.payload.customer ?? {};
    await call('PUT', `${CRM_URL}/contacts/${path(job.key)}`, job, {
      email: c.email ?? null,
      name: c.name ?? null,
      user_id: c.user_id ?? null,
      deleted: Boolean(c.deleted),
      subscriptions: c.subscriptions ?? [],
    });
  },

  /** Open a helpdesk ticket whose external id is the job key (invoice attempt, refund, dispute). */
  async 'support.open_ticket'(job) {
    const p = job.payload;
    let subject;
    let body;
    let reference;
    if (p.invoice) {
      const inv = p.invoice;
      reference = `invoice:${inv.id}`;
      subject = `Payment failed for invoice ${inv.number ?? inv.id} (attempt ${inv.attempt_count})`;
      body = `${money(inv.amount_due, inv.currency)} could not be charged. The customer was asked to update their card.`;
    } else if (p.refund) {
      reference = job.key;
      subject = `Refund issued (${p.refund.id ?? job.key})`;
      body = 'A charge was refunded; check whether the customer needs a follow-up.';
    } else if (p.dispute) {
      reference = job.key;
      subject = `Payment disputed (${p.dispute.id ?? job.key})`;
      body = 'The customer disputed a payment. Respond with evidence in Stripe before the deadline.';
    } else {
      reference = job.key;
      subject = `Billing follow-up (${p.reason ?? job.key})`;
      body = 'See the Stripe dashboard.';
    }
    await call('PUT', `${HELPDESK_URL}/tickets/${path(job.key)}`, job, {
      customer_id: job.customerId ?? p.customer_id ?? null,
      subject,
      body,
      reference,
    });
  },

  /** Close the tickets opened for an invoice whose payment has now gone through. */
  async 'support.close_ticket'(job) {
    const inv = job.payload.invoice;
    const prefix = `invoice:${inv.id}:`;
    // tollbooth orders jobs per customer within a kind only: an "open" for this invoice may still
    // be pending (e.g. waiting for a retry). Close after it, never before.
    const opens = await tb.jobs({ kind: 'support.open_ticket', customerId: job.customerId ?? undefined, limit: 500 });
    const pendingOpen = opens.some((j) => j.key.startsWith(prefix) && (j.state === 'due' || j.state === 'leased'));
    if (pendingOpen) throw new CallError(`waiting for the open_ticket jobs of invoice ${inv.id}`);
    const { tickets } = await call('GET', `${HELPDESK_URL}/tickets?reference=${path(`invoice:${inv.id}`)}&status=open`, job);
    for (const t of tickets) {
      await call('POST', `${HELPDESK_URL}/tickets/${path(t.external_id)}/close`, job, {
        note: `Invoice ${inv.number ?? inv.id} paid on attempt ${inv.attempt_count}: payment recovered.`,
      });
    }
  },

  /** Note on the CRM contact that the portal access ended. */
  async 'portal.access_revoked'(job) {
    const s = job.payload.subscription ?? {};
    await call('PUT', `${CRM_URL}/notes/${path(`access_revoked:${job.key}`)}`, job, {
      contact: job.customerId ?? job.payload.customer_id ?? null,
      text: `Portal access revoked: subscription ${s.id ?? job.key} is ${s.status ?? 'ended'}.`,
    });
  },
};

async function runJob(job) {
  const started = Date.now();
  const handler = handlers[job.kind];
  try {
    if (!handler) throw new CallError(`no handler for job kind ${job.kind}`);
    await handler(job);
    await tb.completeJob(job.id, job.leaseToken);
    log({ job: job.id, kind: job.kind, key: job.key, attempt: job.attempt, result: 'done', ms: Date.now() - started });
  } catch (err) {
    if (err?.code === 'LEASE_LOST' || err?.code === 'JOB_NOT_FOUND') {
      log({ job: job.id, kind: job.kind, result: 'lease_lost' });
      return;
    }
    const message = err instanceof CallError ? err.message : `unexpected: ${err?.code ?? err?.message ?? err}`;
    try {
      const r = await tb.failJob(job.id, job.leaseToken, message);
      log({ job: job.id, kind: job.kind, key: job.key, attempt: job.attempt, result: r.state, error: message, nextAttemptAt: r.nextAttemptAt });
    } catch (e) {
      log({ job: job.id, kind: job.kind, result: 'fail_not_recorded', error: String(e?.code ?? e) });
    }
  }
}

/** Jobs of one customer run one after another (claim order); different customers in parallel. */
async function runBatch(jobs) {
  const byCustomer = new Map();
  for (const j of jobs) {
    const k = j.customerId ?? `job:${j.id}`;
    if (!byCustomer.has(k)) byCustomer.set(k, []);
    byCustomer.get(k).push(j);
  }
  await Promise.all(
    [...byCustomer.values()].map(async (group) => {
      for (const j of group) await runJob(j);
    }),
  );
}

// The kinds this worker performs itself; the Stripe jobs are tollbooth's own (below).
const KINDS = Object.keys(handlers);

/**
 * The Stripe jobs: stripe.reconcile (two events about one object in the same second that
 * disagree) and stripe.fetch_event (a thin event whose full object must be fetched). tollbooth
 * claims them, fetches from Stripe's API, applies what it got and completes each job, or fails
 * it with backoff (or Stripe's Retry-After). Returns how many it claimed.
 */
async function workStripeJobs() {
  if (!env.STRIPE_SECRET_KEY) return 0;
  try {
    const r = await tb.workStripeJobs({ apiKey: env.STRIPE_SECRET_KEY, baseUrl: env.STRIPE_API_BASE || undefined, limit: BATCH, leaseSeconds: LEASE_S });
    if (r.claimed) log({ kind: 'stripe.*', claimed: r.claimed, completed: r.completed, changed: r.changed, failed: r.failed.map((f) => ({ job: f.jobId, code: f.code, result: f.result.state })) });
    return r.claimed;
  } catch (err) {
    // Only a store failure lands here (Stripe's failures fail the job); the codes carry no key.
    log({ msg: 'stripe jobs failed', code: err?.code ?? String(err) });
    return 0;
  }
}

let stopping = false;
const stop = () => {
  stopping = true;
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// Never the URL itself: it holds the database password.
log({ msg: 'worker started', database: postgres ? 'DATABASE_URL (PostgreSQL)' : env.TOLLBOOTH_DB || 'data/tollbooth.db', crm: CRM_URL, helpdesk: HELPDESK_URL });
while (!stopping) {
  let jobs = [];
  try {
    jobs = await tb.claimJobs({ kinds: KINDS, limit: BATCH, leaseSeconds: LEASE_S });
  } catch (err) {
    log({ msg: 'claim failed', code: err?.code ?? String(err) });
  }
  if (jobs.length) await runBatch(jobs);
  const stripeJobs = await workStripeJobs();
  if (!jobs.length && !stripeJobs) await sleep(POLL_MS);
}
await tb.close();
log({ msg: 'worker stopped' });
