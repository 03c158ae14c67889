// Stripe-shaped webhook bodies for the Node benchmarks: the baseline fixtures
// (../shared/baselines/fixtures/invoice.{paid,payment_failed}.<size>.json) when present, else
// generated with the same shape, and unique copies of them (a fresh event id and invoice id,
// same length, bytes rewritten in place).
import fs from 'node:fs';
import path from 'node:path';

const COUNTER_DIGITS = 12;
function idSlots(buf, prefix) {
  const out = [];
  let i = 0;
  for (;;) {
    const at = buf.indexOf(prefix, i);
    if (at < 0) return out;
    const end = buf.indexOf('"', at + prefix.length);
    out.push(end - COUNTER_DIGITS);
    i = end;
  }
}
function template(body) {
  return { body, slots: [...idSlots(body, '"evt_'), ...idSlots(body, '"in_')] };
}
function unique(t, n) {
  const b = Buffer.from(t.body);
  const digits = String(n).padStart(COUNTER_DIGITS, '0');
  for (const o of t.slots) b.write(digits, o, 'latin1');
  return b;
}

function generated(kind, target) {
  const line = (i) =>
    JSON.stringify({
      id: `il_1QLine${String(i).padStart(17, '0')}`,
      object: 'line_item',
      amount: 2000,
      currency: 'usd',
      description: '1 x Pro (at $20.00 / month)',
      invoice: 'in_1QInvoice00000000000001',
      parent: { subscription_item_details: { subscription: 'sub_1Q0000000000000000000000' } },
      period: { end: 1795592000, start: 1793000000 },
      quantity: 1,
    });
  const failed = kind === 'invoice.payment_failed';
  const ev = {
    id: 'evt_1Q0000000000000000000000',
    object: 'event',
    api_version: '2025-03-31.basil',
    created: 1793000000,
    data: {
      object: {
        id: 'in_1QInvoice00000000000001',
        object: 'invoice',
        amount_due: 2000,
        amount_paid: failed ? 0 : 2000,
        amount_remaining: failed ? 2000 : 0,
        attempt_count: failed ? 2 : 1,
        created: 1792996400,
        currency: 'usd',
        customer: 'cus_QCustomer0000001',
        lines: { object: 'list', data: [], has_more: false },
        parent: {
          subscription_details: { subscription: 'sub_1Q0000000000000000000000' },
          type: 'subscription_details',
        },
        status: failed ? 'open' : 'paid',
      },
    },
    livemode: false,
    type: kind,
  };
  let text;
  for (let n = 1; ; n++) {
    ev.data.object.lines.data = Array.from({ length: n }, (_, i) => JSON.parse(line(i)));
    const next = JSON.stringify(ev, null, 2);
    if (next.length > target && text) break;
    text = next;
  }
  return Buffer.from(text);
}

function templates(baselinesDir, label) {
  const kinds = ['invoice.paid', 'invoice.payment_failed'];
  const target = { '1k': 1100, '5k': 5100, '16k': 16400, '64k': 65500 }[label] ?? 5100;
  return kinds.map((kind) => {
    const f = path.join(baselinesDir, 'fixtures', `${kind}.${label}.json`);
    return template(fs.existsSync(f) ? fs.readFileSync(f) : generated(kind, target));
  });
}


/** `templates(label)` and `unique(template, n)` for the fixtures under `baselinesDir`. */
export function bodiesFor(baselinesDir) {
  return { templates: (label) => templates(baselinesDir, label), unique };
}
