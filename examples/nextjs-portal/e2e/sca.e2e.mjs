// Browser e2e of a payment that needs the customer (3-D Secure / SCA, issue 11 item 7): a
// renewal whose payment Stripe cannot finish alone (`invoice.payment_action_required`) shows
// its own state, "Confirm your payment", linking to the hosted invoice page; once the invoice
// is paid and the subscription active again, the dashboard is back to normal. A trial shows its
// end. Screenshots: e2e/screenshots/sca-*.png. Needs a production build (.next); e2e/run.sh
// runs it with the other files.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { signTestPayload } from 'tollbooth';
import { APP_DIR, runSecrets, startStack } from './harness.mjs';
import * as S from './stripe-events.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(APP_DIR, 'e2e', 'screenshots');
const GRACE = { id: 'user_grace', email: 'grace@example.com', password: 'grace-demo-password' };
const DAY = 86_400;

const secrets = runSecrets();
const workDir = mkdtempSync(join(tmpdir(), 'portal-sca-e2e-'));
let stack;
let browser;
let page;

async function deliver(...events) {
  for (const e of events) {
    const raw = JSON.stringify(e);
    const res = await fetch(`${stack.baseUrl}/api/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': signTestPayload(raw, secrets.STRIPE_WEBHOOK_SECRET) },
      body: raw,
      signal: AbortSignal.timeout(10_000),
    });
    const json = await res.json();
    assert.equal(res.status, 200, JSON.stringify(json));
    assert.equal(json.outcome, 'processed', `${e.type}: ${JSON.stringify(json)}`);
  }
}

const shot = (name) => page.screenshot({ path: join(SHOTS, `sca-${name}.png`), fullPage: true });

async function dashboard() {
  await page.goto(`${stack.baseUrl}/dashboard`);
  return {
    state: await page.getAttribute('[data-testid="billing-state"]', 'data-state'),
    card: await page.innerText('[data-testid="billing-state"]'),
  };
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack({ workDir, secrets, worker: false });
  browser = await chromium.launchPersistentContext(join(workDir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1100, height: 760 },
  });
  browser.setDefaultTimeout(15_000);
  page = browser.pages()[0] ?? (await browser.newPage());
});

after(async () => {
  await browser?.close().catch(() => {});
  await stack?.stopAll();
  rmSync(workDir, { recursive: true, force: true });
});

test('a trial, then a renewal that needs 3-D Secure, then the payment confirmed', { timeout: 240_000 }, async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const t0 = now - 20 * DAY;
  const cus = S.sid('cus');
  const sub = S.sid('sub');
  const inv = S.sid('in');

  await t.test('signed in, trialing: the trial end is shown', async () => {
    await page.goto(`${stack.baseUrl}/login`);
    await page.fill('input[name="email"]', GRACE.email);
    await page.fill('input[name="password"]', GRACE.password);
    await Promise.all([page.waitForURL(/\/dashboard$/, { timeout: 15_000 }), page.click('button[type="submit"]')]);
    const trialEnd = now + 3 * DAY;
    const trial = { ...S.subscription({ id: sub, customer: cus, status: 'trialing', periodStart: t0 }), trial_end: trialEnd, metadata: { user_id: GRACE.id } };
    await deliver(S.event('customer.subscription.created', trial, t0));
    const d = await dashboard();
    assert.equal(d.state, 'trialing');
    assert.match(d.card, /trial until \d{4}-\d{2}-\d{2}/);
    await shot('trialing');
  });

  await t.test('the renewal needs the bank: its own state, linking to the hosted invoice page', async () => {
    const pastDue = { ...S.subscription({ id: sub, customer: cus, status: 'past_due', periodStart: t0 }), metadata: { user_id: GRACE.id } };
    const open = S.invoice({ id: inv, number: 'SCA-0001', customer: cus, subscription: sub, status: 'open', created: now - 60, attemptCount: 1 });
    await deliver(S.event('customer.subscription.updated', pastDue, now - 59), S.event('invoice.payment_action_required', open, now - 58));
    const d = await dashboard();
    assert.equal(d.state, 'action_required');
    assert.match(d.card, /Confirm your payment/);
    assert.match(d.card, /confirm your payment — your bank asks you to authenticate it/);
    const href = await page.getAttribute('[data-testid="confirm-payment"]', 'href');
    assert.equal(href, open.hosted_invoice_url);
    assert.ok(await page.isVisible('[data-testid="workspace-locked"]'));
    await shot('action-required');
  });

  await t.test('authenticated and paid: active again, the action gone', async () => {
    const paid = S.invoice({ id: inv, number: 'SCA-0001', customer: cus, subscription: sub, status: 'paid', created: now - 60, attemptCount: 2 });
    const active = { ...S.subscription({ id: sub, customer: cus, status: 'active', periodStart: t0 }), metadata: { user_id: GRACE.id } };
    await deliver(S.event('invoice.paid', paid, now - 30), S.event('customer.subscription.updated', active, now - 29));
    const d = await dashboard();
    assert.equal(d.state, 'active');
    assert.equal(await page.isVisible('[data-testid="confirm-payment"]'), false);
    await shot('confirmed');
  });
});
