// Thin events, Connect and SCA through the addon: `ingestTrusted` (Promise and Sync) and
// `workStripeJobs` against a small Stripe stub served by this process on loopback;
// `accessForUserIn` and `acceptConnectEvents`; the `action_required` access state. A thin event (v2
// notification) becomes one `stripe.fetch_event` job; the worker fetches the full event from
// /v2/core/events/{id} with the event's context as Stripe-Context, then the v1 snapshot event
// it names with Stripe-Account, and ingests it. Runs on SQLite and PostgreSQL (`eachStore`).

import assert from 'node:assert/strict';
import { createServer } from 'node:http';

import {
  NOW,
  assertNoSecret,
  checkoutSession,
  deliver,
  eachStore,
  event,
  id,
  invoice,
  subscription,
  thrown,
} from './helpers.mjs';

const KEY = 'sk_test_51NodeStripeWorkerSECRET';

/** A loopback Stripe stub: `objects` maps a path to the JSON it answers; requests are recorded. */
async function stub(objects) {
  const requests = [];
  const server = createServer((req, res) => {
    requests.push({ path: req.url, headers: req.headers });
    const body = req.headers.authorization === `Bearer ${KEY}` ? objects[req.url] : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { error: { type: 'invalid_request_error', message: 'No such object' } }));
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { baseUrl: `http://127.0.0.1:${server.address().port}`, requests, close: () => server.close() };
}

function thin(eventId, context, sub) {
  return {
    id: eventId,
    object: 'v2.core.event',
    type: 'v1.customer.subscription.updated',
    livemode: false,
    created: new Date(NOW * 1000).toISOString(),
    context,
    related_object: { id: sub, type: 'subscription', url: `/v1/subscriptions/${sub}` },
  };
}

eachStore('a thin event becomes a fetch job that workStripeJobs fetches and ingests', async (store) => {
  const tb = store.open();
  const [cus, sub, acct] = [id('cus'), id('sub'), 'acct_1NodeConn'];
  const note = thin(id('evt_test'), acct, sub);
  const snapshotId = id('evt');
  const snapshot = event('customer.subscription.updated', subscription({ id: sub, customer: cus, userId: 'user_node' }), {
    id: snapshotId,
    created: NOW,
  });
  snapshot.account = acct;
  const s = await stub({
    [`/v2/core/events/${note.id}`]: { ...note, snapshot_event: snapshotId, changes: {} },
    [`/v1/events/${snapshotId}`]: snapshot,
  });
  try {
    const h = await tb.ingestTrusted(note, NOW);
    assert.equal(h.outcome, 'processed');
    assert.deepEqual(
      h.jobs.map((j) => [j.kind, j.key]),
      [['stripe.fetch_event', note.id]],
    );
    assert.equal(tb.ingestTrustedSync(JSON.stringify(note), NOW + 1).outcome, 'duplicate');
    const [job] = await tb.jobs({ kind: 'stripe.fetch_event' });
    const { payload } = job; // parsed JSON, as every Job's payload
    assert.equal(payload.event_id, note.id);
    assert.equal(payload.account, acct);
    assert.equal(payload.related_object.id, sub);

    const report = await tb.workStripeJobs({ apiKey: KEY, baseUrl: s.baseUrl, leaseSeconds: 60 });
    assert.deepEqual(report, { claimed: 1, completed: 1, changed: 1, failed: [] });
    // The reconcile-only pass leaves fetch jobs alone (none left anyway).
    assert.equal((await tb.reconcile({ apiKey: KEY, baseUrl: s.baseUrl })).claimed, 0);
    assert.deepEqual(
      s.requests.map((r) => [r.path, r.headers['stripe-context'], r.headers['stripe-account']]),
      [
        [`/v2/core/events/${note.id}`, acct, undefined],
        [`/v1/events/${snapshotId}`, undefined, acct],
      ],
    );
    assert.equal((await tb.jobs({ kind: 'stripe.fetch_event' }))[0].state, 'done');
    assert.equal((await tb.workStripeJobs({ apiKey: KEY, baseUrl: s.baseUrl })).claimed, 0);
    assertNoSecret(report, [KEY]);
  } finally {
    s.close();
    await tb.close();
  }
});

