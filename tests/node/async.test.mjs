// The Promise API: every store method resolves to what its ...Sync twin returns, rejects with
// the same `code`, runs off the JS thread (the event loop keeps turning while the store is
// locked), and stays exactly-once with hundreds of deliveries in flight. Also Tollbooth.fromEnv
// and the byte-only body rule. The store tests run on SQLite and PostgreSQL (`eachStore`); a
// `postgres://` database connects lazily and fails with stable codes.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import {
  NOW,
  PACKAGE_DIR,
  SECRET,
  Tollbooth,
  assertNoSecret,
  bytesOf,
  checkoutSession,
  customer,
  deliver,
  deliverAsync,
  eachStore,
  event,
  id,
  invoice,
  open,
  postgresTest,
  rejected,
  sign,
  subscription,
  thrown,
} from './helpers.mjs';

function tempDir() {
  return mkdtempSync(join(tmpdir(), 'tollbooth-async-'));
}

/** Asserts a rejection with `code`, a "CODE: ..." message, an Error, and no secret. */
async function expectRejection(code, promise) {
  const e = await rejected(promise);
  assert.ok(e instanceof Error, 'not an Error');
  assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
  assert.ok(e.message.startsWith(`${code}: `), e.message);
  assertNoSecret(e);
  return e;
}

eachStore('each Promise form resolves to what its Sync twin returns', async (store) => {
  // Two engines fed the same history: one through the Sync forms, one through the Promises.
  const s = store.open();
  const p = store.open();
  const cus = id('cus');
  const sub = id('sub');
  const user = id('user');
  const history = [
    event('customer.created', customer({ id: cus, userId: user })),
    event('checkout.session.completed', checkoutSession({ id: 'cs_async_1', customer: cus, subscription: sub, userId: user })),
    event('customer.subscription.created', subscription({ id: sub, customer: cus, userId: user }), { created: NOW - 50 }),
    event('invoice.paid', invoice({ customer: cus, subscription: sub })),
  ];
  for (const ev of history) {
    const a = deliver(s, ev);
    const b = await deliverAsync(p, ev);
    assert.deepEqual(b, a);
  }
  assert.deepEqual(await p.access(cus, NOW), s.accessSync(cus, NOW));
  assert.equal((await p.access(cus, NOW)).state, 'active');
  assert.deepEqual(await p.accessForUser(user, NOW), s.accessForUserSync(user, NOW));
  assert.deepEqual(await p.invoices(cus), s.invoicesSync(cus));
  assert.equal((await p.invoices(cus)).length, 1);
  assert.deepEqual(await p.checkoutStatus('cs_async_1'), s.checkoutStatusSync('cs_async_1'));
  assert.deepEqual(await p.findCustomer(user), s.findCustomerSync(user));
  assert.equal(await p.findCustomer('nobody'), null);
  const snap = subscription({ id: sub, customer: cus, status: 'past_due', userId: user });
  assert.deepEqual(await p.applySnapshot(snap, NOW + 10), s.applySnapshotSync(snap, NOW + 10));
  assert.equal((await p.access(cus, NOW + 10)).state, 'past_due');

  const jobs = await p.jobs({ limit: 100 });
  assert.deepEqual(jobs, s.jobsSync({ limit: 100 }));
  assert.ok(jobs.length > 0);
  const claimedP = await p.claimJobs({ limit: 100, leaseSeconds: 60, nowSeconds: NOW });
  const claimedS = s.claimJobsSync({ limit: 100, leaseSeconds: 60, nowSeconds: NOW });
  assert.deepEqual(claimedP, claimedS);
  const [first] = claimedP;
  assert.equal(await p.completeJob(first.id, first.leaseToken, NOW + 1), undefined);
  s.completeJobSync(first.id, first.leaseToken, NOW + 1);
  await expectRejection('LEASE_LOST', p.completeJob(first.id, first.leaseToken, NOW + 2));
  await expectRejection('JOB_NOT_FOUND', p.completeJob(987654, 1, NOW));
  const more = event('customer.subscription.created', subscription({ customer: id('cus') }));
  assert.deepEqual(await deliverAsync(p, more), deliver(s, more));
  const [second] = await p.claimJobs({ limit: 1, leaseSeconds: 60, nowSeconds: NOW + 2 });
  assert.deepEqual(s.claimJobsSync({ limit: 1, leaseSeconds: 60, nowSeconds: NOW + 2 }), [second]);
  assert.deepEqual(
    await p.failJob(second.id, second.leaseToken, `no (${SECRET})`, NOW + 2),
    s.failJobSync(second.id, second.leaseToken, `no (${SECRET})`, NOW + 2),
  );
  assert.deepEqual(await p.deadJobs(), s.deadJobsSync());
  await expectRejection('JOB_NOT_FOUND', p.replayJob(424242, NOW));
  // Arguments tollbooth checks itself reject (like fs.promises), they do not throw.
  await expectRejection('INVALID_ARGUMENT', p.jobs({ state: 'bogus' }));
  await expectRejection('INVALID_ARGUMENT', p.claimJobs({ limit: -1, leaseSeconds: 30 }));

  const m = await p.metrics(NOW);
  assert.equal(m.process.deliveries.processed, s.metricsSync(NOW).process.deliveries.processed);
  assert.match(await p.prometheus(NOW), /tollbooth_deliveries_total\{outcome="processed"\} 5/);
  const h = await p.health(NOW);
  assert.equal(typeof h.ok, 'boolean');
  await p.close();
  s.closeSync();
});

