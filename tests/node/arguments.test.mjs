// Issue 13, finding 7: every argument a JS caller can get wrong is refused with a code from
// the one table (never napi's own `InvalidArg`) and a fixed message that never quotes the
// value; numbers are checked for NaN, infinities, fractions and range; import keeps the
// livemode guard (finding 10) unless told otherwise.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  NOW,
  SECRET,
  Tollbooth,
  assertNoSecret,
  customer,
  deliver,
  event,
  open,
  rejected,
  signTestPayload,
  thrown,
  tollbooth,
} from './helpers.mjs';

/** Asserts `e` is INVALID_ARGUMENT (or `code`) and that its message holds none of `values`. */
function refused(e, values = [], code = 'INVALID_ARGUMENT') {
  assert.equal(e.code, code, e.message);
  for (const v of values) assert.ok(!e.message.includes(String(v)), `${e.message} echoes ${v}`);
  return e;
}

const BAD_NUMBERS = [NaN, Infinity, -Infinity, -1, 1.5, 1e300, 2 ** 63];

test('claimJobs: NaN, infinite, negative, fractional or huge limit / lease / now are INVALID_ARGUMENT', async () => {
  const tb = open();
  for (const bad of BAD_NUMBERS) {
    refused(thrown(() => tb.claimJobsSync({ limit: bad, leaseSeconds: 30, nowSeconds: NOW })), [bad]);
    refused(thrown(() => tb.claimJobsSync({ limit: 1, leaseSeconds: bad, nowSeconds: NOW })), [bad]);
    refused(thrown(() => tb.claimJobsSync({ limit: 1, leaseSeconds: 30, nowSeconds: bad })), [bad]);
    refused(await rejected(tb.claimJobs({ limit: 1, leaseSeconds: bad, nowSeconds: NOW })), [bad]);
  }
  refused(thrown(() => tb.claimJobsSync({ limit: 0, leaseSeconds: 30 })));
  refused(thrown(() => tb.claimJobsSync({ limit: '5', leaseSeconds: 30 })));
  refused(thrown(() => tb.claimJobsSync({ limit: 5, leaseSeconds: 30, kinds: [SECRET, 7] })), [SECRET]);
  assert.deepEqual(tb.claimJobsSync({ limit: 5, leaseSeconds: 30, nowSeconds: NOW }), []);
  tb.closeSync();
});

test('ids, lease tokens and clocks of every worker call are checked', async () => {
  const tb = open();
  for (const bad of [NaN, -1, 0.5, 'abc', {}, null]) {
    refused(thrown(() => tb.completeJobSync(bad, 1, NOW)), [bad]);
    refused(thrown(() => tb.failJobSync(1, bad, 'x', NOW)), [bad]);
    refused(await rejected(tb.replayJob(bad, NOW)), [bad]);
  }
  for (const bad of [NaN, Infinity, -5, 1e300]) {
    refused(thrown(() => tb.accessSync('cus_1', bad)), [bad]);
    refused(thrown(() => tb.metricsSync(bad)), [bad]);
    refused(await rejected(tb.health(bad)), [bad]);
  }
  refused(thrown(() => tb.deliveriesSync(NaN)));
  refused(thrown(() => tb.jobsSync({ limit: -3 })), [-3]);
  refused(thrown(() => tb.eventsSync({ since: NaN })));
  tb.closeSync();
});

test("a wrong-typed argument is INVALID_ARGUMENT from the table, never napi's InvalidArg, and never quoted", async () => {
  const tb = open();
  const secretly = { note: SECRET };
  for (const [name, call] of [
    ['accessSync', () => tb.accessSync(secretly, NOW)],
    ['accessForUserSync', () => tb.accessForUserSync(42, NOW)],
    ['invoicesSync', () => tb.invoicesSync(secretly)],
    ['checkoutStatusSync', () => tb.checkoutStatusSync([SECRET])],
    ['failJobSync', () => tb.failJobSync(1, 1, secretly, NOW)],
    ['findCustomerSync', () => tb.findCustomerSync(secretly)],
    ['eventDetailSync', () => tb.eventDetailSync(secretly)],
    ['handleWebhookSync header', () => tb.handleWebhookSync(Buffer.from('{}'), secretly, NOW)],
    ['signTestPayload secret', () => signTestPayload('x', secretly, NOW)],
    ['currencyExponent', () => tollbooth.currencyExponent(secretly)],
  ]) {
    const e = thrown(call);
    assert.notEqual(e.code, 'InvalidArg', name);
    refused(e, [SECRET]);
    assertNoSecret(e);
  }
  refused(await rejected(tb.access(secretly, NOW)), [SECRET]);
  assert.equal(tollbooth.httpStatus(secretly), 500, 'an unknown code is a 500');
  tb.closeSync();
});

