// The Stripe API operations from Node: syncFromStripe (adopting an account with existing
// customers), catchUp (events missed during an outage) and reconcile (stripe.reconcile jobs),
// in both forms, against the example's loopback Stripe stub (examples/nextjs-portal/stubs/
// stripe.mjs, run as a child process so the ...Sync forms may block this thread). Asserts what
// the client sent (path, query, headers), what the store holds afterwards, and that the API key
// never reaches an error or a result. Each runs on SQLite and on PostgreSQL (`eachStore`).

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  NOW,
  REPO_ROOT,
  assertNoSecret,
  checkoutSession,
  customer,
  eachStore,
  event,
  id,
  invoice,
  rejected,
  subscription,
  thrown,
} from './helpers.mjs';

const { startStripeStub } = await import(pathToFileURL(join(REPO_ROOT, 'examples', 'nextjs-portal', 'stubs', 'stripe.mjs')).href);

const KEY = 'sk_test_51NodeStripeKEYmaterial0123456789';
const WRONG_KEY = 'sk_test_51WrongKEYmaterialABCDEFGHIJ';
const STRIPE_VERSION = '2025-03-31.basil';
const realNow = () => Math.floor(Date.now() / 1000);

let stub;
before(async () => {
  stub = await startStripeStub({ key: KEY });
});
after(() => stub?.stop());

/** An account with existing customers: each a customer, a subscription, an invoice and the
 * checkout session that links it to an app user. `status` per customer. */
function account(statuses) {
  const objects = [];
  const people = statuses.map((status, i) => {
    const cus = id('cus');
    const sub = id('sub');
    const user = `user_${cus}`;
    objects.push(
      { ...customer({ id: cus, email: `c${i}@example.com` }), created: NOW - 1000 + i },
      { ...subscription({ id: sub, customer: cus, status, periodEnd: realNow() + 30 * 86_400 }), created: NOW - 900 + i },
      invoice({ customer: cus, subscription: sub, status: status === 'past_due' ? 'open' : 'paid', created: NOW - 800 + i }),
      { ...checkoutSession({ customer: cus, subscription: sub, userId: user }), created: NOW - 950 + i },
    );
    return { cus, sub, user, status };
  });
  return { objects, people };
}

async function requestsSince(n) {
  return (await stub.requests()).slice(n);
}

eachStore('syncFromStripe: existing customers get access; the requests are what Stripe documents; a second run changes nothing', async (store) => {
  await stub.reset();
  const { objects, people } = account(['active', 'past_due', 'canceled', 'trialing']);
  await stub.add(objects);
  const tb = store.open();
  for (const p of people) assert.equal((await tb.accessForUser(p.user)).hasAccess, false, 'empty store: no access yet');

  const report = await tb.syncFromStripe({ apiKey: KEY, baseUrl: stub.url });
  assertNoSecret(report, [KEY]);
  const byType = Object.fromEntries(report.types.map((t) => [t.object, t]));
  assert.deepEqual(Object.keys(byType), ['customer', 'product', 'price', 'subscription', 'invoice', 'checkout.session']);
  assert.equal(byType.customer.fetched, 4);
  assert.equal(byType.subscription.fetched, 4, 'status=all: the canceled one too');
  assert.equal(byType.invoice.fetched, 4);
  assert.equal(byType['checkout.session'].fetched, 4);
  for (const t of report.types) assert.equal(t.skipped, 0, `${t.object}: ${t.errors.join('; ')}`);

  const access = Object.fromEntries(await Promise.all(people.map(async (p) => [p.status, (await tb.accessForUser(p.user)).hasAccess])));
  assert.deepEqual(access, { active: true, past_due: false, canceled: false, trialing: true }, 'the default policy: no grace for past_due');
  assert.equal((await tb.access(people[0].cus)).state, 'active');

  const sent = await stub.requests();
  assert.ok(sent.every((r) => r.authorized && r.method === 'GET' && r.stripeVersion === STRIPE_VERSION && r.stripeAccount === null));
  const subs = sent.find((r) => r.path === '/v1/subscriptions');
  assert.deepEqual(subs.query, { limit: '100', status: 'all' });
  assert.deepEqual(
    sent.map((r) => r.path),
    ['/v1/customers', '/v1/products', '/v1/prices', '/v1/subscriptions', '/v1/invoices', '/v1/checkout/sessions'],
  );

  const again = await tb.syncFromStripe({ apiKey: KEY, baseUrl: stub.url });
  for (const t of again.types) {
    assert.equal(t.changed, 0, `${t.object}: a second run changes nothing`);
    assert.equal(t.jobs, 0);
  }
  await tb.close();
});

