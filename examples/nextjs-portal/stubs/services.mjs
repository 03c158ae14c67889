#!/usr/bin/env node
// Stub CRM and helpdesk for the example and its e2e: two small HTTP services on loopback.
//
//   CRM       (CRM_PORT, default 4010)
//     PUT  /contacts/:externalId   upsert a contact by external id (the job key = Stripe customer id)
//     PUT  /notes/:externalId      upsert a note (e.g. "portal access revoked")
//     GET  /contacts, /contacts/:externalId, /notes, /_stats
//   Helpdesk  (HELPDESK_PORT, default 4020)
//     PUT  /tickets/:externalId        upsert a ticket by external id (the job key); an existing
//                                      ticket keeps its status (a retried "open" never reopens it)
//     POST /tickets/:externalId/close  close it (closing a closed ticket is a no-op)
//     GET  /tickets?customer=&reference=&status=, /tickets/:externalId, /_stats
//
// Writes honour upsert-by-external-id, so a retried call (same Idempotency-Key = job key) changes
// nothing twice. Faults: each write fails with probability FAULT_RATE (seeded by FAULT_SEED):
// half of them answer 500 before writing, half write and then hang for FAULT_HANG_MS (the caller
// times out although the write happened: the case idempotency exists for). Reads never fault.
import http from 'node:http';
import { rng } from './rng.mjs';

const CRM_PORT = Number(process.env.CRM_PORT ?? 4010);
const HELPDESK_PORT = Number(process.env.HELPDESK_PORT ?? 4020);
const HOST = process.env.STUBS_HOST ?? '127.0.0.1';
const FAULT_RATE = Number(process.env.FAULT_RATE ?? 0);
const FAULT_SEED = Number(process.env.FAULT_SEED ?? 1);
const FAULT_HANG_MS = Number(process.env.FAULT_HANG_MS ?? 3000);

const now = () => new Date().toISOString();

function service(name, index) {
  return {
    name,
    // One generator per service: its faults depend only on its own sequence of writes.
    random: rng(FAULT_SEED * 1000 + index),
    stats: { requests: 0, writes: 0, faults500: 0, faultsTimeout: 0, idempotencyKeys: new Set() },
  };
}

const crm = { ...service('crm', 1), contacts: new Map(), notes: new Map(), seq: 0 };
const helpdesk = { ...service('helpdesk', 2), tickets: new Map(), seq: 1000 };