eachStore('a dead job replays through the Promise form', async (store) => {
  const tb = store.open({ maxAttempts: 1 });
  await deliverAsync(tb, event('customer.subscription.created', subscription({ customer: id('cus') })));
  const [job] = await tb.claimJobs({ limit: 1, leaseSeconds: 30, nowSeconds: NOW });
  assert.deepEqual(await tb.failJob(job.id, job.leaseToken, 'boom', NOW + 1), { state: 'dead', nextAttemptAt: null, supersededBy: null });
  assert.deepEqual((await tb.deadJobs()).map((j) => j.id), [job.id]);
  const again = await tb.replayJob(job.id, NOW + 2);
  assert.equal(typeof again, 'number');
  assert.deepEqual(await tb.deadJobs(), []);
});

eachStore('rejections carry the same codes as Sync throws', async (store) => {
  const tb = store.open({ maxBodyBytes: 4096 });
  const good = bytesOf(event('customer.subscription.created', subscription({ customer: id('cus') })));
  const h = sign(good);
  await expectRejection('SIGNATURE_HEADER_MISSING', tb.handleWebhook(good, null, NOW));
  await expectRejection('SIGNATURE_HEADER_MISSING', tb.handleWebhook(good, undefined, NOW));
  await expectRejection('SIGNATURE_HEADER_INVALID', tb.handleWebhook(good, 'v1=abc', NOW));
  await expectRejection('SIGNATURE_MISMATCH', tb.handleWebhook(good, sign(good, 'whsec_wrong'), NOW));
  await expectRejection('TIMESTAMP_OUT_OF_TOLERANCE', tb.handleWebhook(good, h, NOW + 301));
  const big = bytesOf({ ...JSON.parse(good), pad: 'x'.repeat(5000) });
  await expectRejection('PAYLOAD_TOO_LARGE', tb.handleWebhook(big, sign(big), NOW));
  await expectRejection('SNAPSHOT_UNSUPPORTED', tb.applySnapshot({ id: 'ch_1', object: 'charge' }, NOW));
  await expectRejection('INVALID_ARGUMENT', tb.applySnapshot(42, NOW));
  await expectRejection('PAYLOAD_INVALID_JSON', tb.applySnapshot('{not json', NOW));
  assert.equal((await tb.handleWebhook(good, h, NOW)).outcome, 'processed');
  // Authentic but unreadable deliveries resolve (quarantined), exactly as the Sync form returns.
  const junk = Buffer.from('not json');
  const live = store.open({ livemode: true });
  const liveSync = store.open({ livemode: true });
  const q = await tb.handleWebhook(junk, sign(junk), NOW);
  assert.deepEqual([q.outcome, q.reason], ['quarantined', 'PAYLOAD_INVALID_JSON']);
  const l = await live.handleWebhook(good, h, NOW);
  assert.deepEqual([l.outcome, l.reason], ['quarantined', 'LIVEMODE_MISMATCH']);
  assert.deepEqual(l, liveSync.handleWebhookSync(good, h, NOW));
});