eachStore('syncFromStripeSync: pages of 100 with starting_after, scoped by type and since, Connect account header', async (store) => {
  await stub.reset();
  const base = NOW - 10_000;
  const many = Array.from({ length: 230 }, (_, i) => ({ ...customer({ id: `cus_page${String(i).padStart(4, '0')}` }), created: base + i }));
  await stub.add(many);
  const tb = store.open();
  const before = (await stub.requests()).length;
  const report = tb.syncFromStripeSync({ apiKey: KEY, baseUrl: stub.url, only: ['customers'], since: base + 30, account: 'acct_1Connect' });
  assert.equal(report.types.length, 1);
  assert.equal(report.types[0].object, 'customer');
  assert.equal(report.types[0].fetched, 200, 'created[gte] leaves out the 30 oldest');
  assert.equal(report.types[0].pages, 2);
  const sent = await requestsSince(before);
  assert.deepEqual(
    sent.map((r) => r.query),
    [
      { limit: '100', 'created[gte]': String(base + 30) },
      { limit: '100', 'created[gte]': String(base + 30), starting_after: 'cus_page0130' },
    ],
  );
  assert.ok(sent.every((r) => r.stripeAccount === 'acct_1Connect'));
  assert.ok(tb.findCustomerSync('cus_page0229'));
  assert.equal(tb.findCustomerSync('cus_page0000'), null);
  assert.equal(thrown(() => tb.syncFromStripeSync({ apiKey: KEY, baseUrl: stub.url, only: ['charges'] })).code, 'INVALID_ARGUMENT');
  tb.closeSync();
});

eachStore('Stripe errors: a wrong key is STRIPE_AUTH at once and never quoted; 429 and 5xx are retried; bad keys and URLs are refused before any request', async (store) => {
  await stub.reset();
  await stub.add(account(['active']).objects);
  const tb = store.open();

  const n0 = (await stub.requests()).length;
  const auth = await rejected(tb.syncFromStripe({ apiKey: WRONG_KEY, baseUrl: stub.url }));
  assert.equal(auth.code, 'STRIPE_AUTH');
  assertNoSecret(auth, [WRONG_KEY, KEY]);
  assert.equal((await requestsSince(n0)).length, 1, '401 is not retried');
  const authSync = thrown(() => tb.catchUpSync({ apiKey: WRONG_KEY, baseUrl: stub.url }));
  assert.equal(authSync.code, 'STRIPE_AUTH');
  assertNoSecret(authSync, [WRONG_KEY, KEY]);

  await stub.fail({ status: 429, times: 1, retryAfter: 0, path: '/v1/customers' });
  await stub.fail({ status: 500, times: 2, path: '/v1/customers' });
  const n1 = (await stub.requests()).length;
  const ok = await tb.syncFromStripe({ apiKey: KEY, baseUrl: stub.url, only: ['customers'] });
  assert.equal(ok.types[0].fetched, 1);
  assert.equal((await requestsSince(n1)).length, 4, 'one 429, two 500s, then the page');

  // Stripe-Should-Retry: false wins over the status (no 7.5 s of backoff in this test).
  await stub.fail({ status: 503, times: 1, shouldRetry: false, path: '/v1/customers' });
  const down = await rejected(tb.syncFromStripe({ apiKey: KEY, baseUrl: stub.url, only: ['customers'] }));
  assert.equal(down.code, 'STRIPE_UNAVAILABLE');
  assertNoSecret(down, [KEY]);
  assert.equal((await requestsSince(n1)).length, 5, 'not retried');
  await stub.reset();

  const n2 = (await stub.requests()).length;
  const shape = await rejected(tb.reconcile({ apiKey: 'pk_test_publishable', baseUrl: stub.url }));
  assert.equal(shape.code, 'CONFIG_INVALID');
  assert.ok(!shape.message.includes('pk_test_publishable'));
  const remote = thrown(() => tb.syncFromStripeSync({ apiKey: KEY, baseUrl: 'http://stripe.example.com' }));
  assert.equal(remote.code, 'CONFIG_INVALID', 'the key goes over plain HTTP only to loopback');
  assertNoSecret(remote, [KEY]);
  assert.equal((await requestsSince(n2)).length, 0);
  await tb.close();
});

