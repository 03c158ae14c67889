#!/usr/bin/env node
// Loaded-route measurement of the webhook route under `next start` (issue 7).
//
// Sends signed, unique Stripe-shaped events (a new event id and customer per request, a mix of
// checkout.session.completed / customer.subscription.updated / invoice.paid) with autocannon at
// concurrency 1, 10 and 50, each step bounded by a request count and a time limit. Reports
// p50/p95/p99 latency, throughput and non-2xx, against the bar p95 < 300 ms.
//
// By default it starts its own stack (stub services, `next start`, the worker) on loopback with a
// fresh database; needs a production build (`next build`). To measure a server that is already
// running: BASE_URL=http://127.0.0.1:3000 STRIPE_WEBHOOK_SECRET=whsec_... node load/load.mjs
// LOAD_SCALE=0.2 shortens every step (for a quick check); LOAD_WORKER=0 leaves the worker out.
import autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { signTestPayload } from 'tollbooth';
import { runSecrets, startStack } from '../e2e/harness.mjs';
import * as S from '../e2e/stripe-events.mjs';

const BAR_P95_MS = 300;
const SCALE = Number(process.env.LOAD_SCALE ?? 1);
const STEPS = [
  { connections: 1, amount: Math.ceil(600 * SCALE), maxSeconds: 60 },
  { connections: 10, amount: Math.ceil(3000 * SCALE), maxSeconds: 60 },
  { connections: 50, amount: Math.ceil(5000 * SCALE), maxSeconds: 90 },
];

let stack;
let workDir;
let baseUrl = process.env.BASE_URL;
let secret = process.env.STRIPE_WEBHOOK_SECRET;
if (!baseUrl) {
  const secrets = runSecrets();
  secret = secrets.STRIPE_WEBHOOK_SECRET;
  workDir = mkdtempSync(join(tmpdir(), 'portal-load-'));
  stack = await startStack({ workDir, secrets, faultRate: 0, worker: process.env.LOAD_WORKER !== '0' });
  baseUrl = stack.baseUrl;
}
if (!secret) throw new Error('STRIPE_WEBHOOK_SECRET must be set with BASE_URL');
const url = `${baseUrl}/api/webhooks/stripe`;

/** A unique, signed delivery (body + headers) for request number `n`. */
function delivery(n) {
  const now = Math.floor(Date.now() / 1000);
  const cus = S.sid('cus');
  const sub = S.sid('sub');
  let evt;
  switch (n % 3) {
    case 0:
      evt = S.event('checkout.session.completed', S.checkoutSession({ id: S.sid('cs_test'), customer: cus, subscription: sub, userId: `user_load_${n}`, email: `load${n}@example.com`, name: `Load ${n}` }), now);
      break;
    case 1:
      evt = S.event('customer.subscription.updated', S.subscription({ id: sub, customer: cus, status: 'active', periodStart: now - 86_400 }), now);
      break;
    default:
      evt = S.event('invoice.paid', S.invoice({ id: S.sid('in'), number: `LOAD-${n}`, customer: cus, subscription: sub, status: 'paid', created: now, attemptCount: 1 }), now);
  }
  const body = JSON.stringify(evt);
  return { body, headers: { 'content-type': 'application/json', 'stripe-signature': signTestPayload(body, secret, now) } };
}

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

let counter = 0;
async function step({ connections, amount, maxSeconds, label, baseline = false }) {
  const latencies = [];
  const outcomes = {};
  const load1 = loadavg()[0];
  const instance = autocannon({
    url: baseline ? `${baseUrl}/api/live` : url,
    method: baseline ? 'GET' : 'POST',
    connections,
    amount,
    timeout: 10,
    requests: baseline ? undefined : [
      {
        method: 'POST',
        setupRequest(req) {
          const d = delivery(counter++);
          return { ...req, method: 'POST', path: '/api/webhooks/stripe', body: d.body, headers: { ...req.headers, ...d.headers } };
        },
        onResponse(status, body) {
          let key = `HTTP ${status}`;
          try {
            key = JSON.parse(body).outcome ?? JSON.parse(body).error ?? key;
          } catch {
            /* not JSON */
          }
          outcomes[key] = (outcomes[key] ?? 0) + 1;
        },
      },
    ],
  });
  const tStart = performance.now();
  const slow = [];
  instance.on('response', (_client, _status, _bytes, ms) => {
    latencies.push(ms);
    if (process.env.LOAD_DEBUG && ms > 500) slow.push(`${((performance.now() - tStart) / 1000).toFixed(2)}s:${ms.toFixed(0)}ms`);
  });
  const guard = setTimeout(() => instance.stop(), maxSeconds * 1000);
  const t0 = performance.now();
  const result = await instance;
  const seconds = (performance.now() - t0) / 1000;
  clearTimeout(guard);
  latencies.sort((a, b) => a - b);
  if (slow.length) console.error(`slow responses (time since start: latency): ${slow.join(' ')}`);
  return {
    label: label ?? `${baseline ? 'GET /api/live' : 'webhook'} c=${connections}`,
    baseline,
    load1,
    connections,
    requests: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies.at(-1),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    outcomes,
  };
}

const rows = [];
try {
  // Warm-up: the first requests load the route, open the database and let V8 optimise;
  // 50 connections, so the c=50 step does not measure the server's first burst of connections.
  await step({ connections: 50, amount: 600, maxSeconds: 30, label: 'warm-up' });
  await step({ connections: 50, amount: 300, maxSeconds: 30, label: 'warm-up', baseline: true });
  for (const s of STEPS) {
    // The webhook route, then a baseline: Next.js's own cost for a trivial route at the same
    // concurrency (GET /api/live, which touches no store), to tell Next.js and the machine from tollbooth.
    for (const baseline of [false, true]) {
      const r = await step({ ...s, baseline, amount: baseline ? Math.ceil(s.amount / 2) : s.amount });
      rows.push(r);
      console.error(`done ${r.label}: ${r.requests} requests in ${r.seconds.toFixed(1)} s (load average ${r.load1.toFixed(2)})`);
    }
  }
} finally {
  await stack?.stopAll();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}

const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : '—');
console.log(`\nWebhook route under load: POST ${url.replace(/:\d+/, ':<port>')} (next start, ${stack ? (process.env.LOAD_WORKER === '0' ? 'no worker' : 'worker and stub services running beside it') : 'external server'})`);
console.log(`machine: ${process.env.LOAD_NOTE ?? ''}load average at each step start shown; 2 cores shared by server, worker, stubs and load generator`);
console.log('| route | concurrency | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | non-2xx | errors | load avg | p95 vs 300 ms bar |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
for (const r of rows) {
  const verdict = r.baseline ? '(baseline)' : r.p95 < BAR_P95_MS ? `${f(BAR_P95_MS - r.p95)} ms under (${f(BAR_P95_MS / r.p95)}x headroom)` : `OVER by ${f(r.p95 - BAR_P95_MS)} ms`;
  console.log(`| ${r.baseline ? 'GET /api/live' : 'POST webhook'} | ${r.connections} | ${r.requests} | ${f(r.rps)} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.p99)} | ${f(r.max)} | ${r.non2xx} | ${r.errors} | ${r.load1.toFixed(2)} | ${verdict} |`);
}
const hooks = rows.filter((r) => !r.baseline);
console.log(`\nwebhook outcomes: ${hooks.map((r) => `${r.label} ${JSON.stringify(r.outcomes)}`).join('; ')}`);
const failed = rows.some((r) => r.non2xx > 0 || r.errors > 0) || hooks.some((r) => !(r.p95 < BAR_P95_MS));
process.exitCode = failed ? 1 : 0;
