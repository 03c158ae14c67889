// Many deliveries in flight: tollbooth's Promise API (`await handleWebhook`, group commit)
// against the hand-written handlers, 5 KB bodies, at 1, 2, 4, 8, 16 and 64 deliveries in
// flight, in one process, one run:
// - SQLite: ../shared/baselines/node-handler.js (constructEvent + one better-sqlite3 v12
//   transaction; synchronous, so it cannot batch: one delivery at a time whatever is in flight);
// - PostgreSQL (when --db or $TOLLBOOTH_TEST_POSTGRES names a server):
//   ../shared/baselines/node-handler-pg.js (constructEvent + one `pg` transaction, pool of 10)
//   against the same server; tollbooth gets the same pool size (`pool_size=10`).
//
//   npm run bench:inflight                                     # SQLite only
//   npm run bench:inflight -- --db "$TOLLBOOTH_TEST_POSTGRES"   # and PostgreSQL
//   npm run bench:inflight -- --levels 1,16 --n 2000 --stores sqlite
//
// Closed loop: `k` workers each issue a delivery, await it, and issue the next; a delivery's
// latency is from its call to its answer (for the synchronous baseline that is its service
// time: no queueing is counted in its favour or against it). Every unique delivery gets a
// fresh event id and invoice id; duplicates re-deliver the same signed bodies. Set
// TOLLBOOTH_BASELINES to the baselines folder when ../shared is elsewhere.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bodiesFor } from './bodies.mjs';
import * as setup from './setup.mjs';

const { SECRET, Tollbooth, arg, baselinesDir, require, resolveFromHere, signTestPayload } = setup;

const LEVELS = arg('levels', '1,2,4,8,16,64').split(',').map(Number);
const PG = arg('db', process.env.TOLLBOOTH_TEST_POSTGRES);
const STORES = arg('stores', PG ? 'sqlite,postgres' : 'sqlite').split(',');
// SQLite durability, both sides alike: `normal` (the default; a commit survives a crash of the
// process) and/or `full` (an fsync per commit: survives power loss; what group commit amortizes).
const DURABILITY = arg('durability', 'normal').split(',');
if (!fs.existsSync(path.join(baselinesDir, 'node-handler.js'))) {
  console.error(`${baselinesDir} has no node-handler.js: set TOLLBOOTH_BASELINES`);
  process.exit(2);
}
// The baselines require 'stripe', 'better-sqlite3' and 'pg': resolve them from here.
resolveFromHere();
const sqliteBaseline = require(path.join(baselinesDir, 'node-handler.js'));
const { templates, unique } = bodiesFor(baselinesDir);

const ts = templates('5k');
const now = Math.floor(Date.now() / 1000);
let counter = 1;
/** `n` unique deliveries, signed ahead of time (signing is the sender's work). */
const deliveries = (n) =>
  Array.from({ length: n }, () => {
    const i = counter++;
    const body = unique(ts[i % 2], i);
    return { body, header: signTestPayload(body, SECRET, now) };
  });

/** Delivers `d` with `k` in flight through `call`; checks each answer with `ok`. */
async function inFlight(d, k, call, ok) {
  let next = 0;
  const lat = new Float64Array(d.length);
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: k }, async () => {
      for (;;) {
        const i = next++;
        if (i >= d.length) return;
        const t = process.hrtime.bigint();
        const r = await call(d[i]);
        lat[i] = Number(process.hrtime.bigint() - t) / 1e3;
        if (!ok(r)) throw new Error(`unexpected answer ${JSON.stringify(r)}`);
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  lat.sort();
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))];
  return { perSec: d.length / secs, p50: pct(0.5), p99: pct(0.99), n: d.length };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tollbooth-inflight-'));
const rows = [];
const add = (store, k, what, impl, r) => rows.push({ store, k, what, impl, ...r });
const outcome = (want) => (h) => h.outcome === want;
const status = (want) => (r) => r.status === 200 && r.body === want;

/** One level for tollbooth on a fresh database. */
async function tollbooth(store, k, database, n, options = {}) {
  const tb = new Tollbooth({ database, webhookSecrets: [SECRET], ...options });
  await inFlight(deliveries(Math.min(500, n)), k, (x) => tb.handleWebhook(x.body, x.header, now), outcome('processed'));
  const d = deliveries(n);
  add(store, k, 'unique', 'tollbooth await handleWebhook', await inFlight(d, k, (x) => tb.handleWebhook(x.body, x.header, now), outcome('processed')));
  add(store, k, 'duplicate', 'tollbooth await handleWebhook', await inFlight(d, k, (x) => tb.handleWebhook(x.body, x.header, now), outcome('duplicate')));
  await tb.close();
}

