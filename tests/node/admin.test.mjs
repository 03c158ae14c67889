// The operator API (what the CLI has): events with filters, one event's detail, the delivery
// log, a customer's timeline with the access decision and its reason, reprocess, and importing
// an export. Results are awaited, so the same tests hold for Promise forms. Each runs on SQLite
// and on PostgreSQL (`eachStore`).

import assert from 'node:assert/strict';
import { NOW, SECRET, assertNoSecret, customer, deliver, eachStore, event, id, invoice, subscription, thrown } from './helpers.mjs';

async function seeded(store) {
  const tb = store.open();
  const cus = id('cus');
  const sub = id('sub');
  const failed = event('invoice.payment_failed', invoice({ customer: cus, subscription: sub, status: 'open', attemptCount: 1 }), { created: NOW - 30 });
  await deliver(tb, event('customer.created', customer({ id: cus, email: 'grace@example.com', userId: 'user_grace' }), { created: NOW - 50 }));
  await deliver(tb, event('customer.subscription.updated', subscription({ id: sub, customer: cus, status: 'past_due' }), { created: NOW - 40 }));
  await deliver(tb, failed);
  assert.equal(thrown(() => tb.handleWebhookSync(Buffer.from(JSON.stringify(failed)), 't=1,v1=00', NOW)).code, 'TIMESTAMP_OUT_OF_TOLERANCE');
  return { tb, cus, failed };
}

eachStore('events: newest first, filtered by type, outcome, customer and time', async (store) => {
  const { tb, cus, failed } = await seeded(store);
  const all = await tb.eventsSync();
  assert.deepEqual(all.map((e) => e.type), ['invoice.payment_failed', 'customer.subscription.updated', 'customer.created']);
  assert.equal(all[0].id, failed.id);
  assert.equal(all[0].outcome, 'processed');
  assert.equal(all[0].customerId, cus);
  assert.equal((await tb.eventsSync({ type: 'customer.created' })).length, 1);
  assert.equal((await tb.eventsSync({ customerId: cus, since: NOW - 45 })).length, 2);
  assert.equal((await tb.eventsSync({ until: NOW - 45 })).length, 1);
  assert.equal((await tb.eventsSync({ outcome: 'stale' })).length, 0);
  assert.equal((await tb.eventsSync({ limit: 1 })).length, 1);
  assert.equal(thrown(() => tb.eventsSync({ outcome: 'bogus' })).code, 'INVALID_ARGUMENT');
  assert.equal(thrown(() => tb.eventsSync({ limit: -1 })).code, 'INVALID_ARGUMENT');
});

eachStore('eventDetail: the row, the jobs it caused and the exact raw body; null when not stored', async (store) => {
  const { tb, failed } = await seeded(store);
  const d = await tb.eventDetailSync(failed.id);
  assert.equal(d.event.type, 'invoice.payment_failed');
  assert.equal(d.livemode, false);
  assert.deepEqual(d.jobs.map((j) => j.kind), ['support.open_ticket']);
  assert.equal(d.jobs[0].eventId, failed.id);
  assert.equal(d.body, JSON.stringify(failed));
  assert.equal(await tb.eventDetailSync('evt_not_stored'), null);
});

eachStore('deliveries: every call, refusals with their code', async (store) => {
  const { tb } = await seeded(store);
  const rows = await tb.deliveriesSync(10);
  assert.equal(rows.length, 4);
  assert.equal(rows[0].outcome, 'rejected');
  assert.equal(rows[0].reason, 'TIMESTAMP_OUT_OF_TOLERANCE');
  assert.equal(rows[0].eventId, null, 'nothing of a refused body is kept');
  assert.equal(rows[1].outcome, 'processed');
  assertNoSecret(rows);
});

eachStore('customerTimeline: by id, email or user id, with the access decision and its reason', async (store) => {
  const { tb, cus } = await seeded(store);
  for (const q of [cus, 'grace@example.com', 'user_grace']) {
    const t = await tb.customerTimelineSync(q, NOW);
    assert.equal(t.customer.id, cus, q);
    assert.equal(t.access.state, 'past_due');
    assert.equal(t.access.hasAccess, false);
    assert.match(t.access.reason, /update your card/);
    assert.deepEqual(t.events.map((e) => e.type), ['customer.created', 'customer.subscription.updated', 'invoice.payment_failed'], 'oldest first');
    assert.equal(t.subscriptions[0].status, 'past_due');
    assert.equal(t.invoices.length, 1);
    const ticket = t.jobs.find((h) => h.job.kind === 'support.open_ticket');
    assert.deepEqual(ticket.attempts, []);
  }
  assert.equal(await tb.customerTimelineSync('nobody@example.com'), null);
});

eachStore('reprocess: a no-op for an applied event; INVALID_ARGUMENT for an unknown one', async (store) => {
  const { tb, failed } = await seeded(store);
  const r = await tb.reprocessSync(failed.id, NOW);
  assert.equal(r.outcome, 'duplicate');
  assert.equal(r.eventId, failed.id);
  assert.equal(thrown(() => tb.reprocessSync('evt_missing')).code, 'INVALID_ARGUMENT');
});

eachStore('importEvents: oldest first, bad lines reported, twice changes nothing', async (store) => {
  const tb = store.open();
  const cus = id('cus');
  const older = event('customer.created', customer({ id: cus, email: 'old@example.com' }), { created: NOW - 20 });
  const newer = event('customer.updated', customer({ id: cus, email: 'new@example.com' }), { created: NOW - 10 });
  const text = [JSON.stringify(newer), 'not json', JSON.stringify(older)].join('\n');
  const r = await tb.importEventsSync(text, NOW);
  assert.equal(r.total, 3);
  assert.equal(r.byOutcome.processed, 2);
  assert.equal(r.byOutcome.rejected, 1);
  assert.equal(r.unit, 'line');
  assert.deepEqual(r.errors.map((e) => [e.at, e.code]), [[2, 'PAYLOAD_INVALID_JSON']]);
  assert.equal((await tb.findCustomerSync(cus)).email, 'new@example.com');
  const again = await tb.importEventsSync(text, NOW);
  assert.equal(again.byOutcome.duplicate, 2);
  assert.equal(thrown(() => tb.importEventsSync('[1,', NOW)).code, 'PAYLOAD_INVALID_JSON');
  assertNoSecret([r, again], [SECRET]);
});
