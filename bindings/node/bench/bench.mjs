// tollbooth handleWebhook vs stripe.webhooks.constructEvent vs the hand-written baseline
// (constructEvent + one better-sqlite3 transaction, ../shared/baselines/node-handler.js loaded
// from ../shared as is), in one process, one run, sequential calls, warm-up first, each call
// timed with process.hrtime.bigint().
//
//   npm run bench                                  # 1k, 5k, 16k, 64k; synchronous=NORMAL
//   npm run bench -- --sizes 5k --durability both  # also synchronous=FULL
//
// Bodies: ../shared/baselines/fixtures/invoice.{paid,payment_failed}.<size>.json when present
// (invoice.paid and invoice.payment_failed alternate), else generated with the same shape.
// Every unique delivery gets a fresh event id and invoice id (same length, bytes rewritten).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bodiesFor } from './bodies.mjs';
import * as setup from './setup.mjs';

const { SECRET, Tollbooth, arg, baselinesDir, require, resolveFromHere, signTestPayload } = setup;

const Stripe = require('stripe');

const SIZES = arg('sizes', '1k,5k,16k,64k').split(',');
const DURABILITY = arg('durability', 'normal');
const haveBaseline = fs.existsSync(path.join(baselinesDir, 'node-handler.js'));
const { templates, unique } = bodiesFor(baselinesDir);

// The baseline requires 'stripe' and 'better-sqlite3' from ../shared: resolve them from here.
let baseline = null;
if (haveBaseline) {
  resolveFromHere();
  baseline = require(path.join(baselinesDir, 'node-handler.js'));
} else {
  console.log(`notice: ${baselinesDir} is absent: the hand-written baseline row is skipped`);
}

/** `measure` for the Promise form: one call in flight at a time, awaited. */
async function measureAsync(n, call) {
  const times = new Float64Array(n);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    await call(i);
    times[i] = Number(process.hrtime.bigint() - s);
  }
  const total = Number(process.hrtime.bigint() - t0);
  times.sort();
  const pct = (p) => times[Math.min(n - 1, Math.round((p / 100) * (n - 1)))] / 1000;
  return { perSec: (n / total) * 1e9, p50: pct(50), p99: pct(99), n };
}

function measure(n, call) {
  const times = new Float64Array(n);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    call(i);
    times[i] = Number(process.hrtime.bigint() - s);
  }
  const total = Number(process.hrtime.bigint() - t0);
  times.sort();
  const pct = (p) => times[Math.min(n - 1, Math.round((p / 100) * (n - 1)))] / 1000;
  return { perSec: (n / total) * 1e9, p50: pct(50), p99: pct(99), n };
}

const rows = [];
let counter = 1;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tollbooth-bench-'));
const stripe = new Stripe('sk_test_bench');

