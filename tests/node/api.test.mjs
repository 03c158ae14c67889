// The JS API: outcomes, access states, invoices, checkout status, snapshots, the job outbox,
// observability, and an error code for every rejection. Every error and every returned object
// is checked for the webhook secret. Each test that touches a store runs on SQLite and on
// PostgreSQL (`eachStore`, see helpers.mjs).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import {
  C_ONLY_CODES,
  NOW,
  SECRET,
  Tollbooth,
  assertNoSecret,
  checkoutSession,
  coreErrorCodes,
  customer,
  deliver,
  eachStore,
  event,
  httpStatus,
  id,
  invoice,
  sign,
  subscription,
  thrown,
} from './helpers.mjs';

const DAY = 86_400;
const JS_CODES = new Set(coreErrorCodes().filter((c) => !C_ONLY_CODES.includes(c)));

/** Asserts `fn` throws an Error with `code`, a "CODE: ..." message and no secret in it. */
function expectCode(code, fn) {
  assert.ok(JS_CODES.has(code), `${code} is not in the core's code table`);
  const e = thrown(fn);
  assert.ok(e instanceof Error, 'not an Error');
  assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
  assert.ok(e.message.startsWith(`${code}: `), `message should be the core Display: ${e.message}`);
  assertNoSecret(e);
  return e;
}

/** Asserts nothing returned contains the secret, then hands the value back. */
function clean(value) {
  assertNoSecret(value);
  return value;
}

eachStore('a delivery is processed once, then answered as a duplicate', (store) => {
  const tb = store.open();
  const cus = id('cus');
  const body = JSON.stringify(event('customer.subscription.created', subscription({ customer: cus })));
  const header = sign(body);
  const first = clean(tb.handleWebhookSync(Buffer.from(body), header, NOW));
  assert.equal(first.outcome, 'processed');
  assert.equal(first.eventType, 'customer.subscription.created');
  assert.equal(first.customerId, cus);
  assert.ok(first.jobs.length > 0, 'a processed subscription enqueues jobs');
  for (const j of first.jobs) {
    assert.equal(typeof j.id, 'number');
    assert.equal(typeof j.kind, 'string');
    assert.equal(typeof j.key, 'string');
  }
  const again = clean(tb.handleWebhookSync(new TextEncoder().encode(body), header, NOW + 5)); // the same bytes, a Uint8Array
  assert.equal(again.outcome, 'duplicate');
  assert.equal(again.eventId, first.eventId);
  assert.deepEqual(again.jobs, []);
  tb.closeSync();
});

eachStore('an unknown event type is ignored, an older event is stale', (store) => {
  const tb = store.open();
  const cus = id('cus');
  // A type tollbooth does not apply (charge.succeeded is a purchase since the billing model).
  const ignored = deliver(tb, event('payout.paid', { id: id('po'), object: 'payout', amount: 100, currency: 'usd' }));
  assert.equal(ignored.outcome, 'ignored');
  const sub = id('sub');
  assert.equal(deliver(tb, event('customer.subscription.updated', subscription({ id: sub, customer: cus, status: 'past_due' }), { created: NOW - 10 })).outcome, 'processed');
  const old = deliver(tb, event('customer.subscription.updated', subscription({ id: sub, customer: cus, status: 'active' }), { created: NOW - 1000 }));
  assert.equal(old.outcome, 'stale');
  assert.equal(tb.accessSync(cus, NOW).state, 'past_due', 'a stale event must not move state');
});

