// Webhook-to-access latency, measured the way a customer sees it: from the start of the signed
// POST to the moment the dashboard, reloaded in Chromium, shows the new billing state. Repeated
// LATENCY_RUNS times (default 20), alternating active and past_due; p50/p95 go to
// e2e/artifacts/latency.json and the test's diagnostics (the seed's bar: p95 within 10 s).
// The test asserts only that every change shows up (a 30 s deadline each, far above the bar);
// the figures are a report, not an assertion. Needs a production build (.next).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { signTestPayload } from 'tollbooth';
import { APP_DIR, runSecrets, startStack } from './harness.mjs';
import * as S from './stripe-events.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const RUNS = Number(process.env.LATENCY_RUNS ?? 20);
const ADA = { id: 'user_ada', email: 'ada@example.com', password: 'ada-demo-password', name: 'Ada Lovelace' };
const ARTIFACTS = join(APP_DIR, 'e2e', 'artifacts');

const secrets = runSecrets();
const workDir = mkdtempSync(join(tmpdir(), 'portal-latency-'));
let stack;
let browser;
let page;

async function post(event) {
  const raw = JSON.stringify(event);
  const res = await fetch(`${stack.baseUrl}/api/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signTestPayload(raw, secrets.STRIPE_WEBHOOK_SECRET) },
    body: raw,
  });
  assert.equal(res.status, 200, await res.text());
}

/** Reloads the dashboard until it shows `state`; returns when it does. */
async function dashboardShows(state, deadline) {
  for (;;) {
    await page.goto(`${stack.baseUrl}/dashboard`, { waitUntil: 'domcontentloaded' });
    const now = await page.getAttribute('[data-testid="billing-state"]', 'data-state');
    if (now === state) return;
    if (performance.now() > deadline) throw new Error(`the dashboard still shows ${now}, not ${state}`);
  }
}

/** The q-th quantile (nearest rank) of sorted `xs`. */
const quantile = (xs, q) => xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))];

before(async () => {
  stack = await startStack({ workDir, secrets, worker: false });
  browser = await chromium.launchPersistentContext(join(workDir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(`${stack.baseUrl}/login`);
  await page.fill('input[name="email"]', ADA.email);
  await page.fill('input[name="password"]', ADA.password);
  await Promise.all([page.waitForURL(/\/dashboard$/), page.click('button[type="submit"]')]);
});

after(async () => {
  await browser?.close().catch(() => {});
  await stack?.stopAll();
  rmSync(workDir, { recursive: true, force: true });
});

test(`webhook-to-access latency over ${RUNS} state changes`, { timeout: 60_000 + RUNS * 32_000 }, async (t) => {
  const cus = S.sid('cus');
  const sub = S.sid('sub');
  const t0 = Math.floor(Date.now() / 1000) - 3600;
  await post(S.event('customer.created', S.customer({ id: cus, email: ADA.email, name: ADA.name, userId: ADA.id, created: t0 }), t0));
  const samples = [];
  for (let i = 1; i <= RUNS; i++) {
    const state = i % 2 ? 'active' : 'past_due';
    // Each change is newer than the last (one second apart), as Stripe would send them.
    const ev = S.event('customer.subscription.updated', S.subscription({ id: sub, customer: cus, status: state, periodStart: t0 }), t0 + i);
    ev.data.object.metadata = { user_id: ADA.id };
    const started = performance.now();
    await post(ev);
    await dashboardShows(state, started + 30_000);
    samples.push(performance.now() - started);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const report = {
    runs: RUNS,
    p50_ms: Math.round(quantile(sorted, 0.5)),
    p95_ms: Math.round(quantile(sorted, 0.95)),
    max_ms: Math.round(sorted.at(-1)),
    bar_p95_ms: 10_000,
    measured_at: new Date().toISOString(),
  };
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, 'latency.json'), `${JSON.stringify(report, null, 2)}\n`);
  if (process.env.LATENCY_WRITE) {
    const readme = join(APP_DIR, 'README.md');
    const text = readFileSync(readme, 'utf8');
    const [a, b] = [text.indexOf('<!-- latency:start -->'), text.indexOf('<!-- latency:end -->')];
    assert.ok(a >= 0 && b > a, 'README has the latency markers');
    const table = [
      `${RUNS} runs, ${report.measured_at.slice(0, 10)}, \`next start\` on the 2-core development machine; produced by \`LATENCY_WRITE=1 node --test e2e/latency.e2e.mjs\`.`,
      '',
      '| p50 | p95 | max | the seed\'s bar |',
      '|---:|---:|---:|---|',
      `| ${report.p50_ms} ms | ${report.p95_ms} ms | ${report.max_ms} ms | p95 within 10 s |`,
    ].join('\n');
    writeFileSync(readme, `${text.slice(0, a + '<!-- latency:start -->'.length)}\n${table}\n${text.slice(b)}`);
  }
  t.diagnostic(`webhook-to-access latency: p50 ${report.p50_ms} ms, p95 ${report.p95_ms} ms, max ${report.max_ms} ms over ${RUNS} runs (bar: p95 within 10 s)`);
  assert.equal(samples.length, RUNS);
});
