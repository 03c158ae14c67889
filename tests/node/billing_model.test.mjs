// One-time purchases, seats and entitlements through the Node face (issue 11, part A), on
// SQLite and PostgreSQL (`eachStore`): the hand-written fixtures in
// tests/fixtures/billing_model, delivered byte for byte, then read through the Promise API and
// its Sync twins.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { REPO_ROOT, deliver, eachStore, thrown } from './helpers.mjs';

const VERSION = '2026-07-29.dahlia';
const STORY = [
  'product.created',
  'price.created',
  'payment_intent.succeeded',
  'charge.succeeded',
  'checkout.session.completed',
  'customer.subscription.created',
  'entitlements.active_entitlement_summary.updated',
];

function fixture(name) {
  return readFileSync(join(REPO_ROOT, 'tests/fixtures/billing_model', VERSION, `${name}.json`));
}

/** Delivers `name` at its own `created` + 1 (inside the signature tolerance). */
function deliverFixture(tb, name) {
  const bytes = fixture(name);
  const created = JSON.parse(bytes.toString('utf8')).created;
  return deliver(tb, bytes, created + 1);
}

eachStore('a lifetime purchase grants access with a reason until a full refund revokes it', async (store) => {
  const tb = store.open({ purchaseGrants: ['price_Tb2Lifetime'] });
  for (const name of STORY.slice(0, 5)) {
    assert.equal(deliverFixture(tb, name).outcome, 'processed', name);
  }
  const later = 2_000_000_000;
  const a = await tb.accessForUser('user_77', later);
  assert.equal(a.hasAccess, true);
  assert.equal(a.state, 'active');
  assert.equal(a.purchaseId, 'pi_Tb2Lifetime');
  assert.equal(a.subscriptionId, null);
  assert.equal(a.priceId, 'price_Tb2Lifetime');
  assert.match(a.reason, /^lifetime access/);
  const [p] = await tb.purchases('cus_Tb2Buyer');
  assert.equal(p.id, 'pi_Tb2Lifetime');
  assert.equal(p.checkoutSessionId, 'cs_test_Tb2Lifetime');
  assert.deepEqual([p.amount, p.currency], [19900, 'usd']);
  assert.deepEqual(p.items.map((i) => i.priceId), ['price_Tb2Lifetime']);
  assert.equal(p.refundedAt, null);
  assert.deepEqual(tb.purchasesSync('cus_Tb2Buyer'), [p]);

  assert.equal(deliverFixture(tb, 'charge.refunded').outcome, 'processed');
  const r = tb.accessForUserSync('user_77', later);
  assert.equal(r.hasAccess, false);
  assert.equal(r.state, 'canceled');
  assert.match(r.reason, /^purchase refunded on/);
  const revoked = tb.jobsSync({ kind: 'portal.access_revoked' });
  assert.deepEqual(revoked.map((j) => j.key), ['pi_Tb2Lifetime']);
  await tb.close();
});

eachStore('seats, features and plan names: every item, hasFeature and the timeline', async (store) => {
  const tb = store.open();
  for (const name of STORY) deliverFixture(tb, name);
  assert.deepEqual(await tb.features('user_77'), ['audit_log', 'sso']);
  assert.deepEqual(tb.featuresSync('cus_Tb2Buyer'), ['audit_log', 'sso']);
  assert.equal(await tb.hasFeature('user_77', 'sso'), true);
  assert.equal(tb.hasFeatureSync('user_77', 'priority_support'), false);
  assert.equal(await tb.hasFeature('user_nobody', 'sso'), false);
  const t = await tb.customerTimeline('user_77');
  assert.deepEqual(t.features, ['audit_log', 'sso']);
  assert.deepEqual(
    t.subscriptions[0].items.map((i) => [i.priceId, i.productId, i.quantity]),
    [
      ['price_Tb2Seat', 'prod_Tb2Team', 5],
      ['price_Tb2Audit', 'prod_Tb2Audit', 1],
    ],
  );
  assert.equal(t.purchases.length, 1);
  const products = await tb.catalog('product');
  assert.deepEqual(products.map((c) => [c.id, c.name]), [['prod_Tb2Lifetime', 'Lifetime deal']]);
  const [price] = tb.catalogSync('price');
  assert.deepEqual([price.id, price.productId, price.unitAmount, price.currency], ['price_Tb2Lifetime', 'prod_Tb2Lifetime', 19900, 'usd']);
  // No grant configured: the purchase is shown but grants nothing; the subscription decides.
  assert.equal(t.access.subscriptionId, 'sub_Tb2Team');
  assert.equal(t.access.purchaseId, null);
  await tb.close();
});

eachStore('a malformed purchase grant is refused with CONFIG_INVALID', (store) => {
  const e = thrown(() => store.open({ purchaseGrants: ['price_1=-3'] }));
  assert.equal(e.code, 'CONFIG_INVALID');
  assert.match(e.message, /purchaseGrants: .*positive number of seconds/);
});
