// The hand-written PostgreSQL handler (../shared/baselines/node-handler-pg.js: constructEvent +
// one `pg` transaction) on the same 5 KB bodies and the same server as `examples/pg_bench.rs`:
// unique and duplicate deliveries per second at 1 and 16 deliveries in flight, and its cold
// start (a fresh `node` process: require + pool + first delivery).
//
//   cd benches/pg && npm ci && node baseline.mjs --db "$TOLLBOOTH_TEST_POSTGRES" --n 2000
//
// Each run uses its own schema (search_path in the pool's connection options), dropped after.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, 'package.json'));
const args = process.argv.slice(2);
const arg = (n, d) => {
  const i = args.indexOf(`--${n}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : d;
};
const SECRET = 'whsec_bench_0123456789abcdef0123456789abcdef';
const shared = process.env.TOLLBOOTH_SHARED ?? path.resolve(here, '../../../shared');
const baselinePath = path.join(shared, 'baselines/node-handler-pg.js');
// The baseline requires 'pg' and 'stripe': resolve them from this directory.
process.env.NODE_PATH = path.join(here, 'node_modules');
require('node:module').Module._initPaths();
const { createHandler } = require(baselinePath);
const { Pool } = require('pg');
const Stripe = require('stripe');
const stripe = new Stripe('sk_test_anchors');

const db = arg('db', process.env.TOLLBOOTH_TEST_POSTGRES);
const N = Number(arg('n', '2000'));
const LEVELS = arg('concurrency', '1,16').split(',').map(Number);
const EVT = 'evt_1Q0000000000000000000000';
const INV = 'in_1QInvoice00000000000001';
const fixtures = ['invoice.paid.5k.json', 'invoice.payment_failed.5k.json'].map((f) =>
  fs.readFileSync(path.join(shared, 'baselines/fixtures', f), 'utf8'),
);
const idLike = (t, n) => t.slice(0, t.length - String(n).length) + String(n);
function bodies(run, n) {
  return Array.from({ length: n }, (_, i) => {
    let evt = idLike(EVT, i);
    evt = evt.slice(0, 6) + run + evt.slice(6 + run.length);
    return fixtures[i % 2].replace(EVT, evt).replace(INV, idLike(INV, i));
  });
}
const sign = (body) =>
  stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET, timestamp: Math.floor(Date.now() / 1000) });

async function openPool(schema, max) {
  const admin = new Pool({ connectionString: db, max: 1 });
  await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await admin.end();
  const pool = new Pool({ connectionString: db, max, options: `-c search_path=${schema}` });
  const sqlDir = path.join(shared, 'baselines/sql-pg');
  await pool.query(fs.readFileSync(path.join(sqlDir, 'schema.sql'), 'utf8'));
  return pool;
}

async function dropSchema(schema) {
  const admin = new Pool({ connectionString: db, max: 1 });
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
}

async function run(handle, signed, inFlight, want) {
  let next = 0;
  const lat = [];
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (;;) {
        const i = next++;
        if (i >= signed.length) return;
        const t = process.hrtime.bigint();
        const r = await handle(signed[i][0], signed[i][1]);
        lat.push(Number(process.hrtime.bigint() - t) / 1e3);
        if (r.status !== 200 || r.body !== want) throw new Error(`${r.status} ${r.body}, want ${want}`);
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))];
  return [lat.length / secs, pct(0.5), pct(0.99)];
}

if (arg('cold-child')) {
  const t = process.hrtime.bigint();
  const pool = new Pool({ connectionString: db, max: 10, options: `-c search_path=${arg('cold-child')}` });
  const handle = createHandler({ pool, webhookSecret: SECRET });
  const [body] = bodies('cold', 1);
  const r = await handle(body, sign(body));
  if (r.status !== 200) throw new Error(`cold: ${r.status} ${r.body}`);
  console.log(`COLD ${Number(process.hrtime.bigint() - t) / 1e3}`);
  await pool.end();
  process.exit(0);
}

console.log(`node-handler-pg.js (pg pool max 10), 5 KB invoice events, ${N} deliveries per row`);
console.log(`${'row'.padEnd(28)} ${'per s'.padStart(10)} ${'p50 µs'.padStart(10)} ${'p99 µs'.padStart(10)}`);
for (const c of LEVELS) {
  const schema = `tb_base_${process.pid}_${c}`;
  const pool = await openPool(schema, 10);
  const handle = createHandler({ pool, webhookSecret: SECRET });
  const signed = bodies(`c${c}`, N).map((b) => [b, sign(b)]);
  for (const [label, want] of [['unique', 'processed'], ['duplicate', 'duplicate']]) {
    const [rate, p50, p99] = await run(handle, signed, c, want);
    console.log(
      `${`${label}, ${c} in flight`.padEnd(28)} ${rate.toFixed(0).padStart(10)} ${p50.toFixed(0).padStart(10)} ${p99.toFixed(0).padStart(10)}`,
    );
  }
  await pool.end();
  await dropSchema(schema);
}
// Cold start: a fresh node process with the schema in place (as after a deploy); median of 5.
const schema = `tb_base_${process.pid}_cold`;
const pool = await openPool(schema, 1);
const runs = [];
for (let i = 0; i < 5; i++) {
  await pool.query('TRUNCATE processed_events, subscriptions, outbox');
  const t = process.hrtime.bigint();
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--db', db, '--cold-child', schema], {
    encoding: 'utf8',
  });
  const wall = Number(process.hrtime.bigint() - t) / 1e3;
  const inner = Number(out.split('\n').find((l) => l.startsWith('COLD ')).slice(5));
  runs.push([inner, wall]);
}
runs.sort((a, b) => a[0] - b[0]);
const [inner, wall] = runs[2];
console.log(
  `cold start (median of 5): require->first delivery ${(inner / 1000).toFixed(1)} ms (after module load), process wall ${(wall / 1000).toFixed(1)} ms`,
);
await pool.end();
await dropSchema(schema);