eachStore('access follows a signed history: active, past_due (with grace), canceled', (store) => {
  const tb = store.open({ pastDueGraceSeconds: 3 * DAY });
  const cus = id('cus');
  const sub = id('sub');
  const user = id('user');
  const periodEnd = NOW + 20 * DAY;
  const story = (status, created, extra = {}) =>
    deliver(tb, event(status === 'canceled' ? 'customer.subscription.deleted' : 'customer.subscription.updated',
      subscription({ id: sub, customer: cus, status, periodEnd, userId: user, ...extra }), { created }), created + 1);

  const none = clean(tb.accessSync(cus, NOW));
  assert.equal(none.state, 'none');
  assert.equal(none.hasAccess, false);

  assert.equal(story('active', NOW - 100).outcome, 'processed');
  let a = clean(tb.accessSync(cus, NOW));
  assert.equal(a.state, 'active');
  assert.equal(a.hasAccess, true);
  assert.equal(a.customerId, cus);
  assert.equal(a.subscriptionId, sub);
  assert.equal(a.priceId, 'price_node_pro');
  assert.equal(a.productId, 'prod_node_pro');
  assert.equal(a.currentPeriodEnd, periodEnd);
  assert.equal(a.cancelAtPeriodEnd, false);
  assert.equal(typeof a.reason, 'string');
  assert.equal(tb.accessForUserSync(user, NOW).subscriptionId, sub, 'metadata.user_id links the user');
  assert.equal(tb.accessForUserSync('user_nobody', NOW).state, 'none');

  assert.equal(story('active', NOW - 90, { cancelAtPeriodEnd: true }).outcome, 'processed');
  a = tb.accessSync(cus, NOW);
  assert.equal(a.hasAccess, true);
  assert.equal(a.cancelAtPeriodEnd, true);
  assert.equal(a.accessEndsAt, periodEnd);

  assert.equal(story('past_due', NOW - 80).outcome, 'processed');
  a = tb.accessSync(cus, NOW);
  assert.equal(a.state, 'past_due');
  assert.equal(a.hasAccess, true, 'inside the grace period');
  a = tb.accessSync(cus, NOW + 4 * DAY);
  assert.equal(a.state, 'past_due');
  assert.equal(a.hasAccess, false, 'after the grace period');

  assert.equal(story('canceled', NOW - 70).outcome, 'processed');
  a = tb.accessSync(cus, NOW);
  assert.equal(a.state, 'canceled');
  assert.equal(a.hasAccess, false);
});

eachStore('invoices are listed newest first with their fields', (store) => {
  const tb = store.open();
  const cus = id('cus');
  const sub = id('sub');
  const specs = [
    { created: NOW - 3 * DAY, status: 'paid' },
    { created: NOW - 1 * DAY, status: 'open', nextPaymentAttempt: NOW + DAY, attemptCount: 2 },
    { created: NOW - 2 * DAY, status: 'paid' },
  ];
  const ids = specs.map((s) => {
    const inv = invoice({ customer: cus, subscription: sub, ...s });
    deliver(tb, event(s.status === 'paid' ? 'invoice.paid' : 'invoice.payment_failed', inv));
    return inv.id;
  });
  const list = clean(tb.invoicesSync(cus));
  assert.deepEqual(list.map((i) => i.id), [ids[1], ids[2], ids[0]]);
  const open_ = list[0];
  assert.equal(open_.status, 'open');
  assert.equal(open_.amountDue, 2900);
  assert.equal(open_.amountPaid, 0);
  assert.equal(open_.currency, 'usd');
  assert.equal(open_.attemptCount, 2);
  assert.equal(open_.nextPaymentAttempt, NOW + DAY);
  assert.equal(open_.subscriptionId, sub);
  assert.equal(open_.hostedInvoiceUrl, `https://invoice.stripe.com/i/${ids[1]}`);
  assert.match(open_.invoicePdf, /\/pdf$/);
  assert.equal(typeof open_.number, 'string');
  assert.equal(list[1].amountPaid, 2900);
  assert.equal(list[1].nextPaymentAttempt, null);
  assert.deepEqual(tb.invoicesSync('cus_nobody'), []);
});

eachStore('checkoutStatus goes from pending to complete, and links the user', (store) => {
  const tb = store.open();
  const cus = id('cus');
  const user = id('user');
  const session = checkoutSession({ customer: cus, subscription: id('sub'), userId: user });
  const before = clean(tb.checkoutStatusSync(session.id));
  assert.equal(before.state, 'pending');
  assert.equal(before.customerId, null);
  assert.equal(before.userId, null);
  assert.equal(deliver(tb, event('checkout.session.completed', session)).outcome, 'processed');
  const after = clean(tb.checkoutStatusSync(session.id));
  assert.equal(after.state, 'complete');
  assert.equal(after.sessionId, session.id);
  assert.equal(after.customerId, cus);
  assert.equal(after.userId, user);
  assert.equal(after.subscriptionId, session.subscription);

  const unpaid = checkoutSession({ customer: cus, paymentStatus: 'unpaid' });
  deliver(tb, event('checkout.session.completed', unpaid));
  assert.equal(tb.checkoutStatusSync(unpaid.id).state, 'payment_pending');
  const expired = checkoutSession({ status: 'expired', paymentStatus: 'unpaid' });
  deliver(tb, event('checkout.session.expired', expired));
  assert.equal(tb.checkoutStatusSync(expired.id).state, 'expired');
});

