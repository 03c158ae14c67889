#!/usr/bin/env node
// A loopback stub of the parts of Stripe's API the example and tollbooth use, for the e2e and
// the Node tests (tests/node/stripe.test.mjs). Objects are whatever the test loads (Stripe's
// documented shapes, built by the test); the stub adds what Stripe's API does around them:
//
//   GET  /v1/customers, /v1/products, /v1/prices, /v1/subscriptions, /v1/invoices,
//        /v1/checkout/sessions, /v1/events     lists, newest first, `limit` (1-100, default 10),
//        `starting_after`, `has_more`, `created[gte|lte]`; subscriptions leave out canceled
//        ones unless `status=all` (as Stripe does); events filter by `type`
//   GET  /v1/<collection>/<id>                  retrieve (404 `resource_missing` otherwise)
//   POST /v1/billing_portal/sessions            form body `customer`, `return_url`: a session
//        whose `url` is this stub's /p/session/<id>, a page that links back to `return_url`
//   Every /v1 request needs `Authorization: Bearer <STRIPE_STUB_KEY>`; a wrong key gets a 401
//   whose message quotes the key it got (real Stripe masks it: the stub does not, so a test
//   proves the client never passes that text on).
//
// Test controls (no auth; loopback only):
//   POST /_stub/objects   {"objects": [...]}: add or replace by id (the `object` field decides
//                         the collection: customer, subscription, event, ...)
//   POST /_stub/fail      {"status": 429|500|..., "times": n, "retryAfter": s, "shouldRetry":
//                         bool, "path": prefix}: the next n matching /v1 requests fail so
//   GET  /_stub/requests  what was asked: method, path, query, Stripe-Version, Stripe-Account,
//                         whether the bearer matched (never the key itself)
//   POST /_stub/reset     forget objects, requests and faults
//
// Run as a process (`PORT=0 node stubs/stripe.mjs` prints {"msg":"stripe stub listening","url"})
// or start it from a test with `startStripeStub()` below, which runs it as a child process: the
// `...Sync` forms of tollbooth block the test's own event loop, so the stub must not share it.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const COLLECTIONS = {
  customer: 'customers',
  product: 'products',
  price: 'prices',
  subscription: 'subscriptions',
  invoice: 'invoices',
  'checkout.session': 'checkout/sessions',
  event: 'events',
};

