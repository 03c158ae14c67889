// Browser e2e of the billing model beyond subscriptions (issue 11, part A): a one-time
// lifetime purchase grants access with its reason, a full refund revokes it, then a team plan
// with seats and Stripe Entitlements shows every item, its quantity and the features, with plan
// names from the product/price catalog events. The deployment's grant comes from
// TOLLBOOTH_PURCHASE_GRANTS. Screenshots: e2e/screenshots/billing-model-*.png. Needs a
// production build (.next); e2e/run.sh runs it after the other files.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { APP_DIR, launchBrowser, postSigned, runSecrets, signIn, startStack } from './harness.mjs';
import * as S from './stripe-events.mjs';

const SHOTS = join(APP_DIR, 'e2e', 'screenshots');
const GRACE = { id: 'user_grace', email: 'grace@example.com', password: 'grace-demo-password' };
const LIFETIME_PRICE = 'price_portal_lifetime';
const LIFETIME_PRODUCT = 'prod_portal_lifetime';

const secrets = runSecrets();
const workDir = mkdtempSync(join(tmpdir(), 'portal-billing-model-e2e-'));
let stack;
let browser;
let page;

async function deliver(...events) {
  for (const e of events) {
    const { status, json } = await postSigned(stack.baseUrl, secrets.STRIPE_WEBHOOK_SECRET, e);
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.outcome, 'processed', `${e.type}: ${JSON.stringify(json)}`);
  }
}

const shot = (name) => page.screenshot({ path: join(SHOTS, `billing-model-${name}.png`), fullPage: true });

async function dashboard() {
  await page.goto(`${stack.baseUrl}/dashboard`);
  return {
    state: await page.getAttribute('[data-testid="billing-state"]', 'data-state'),
    card: await page.innerText('[data-testid="billing-state"]'),
    plan: await page.innerText('[data-testid="plan-details"]'),
  };
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack({ workDir, secrets, worker: false, extraEnv: { TOLLBOOTH_PURCHASE_GRANTS: LIFETIME_PRICE } });
  ({ browser, page } = await launchBrowser(workDir));
});

after(async () => {
  await browser?.close().catch(() => {});
  await stack?.stopAll();
  rmSync(workDir, { recursive: true, force: true });
});

test('one-time lifetime purchase, its refund, then seats and features', { timeout: 240_000 }, async (t) => {
  const t0 = Math.floor(Date.now() / 1000) - 3600;
  const cus = S.sid('cus');
  const pi = S.sid('pi');
  const sub = S.sid('sub');

  await t.test('signed in without a plan: no features, no purchases', async () => {
    await signIn(page, stack.baseUrl, GRACE);
    const d = await dashboard();
    assert.equal(d.state, 'none');
    assert.match(d.plan, /Features: none yet/);
  });

  await t.test('the lifetime deal: a payment-mode checkout grants lifetime access, named from the catalog', async () => {
    await deliver(
      S.event('product.created', { id: LIFETIME_PRODUCT, object: 'product', active: true, name: 'Portal Lifetime', metadata: {} }, t0),
      S.event('price.created', { id: LIFETIME_PRICE, object: 'price', active: true, nickname: 'Lifetime', product: LIFETIME_PRODUCT, unit_amount: 19900, currency: 'usd', type: 'one_time', recurring: null }, t0 + 1),
      // The PaymentIntent's event arrives before the session's.
      S.event('payment_intent.succeeded', { id: pi, object: 'payment_intent', amount: 19900, currency: 'usd', customer: cus, status: 'succeeded', metadata: {} }, t0 + 11),
      S.event('checkout.session.completed', { id: S.sid('cs_test'), object: 'checkout.session', mode: 'payment', status: 'complete', payment_status: 'paid', customer: cus, client_reference_id: GRACE.id, customer_details: { email: GRACE.email, name: 'Grace Hopper' }, payment_intent: pi, amount_total: 19900, currency: 'usd', metadata: { price_id: LIFETIME_PRICE } }, t0 + 10),
    );
    const d = await dashboard();
    assert.equal(d.state, 'active');
    assert.match(d.card, /Lifetime access/);
    assert.match(d.card, /You bought Portal Lifetime once: access for life/);
    assert.match(d.card, /lifetime access \(one-time purchase on/);
    assert.match(d.plan, /One-time purchase: Portal Lifetime, \$199\.00 on/);
    assert.ok(await page.isVisible('[data-testid="workspace"]'), 'the purchase unlocks the workspace');
    await shot('lifetime');
  });

  await t.test('a full refund revokes it, and says so', async () => {
    await deliver(
      S.event('charge.refunded', { id: S.sid('ch'), object: 'charge', customer: cus, amount: 19900, amount_refunded: 19900, currency: 'usd', payment_intent: pi, refunded: true, status: 'succeeded', metadata: {} }, t0 + 20),
    );
    const d = await dashboard();
    assert.equal(d.state, 'canceled');
    assert.match(d.card, /Purchase refunded/);
    assert.match(d.card, /purchase refunded on .* — access revoked/);
    assert.match(d.plan, /refunded on/);
    assert.ok(await page.isVisible('[data-testid="workspace-locked"]'));
    await shot('refunded');
  });

  await t.test('a team plan: every item with its seats, and the entitlements as features', async () => {
    const period = t0 + 30;
    const item = (n, price, product, quantity) => ({
      id: `si_${sub}_${n}`, object: 'subscription_item', quantity, current_period_start: period, current_period_end: period + 30 * 86_400,
      price: { id: price, object: 'price', product, unit_amount: 1200, currency: 'usd', recurring: { interval: 'month' } },
    });
    await deliver(
      S.event('product.created', { id: 'prod_portal_team', object: 'product', active: true, name: 'Portal Team', metadata: {} }, t0 + 25),
      S.event('product.created', { id: 'prod_portal_audit', object: 'product', active: true, name: 'Audit log add-on', metadata: {} }, t0 + 26),
      S.event('customer.subscription.created', {
        id: sub, object: 'subscription', customer: cus, status: 'active', cancel_at_period_end: false, cancel_at: null, canceled_at: null, ended_at: null, trial_end: null, metadata: { user_id: GRACE.id },
        items: { object: 'list', data: [item(1, 'price_portal_team_seat', 'prod_portal_team', 5), item(2, 'price_portal_audit', 'prod_portal_audit', 1)] },
      }, period),
      S.event('entitlements.active_entitlement_summary.updated', {
        object: 'entitlements.active_entitlement_summary', customer: cus, livemode: false,
        entitlements: { object: 'list', data: [
          { id: 'ent_1', object: 'entitlements.active_entitlement', feature: 'feat_sso', lookup_key: 'sso', livemode: false },
          { id: 'ent_2', object: 'entitlements.active_entitlement', feature: 'feat_audit', lookup_key: 'audit_log', livemode: false },
        ] },
      }, period + 1),
    );
    const d = await dashboard();
    assert.equal(d.state, 'active');
    assert.match(d.card, /Your Portal Team subscription is active/);
    const rows = await page.$$eval('[data-testid="seat-row"]', (trs) => trs.map((tr) => tr.innerText.replace(/\s+/g, ' ').trim()));
    assert.deepEqual(rows, ['Portal Team 5', 'Audit log add-on 1']);
    const features = await page.$$eval('[data-testid="feature"]', (xs) => xs.map((x) => x.textContent));
    assert.deepEqual(features, ['audit_log', 'sso']);
    assert.equal(await page.getAttribute('[data-testid="purchase"]', 'data-refunded'), 'true');
    await shot('seats-and-features');
  });
});