function send(res, status, body) {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

/** Decides this write's fate: 'ok', 'error' (500, no write) or 'hang' (write, then no answer). */
function fate(svc) {
  const r = svc.random();
  if (r < FAULT_RATE / 2) {
    svc.stats.faults500 += 1;
    return 'error';
  }
  if (r < FAULT_RATE) {
    svc.stats.faultsTimeout += 1;
    return 'hang';
  }
  return 'ok';
}

function statsOf(svc) {
  const { idempotencyKeys, ...rest } = svc.stats;
  return { ...rest, distinctIdempotencyKeys: idempotencyKeys.size, faultRate: FAULT_RATE, faultSeed: FAULT_SEED };
}

/** Runs a write with fault injection; `apply` returns [status, body]. */
async function write(svc, req, res, apply) {
  svc.stats.writes += 1;
  const key = req.headers['idempotency-key'];
  if (key) svc.stats.idempotencyKeys.add(String(key));
  const f = fate(svc);
  if (f === 'error') return send(res, 500, { error: 'injected failure' });
  let body;
  try {
    body = await readJson(req);
  } catch {
    return send(res, 400, { error: 'invalid json' });
  }
  const [status, out] = apply(body);
  if (f === 'hang') {
    setTimeout(() => send(res, status, out), FAULT_HANG_MS).unref();
    return;
  }
  send(res, status, out);
}

function route(svc, handlers) {
  return async (req, res) => {
    svc.stats.requests += 1;
    const url = new URL(req.url, 'http://stub');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    try {
      for (const [method, pattern, fn] of handlers) {
        if (method !== req.method || pattern.length !== parts.length) continue;
        const params = {};
        if (pattern.every((p, i) => (p.startsWith(':') ? ((params[p.slice(1)] = parts[i]), true) : p === parts[i]))) {
          return await fn(req, res, params, url.searchParams);
        }
      }
      send(res, 404, { error: 'not found' });
    } catch (err) {
      send(res, 500, { error: String(err?.message ?? err) });
    }
  };
}

const crmServer = http.createServer(
  route(crm, [
    [
      'PUT',
      ['contacts', ':id'],
      (req, res, { id }) =>
        write(crm, req, res, (b) => {
          const existing = crm.contacts.get(id);
          const contact = {
            id: existing?.id ?? `C-${++crm.seq}`,
            external_id: id,
            email: b.email ?? null,
            name: b.name ?? null,
            user_id: b.user_id ?? null,
            subscriptions: b.subscriptions ?? [],
            deleted: Boolean(b.deleted),
            created_at: existing?.created_at ?? now(),
            updated_at: now(),
            writes: (existing?.writes ?? 0) + 1,
          };
          crm.contacts.set(id, contact);
          return [existing ? 200 : 201, contact];
        }),
    ],
    [
      'PUT',
      ['notes', ':id'],
      (req, res, { id }) =>
        write(crm, req, res, (b) => {
          const existing = crm.notes.get(id);
          const note = { external_id: id, contact: b.contact ?? null, text: b.text ?? '', created_at: existing?.created_at ?? now() };
          crm.notes.set(id, note);
          return [existing ? 200 : 201, note];
        }),
    ],
    ['GET', ['contacts'], (_q, res) => send(res, 200, { contacts: [...crm.contacts.values()] })],
    ['GET', ['contacts', ':id'], (_q, res, { id }) => (crm.contacts.has(id) ? send(res, 200, crm.contacts.get(id)) : send(res, 404, { error: 'not found' }))],
    ['GET', ['notes'], (_q, res) => send(res, 200, { notes: [...crm.notes.values()] })],
    ['GET', ['_stats'], (_q, res) => send(res, 200, statsOf(crm))],
  ]),
);

const helpdeskServer = http.createServer(
  route(helpdesk, [
    [
      'PUT',
      ['tickets', ':id'],
      (req, res, { id }) =>
        write(helpdesk, req, res, (b) => {
          const existing = helpdesk.tickets.get(id);
          const ticket = {
            id: existing?.id ?? `T-${++helpdesk.seq}`,
            external_id: id,
            customer_id: b.customer_id ?? existing?.customer_id ?? null,
            subject: b.subject ?? existing?.subject ?? '',
            body: b.body ?? existing?.body ?? '',
            reference: b.reference ?? existing?.reference ?? null,
            status: existing?.status ?? 'open',
            created_at: existing?.created_at ?? now(),
            updated_at: now(),
            closed_at: existing?.closed_at ?? null,
            close_note: existing?.close_note ?? null,
            writes: (existing?.writes ?? 0) + 1,
          };
          helpdesk.tickets.set(id, ticket);
          return [existing ? 200 : 201, ticket];
        }),
    ],
    [
      'POST',
      ['tickets', ':id', 'close'],
      (req, res, { id }) =>
        write(helpdesk, req, res, (b) => {
          const t = helpdesk.tickets.get(id);
          if (!t) return [404, { error: 'no such ticket' }];
          if (t.status !== 'closed') {
            t.status = 'closed';
            t.closed_at = now();
            t.close_note = b.note ?? null;
            t.updated_at = now();
          }
          return [200, t];
        }),
    ],
    [
      'GET',
      ['tickets'],
      (_q, res, _p, qs) => {
        const tickets = [...helpdesk.tickets.values()].filter(
          (t) =>
            (!qs.get('customer') || t.customer_id === qs.get('customer')) &&
            (!qs.get('reference') || t.reference === qs.get('reference')) &&
            (!qs.get('status') || t.status === qs.get('status')),
        );
        send(res, 200, { tickets });
      },
    ],
    ['GET', ['tickets', ':id'], (_q, res, { id }) => (helpdesk.tickets.has(id) ? send(res, 200, helpdesk.tickets.get(id)) : send(res, 404, { error: 'not found' }))],
    ['GET', ['_stats'], (_q, res) => send(res, 200, statsOf(helpdesk))],
  ]),
);

const listen = (server, port) => new Promise((ok, fail) => server.once('error', fail).listen(port, HOST, ok));
await listen(crmServer, CRM_PORT);
await listen(helpdeskServer, HELPDESK_PORT);
console.log(
  JSON.stringify({
    msg: 'stubs listening',
    crm: `http://${HOST}:${crmServer.address().port}`,
    helpdesk: `http://${HOST}:${helpdeskServer.address().port}`,
    faultRate: FAULT_RATE,
    faultSeed: FAULT_SEED,
  }),
);

const stop = () => {
  crmServer.closeAllConnections?.();
  helpdeskServer.closeAllConnections?.();
  crmServer.close();
  helpdeskServer.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