const html = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function serve({ key, host = '127.0.0.1', port = 0 }) {
  /** collection -> Map(id -> object) */
  const store = new Map(Object.values(COLLECTIONS).map((c) => [c, new Map()]));
  const portalSessions = new Map();
  let requests = [];
  let faults = [];
  let seq = 0;

  const send = (res, status, body, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const stripeError = (res, status, type, message, extra = {}, headers = {}) =>
    send(res, status, { error: { type, message, ...extra } }, headers);

  const readBody = async (req) => {
    const chunks = [];
    let size = 0;
    for await (const c of req) {
      size += c.length;
      if (size > 16 << 20) throw new Error('body too large');
      chunks.push(c);
    }
    return Buffer.concat(chunks).toString('utf8');
  };

  function list(res, collection, q) {
    let items = [...store.get(collection).values()];
    if (collection === 'subscriptions' && q.get('status') !== 'all') {
      const status = q.get('status');
      items = items.filter((s) => (status ? s.status === status : s.status !== 'canceled'));
    }
    if (collection === 'events' && q.get('type')) items = items.filter((e) => e.type === q.get('type'));
    const gte = q.get('created[gte]');
    const lte = q.get('created[lte]');
    if (gte !== null) items = items.filter((o) => (o.created ?? 0) >= Number(gte));
    if (lte !== null) items = items.filter((o) => (o.created ?? 0) <= Number(lte));
    // Newest first, ties by id (descending), like Stripe's stable list order.
    items.sort((a, b) => (b.created ?? 0) - (a.created ?? 0) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const after = q.get('starting_after');
    if (after) {
      const i = items.findIndex((o) => o.id === after);
      if (i < 0) return stripeError(res, 400, 'invalid_request_error', `No such object: '${after}'`, { param: 'starting_after' });
      items = items.slice(i + 1);
    }
    const limit = Number(q.get('limit') ?? 10);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      return stripeError(res, 400, 'invalid_request_error', 'limit must be between 1 and 100', { param: 'limit' });
    }
    const data = items.slice(0, limit);
    send(res, 200, { object: 'list', url: `/v1/${collection}`, has_more: items.length > limit, data });
  }

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://stub');
      const path = url.pathname;
      if (path.startsWith('/_stub/')) return await control(req, res, path);
      if (req.method === 'GET' && path.startsWith('/p/session/')) {
        const s = portalSessions.get(path.slice('/p/session/'.length));
        if (!s) return send(res, 404, { error: 'no such portal session' });
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(
          `<!doctype html><html lang="en"><head><title>Billing portal (Stripe stub)</title></head><body><main>` +
            `<h1>Update your payment method</h1><p>Stripe billing portal stub for <code>${html(s.customer)}</code>.</p>` +
            `<a href="${html(s.return_url ?? '/')}">Return to the portal</a></main></body></html>`,
        );
      }
      if (!path.startsWith('/v1/')) return send(res, 404, { error: 'not a stub path' });
      const auth = req.headers.authorization ?? '';
      const given = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      requests.push({
        method: req.method,
        path,
        query: Object.fromEntries(url.searchParams),
        stripeVersion: req.headers['stripe-version'] ?? null,
        stripeAccount: req.headers['stripe-account'] ?? null,
        authorized: given === key,
      });
      const fault = faults.find((f) => f.times > 0 && path.startsWith(f.path ?? '/v1/'));
      if (fault) {
        fault.times -= 1;
        const headers = fault.retryAfter != null ? { 'retry-after': String(fault.retryAfter) } : {};
        if (fault.shouldRetry != null) headers['stripe-should-retry'] = String(fault.shouldRetry);
        const type = fault.status === 429 ? 'rate_limit_error' : 'api_error';
        return stripeError(res, fault.status, type, `injected ${fault.status}`, {}, headers);
      }
      if (given !== key) {
        return stripeError(res, 401, 'invalid_request_error', `Invalid API Key provided: ${given}`);
      }
      if (req.method === 'POST' && path === '/v1/billing_portal/sessions') {
        const form = new URLSearchParams(await readBody(req));
        const customer = form.get('customer');
        if (!customer) return stripeError(res, 400, 'invalid_request_error', 'Missing required param: customer.', { param: 'customer' });
        if (!store.get('customers').has(customer)) {
          return stripeError(res, 400, 'invalid_request_error', `No such customer: '${customer}'`, { param: 'customer', code: 'resource_missing' });
        }
        seq += 1;
        const id = `bps_stub${String(seq).padStart(6, '0')}`;
        const host = req.headers.host;
        const session = {
          id,
          object: 'billing_portal.session',
          customer,
          livemode: false,
          return_url: form.get('return_url'),
          created: Math.floor(Date.now() / 1000),
          url: `http://${host}/p/session/${id}`,
        };
        portalSessions.set(id, session);
        return send(res, 200, session);
      }
      if (req.method !== 'GET') return stripeError(res, 405, 'invalid_request_error', 'method not allowed');
      const rest = path.slice('/v1/'.length);
      for (const collection of store.keys()) {
        if (rest === collection) return list(res, collection, url.searchParams);
        if (rest.startsWith(`${collection}/`)) {
          const id = rest.slice(collection.length + 1);
          const obj = store.get(collection).get(id);
          if (!obj) return stripeError(res, 404, 'invalid_request_error', `No such object: '${id}'`, { code: 'resource_missing' });
          return send(res, 200, obj);
        }
      }
      return stripeError(res, 404, 'invalid_request_error', `Unrecognized request URL (GET: ${path})`);
    } catch (err) {
      send(res, 500, { error: { type: 'api_error', message: `stub: ${err.message}` } });
    }
  });

  async function control(req, res, path) {
    if (req.method === 'GET' && path === '/_stub/requests') return send(res, 200, requests);
    if (req.method !== 'POST') return send(res, 405, { error: 'POST' });
    const body = JSON.parse((await readBody(req)) || '{}');
    if (path === '/_stub/objects') {
      let added = 0;
      for (const o of body.objects ?? []) {
        const collection = COLLECTIONS[o.object];
        if (!collection || typeof o.id !== 'string') return send(res, 400, { error: `cannot store ${o.object} ${o.id}` });
        store.get(collection).set(o.id, o);
        added += 1;
      }
      return send(res, 200, { added });
    }
    if (path === '/_stub/fail') {
      faults.push({ status: body.status ?? 500, times: body.times ?? 1, retryAfter: body.retryAfter, shouldRetry: body.shouldRetry, path: body.path });
      return send(res, 200, { ok: true });
    }
    if (path === '/_stub/reset') {
      for (const m of store.values()) m.clear();
      portalSessions.clear();
      requests = [];
      faults = [];
      return send(res, 200, { ok: true });
    }
    return send(res, 404, { error: 'no such control' });
  }

  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok({ server, url: `http://${host}:${server.address().port}` }));
  });
}

/**
 * Starts the stub as a child process (its own event loop) accepting `key`. Returns its `url`,
 * helpers over the control endpoints (`add(objects)`, `fail(spec)`, `requests()`, `reset()`),
 * and `stop()`.
 */
export async function startStripeStub({ key, env = {} } = {}) {
  if (!key) throw new Error('startStripeStub: key is required');
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, ...env, STRIPE_STUB_KEY: key, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((ok, fail) => {
    let out = '';
    child.once('exit', (code) => fail(new Error(`stripe stub exited (${code}) before listening`)));
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"url"'));
      if (line) ok(JSON.parse(line).url);
    });
  });
  child.stdout.resume();
  const post = async (path, body) => {
    const r = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
    return r.json();
  };
  return {
    url,
    add: (objects) => post('/_stub/objects', { objects }),
    fail: (spec) => post('/_stub/fail', spec),
    reset: () => post('/_stub/reset', {}),
    requests: async () => (await fetch(`${url}/_stub/requests`)).json(),
    stop: () =>
      new Promise((ok) => {
        if (child.exitCode !== null || child.signalCode !== null) return ok();
        child.once('exit', () => ok());
        child.kill('SIGTERM');
      }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const key = process.env.STRIPE_STUB_KEY;
  if (!key) {
    console.error('STRIPE_STUB_KEY is required');
    process.exit(2);
  }
  const { server, url } = await serve({ key, host: process.env.STUBS_HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) });
  console.log(JSON.stringify({ msg: 'stripe stub listening', url }));
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(0));
}
