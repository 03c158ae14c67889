// Browser e2e of the example portal: Debian Chromium (playwright-core) against `next start`,
// with the worker and the stub CRM/helpdesk running. Run: node --test e2e/ (e2e/run.sh does
// everything from a clean checkout). Needs a production build (.next) made beforehand.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { Tollbooth, signTestPayload } from 'tollbooth';
import { rng } from '../stubs/rng.mjs';
import { APP_DIR, runSecrets, startStack, stop, waitUntil } from './harness.mjs';
import * as S from './stripe-events.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(APP_DIR, 'e2e', 'screenshots');
const FAULT_RATE = Number(process.env.E2E_FAULT_RATE ?? 0.25);
const FAULT_SEED = Number(process.env.E2E_FAULT_SEED ?? 12);
const ADA = { id: 'user_ada', email: 'ada@example.com', password: 'ada-demo-password', name: 'Ada Lovelace' };
const ADMIN = { email: 'admin@example.com', password: 'admin-demo-password' };

const secrets = runSecrets();
const workDir = mkdtempSync(join(tmpdir(), 'portal-e2e-'));
const INSTANCES = Number(process.env.E2E_INSTANCES ?? 1);
// E2E_STORE=postgres: a fresh schema on the server of .ci/postgres.sh (TOLLBOOTH_TEST_POSTGRES),
// dropped at the end. E2E_DATABASE: any database string. Default: a SQLite file in workDir.
const PG_SERVER = process.env.E2E_STORE === 'postgres' ? process.env.TOLLBOOTH_TEST_POSTGRES : '';
if (process.env.E2E_STORE === 'postgres' && !PG_SERVER) {
  throw new Error('E2E_STORE=postgres needs TOLLBOOTH_TEST_POSTGRES: run under `bash .ci/postgres.sh run -- ...` (e2e/run.sh does)');
}
const PG_SCHEMA = PG_SERVER ? `portal_e2e_${process.pid}_${Date.now() % 1_000_000}` : '';
const DATABASE = PG_SERVER
  ? `${PG_SERVER}${PG_SERVER.includes('?') ? '&' : '?'}schema=${PG_SCHEMA}`
  : process.env.E2E_DATABASE || undefined;
const responses = []; // every HTTP response seen by the browser or sent by the test: { url, status, from }
const consoleLines = [];
const pageHtml = []; // the HTML of every page state, scanned for secrets at the end
let stack;
let browser;
let page;
let probe; // the test's own Tollbooth on the same database (reads the queue, makes a dead letter)