eachStore('catchUp: the missed events through the normal pipeline, deduplicated; says when the gap is older than Stripe keeps', async (store) => {
  await stub.reset();
  const tb = store.open();
  const t = realNow();
  const cus = id('cus');
  const sub = id('sub');
  const user = `user_${cus}`;
  // Delivered by webhook before the outage.
  const first = event('customer.subscription.created', subscription({ id: sub, customer: cus, status: 'active', userId: user, periodEnd: t + 30 * 86_400 }), { created: t - 7200 });
  await tb.importEvents(JSON.stringify([first]), t - 7200);
  // Missed during the outage: the subscription went past due, then was canceled.
  const missed = [
    event('customer.subscription.updated', subscription({ id: sub, customer: cus, status: 'past_due', userId: user, periodEnd: t + 30 * 86_400 }), { created: t - 3000 }),
    event('customer.subscription.deleted', subscription({ id: sub, customer: cus, status: 'canceled', userId: user, periodEnd: t + 30 * 86_400 }), { created: t - 2000 }),
  ];
  await stub.add([first, ...missed]);
  assert.equal((await tb.accessForUser(user)).hasAccess, true);

  const n0 = (await stub.requests()).length;
  const rep = await tb.catchUp({ apiKey: KEY, baseUrl: stub.url });
  assert.equal(rep.fetched, 3);
  assert.equal(rep.processed, 2);
  assert.equal(rep.duplicate, 1, 'the event the webhook delivered');
  assert.equal(rep.gapExceedsRetention, false);
  assert.equal(rep.from, first.created - 3600, 'from the newest stored event minus the margin');
  const [sent] = await requestsSince(n0);
  assert.equal(sent.path, '/v1/events');
  assert.equal(sent.query['created[gte]'], String(first.created - 3600));
  assert.equal((await tb.accessForUser(user)).hasAccess, false, 'the missed cancellation applied');

  const twice = tb.catchUpSync({ apiKey: KEY, baseUrl: stub.url, marginSeconds: 0 });
  assert.equal(twice.processed, 0);
  assert.equal(twice.duplicate, 1, 'only the newest stored event is in the window');

  // A store whose newest event is older than Stripe's 30 days: catch-up says so.
  const old = store.open();
  await old.importEvents(JSON.stringify([event('customer.created', customer({ id: id('cus') }), { created: t - 40 * 86_400 })]), t - 40 * 86_400);
  const gap = await old.catchUp({ apiKey: KEY, baseUrl: stub.url });
  assert.equal(gap.gapExceedsRetention, true);
  assert.ok(gap.from >= t - 30 * 86_400 - 5);
  assert.equal(thrown(() => old.catchUpSync({ apiKey: KEY, baseUrl: stub.url, marginSeconds: -1 })).code, 'INVALID_ARGUMENT');
  await Promise.all([tb.close(), old.close()]);
});

eachStore('reconcile: a same-second conflict is fetched from Stripe, applied and completed; a missing object fails the job with backoff', async (store) => {
  await stub.reset();
  const tb = store.open();
  const conflict = async (sub, cus) => {
    const active = subscription({ id: sub, customer: cus, status: 'active', userId: `user_${cus}` });
    const pastDue = { ...active, status: 'past_due' };
    await tb.importEvents(
      JSON.stringify([
        event('customer.subscription.updated', active, { id: `evt_${sub}_1`, created: NOW }),
        event('customer.subscription.updated', pastDue, { id: `evt_${sub}_2`, created: NOW }),
      ]),
      NOW,
    );
    return active;
  };
  const okSub = await conflict(id('sub'), id('cus'));
  const goneSub = await conflict(id('sub'), id('cus'));
  const due = await tb.jobs({ kind: 'stripe.reconcile', state: 'due' });
  assert.equal(due.length, 2, 'each conflict enqueued a reconcile job');
  // What Stripe says now about the first: canceled. The second is unknown to Stripe.
  await stub.add([{ ...okSub, status: 'canceled', canceled_at: NOW, ended_at: NOW }]);

  const n0 = (await stub.requests()).length;
  const rep = await tb.reconcile({ apiKey: KEY, baseUrl: stub.url, limit: 10 });
  assert.equal(rep.claimed, 2);
  assert.equal(rep.completed, 1);
  assert.equal(rep.changed, 1);
  assert.equal(rep.failed.length, 1);
  assert.equal(rep.failed[0].code, 'STRIPE_NOT_FOUND');
  assert.equal(rep.failed[0].result.state, 'scheduled');
  assert.ok(rep.failed[0].result.nextAttemptAt > realNow());
  assertNoSecret(rep, [KEY]);
  const paths = (await requestsSince(n0)).map((r) => r.path).sort();
  assert.deepEqual(paths, [`/v1/subscriptions/${goneSub.id}`, `/v1/subscriptions/${okSub.id}`].sort());
  assert.equal((await tb.access(okSub.customer)).hasAccess, false, 'Stripe said canceled');
  const done = await tb.jobs({ kind: 'stripe.reconcile', state: 'done' });
  assert.equal(done.length, 1);
  assert.equal(done[0].payload.object_id, okSub.id);

  const history = await tb.customerTimeline(goneSub.customer);
  const failedJob = history.jobs.find((j) => j.job.kind === 'stripe.reconcile');
  assertNoSecret(failedJob, [KEY]);
  assert.match(failedJob.attempts[0].error, /STRIPE_NOT_FOUND/);

  const idle = tb.reconcileSync({ apiKey: KEY, baseUrl: stub.url });
  assert.deepEqual({ ...idle, failed: idle.failed.length }, { claimed: 0, completed: 0, changed: 0, failed: 0 }, 'the failed job waits for its backoff');
  assert.equal(thrown(() => tb.reconcileSync({ apiKey: KEY, baseUrl: stub.url, leaseSeconds: 0 })).code, 'INVALID_ARGUMENT');
  await tb.close();
});