/** One level for a baseline handler (`handle` may be synchronous or async). */
async function baseline(store, k, handle, n) {
  await inFlight(deliveries(Math.min(500, n)), k, (x) => handle(x.body, x.header), status('processed'));
  const d = deliveries(n);
  add(store, k, 'unique', 'hand-written baseline', await inFlight(d, k, (x) => handle(x.body, x.header), status('processed')));
  add(store, k, 'duplicate', 'hand-written baseline', await inFlight(d, k, (x) => handle(x.body, x.header), status('duplicate')));
}

const sqliteDurabilities = STORES.includes('sqlite') ? DURABILITY : [];
/** A SQLite row's store label: `sqlite` at the default durability, `sqlite full` otherwise. */
const sqliteLabel = (durability) => (durability === 'normal' ? 'sqlite' : `sqlite ${durability}`);
for (const durability of sqliteDurabilities) {
  const n = Number(arg('n', '4000'));
  const store = sqliteLabel(durability);
  for (const k of LEVELS) {
    await tollbooth(store, k, path.join(tmp, `tb-${durability}-${k}.db`), n, { durability });
    const db = sqliteBaseline.openDatabase(path.join(tmp, `base-${durability}-${k}.db`), durability.toUpperCase());
    await baseline(store, k, sqliteBaseline.createHandler({ db, webhookSecret: SECRET }), n);
    db.close();
  }
}

if (STORES.includes('postgres')) {
  const pgBaseline = require(path.join(baselinesDir, 'node-handler-pg.js'));
  const { Pool } = require('pg');
  const n = Number(arg('pg-n', '1500'));
  const admin = new Pool({ connectionString: PG, max: 1 });
  const sep = PG.includes('?') ? '&' : '?';
  for (const k of LEVELS) {
    const tbSchema = `tb_inflight_${process.pid}_${k}`;
    await tollbooth('postgres', k, `${PG}${sep}schema=${tbSchema}&pool_size=10`, n);
    await admin.query(`DROP SCHEMA IF EXISTS ${tbSchema} CASCADE`);
    const schema = `tb_base_${process.pid}_${k}`;
    await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    const pool = new Pool({ connectionString: PG, max: 10, options: `-c search_path=${schema}` });
    await pool.query(fs.readFileSync(path.join(baselinesDir, 'sql-pg/schema.sql'), 'utf8'));
    await baseline('postgres', k, pgBaseline.createHandler({ pool, webhookSecret: SECRET }), n);
    await pool.end();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }
  await admin.end();
}
fs.rmSync(tmp, { recursive: true, force: true });

const fmt = (x, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, load ${os.loadavg()[0].toFixed(1)}; 5 KB bodies, closed loop`);
console.log('| store | in flight | delivery | implementation | events/s | p50 µs | p99 µs | calls |');
console.log('|---|---:|---|---|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.store} | ${r.k} | ${r.what} | ${r.impl} | ${fmt(r.perSec)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${r.n} |`);
}
const find = (store, k, what, impl) => rows.find((r) => r.store === store && r.k === k && r.what === what && r.impl.startsWith(impl));
console.log('\n| store | in flight | tollbooth / baseline (unique/s) | baseline p99 / tollbooth p99 (unique) | tollbooth duplicate / unique (per s) |');
console.log('|---|---:|---:|---:|---:|');
const labels = STORES.flatMap((s) => (s === 'sqlite' ? sqliteDurabilities.map(sqliteLabel) : [s]));
for (const store of labels) {
  for (const k of LEVELS) {
    const tu = find(store, k, 'unique', 'tollbooth');
    const bu = find(store, k, 'unique', 'hand-written');
    const td = find(store, k, 'duplicate', 'tollbooth');
    const r = (a, b) => (a && b ? `${fmt(a / b, 2)}×` : 'n/a');
    console.log(`| ${store} | ${k} | ${r(tu?.perSec, bu?.perSec)} | ${r(bu?.p99, tu?.p99)} | ${r(td?.perSec, tu?.perSec)} |`);
  }
}