eachStore('applySnapshot accepts an object, a string or a Buffer', (store) => {
  const tb = store.open();
  const cus = id('cus');
  const sub = subscription({ customer: cus, status: 'active' });
  const r1 = clean(tb.applySnapshotSync(sub, NOW));
  assert.equal(r1.changed, true);
  assert.equal(r1.objectType, 'subscription');
  assert.equal(r1.objectId, sub.id);
  assert.equal(r1.customerId, cus);
  assert.equal(tb.accessSync(cus, NOW).state, 'active');
  const pastDue = { ...sub, status: 'past_due' };
  assert.equal(tb.applySnapshotSync(JSON.stringify(pastDue), NOW + 10).changed, true);
  assert.equal(tb.accessSync(cus, NOW + 10).state, 'past_due');
  const same = tb.applySnapshotSync(Buffer.from(JSON.stringify(pastDue)), NOW + 20);
  assert.equal(same.changed, false);
  // An object goes through JSON.stringify: toJSON is honoured, undefined fields dropped.
  const viaToJson = { toJSON: () => ({ ...sub, status: 'canceled' }), ignored: undefined };
  assert.equal(tb.applySnapshotSync(viaToJson, NOW + 30).changed, true);
  assert.equal(tb.accessSync(cus, NOW + 30).state, 'canceled');
  expectCode('SNAPSHOT_UNSUPPORTED', () => tb.applySnapshotSync({ id: 'ch_1', object: 'charge' }, NOW));
  expectCode('PAYLOAD_INVALID_JSON', () => tb.applySnapshotSync('{not json', NOW));
});

eachStore('findCustomer by id, email and user id', (store) => {
  const tb = store.open();
  const user = id('user');
  const c = customer({ email: 'grace@example.com', name: 'Grace Hopper', userId: user });
  deliver(tb, event('customer.created', c));
  for (const needle of [c.id, 'grace@example.com', user]) {
    const found = clean(tb.findCustomerSync(needle));
    assert.equal(found.id, c.id, needle);
    assert.equal(found.email, 'grace@example.com');
    assert.equal(found.name, 'Grace Hopper');
    assert.equal(found.userId, user);
    assert.equal(found.deleted, false);
  }
  assert.equal(tb.findCustomerSync('nobody@example.com'), null);
});

function enqueueOne(tb) {
  const cus = id('cus');
  const h = deliver(tb, event('customer.subscription.created', subscription({ customer: cus })));
  assert.ok(h.jobs.length > 0);
  return { cus, jobs: h.jobs };
}

eachStore('claim, complete, fail with backoff, LEASE_LOST and JOB_NOT_FOUND', (store) => {
  const tb = store.open();
  const { cus, jobs } = enqueueOne(tb);
  const claimed = clean(tb.claimJobsSync({ limit: 100, leaseSeconds: 60, nowSeconds: NOW }));
  assert.equal(claimed.length, jobs.length);
  const [job, ...rest] = claimed;
  assert.equal(job.attempt, 1);
  assert.equal(job.leaseUntil, NOW + 60);
  assert.equal(job.customerId, cus);
  assert.equal(typeof job.leaseToken, 'number');
  assert.equal(typeof job.payload, 'object', 'payload is parsed JSON');
  assert.ok(job.payload !== null);
  assert.deepEqual(tb.claimJobsSync({ limit: 10, leaseSeconds: 60, nowSeconds: NOW + 1 }), [], 'leased jobs are not claimed twice');

  tb.completeJobSync(job.id, job.leaseToken, NOW + 1);
  expectCode('LEASE_LOST', () => tb.completeJobSync(job.id, job.leaseToken, NOW + 2));
  expectCode('JOB_NOT_FOUND', () => tb.completeJobSync(987654, 1, NOW));
  assert.ok(tb.jobsSync({ state: 'done' }).some((j) => j.id === job.id));

  for (const other of rest) {
    // A lease that ran out is lost, even with the right token.
    expectCode('LEASE_LOST', () => tb.completeJobSync(other.id, other.leaseToken, NOW + 61));
  }

  const { jobs: more } = enqueueOne(tb);
  const [c2] = tb.claimJobsSync({ kinds: [more[0].kind], limit: 1, leaseSeconds: 30, nowSeconds: NOW + 100 });
  assert.equal(c2.kind, more[0].kind);
  const failed = clean(tb.failJobSync(c2.id, c2.leaseToken, `CRM said no (key ${SECRET})`, NOW + 101));
  assert.equal(failed.state, 'scheduled');
  assert.ok(failed.nextAttemptAt > NOW + 101);
  assert.equal(failed.supersededBy, null);
  expectCode('LEASE_LOST', () => tb.failJobSync(c2.id, c2.leaseToken, 'again', NOW + 102));
  const listed = clean(tb.jobsSync({ kind: c2.kind, limit: 50 })).find((j) => j.id === c2.id);
  assert.equal(listed.state, 'due');
  assert.equal(listed.attempts, 1);
  assert.ok(listed.lastError.includes('CRM said no'));
  assert.equal(listed.runAt, failed.nextAttemptAt);
  expectCode('INVALID_ARGUMENT', () => tb.jobsSync({ state: 'bogus' }));
  expectCode('INVALID_ARGUMENT', () => tb.claimJobsSync({ limit: -1, leaseSeconds: 30 }));
});