test('options: NaN, infinite or out-of-range numbers and wrong-typed secrets are refused without echo', () => {
  const base = { database: ':memory:', webhookSecrets: [SECRET] };
  for (const [key, bad] of [
    ['toleranceSeconds', NaN],
    ['toleranceSeconds', Infinity],
    ['maxAttempts', 2.5],
    ['busyTimeoutMs', NaN],
    ['busyTimeoutMs', 2 ** 31],
    ['maxBodyBytes', -1],
    ['pastDueGraceSeconds', 1e300],
  ]) {
    refused(thrown(() => new Tollbooth({ ...base, [key]: bad })), [bad], 'CONFIG_INVALID');
  }
  refused(thrown(() => new Tollbooth({ database: ':memory:', webhookSecrets: SECRET })), [SECRET]);
  refused(thrown(() => new Tollbooth({ database: { SECRET }, webhookSecrets: [SECRET] })), [SECRET]);
  refused(thrown(() => Tollbooth.fromEnv({ webhookSecrets: [SECRET, { SECRET }] })), [SECRET]);
});

test('bodies: Buffer, Uint8Array, ArrayBuffer and DataView verify alike; a string is INVALID_ARGUMENT', () => {
  const tb = open();
  const body = Buffer.from(JSON.stringify(event('customer.created', customer())));
  const header = signTestPayload(body, SECRET, NOW);
  const copy = new Uint8Array(body);
  assert.equal(tb.handleWebhookSync(copy.buffer, header, NOW).outcome, 'processed');
  for (const view of [body, copy, new DataView(copy.buffer)]) {
    assert.equal(tb.handleWebhookSync(view, header, NOW).outcome, 'duplicate');
  }
  refused(thrown(() => tb.handleWebhookSync(body.toString(), header, NOW)));
  tb.closeSync();
});

test('importEvents keeps the livemode guard: a test-mode export into a live store is refused unless allowed', async () => {
  const tb = open();
  deliver(tb, event('customer.created', customer(), { livemode: true }));
  const testExport = JSON.stringify(event('customer.created', customer(), { livemode: false }));
  const e = refused(await rejected(tb.importEvents(testExport, NOW)), [], 'LIVEMODE_MISMATCH');
  assert.match(e.message, /1 test-mode event/);
  refused(thrown(() => tb.importEventsSync(testExport, NOW)), [], 'LIVEMODE_MISMATCH');
  const r = tb.importEventsSync(testExport, NOW, { allowLivemodeMismatch: true });
  assert.equal(r.byOutcome.processed, 1);
  tb.closeSync();
});

test('issue 13 finding 9: STRIPE_WEBHOOK_SECRET is split on commas and trimmed; a blank entry is refused without echo', () => {
  const saved = process.env.STRIPE_WEBHOOK_SECRET;
  try {
    const other = 'whsec_rotating_0123456789abcdef';
    process.env.STRIPE_WEBHOOK_SECRET = ` ${other} ,\n${SECRET}  `;
    const tb = Tollbooth.fromEnv({ database: ':memory:' });
    const h = deliver(tb, event('customer.created', customer()));
    assert.equal(h.outcome, 'processed');
    assert.equal(h.secretIndex, 1, 'the second, trimmed secret verified it');
    tb.closeSync();
    process.env.STRIPE_WEBHOOK_SECRET = `${SECRET}, ,`;
    const e = thrown(() => Tollbooth.fromEnv({ database: ':memory:' }));
    assert.ok(['SECRET_INVALID', 'CONFIG_INVALID'].includes(e.code), e.message);
    assertNoSecret(e);
  } finally {
    if (saved === undefined) delete process.env.STRIPE_WEBHOOK_SECRET;
    else process.env.STRIPE_WEBHOOK_SECRET = saved;
  }
});