for (const label of SIZES) {
  const ts = templates(label);
  const bytes = ts[0].body.length;
  const n = bytes > 30000 ? 3000 : bytes > 10000 ? 8000 : 20000;
  const warm = Math.max(500, n / 10);
  const now = Math.floor(Date.now() / 1000);
  // Deliveries signed ahead of time (signing is the sender's work, not the receiver's).
  const deliveries = (count) =>
    Array.from({ length: count }, () => {
      const i = counter++;
      const body = unique(ts[i % 2], i);
      return { body, header: signTestPayload(body, SECRET, now) };
    });
  const add = (durability, what, impl, r) =>
    rows.push({ size: label, bytes, durability, what, impl, ...r });

  for (const durability of DURABILITY === 'both' ? ['normal', 'full'] : [DURABILITY]) {
    const tb = new Tollbooth({
      database: path.join(tmp, `tb-${label}-${durability}.db`),
      webhookSecrets: [SECRET],
      durability,
    });
    let d = deliveries(warm);
    for (const { body, header } of d) tb.handleWebhookSync(body, header, now);
    d = deliveries(n);
    add(durability, 'unique', 'tollbooth handleWebhookSync', measure(n, (i) => tb.handleWebhookSync(d[i].body, d[i].header, now)));
    d = deliveries(n);
    add(durability, 'unique', 'tollbooth await handleWebhook', await measureAsync(n, (i) => tb.handleWebhook(d[i].body, d[i].header, now)));

    let handle = null;
    if (baseline) {
      const db = baseline.openDatabase(path.join(tmp, `base-${label}-${durability}.db`), durability.toUpperCase());
      handle = baseline.createHandler({ db, webhookSecret: SECRET });
      d = deliveries(warm);
      for (const { body, header } of d) handle(body, header);
      d = deliveries(n);
      add(durability, 'unique', 'hand-written baseline', measure(n, (i) => handle(d[i].body, d[i].header)));
    }
    if (durability === 'normal') {
      d = deliveries(warm + n);
      for (let i = 0; i < warm; i++) stripe.webhooks.constructEvent(d[i].body, d[i].header, SECRET);
      add('-', 'unique', 'stripe constructEvent only', measure(n, (i) => stripe.webhooks.constructEvent(d[warm + i].body, d[warm + i].header, SECRET)));
    }

    // Duplicates: the first delivery of this size again and again.
    const [dup] = deliveries(1);
    tb.handleWebhookSync(dup.body, dup.header, now);
    for (let i = 0; i < warm; i++) tb.handleWebhookSync(dup.body, dup.header, now);
    add(durability, 'duplicate', 'tollbooth handleWebhookSync', measure(n, () => tb.handleWebhookSync(dup.body, dup.header, now)));
    add(durability, 'duplicate', 'tollbooth await handleWebhook', await measureAsync(n, () => tb.handleWebhook(dup.body, dup.header, now)));
    if (handle) {
      handle(dup.body, dup.header);
      for (let i = 0; i < warm; i++) handle(dup.body, dup.header);
      add(durability, 'duplicate', 'hand-written baseline', measure(n, () => handle(dup.body, dup.header)));
    }
    if (durability === 'normal') {
      for (let i = 0; i < warm; i++) stripe.webhooks.constructEvent(dup.body, dup.header, SECRET);
      add('-', 'duplicate', 'stripe constructEvent only', measure(n, () => stripe.webhooks.constructEvent(dup.body, dup.header, SECRET)));
    }
    tb.closeSync();
  }
}
fs.rmSync(tmp, { recursive: true, force: true });

const fmt = (x, d = 1) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}; sequential calls, one process`);
console.log('| size | sync | delivery | implementation | events/s | p50 µs | p99 µs | calls |');
console.log('|---|---|---|---|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.size} (${r.bytes} B) | ${r.durability} | ${r.what} | ${r.impl} | ${fmt(r.perSec, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.n} |`,
  );
}
// Ratios the targets are stated in (same run).
const find = (size, dur, what, impl) => rows.find((r) => r.size === size && (r.durability === dur || r.durability === '-') && r.what === what && r.impl.startsWith(impl));
console.log('\n| size | sync | tollbooth / baseline events/s (unique) | baseline p99 / tollbooth p99 (unique) | tollbooth unique p50 / duplicate p50 | constructEvent p50 / tollbooth duplicate p50 |');
console.log('|---|---|---:|---:|---:|---:|');
for (const label of SIZES) {
  for (const dur of DURABILITY === 'both' ? ['normal', 'full'] : [DURABILITY]) {
    const tu = find(label, dur, 'unique', 'tollbooth');
    const bu = find(label, dur, 'unique', 'hand-written');
    const td = find(label, dur, 'duplicate', 'tollbooth');
    const cd = find(label, dur, 'duplicate', 'stripe');
    const r = (a, b) => (a && b ? `${fmt(a / b, 2)}×` : 'n/a');
    console.log(`| ${label} | ${dur} | ${r(tu?.perSec, bu?.perSec)} | ${r(bu?.p99, tu?.p99)} | ${r(tu?.p50, td?.p50)} | ${r(cd?.p50, td?.p50)} |`);
  }
}