eachStore('a job out of attempts is dead, listed, and replayed', (store) => {
  const tb = store.open({ maxAttempts: 1 });
  enqueueOne(tb);
  const [job] = tb.claimJobsSync({ limit: 1, leaseSeconds: 30, nowSeconds: NOW });
  assert.deepEqual(tb.failJobSync(job.id, job.leaseToken, 'boom', NOW + 1), { state: 'dead', nextAttemptAt: null, supersededBy: null });
  const dead = clean(tb.deadJobsSync());
  assert.deepEqual(dead.map((j) => j.id), [job.id]);
  assert.equal(dead[0].state, 'dead');
  const again = tb.replayJobSync(job.id, NOW + 2);
  assert.equal(typeof again, 'number');
  assert.deepEqual(tb.deadJobsSync(), []);
  const [retry] = tb.claimJobsSync({ limit: 10, leaseSeconds: 30, nowSeconds: NOW + 3 }).filter((j) => j.id === again);
  assert.ok(retry, 'the replayed job is claimable');
  expectCode('JOB_NOT_FOUND', () => tb.replayJobSync(424242, NOW));
});

eachStore('metrics, prometheus and health report the deliveries', (store) => {
  const tb = store.open();
  enqueueOne(tb);
  expectCode('SIGNATURE_MISMATCH', () => tb.handleWebhookSync(Buffer.from('{}'), `t=${NOW},v1=${'0'.repeat(64)}`, NOW));
  const m = clean(tb.metricsSync(NOW));
  assert.equal(typeof m, 'object');
  assert.equal(m.process.deliveries.processed, 1);
  assert.equal(m.process.deliveries.rejected, 1);
  const text = tb.prometheusSync(NOW);
  assert.match(text, /^# HELP tollbooth_/m);
  assert.match(text, /tollbooth_deliveries_total\{outcome="processed"\} 1/);
  const h = clean(tb.healthSync(NOW));
  assert.equal(typeof h.ok, 'boolean');
  assert.ok(Array.isArray(h.alerts));
});

eachStore('every rejection has its code', (store) => {
  const tb = store.open({ maxBodyBytes: 4096 });
  const good = JSON.stringify(event('customer.subscription.created', subscription({ customer: id('cus') })));
  const h = sign(good);
  expectCode('SIGNATURE_HEADER_MISSING', () => tb.handleWebhookSync(Buffer.from(good), null, NOW));
  expectCode('SIGNATURE_HEADER_MISSING', () => tb.handleWebhookSync(Buffer.from(good), undefined, NOW));
  expectCode('SIGNATURE_HEADER_MISSING', () => tb.handleWebhookSync(Buffer.from(good), '', NOW));
  expectCode('SIGNATURE_HEADER_INVALID', () => tb.handleWebhookSync(Buffer.from(good), 'v1=abc', NOW));
  expectCode('SIGNATURE_HEADER_INVALID', () => tb.handleWebhookSync(Buffer.from(good), `t=${NOW},t=${NOW},v1=00`, NOW));
  expectCode('SIGNATURE_MISMATCH', () => tb.handleWebhookSync(Buffer.from(good), sign(good, 'whsec_wrong'), NOW));
  expectCode('SIGNATURE_MISMATCH', () => tb.handleWebhookSync(Buffer.from(good + ' '), h, NOW));
  expectCode('TIMESTAMP_OUT_OF_TOLERANCE', () => tb.handleWebhookSync(Buffer.from(good), h, NOW + 301));
  expectCode('TIMESTAMP_OUT_OF_TOLERANCE', () => tb.handleWebhookSync(Buffer.from(good), h, NOW - 301));
  const big = JSON.stringify({ ...JSON.parse(good), pad: 'x'.repeat(5000) });
  expectCode('PAYLOAD_TOO_LARGE', () => tb.handleWebhookSync(Buffer.from(big), sign(big), NOW));
  // The sender's fault never reaches the store: the good body still processes afterwards.
  assert.equal(tb.handleWebhookSync(Buffer.from(good), h, NOW).outcome, 'processed');
  // Authentic but unusable: kept in quarantine with its reason and acknowledged, never a 4xx
  // that Stripe would retry for days.
  const quarantined = (r, reason) => assert.deepEqual([r.outcome, r.reason, r.jobs], ['quarantined', reason, []]);
  quarantined(tb.handleWebhookSync(Buffer.from('not json'), sign('not json'), NOW), 'PAYLOAD_INVALID_JSON');
  assert.equal(tb.handleWebhookSync(Buffer.from('not json'), sign('not json'), NOW).outcome, 'duplicate');
  const noCustomer = JSON.stringify(event('customer.subscription.updated', { ...subscription({}), customer: 42 }));
  quarantined(tb.handleWebhookSync(Buffer.from(noCustomer), sign(noCustomer), NOW), 'EVENT_FIELD_MISSING');
  const live = store.open({ livemode: true });
  quarantined(live.handleWebhookSync(Buffer.from(good), h, NOW), 'LIVEMODE_MISMATCH');
  // One table decides the HTTP status in every face.
  assert.deepEqual(
    ['SIGNATURE_MISMATCH', 'PAYLOAD_TOO_LARGE', 'SECRET_INVALID', 'STORE_BUSY', undefined].map((c) => httpStatus(c)),
    [400, 400, 500, 500, 500],
  );
});

test('bad options are CONFIG_INVALID / SECRET_INVALID at once; the store opens on first use', () => {
  const base = { database: ':memory:', webhookSecrets: [SECRET] };
  expectCode('CONFIG_INVALID', () => new Tollbooth({ ...base, webhookSecrets: [] }));
  expectCode('SECRET_INVALID', () => new Tollbooth({ ...base, webhookSecrets: [SECRET, ''] }));
  expectCode('CONFIG_INVALID', () => new Tollbooth({ ...base, toleranceSeconds: 0 }));
  expectCode('CONFIG_INVALID', () => new Tollbooth({ ...base, pastDueGraceSeconds: -1 }));
  expectCode('CONFIG_INVALID', () => new Tollbooth({ ...base, maxAttempts: 0 }));
  expectCode('CONFIG_INVALID', () => new Tollbooth({ ...base, maxAttempts: -1 }));
  expectCode('CONFIG_INVALID', () => new Tollbooth({ ...base, durability: 'fast' }));
  expectCode('CONFIG_INVALID', () => new Tollbooth({ ...base, maxBodyBytes: 0 }));
  // A directory that cannot be created (a path under a regular file): the constructor opens
  // nothing, so the first call reports it, naming the directory.
  const tb = new Tollbooth({ ...base, database: '/dev/null/tollbooth-data/x.db' });
  const e = expectCode('STORE_OPEN_FAILED', () => tb.accessSync('cus_x', NOW));
  assert.match(e.message, /database directory '\/dev\/null\/tollbooth-data'/);
  // A failed open is not remembered: the next call tries again (and fails the same way here).
  expectCode('STORE_OPEN_FAILED', () => tb.openSync());
  // Wrong JS types are refused by napi before tollbooth runs (napi's own codes).
  const w = thrown(() => new Tollbooth({ ...base, webhookSecrets: 'whsec_not_an_array' }));
  assert.ok(w instanceof Error);
  assertNoSecret(w, ['whsec_not_an_array']);
});

test('the constructor creates nothing; the first call creates the directory and the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollbooth-node-'));
  try {
    const database = join(dir, 'nested', 'data', 'tollbooth.db');
    const tb = new Tollbooth({ database, webhookSecrets: [SECRET] });
    assert.equal(existsSync(join(dir, 'nested')), false, 'new Tollbooth touched the disk');
    tb.closeSync(); // closing an instance that never opened opens nothing either
    assert.equal(existsSync(join(dir, 'nested')), false);
    const tb2 = new Tollbooth({ database, webhookSecrets: [SECRET] });
    assert.equal(tb2.accessSync('cus_x', NOW).state, 'none');
    assert.ok(existsSync(database), 'the first call opened (and created) the database');
    tb2.closeSync();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

eachStore('after close, every method throws (Sync) or rejects (Promise) with CLOSED; close twice is fine', async (store) => {
  const tb = store.open();
  const body = Buffer.from(JSON.stringify(event('customer.created', customer())));
  tb.accessSync('cus_x', NOW); // opened
  await tb.close();
  tb.closeSync();
  await tb.close();
  const args = {
    open: [],
    handleWebhook: [body, sign(body), NOW],
    access: ['cus_x', NOW],
    accessForUser: ['u', NOW],
    accessForUserIn: ['acct_x', 'u', NOW],
    invoices: ['cus_x'],
    purchases: ['cus_x'],
    catalog: [],
    features: ['cus_x'],
    hasFeature: ['cus_x', 'feature_x'],
    checkoutStatus: ['cs_x'],
    applySnapshot: [customer(), NOW],
    ingestTrusted: [body, NOW],
    claimJobs: [{ limit: 1, leaseSeconds: 1 }],
    completeJob: [1, 1],
    failJob: [1, 1, 'x'],
    jobs: [],
    deadJobs: [],
    replayJob: [1],
    findCustomer: ['x'],
    metrics: [],
    prometheus: [],
    health: [],
    events: [],
    eventDetail: ['evt_x'],
    deliveries: [],
    customerTimeline: ['x'],
    reprocess: ['evt_x'],
    importEvents: [body.toString()],
    // Nothing answers on port 9: CLOSED must come before any request.
    syncFromStripe: [{ apiKey: 'sk_test_closed', baseUrl: 'http://127.0.0.1:9' }],
    catchUp: [{ apiKey: 'sk_test_closed', baseUrl: 'http://127.0.0.1:9' }],
    reconcile: [{ apiKey: 'sk_test_closed', baseUrl: 'http://127.0.0.1:9' }],
    workStripeJobs: [{ apiKey: 'sk_test_closed', baseUrl: 'http://127.0.0.1:9' }],
  };
  const methods = Object.getOwnPropertyNames(Tollbooth.prototype).filter((n) => n !== 'constructor');
  const expected = [...Object.keys(args), 'close'].flatMap((m) => [m, `${m}Sync`]);
  assert.deepEqual(methods.sort(), expected.sort(), 'every method has both forms and is covered');
  for (const [name, a] of Object.entries(args)) {
    expectCode('CLOSED', () => tb[`${name}Sync`](...a));
    const p = tb[name](...a);
    assert.ok(p instanceof Promise, `${name} returns a Promise`);
    const e = await p.then(() => assert.fail(`${name} resolved after close`), (err) => err);
    assert.ok(e instanceof Error, name);
    assert.equal(e.code, 'CLOSED', `${name}: ${e.message}`);
    assert.ok(e.message.startsWith('CLOSED: '));
  }
});

eachStore('a database survives close and reopen (SQLite: durability full)', (store) => {
  const database = store.database({ durable: true });
  const cus = id('cus');
  const body = JSON.stringify(event('customer.subscription.created', subscription({ customer: cus })));
  const a = new Tollbooth({ database, webhookSecrets: [SECRET], ...(store.postgres ? {} : { durability: 'full' }) });
  assert.equal(a.handleWebhookSync(Buffer.from(body), sign(body), NOW).outcome, 'processed');
  a.closeSync();
  const b = new Tollbooth({ database, webhookSecrets: ['whsec_rotated_new', SECRET] });
  assert.equal(b.handleWebhookSync(Buffer.from(body), sign(body), NOW).outcome, 'duplicate');
  assert.equal(b.accessSync(cus, NOW).state, 'active');
  b.closeSync();
});

eachStore('nowSeconds defaults to the clock', (store) => {
  const tb = store.open();
  const body = JSON.stringify(event('customer.created', customer()));
  const now = Math.floor(Date.now() / 1000);
  assert.equal(tb.handleWebhookSync(Buffer.from(body), sign(body, SECRET, now)).outcome, 'processed');
  expectCode('TIMESTAMP_OUT_OF_TOLERANCE', () => tb.handleWebhookSync(Buffer.from(body), sign(body, SECRET, now - 3600)));
});