test('a body must be bytes: a string, a parsed object or nothing is INVALID_ARGUMENT, not napi InvalidArg', async () => {
  const tb = open();
  const body = bytesOf(event('customer.created', customer()));
  const header = sign(body);
  for (const [what, value, word] of [
    ['a string', body.toString('utf8'), /got a string/],
    ['a parsed object', JSON.parse(body), /got an object/],
    ['null', null, /got nothing/],
    ['undefined', undefined, /got nothing/],
    ['a number', 42, /must be/],
  ]) {
    let sync;
    try {
      tb.handleWebhookSync(value, header, NOW);
    } catch (e) {
      sync = e;
    }
    assert.equal(sync?.code, 'INVALID_ARGUMENT', `Sync, ${what}: ${sync?.code}`);
    assert.match(sync.message, word);
    assert.match(sync.message, /Buffer\.from\(await req\.arrayBuffer\(\)\)|must be/);
    // The Promise form rejects with the same code and message (it does not throw).
    const e = await expectRejection('INVALID_ARGUMENT', tb.handleWebhook(value, header, NOW));
    assert.equal(e.message, sync.message, `Promise, ${what}`);
  }
  // Every byte container works, views honour their offset and length.
  const padded = Buffer.concat([Buffer.from('#####'), body, Buffer.from('#####')]);
  const views = [
    body,
    new Uint8Array(body),
    padded.subarray(5, 5 + body.length),
    new DataView(padded.buffer, padded.byteOffset + 5, body.length),
    new Uint8Array(body).buffer,
  ];
  const outcomes = [];
  for (const v of views) outcomes.push((await tb.handleWebhook(v, header, NOW)).outcome);
  assert.deepEqual(outcomes, ['processed', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
  assert.equal(tb.handleWebhookSync(new DataView(padded.buffer, padded.byteOffset + 5, body.length), header, NOW).outcome, 'duplicate');
});

eachStore('200 deliveries in flight at once over 50 event ids: exactly one processed per id, the rest duplicates', async (store) => {
  const tb = new Tollbooth({ database: store.database({ durable: true }), webhookSecrets: [SECRET] });
  const bodies = Array.from({ length: 50 }, () =>
    bytesOf(event('customer.subscription.created', subscription({ customer: id('cus') }))),
  );
  const calls = [];
  for (let i = 0; i < 200; i++) {
    const body = bodies[(i * 7) % 50];
    calls.push(tb.handleWebhook(body, sign(body), NOW));
  }
  const results = await Promise.all(calls);
  const byId = new Map();
  for (const r of results) {
    const tally = byId.get(r.eventId) ?? { processed: 0, duplicate: 0 };
    tally[r.outcome] += 1;
    byId.set(r.eventId, tally);
  }
  assert.equal(byId.size, 50);
  for (const [eventId, tally] of byId) {
    assert.deepEqual(tally, { processed: 1, duplicate: 3 }, eventId);
  }
  const m = await tb.metrics(NOW);
  assert.equal(m.process.deliveries.processed, 50);
  assert.equal(m.process.deliveries.duplicate, 150);
  // The durable delivery log agrees with the process counters.
  assert.match(await tb.prometheus(NOW), /tollbooth_deliveries_total\{outcome="processed"\} 50\b/);
  await tb.close();
});

test('the Promise form runs off the JS thread: timers fire while the store waits for a lock', async () => {
  const dir = tempDir();
  try {
    const database = join(dir, 'tollbooth.db');
    const tb = new Tollbooth({ database, webhookSecrets: [SECRET], busyTimeoutMs: 5000 });
    await tb.open();
    // Another connection takes the write lock; the delivery has to wait for it.
    const Database = createRequire(join(PACKAGE_DIR, 'package.json'))('better-sqlite3');
    const other = new Database(database);
    other.exec('BEGIN IMMEDIATE');
    const body = bytesOf(event('customer.created', customer()));
    const pending = tb.handleWebhook(body, sign(body), NOW);
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 10);
    await new Promise((r) => setTimeout(r, 300));
    const ticksWhileLocked = ticks;
    other.exec('COMMIT');
    other.close();
    const r = await pending;
    clearInterval(timer);
    assert.equal(r.outcome, 'processed');
    // A Sync call would have held the event loop for the whole 300 ms: not one tick.
    assert.ok(ticksWhileLocked >= 5, `the event loop stalled while the store waited (${ticksWhileLocked} ticks)`);
    await tb.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the Promise form opens the store on first use; a failed open rejects and is retried by the next call', async () => {
  const dir = tempDir();
  try {
    const database = join(dir, 'a', 'b', 'tollbooth.db');
    const tb = new Tollbooth({ database, webhookSecrets: [SECRET] });
    assert.equal(existsSync(join(dir, 'a')), false);
    const [x, y] = await Promise.all([tb.access('cus_1', NOW), tb.open()]);
    assert.equal(x.state, 'none');
    assert.equal(y, undefined);
    assert.ok(existsSync(database));
    await tb.close();

    const bad = new Tollbooth({ database: '/dev/null/sub/tollbooth.db', webhookSecrets: [SECRET] });
    const e = await expectRejection('STORE_OPEN_FAILED', bad.open());
    assert.match(e.message, /'\/dev\/null\/sub'/);
    await expectRejection('STORE_OPEN_FAILED', bad.access('cus_1', NOW));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs `Tollbooth.fromEnv(options)` in a child with exactly `env`; returns what it printed. */
function fromEnvIn(env, options = 'undefined', then = '') {
  const program = `
    const { Tollbooth } = require(${JSON.stringify(PACKAGE_DIR)});
    (async () => {
      let tb;
      try { tb = Tollbooth.fromEnv(${options}) } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); return }
      ${then}
      console.log(JSON.stringify({ ok: true }));
    })();`;
  const out = execFileSync(process.execPath, ['-e', program], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
  });
  return JSON.parse(out.trim().split('\n').pop());
}

test('Tollbooth.fromEnv: a missing or malformed variable is an error naming it; nothing opens', () => {
  const missing = fromEnvIn({});
  assert.equal(missing.code, 'CONFIG_INVALID');
  assert.match(missing.message, /STRIPE_WEBHOOK_SECRET is not set/);
  const empty = fromEnvIn({ STRIPE_WEBHOOK_SECRET: '  ' });
  assert.equal(empty.code, 'CONFIG_INVALID', 'blank counts as unset');
  const badSecret = fromEnvIn({ STRIPE_WEBHOOK_SECRET: `${SECRET},` });
  assert.equal(badSecret.code, 'SECRET_INVALID');
  assert.match(badSecret.message, /STRIPE_WEBHOOK_SECRET/);
  assert.ok(!badSecret.message.includes(SECRET.slice(6)), 'no secret in the message');
  const badMode = fromEnvIn({ STRIPE_WEBHOOK_SECRET: SECRET, STRIPE_LIVEMODE: 'yes' });
  assert.equal(badMode.code, 'CONFIG_INVALID');
  assert.match(badMode.message, /STRIPE_LIVEMODE/);

  const dir = tempDir();
  try {
    const database = join(dir, 'db', 'tollbooth.db');
    assert.deepEqual(fromEnvIn({ STRIPE_WEBHOOK_SECRET: SECRET, TOLLBOOTH_DB: database }), { ok: true });
    assert.equal(existsSync(join(dir, 'db')), false, 'fromEnv must not open the store');
    // The default database is data/tollbooth.db under the working directory.
    const out = execFileSync(process.execPath, ['-e', `
      const { Tollbooth } = require(${JSON.stringify(PACKAGE_DIR)});
      Tollbooth.fromEnv().open().then(() => console.log('opened'));
    `], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, STRIPE_WEBHOOK_SECRET: SECRET } });
    assert.equal(out.trim(), 'opened');
    assert.ok(existsSync(join(dir, 'data', 'tollbooth.db')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Tollbooth.fromEnv: livemode is explicit or follows the Stripe key, never NODE_ENV', () => {
  const secret = SECRET;
  // A test-mode event, signed; `then` reports what the engine says about it.
  const deliverTestEvent = `
    const body = Buffer.from(JSON.stringify({ id: 'evt_mode', object: 'event', type: 'customer.created',
      created: ${NOW - 10}, livemode: false, data: { object: { id: 'cus_mode', object: 'customer' } } }));
    const { signTestPayload } = require(${JSON.stringify(PACKAGE_DIR)});
    const header = signTestPayload(body, ${JSON.stringify(secret)}, ${NOW});
    const r = await tb.handleWebhook(body, header, ${NOW}).then((h) => h.reason ?? h.outcome, (e) => e.code);
    console.log(JSON.stringify({ result: r }));
    return;`;
  const run = (env) => fromEnvIn({ STRIPE_WEBHOOK_SECRET: secret, TOLLBOOTH_DB: ':memory:', ...env }, 'undefined', deliverTestEvent).result;
  assert.equal(run({ NODE_ENV: 'production' }), 'processed', 'NODE_ENV=production must not make test events fail');
  assert.equal(run({ NODE_ENV: 'production', STRIPE_SECRET_KEY: 'sk_test_123' }), 'processed');
  // The other mode is kept in quarantine (reason LIVEMODE_MISMATCH), never refused.
  assert.equal(run({ STRIPE_SECRET_KEY: 'sk_live_123' }), 'LIVEMODE_MISMATCH');
  assert.equal(run({ STRIPE_SECRET_KEY: 'rk_live_123' }), 'LIVEMODE_MISMATCH');
  assert.equal(run({ STRIPE_SECRET_KEY: 'sk_live_123', STRIPE_LIVEMODE: 'false' }), 'processed', 'explicit wins');
  assert.equal(run({ STRIPE_LIVEMODE: 'true' }), 'LIVEMODE_MISMATCH');
  // Options win over the environment.
  const viaOption = fromEnvIn({ STRIPE_WEBHOOK_SECRET: secret, TOLLBOOTH_DB: ':memory:', STRIPE_LIVEMODE: 'true' }, '{ livemode: false }', deliverTestEvent);
  assert.equal(viaOption.result, 'processed');
  const viaSecrets = fromEnvIn({}, `{ webhookSecrets: [${JSON.stringify(secret)}], database: ':memory:' }`, deliverTestEvent);
  assert.equal(viaSecrets.result, 'processed', 'no STRIPE_WEBHOOK_SECRET needed when passed');
});

test('a postgres:// database: the constructor connects to nothing; an unreachable server rejects with STORE_UNAVAILABLE, never the password', async () => {
  // Port 1 on loopback: refused at once, no server needed. The constructor only validates.
  const password = 'pw_never_in_errors_31337';
  const tb = new Tollbooth({ database: `postgres://app:${password}@127.0.0.1:1/app?sslmode=disable&connect_timeout=2`, webhookSecrets: [SECRET] });
  const body = bytesOf(event('customer.created', customer()));
  // Every Promise gets its handler at once (they may reject in any order).
  const pending = [tb.open(), tb.handleWebhook(body, sign(body), NOW), tb.access('cus_1', NOW)];
  for (const e of await Promise.all(pending.map((p) => expectRejection('STORE_UNAVAILABLE', p)))) {
    assertNoSecret(e, [password]);
  }
  const e = thrown(() => tb.accessSync('cus_1', NOW));
  assert.equal(e.code, 'STORE_UNAVAILABLE');
  assertNoSecret(e, [password]);
  await tb.close();
  // A URL tollbooth cannot use is a configuration error naming the parameter, not the password.
  const bad = new Tollbooth({ database: `postgres://app:${password}@127.0.0.1:1/app?schema=Drop%20Table`, webhookSecrets: [SECRET] });
  const c = await expectRejection('CONFIG_INVALID', bad.open());
  assert.match(c.message, /schema/);
  assertNoSecret(c, [password]);
});

postgresTest('a wrong password is STORE_OPEN_FAILED (fix the configuration), without the password', async (store) => {
  const url = new URL(store.database());
  url.password = 'wrong_password_never_in_errors';
  const tb = new Tollbooth({ database: url.toString(), webhookSecrets: [SECRET] });
  const e = await expectRejection('STORE_OPEN_FAILED', tb.open());
  assertNoSecret(e, ['wrong_password_never_in_errors']);
});