// A deterministic shuffle (mulberry32), so "out of order" is the same order on every run.
const random = rng(20260101);
function shuffle(xs) {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

let deliveries = 0;
const firstServer = new Map(); // raw body -> the server that got its first copy
const served = []; // per server: [first copies, redeliveries]
/**
 * The server a copy of `raw` goes to, as a load balancer would spread them: first copies take
 * each server in turn; a redelivery goes to a different server than the first copy, so with
 * several servers every duplicate crosses processes.
 */
function serverFor(raw) {
  const n = stack.baseUrls.length;
  const again = firstServer.has(raw);
  const i = again ? (firstServer.get(raw) + 1) % n : deliveries++ % n;
  if (!again) firstServer.set(raw, i);
  served[i] ??= [0, 0];
  served[i][again ? 1 : 0] += 1;
  return i;
}

/** POSTs one raw event body to the webhook route as Stripe would (fresh signature per attempt). */
async function post(raw, header = signTestPayload(raw, secrets.STRIPE_WEBHOOK_SECRET)) {
  const url = `${stack.baseUrls[serverFor(raw)]}/api/webhooks/stripe`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header, 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
    body: raw,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  responses.push({ url, status: res.status, from: 'webhook' });
  return { status: res.status, text, json: text.startsWith('{') ? JSON.parse(text) : null };
}

/**
 * Delivers every event three times, shuffled (so some arrive before the events they follow),
 * three at a time in parallel like Stripe's concurrent deliveries. Asserts: every delivery 200,
 * and per event exactly one non-duplicate outcome.
 */
async function deliver(events) {
  const raws = events.map((e) => JSON.stringify(e));
  const order = shuffle(raws.flatMap((r) => [r, r, r]));
  const outcomes = new Map();
  for (let i = 0; i < order.length; i += 3) {
    const batch = await Promise.all(order.slice(i, i + 3).map((r) => post(r)));
    for (const r of batch) {
      assert.equal(r.status, 200, `webhook answered ${r.status}: ${r.text}`);
      const list = outcomes.get(r.json.eventId) ?? [];
      list.push(r.json.outcome);
      outcomes.set(r.json.eventId, list);
    }
  }
  for (const e of events) {
    const list = outcomes.get(e.id) ?? [];
    assert.equal(list.length, 3, `${e.type} ${e.id} delivered three times`);
    assert.equal(list.filter((o) => o === 'duplicate').length, 2, `${e.type}: ${list.join(', ')}`);
  }
  return outcomes;
}

async function shot(name) {
  pageHtml.push({ name, html: await page.content() });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function dashboardState() {
  await page.goto(`${stack.baseUrl}/dashboard`);
  return page.getAttribute('[data-testid="billing-state"]', 'data-state');
}

/** Asserts the dashboard state, then reloads and asserts it again (state lives on the server). */
async function expectDashboard(state, text, shotName) {
  assert.equal(await dashboardState(), state);
  if (text) assert.match(await page.innerText('[data-testid="billing-state"]'), text);
  await shot(shotName);
  await page.reload();
  assert.equal(await page.getAttribute('[data-testid="billing-state"]', 'data-state'), state, 'after a refresh');
  if (text) assert.match(await page.innerText('[data-testid="billing-state"]'), text, 'after a refresh');
}

async function login(user) {
  await page.goto(`${stack.baseUrl}/login`);
  await page.fill('input[name="email"]', user.email);
  await page.fill('input[name="password"]', user.password);
  await Promise.all([page.waitForURL(/\/dashboard$/, { timeout: 15_000 }), page.click('button[type="submit"]')]);
}

async function logout() {
  await page.goto(`${stack.baseUrl}/dashboard`);
  await Promise.all([page.waitForURL(/\/login/, { timeout: 15_000 }), page.click('text=Sign out')]);
}

const getJson = async (url) => (await fetch(url, { signal: AbortSignal.timeout(5000) })).json();

/** Waits until no job is due or leased (the worker drained the outbox). */
async function drained(timeoutMs) {
  return waitUntil(
    'the worker to drain the outbox',
    () => (probe.metricsSync().queue ?? []).every((q) => q.due === 0 && q.leased === 0),
    { timeoutMs, intervalMs: 500 },
  );
}

before(async () => {
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack({
    workDir,
    secrets,
    faultRate: FAULT_RATE,
    faultSeed: FAULT_SEED,
    instances: INSTANCES,
    database: DATABASE,
  });
  const store = PG_SERVER ? `PostgreSQL (schema ${PG_SCHEMA}, DATABASE_URL)` : 'SQLite (TOLLBOOTH_DB)';
  const spread = stack.baseUrls.length > 1 ? '; first copies alternate, redeliveries go to another server than the first copy' : '';
  console.log(`# ${stack.baseUrls.length} server(s) on one ${store} database${spread}`);
  probe = new Tollbooth({ database: stack.database, webhookSecrets: [secrets.STRIPE_WEBHOOK_SECRET], maxAttempts: 1 });
  browser = await chromium.launchPersistentContext(join(workDir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1100, height: 760 },
    timeout: 30_000,
  });
  browser.setDefaultTimeout(15_000);
  browser.setDefaultNavigationTimeout(20_000);
  browser.on('response', (r) => responses.push({ url: r.url(), status: r.status(), from: 'browser' }));
  browser.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
});

after(async () => {
  await browser?.close().catch(() => {});
  probe?.closeSync();
  await stack?.stopAll();
  if (PG_SCHEMA && !process.env.E2E_KEEP_WORKDIR) {
    // Best effort (the throwaway cluster of .ci/postgres.sh goes away anyway).
    try {
      execFileSync('psql', [PG_SERVER, '-q', '-c', `DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`], { stdio: 'ignore', timeout: 20_000 });
    } catch {
      /* psql missing or the server gone */
    }
  }
  if (process.env.E2E_KEEP_WORKDIR) console.log(`# work dir kept: ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
});

test('client portal: pay, fail, recover, cancel — with the worker, the stubs and a browser', { timeout: 480_000 }, async (t) => {
  const base = Math.floor(Date.now() / 1000) - 7200;
  const cus = S.sid('cus');
  const sub = S.sid('sub');
  const cs = S.sid('cs_test');
  const in1 = S.sid('in');
  const in2 = S.sid('in');
  const B = stack.baseUrl;

  await t.test('a visitor is sent to sign in', async () => {
    await page.goto(`${B}/dashboard`);
    assert.match(page.url(), /\/login\?next=%2Fdashboard$/);
    await shot('01-login');
  });

  await t.test('a wrong password is refused', async () => {
    await page.fill('input[name="email"]', ADA.email);
    await page.fill('input[name="password"]', 'not-the-password');
    await page.click('button[type="submit"]');
    await page.waitForSelector('text=Wrong email or password.');
    assert.match(page.url(), /\/login/);
  });

  await t.test('signed in, no subscription yet; empty billing and support', async () => {
    await login(ADA);
    await expectDashboard('none', /No subscription yet/, '02-dashboard-none');
    const href = await page.getAttribute('[data-testid="subscribe"]', 'href');
    assert.match(href, /client_reference_id=user_ada/);
    const cookie = (await browser.cookies()).find((c) => c.name === 'portal_session');
    assert.ok(cookie?.httpOnly, 'session cookie is httpOnly');
    assert.equal(cookie.sameSite, 'Lax');
    await page.goto(`${B}/invoices`);
    await page.waitForSelector('[data-testid="no-invoices"]');
    assert.match(await page.innerText('main'), /No invoices yet/);
    await shot('03-invoices-empty');
    await page.goto(`${B}/support`);
    await page.waitForSelector('[data-testid="no-tickets"]');
    assert.match(await page.innerText('main'), /No tickets yet/);
  });

  await t.test('checkout: "confirming" until the webhook lands, then "payment received"', async () => {
    // Stripe redirects the browser to the success URL, possibly before any webhook arrives.
    await page.goto(`${B}/checkout/success?session_id=${cs}`);
    assert.equal(await page.getAttribute('[data-testid="checkout"]', 'data-state'), 'pending');
    assert.match(await page.innerText('main'), /Confirming your payment…/);
    assert.doesNotMatch(await page.innerText('main'), /payment received/i);
    await shot('04-checkout-confirming');
    const t0 = base;
    await deliver([
      S.event('checkout.session.completed', S.checkoutSession({ id: cs, customer: cus, subscription: sub, userId: ADA.id, email: ADA.email, name: ADA.name }), t0 + 5),
      S.event('customer.created', S.customer({ id: cus, email: ADA.email, name: ADA.name, userId: ADA.id, created: t0 + 1 }), t0 + 1),
      S.event('customer.subscription.created', S.subscription({ id: sub, customer: cus, status: 'incomplete', periodStart: t0 }), t0 + 2),
      S.event('customer.subscription.updated', S.subscription({ id: sub, customer: cus, status: 'active', periodStart: t0 }), t0 + 4),
      S.event('invoice.paid', S.invoice({ id: in1, number: 'ACME-0001', customer: cus, subscription: sub, status: 'paid', created: t0 + 3, attemptCount: 1, reason: 'subscription_create' }), t0 + 3),
    ]);
    // The page refreshes itself every 2 s.
    await page.waitForSelector('[data-testid="checkout"][data-state="complete"]', { timeout: 15_000 });
    assert.match(await page.innerText('main'), /Payment received/);
    await shot('05-checkout-payment-received');
  });

  await t.test('dashboard: active; invoices list the first invoice', async () => {
    await expectDashboard('active', /Active/, '06-dashboard-active');
    assert.ok(await page.$('[data-testid="workspace"]'), 'workspace unlocked');
    await page.goto(`${B}/invoices`);
    const row = page.locator(`[data-invoice="${in1}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), /ACME-0001[\s\S]*paid[\s\S]*\$29\.00/i);
    assert.equal(await row.locator('a', { hasText: 'View invoice' }).getAttribute('href'), `https://invoice.stripe.com/i/acct_e2e/${in1}`);
    assert.equal(await row.locator('a', { hasText: 'PDF' }).getAttribute('href'), `https://pay.stripe.com/invoice/acct_e2e/${in1}/pdf`);
    await shot('07-invoices');
  });

  await t.test('renewal payment fails: past due, "update your card", one ticket', async () => {
    const t1 = base + 600;
    await deliver([
      S.event('invoice.payment_failed', S.invoice({ id: in2, number: 'ACME-0002', customer: cus, subscription: sub, status: 'open', created: t1, attemptCount: 1, nextPaymentAttempt: t1 + 3 * 86_400 }), t1),
      S.event('customer.subscription.updated', S.subscription({ id: sub, customer: cus, status: 'past_due', periodStart: t1 }), t1 + 1),
    ]);
    await expectDashboard('past_due', /Payment failed — update your card/, '08-dashboard-past-due');
    const update = page.locator('form[action="/billing/portal"] [data-testid="update-card"]');
    assert.equal(await update.innerText(), 'Update your card');
    assert.ok(await page.$('[data-testid="workspace-locked"]'), 'workspace locked while past due');
    // The worker opens the ticket (through injected faults and retries).
    await waitUntil('the payment-failed ticket', async () => (await getJson(`${stack.env.HELPDESK_URL}/tickets?customer=${cus}`)).tickets.length > 0, { timeoutMs: 120_000, intervalMs: 500 });
    await page.goto(`${B}/support`);
    const ticket = page.locator(`[data-ticket="invoice:${in2}:attempt:1"]`);
    await ticket.waitFor();
    assert.equal(await ticket.getAttribute('data-status'), 'open');
    await shot('09-support-ticket-open');
  });

  await t.test('card fixed: paid on attempt 2, active again', async () => {
    const t2 = base + 1200;
    await deliver([
      S.event('invoice.paid', S.invoice({ id: in2, number: 'ACME-0002', customer: cus, subscription: sub, status: 'paid', created: base + 600, attemptCount: 2 }), t2),
      S.event('customer.subscription.updated', S.subscription({ id: sub, customer: cus, status: 'active', periodStart: base + 600 }), t2 + 1),
    ]);
    await expectDashboard('active', /Active/, '10-dashboard-active-again');
    await page.goto(`${B}/invoices`);
    assert.match(await page.locator(`[data-invoice="${in2}"]`).innerText(), /paid/i);
  });

  await t.test('cancel at period end, then deleted: canceled with the access end date', async () => {
    const t3 = base + 1800;
    await deliver([S.event('customer.subscription.updated', S.subscription({ id: sub, customer: cus, status: 'active', periodStart: base + 600, cancelAtPeriodEnd: true }), t3)]);
    await expectDashboard('active', /Canceling — access until/, '11-dashboard-canceling');
    const t4 = base + 2400;
    await deliver([S.event('customer.subscription.deleted', S.subscription({ id: sub, customer: cus, status: 'canceled', periodStart: base + 600, canceledAt: t4 }), t4)]);
    await expectDashboard('canceled', /Canceled[\s\S]*Access ended on/, '12-dashboard-canceled');
    const ends = await page.innerText('[data-testid="access-ends"]');
    assert.equal(ends, new Date(t4 * 1000).toLocaleDateString('en-US', { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' }));
    assert.ok(await page.$('[data-testid="workspace-locked"]'));
  });

  await t.test('worker drains: one CRM contact per customer, one ticket per failed attempt, closed', async () => {
    await drained(200_000);
    const { contacts } = await getJson(`${stack.env.CRM_URL}/contacts`);
    assert.equal(contacts.length, 1, JSON.stringify(contacts));
    assert.equal(contacts[0].external_id, cus);
    assert.equal(contacts[0].user_id, ADA.id);
    assert.equal(contacts[0].subscriptions[0]?.status, 'canceled', 'the CRM holds the newest state');
    const { tickets } = await getJson(`${stack.env.HELPDESK_URL}/tickets?customer=${cus}`);
    assert.deepEqual(tickets.map((x) => x.external_id), [`invoice:${in2}:attempt:1`]);
    assert.equal(tickets[0].status, 'closed', 'closed once the card was fixed');
    const { notes } = await getJson(`${stack.env.CRM_URL}/notes`);
    assert.deepEqual(notes.map((n) => n.external_id), [`access_revoked:${sub}`]);
    const crmStats = await getJson(`${stack.env.CRM_URL}/_stats`);
    const hdStats = await getJson(`${stack.env.HELPDESK_URL}/_stats`);
    if (FAULT_RATE > 0) {
      const injected = crmStats.faults500 + crmStats.faultsTimeout + hdStats.faults500 + hdStats.faultsTimeout;
      assert.ok(injected > 0, 'the stubs injected faults, so retries were exercised');
    }
    t.diagnostic(`stub faults injected: crm ${crmStats.faults500}x500 ${crmStats.faultsTimeout}xtimeout of ${crmStats.writes} writes; helpdesk ${hdStats.faults500}x500 ${hdStats.faultsTimeout}xtimeout of ${hdStats.writes} writes`);
    await page.goto(`${B}/support`);
    assert.equal(await page.locator(`[data-ticket="invoice:${in2}:attempt:1"]`).getAttribute('data-status'), 'closed');
    await shot('13-support-ticket-closed');
  });

  await t.test('a customer gets HTTP 403 from /admin (page, server action POST and API)', async () => {
    const res = await page.goto(`${B}/admin`);
    assert.equal(res.status(), 403);
    assert.match(await page.innerText('body'), /403/);
    await shot('14-admin-403');
    const cookie = (await browser.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const post = await fetch(`${B}/admin`, { method: 'POST', headers: { cookie, 'next-action': 'x', 'content-type': 'text/plain' }, body: '[]', redirect: 'manual' });
    assert.equal(post.status, 403);
    const api = await fetch(`${B}/api/admin/jobs`, { headers: { cookie }, redirect: 'manual' });
    assert.equal(api.status, 403);
    const anon = await fetch(`${B}/admin`, { redirect: 'manual' });
    assert.equal(anon.status, 303);
    assert.match(anon.headers.get('location'), /\/login\?next=%2Fadmin/);
  });

  await t.test('admin: queue by kind, a dead letter replayed from the page and worked off', async () => {
    await stack.stopWorker();
    const dp = S.sid('dp');
    await deliver([S.event('charge.dispute.created', S.dispute({ id: dp, charge: S.sid('ch'), customer: cus }), base + 3000)]);
    // Make it a dead letter: claim it with a max-attempts-1 engine and fail it.
    const [job] = probe.claimJobsSync({ kinds: ['support.open_ticket'], limit: 5, leaseSeconds: 30 }).filter((j) => j.key === `dispute:${dp}`);
    assert.ok(job, 'the dispute job is due');
    assert.equal(probe.failJobSync(job.id, job.leaseToken, 'helpdesk rejected the ticket (e2e)').state, 'dead');

    await logout();
    await login(ADMIN);
    const res = await page.goto(`${B}/admin`);
    assert.equal(res.status(), 200);
    assert.equal(await page.innerText('[data-testid="dead-count"]'), '1');
    assert.ok(await page.$('[data-testid="queue"] [data-kind="crm.sync_customer"]'));
    assert.ok(await page.$('[data-testid="queue"] [data-kind="support.open_ticket"]'));
    await shot('15-admin-dead-letter');
    await page.click(`[data-testid="replay-${job.id}"]`);
    await page.waitForSelector('[data-testid="no-dead"]');
    stack.startWorker();
    await waitUntil('the replayed dispute ticket', async () => (await getJson(`${stack.env.HELPDESK_URL}/tickets`)).tickets.some((x) => x.external_id === `dispute:${dp}`), { timeoutMs: 120_000, intervalMs: 500 });
    await drained(120_000);
    await page.reload();
    assert.equal(await page.innerText('[data-testid="dead-count"]'), '0');
    await shot('16-admin-after-replay');
  });

  await t.test('metrics and health routes', async () => {
    const m = await fetch(`${B}/api/metrics`);
    responses.push({ url: m.url, status: m.status, from: 'test' });
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type'), /text\/plain/);
    assert.match(await m.text(), /tollbooth_deliveries_total\{outcome="processed"\} \d+/);
    const h = await fetch(`${B}/api/health`);
    responses.push({ url: h.url, status: h.status, from: 'test' });
    assert.equal(h.status, 200);
    const body = await h.json();
    assert.equal(typeof body.ok, 'boolean');
    assert.ok(Array.isArray(body.alerts));
  });

  await t.test('rejected deliveries are 400 and name only an error code', async () => {
    const raw = JSON.stringify(S.event('invoice.paid', S.invoice({ id: S.sid('in'), number: 'X', customer: cus, subscription: sub, status: 'paid', created: base, attemptCount: 1 }), base));
    const bad = [
      await post(raw, signTestPayload(raw, 'whsec_not_the_right_secret_at_all_0000')),
      await post(raw, signTestPayload(raw, secrets.STRIPE_WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 3600)),
      await post(raw, ''),
    ];
    assert.deepEqual(bad.map((r) => r.status), [400, 400, 400]);
    assert.deepEqual(bad.map((r) => r.json.error), ['SIGNATURE_MISMATCH', 'TIMESTAMP_OUT_OF_TOLERANCE', 'SIGNATURE_HEADER_MISSING']);
    // Authentic but unreadable: kept in quarantine and acknowledged, so Stripe stops retrying.
    const unreadable = await post('{"not": "an event"', signTestPayload('{"not": "an event"', secrets.STRIPE_WEBHOOK_SECRET));
    assert.equal(unreadable.status, 200);
    assert.equal(unreadable.json.outcome, 'quarantined');
    for (const r of bad) pageHtml.push({ name: 'webhook 400', html: r.text });
    // An oversized body is cut off by the route while it is read: 413, never buffered whole.
    const huge = await post(' '.repeat(2 * 1024 * 1024), 't=1,v1=00');
    assert.equal(huge.status, 413);
    assert.equal(huge.json.error, 'PAYLOAD_TOO_LARGE');
    const notFound = await page.goto(`${B}/no-such-page`);
    assert.equal(notFound.status(), 404);
    await shot('17-not-found');
  });

  await t.test('zero 5xx responses during the run', () => {
    const fivexx = responses.filter((r) => r.status >= 500);
    assert.deepEqual(fivexx, []);
    const fourxx = responses.filter((r) => r.status >= 400 && r.from === 'browser').map((r) => `${r.status} ${new URL(r.url).pathname}`);
    t.diagnostic(`browser 4xx (expected: the 403 and 404 checks): ${fourxx.join(', ')}`);
    t.diagnostic(`${responses.length} responses recorded (${responses.filter((r) => r.from === 'webhook').length} webhook deliveries)`);
    t.diagnostic(`deliveries per server [first copies, redeliveries]: ${JSON.stringify(served)}`);
    if (stack.baseUrls.length > 1) {
      // Every server took first copies and redeliveries of the others' events.
      assert.equal(served.length, stack.baseUrls.length);
      for (const [first, again] of served) assert.ok(first > 0 && again > 0, JSON.stringify(served));
    }
  });

  await t.test('no secret in .next/static, the browser console or any page', () => {
    const needles = [secrets.STRIPE_WEBHOOK_SECRET, secrets.STRIPE_WEBHOOK_SECRET.replace(/^whsec_/, ''), secrets.STRIPE_SECRET_KEY, secrets.SESSION_SECRET];
    const dbPassword = PG_SERVER ? decodeURIComponent(new URL(PG_SERVER).password) : '';
    if (dbPassword.length >= 6) needles.push(dbPassword);
    const leaks = [];
    const walk = (dir) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else {
          const text = readFileSync(p).toString('latin1');
          for (const n of needles) if (text.includes(n)) leaks.push(`${p} contains a secret`);
          if (/whsec_[A-Za-z0-9]{8,}|sk_(test|live)_[A-Za-z0-9]{8,}/.test(text)) leaks.push(`${p} contains a secret-shaped string`);
        }
      }
    };
    const staticDir = join(APP_DIR, '.next', 'static');
    assert.ok(existsSync(staticDir));
    walk(staticDir);
    // The processes' own logs (next start, the worker, the stubs) too.
    for (const name of readdirSync(stack.logDir)) {
      const text = readFileSync(join(stack.logDir, name), 'utf8');
      for (const n of needles) if (text.includes(n)) leaks.push(`log ${name} contains a secret`);
    }
    const consoleText = consoleLines.join('\n');
    for (const n of needles) {
      if (consoleText.includes(n)) leaks.push('browser console contains a secret');
      for (const { name, html } of pageHtml) if (html.includes(n)) leaks.push(`page "${name}" contains a secret`);
    }
    assert.deepEqual(leaks, []);
    t.diagnostic(`${pageHtml.length} pages scanned; browser console: ${JSON.stringify(consoleLines)}`);
  });
});
