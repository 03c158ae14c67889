// Browser e2e of the admin area beyond the overview: events with filters, an event's detail
// (outcome, the jobs it caused, the raw body) and reprocess, the delivery log with its refusals,
// a customer's timeline with the access decision and its reason, and a dead letter replayed.
// Every page is server-side authorised: a customer gets 403 and a visitor is sent to sign in.
// Screenshots go to e2e/screenshots/admin-*.png. Needs a production build (.next).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Tollbooth, signTestPayload } from 'tollbooth';
import { APP_DIR, launchBrowser, runSecrets, signIn, startStack } from './harness.mjs';
import * as S from './stripe-events.mjs';

const SHOTS = join(APP_DIR, 'e2e', 'screenshots');
const ADA = { id: 'user_ada', email: 'ada@example.com', password: 'ada-demo-password', name: 'Ada Lovelace' };
const ADMIN = { email: 'admin@example.com', password: 'admin-demo-password' };

const secrets = runSecrets();
const workDir = mkdtempSync(join(tmpdir(), 'portal-admin-e2e-'));
let stack;
let browser;
let page;

async function post(raw, header = signTestPayload(raw, secrets.STRIPE_WEBHOOK_SECRET)) {
  const res = await fetch(`${stack.baseUrl}/api/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': header },
    body: raw,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, json: await res.json() };
}

async function deliver(...events) {
  for (const e of events) {
    const r = await post(JSON.stringify(e));
    assert.equal(r.status, 200, JSON.stringify(r.json));
  }
}

const login = (user) => signIn(page, stack.baseUrl, user);

const shot = (name) => page.screenshot({ path: join(SHOTS, `admin-${name}.png`), fullPage: true });

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack({ workDir, secrets, worker: false });
  ({ browser, page } = await launchBrowser(workDir));
});

after(async () => {
  await browser?.close().catch(() => {});
  await stack?.stopAll();
  rmSync(workDir, { recursive: true, force: true });
});

test('admin: events, event detail and reprocess, deliveries, customer timeline, dead letters', { timeout: 240_000 }, async (t) => {
  const B = stack.baseUrl;
  const t0 = Math.floor(Date.now() / 1000) - 3600;
  const cus = S.sid('cus');
  const sub = S.sid('sub');
  const inv = S.sid('in');
  const dp = S.sid('dp');
  const disputed = S.event('charge.dispute.created', S.dispute({ id: dp, charge: S.sid('ch'), customer: cus }), t0 + 4);
  const failed = S.event('invoice.payment_failed', S.invoice({ id: inv, number: 'ACME-0101', customer: cus, subscription: sub, status: 'open', created: t0 + 3, attemptCount: 1, nextPaymentAttempt: t0 + 3 * 86_400 }), t0 + 3);
  await deliver(
    S.event('checkout.session.completed', S.checkoutSession({ id: S.sid('cs_test'), customer: cus, subscription: sub, userId: ADA.id, email: ADA.email, name: ADA.name }), t0),
    S.event('customer.created', S.customer({ id: cus, email: ADA.email, name: ADA.name, userId: ADA.id, created: t0 }), t0 + 1),
    S.event('customer.subscription.updated', S.subscription({ id: sub, customer: cus, status: 'past_due', periodStart: t0 }), t0 + 2),
    failed,
    disputed,
  );
  // A refused delivery, for the delivery log.
  assert.equal((await post(JSON.stringify(failed), signTestPayload(JSON.stringify(failed), 'whsec_not_the_right_secret_0000'))).status, 400);
  // A dead letter: claim the dispute ticket with a one-attempt engine and fail it.
  const ops = new Tollbooth({ database: stack.database, webhookSecrets: [secrets.STRIPE_WEBHOOK_SECRET], maxAttempts: 1 });
  const claimed = await ops.claimJobs({ kinds: ['support.open_ticket'], limit: 10, leaseSeconds: 30 });
  const dispute = claimed.find((j) => j.key === `dispute:${dp}`);
  assert.ok(dispute, 'the dispute job is due');
  assert.equal((await ops.failJob(dispute.id, dispute.leaseToken, 'helpdesk rejected the ticket (e2e)')).state, 'dead');
  for (const j of claimed.filter((j) => j !== dispute)) await ops.completeJob(j.id, j.leaseToken);
  await ops.close();

  await t.test('visitors are sent to sign in; customers get 403 on every admin page', async () => {
    for (const path of ['/admin/events', '/admin/deliveries', '/admin/customers', `/admin/events/${failed.id}`]) {
      const anon = await fetch(`${B}${path}`, { redirect: 'manual' });
      assert.equal(anon.status, 303, path);
      assert.match(anon.headers.get('location'), /\/login/);
    }
    await login(ADA);
    for (const path of ['/admin/events', '/admin/deliveries', `/admin/customers?q=${cus}`, `/admin/events/${failed.id}`]) {
      const res = await page.goto(`${B}${path}`);
      assert.equal(res.status(), 403, path);
      assert.doesNotMatch(await page.content(), new RegExp(cus), `${path} shows nothing of the customer`);
    }
    await page.goto(`${B}/dashboard`);
    await Promise.all([page.waitForURL(/\/login/), page.click('text=Sign out')]);
    await login(ADMIN);
  });

  await t.test('events: filter by type, outcome and customer (by email)', async () => {
    await page.goto(`${B}/admin/events`);
    assert.equal(await page.locator('[data-testid="events"] tbody tr').count(), 5);
    await page.fill('input[name="type"]', 'invoice.payment_failed');
    await Promise.all([page.waitForURL(/type=invoice.payment_failed/), page.click('[data-testid="event-filters"] button')]);
    const rows = page.locator('[data-testid="events"] tbody tr');
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.first().getAttribute('data-event'), failed.id);
    await shot('events-filtered');
    // A dispute names a charge, not a customer: four of the five events are the customer's.
    await page.goto(`${B}/admin/events?customer=${encodeURIComponent(ADA.email)}&outcome=processed`);
    assert.equal(await page.locator('[data-testid="events"] tbody tr').count(), 4);
    await page.goto(`${B}/admin/events?outcome=stale`);
    await page.waitForSelector('[data-testid="no-events"]');
    const future = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    await page.goto(`${B}/admin/events?since=${future}`);
    await page.waitForSelector('[data-testid="no-events"]');
  });

  await t.test('event detail: outcome, the jobs it caused, the raw body; reprocess is a no-op', async () => {
    await page.goto(`${B}/admin/events?type=invoice.payment_failed`);
    await Promise.all([page.waitForURL(/\/admin\/events\/evt_/), page.click(`a[href="/admin/events/${failed.id}"]`)]);
    assert.equal(await page.textContent('[data-testid="event-outcome"]'), 'processed');
    assert.ok(await page.$('[data-testid="event-jobs"] [data-kind="support.open_ticket"]'));
    const body = await page.innerText('[data-testid="event-body"]');
    assert.equal(JSON.parse(body).id, failed.id, 'the stored body, pretty-printed');
    await page.click('[data-testid="reprocess"]');
    await page.waitForSelector('[data-testid="reprocess-result"]');
    assert.match(await page.innerText('[data-testid="reprocess-result"]'), /Already fully applied/);
    await shot('event-detail');
    assert.equal((await page.goto(`${B}/admin/events/evt_not_stored`)).status(), 404);
  });

  await t.test('deliveries: accepted and refused, refusals with their code only', async () => {
    await page.goto(`${B}/admin/deliveries`);
    assert.ok((await page.locator('[data-testid="deliveries"] tbody tr').count()) >= 6);
    await page.selectOption('select[name="outcome"]', 'rejected');
    await Promise.all([page.waitForURL(/outcome=rejected/), page.click('[data-testid="delivery-filters"] button')]);
    const rows = page.locator('[data-testid="deliveries"] tbody tr');
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.first().getAttribute('data-reason'), 'SIGNATURE_MISMATCH');
    await shot('deliveries-rejected');
  });

  await t.test('customer timeline: found by user id, access decision and its reason, events and jobs', async () => {
    await page.goto(`${B}/admin/customers`);
    await page.fill('input[name="q"]', ADA.id);
    await Promise.all([page.waitForURL(/q=user_ada/), page.click('[data-testid="customer-search"] button')]);
    const access = page.locator('[data-testid="timeline-access"]');
    assert.equal(await access.getAttribute('data-state'), 'past_due');
    assert.equal(await access.getAttribute('data-has-access'), 'false');
    assert.match(await page.innerText('[data-testid="access-reason"]'), /update your card/i);
    assert.equal(await page.locator('[data-testid="timeline-events"] tbody tr').count(), 4);
    assert.ok(await page.$('[data-testid="timeline-jobs"] [data-kind="support.open_ticket"][data-state="done"]'), 'the payment-failed ticket');
    assert.ok(await page.$('[data-testid="timeline-jobs"] [data-kind="crm.sync_customer"]'));
    await shot('customer-timeline');
    await page.goto(`${B}/admin/customers?q=nobody%40example.com`);
    await page.waitForSelector('[data-testid="no-customer"]');
  });

  await t.test('dead letters: replayed from the overview', async () => {
    await page.goto(`${B}/admin`);
    assert.equal(await page.innerText('[data-testid="dead-count"]'), '1');
    await page.click(`[data-testid="replay-${dispute.id}"]`);
    await page.waitForSelector('[data-testid="no-dead"]');
    await page.goto(`${B}/admin/events/${disputed.id}`);
    assert.ok(await page.$('[data-testid="event-jobs"] [data-kind="support.open_ticket"][data-state="due"]'), 'due again after the replay');
    await shot('after-replay');
  });
});