eachStore('workStripeJobs reports a missing object as a failed job, without the key', async (store) => {
  const tb = store.open();
  const s = await stub({});
  try {
    const note = thin(id('evt_test'), null, id('sub'));
    await tb.ingestTrusted(Buffer.from(JSON.stringify(note)), NOW);
    const report = await tb.workStripeJobs({ apiKey: KEY, baseUrl: s.baseUrl });
    assert.equal(report.claimed, 1);
    assert.equal(report.failed.length, 1);
    assert.equal(report.failed[0].result.state, 'scheduled');
    assert.match(report.failed[0].code, /^STRIPE_/);
    const [job] = await tb.jobs({ kind: 'stripe.fetch_event' });
    assert.equal(job.state, 'due');
    assertNoSecret(job, [KEY]);
    // A key of the wrong shape or a non-loopback http URL is refused before any request.
    const e = thrown(() => tb.workStripeJobsSync({ apiKey: 'pk_test_publishable', baseUrl: s.baseUrl }));
    assert.equal(e.code, 'CONFIG_INVALID');
    const e2 = thrown(() => tb.workStripeJobsSync({ apiKey: KEY, baseUrl: 'http://example.com' }));
    assert.equal(e2.code, 'CONFIG_INVALID');
    assertNoSecret(e2.message, [KEY]);
    assert.equal(s.requests.length, 1);
  } finally {
    s.close();
    await tb.close();
  }
});

eachStore("a connected account's user_42 is not the platform's; an endpoint may refuse Connect events", async (store) => {
  const tb = store.open();
  const refusing = store.open({ acceptConnectEvents: false });
  try {
    const [plat, conn, acct] = [id('cus'), id('cus'), 'acct_1NodeConnect'];
    deliver(tb, event('customer.subscription.created', subscription({ customer: plat, userId: 'user_42' }), { created: NOW - 100 }));
    const cs = event('checkout.session.completed', checkoutSession({ customer: conn, userId: 'user_42' }), { created: NOW - 50 });
    cs.account = acct;
    assert.equal(deliver(tb, cs).outcome, 'processed');
    assert.equal((await tb.accessForUser('user_42', NOW)).customerId, plat);
    assert.equal(tb.accessForUserInSync(acct, 'user_42', NOW).customerId, conn);
    const refused = deliver(refusing, cs);
    assert.equal(refused.outcome, 'ignored');
    assert.equal(refused.reason, 'CONNECT_EVENT_REFUSED');
    assert.equal((await refusing.accessForUserIn(acct, 'user_42', NOW)).customerId, null);
  } finally {
    await tb.close();
    await refusing.close();
  }
});

eachStore('a payment that needs 3-D Secure is its own state with the hosted invoice URL', async (store) => {
  const tb = store.open();
  try {
    const [cus, sub] = [id('cus'), id('sub')];
    deliver(tb, event('customer.subscription.created', subscription({ id: sub, customer: cus, status: 'past_due' }), { created: NOW - 100 }));
    const open = invoice({ customer: cus, subscription: sub, status: 'open' });
    const h = deliver(tb, event('invoice.payment_action_required', open, { created: NOW - 50 }));
    assert.deepEqual(h.jobs.map((j) => j.kind), ['portal.payment_action_required']);
    const a = await tb.access(cus, NOW);
    assert.equal(a.state, 'action_required');
    assert.equal(a.hasAccess, false);
    assert.match(a.reason, /^confirm your payment/);
    assert.equal(a.paymentActionUrl, open.hosted_invoice_url);
  } finally {
    await tb.close();
  }
});
