// Shared helpers for the node:test suites in this folder (not a test file itself).
//
// The package under test is bindings/node, loaded by path (the `tollbooth` name itself is
// exercised in package.test.mjs). The official `stripe` package, the oracle, is a
// devDependency of bindings/node, so it is resolved from there.

import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PACKAGE_DIR = join(REPO_ROOT, 'bindings', 'node');

const requireFromPackage = createRequire(join(PACKAGE_DIR, 'package.json'));

/** The built package (CommonJS entry, as `require('tollbooth')` loads it). */
export const tollbooth = requireFromPackage('./index.js');
export const { Tollbooth, httpStatus, signTestPayload } = tollbooth;

/** The official stripe-node package. */
export function stripeNode() {
  const Stripe = requireFromPackage('stripe');
  return new Stripe('sk_test_oracle_not_a_real_key');
}

export const SECRET = 'whsec_node_test_0123456789abcdefABCDEF';
export const NOW = 1_767_225_600; // 2026-01-01T00:00:00Z

/** A fresh in-memory engine. */
export function open(options = {}) {
  return new Tollbooth({ database: ':memory:', webhookSecrets: [SECRET], ...options });
}

/** Stripe-Signature header computed independently of both libraries (node:crypto). */
export function sign(body, secret = SECRET, t = NOW) {
  const mac = createHmac('sha256', secret);
  mac.update(`${t}.`);
  mac.update(body);
  return `t=${t},v1=${mac.digest('hex')}`;
}

/** Raw hex signature only. */
export function hmacHex(body, secret, t) {
  const mac = createHmac('sha256', secret);
  mac.update(`${t}.`);
  mac.update(body);
  return mac.digest('hex');
}

/** The bytes of `body` (string, Buffer or an object to serialize), as a route hands them over. */
export function bytesOf(body) {
  if (Buffer.isBuffer(body)) return body;
  return Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
}

/** Signs and delivers `body` at `now` on the calling thread (`handleWebhookSync`). */
export function deliver(tb, body, now = NOW, secret = SECRET) {
  const raw = bytesOf(body);
  return tb.handleWebhookSync(raw, sign(raw, secret, now), now);
}

/** Signs and delivers `body` at `now` through the Promise form (`handleWebhook`). */
export function deliverAsync(tb, body, now = NOW, secret = SECRET) {
  const raw = bytesOf(body);
  return tb.handleWebhook(raw, sign(raw, secret, now), now);
}

/** Awaits `promise`, expecting a rejection; returns the reason. */
export async function rejected(promise) {
  if (!(promise instanceof Promise)) throw new Error('expected a Promise');
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection, got a value');
}

/** Runs `fn`, expecting a throw; returns the error. */
export function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw, got a return');
}

// ---------------------------------------------------------------------------------------
// The one code table, read from the core's source so the JS tests cannot drift from it.

/** Every `ErrorCode::X => "STRING"` of `ErrorCode::as_str` in src/error.rs. */
export function coreErrorCodes() {
  const src = readFileSync(join(REPO_ROOT, 'src', 'error.rs'), 'utf8');
  // The rows of the one `code_table!` in error.rs: `Variant = number, "NAME", http, "description";`.
  const body = src.slice(src.indexOf('code_table! {'));
  const codes = [...body.matchAll(/^\s+\w+ = \d+, "([A-Z0-9_]+)", \d+,/gm)].map((m) => m[1]);
  if (codes.length < 10) throw new Error('could not read the code table from src/error.rs');
  return codes;
}

/** Codes only C can see (never thrown to JS). */
export const C_ONLY_CODES = ['OK', 'NULL_PARAMETER', 'BUFFER_TOO_SMALL'];

/** The codes that mean "the signature check rejected the delivery". */
export const VERIFY_CODES = new Set([
  'SIGNATURE_HEADER_MISSING',
  'SIGNATURE_HEADER_INVALID',
  'SIGNATURE_MISMATCH',
  'TIMESTAMP_OUT_OF_TOLERANCE',
  'PAYLOAD_TOO_LARGE',
]);

/** The codes that mean "verified, but not a usable event". */
export const PARSE_CODES = new Set(['PAYLOAD_INVALID_JSON', 'EVENT_FIELD_MISSING']);

// ---------------------------------------------------------------------------------------
// Secrets must never reach JS in an error or a returned object.

/** Throws if `value` (an Error or any JSON-able value) mentions any of `secrets`. */
export function assertNoSecret(value, secrets = [SECRET]) {
  const text =
    value instanceof Error
      ? `${value.message}\n${value.stack}\n${JSON.stringify({ ...value })}`
      : JSON.stringify(value);
  for (const s of secrets) {
    // The part after `whsec_` is the key material; check it and the whole secret.
    const material = s.replace(/^whsec_/, '');
    if (text.includes(s) || (material.length >= 8 && text.includes(material))) {
      throw new Error(`a secret leaked into ${value instanceof Error ? 'an error' : 'a result'}`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Deterministic randomness (mulberry32).

export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
  };
}

// ---------------------------------------------------------------------------------------
// Stripe-shaped event builders (only the fields tollbooth reads, plus a little noise).

let seq = 0;
/** A unique id with a Stripe-style prefix. */
export function id(prefix) {
  seq += 1;
  return `${prefix}_node${String(seq).padStart(6, '0')}`;
}

/** An event envelope. */
export function event(type, object, { id: eventId = id('evt'), created = NOW - 60, livemode = false } = {}) {
  return {
    id: eventId,
    object: 'event',
    api_version: '2025-03-31.basil',
    created,
    livemode,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  };
}

/** A basil-shaped subscription. */
export function subscription({
  id: subId = id('sub'),
  customer,
  status = 'active',
  price = 'price_node_pro',
  product = 'prod_node_pro',
  periodEnd = NOW + 30 * 86_400,
  cancelAtPeriodEnd = false,
  userId,
} = {}) {
  return {
    id: subId,
    object: 'subscription',
    customer,
    status,
    cancel_at_period_end: cancelAtPeriodEnd,
    cancel_at: cancelAtPeriodEnd ? periodEnd : null,
    canceled_at: status === 'canceled' ? NOW - 60 : null,
    ended_at: status === 'canceled' ? NOW - 60 : null,
    currency: 'usd',
    metadata: userId ? { user_id: userId } : {},
    items: {
      object: 'list',
      data: [
        {
          id: id('si'),
          object: 'subscription_item',
          price: { id: price, object: 'price', product, unit_amount: 2900, currency: 'usd' },
          current_period_start: periodEnd - 30 * 86_400,
          current_period_end: periodEnd,
          quantity: 1,
        },
      ],
    },
  };
}

/** A basil-shaped invoice. */
export function invoice({
  id: invId = id('in'),
  customer,
  subscription: subId,
  status = 'paid',
  amountDue = 2900,
  amountPaid = status === 'paid' ? 2900 : 0,
  created = NOW - 3600,
  attemptCount = 1,
  nextPaymentAttempt = null,
  number = `NODE-${String(seq).padStart(4, '0')}`,
} = {}) {
  return {
    id: invId,
    object: 'invoice',
    customer,
    status,
    number,
    currency: 'usd',
    amount_due: amountDue,
    amount_paid: amountPaid,
    amount_remaining: amountDue - amountPaid,
    created,
    attempt_count: attemptCount,
    next_payment_attempt: nextPaymentAttempt,
    billing_reason: 'subscription_cycle',
    hosted_invoice_url: `https://invoice.stripe.com/i/${invId}`,
    invoice_pdf: `https://pay.stripe.com/invoice/${invId}/pdf`,
    parent: subId
      ? { type: 'subscription_details', subscription_details: { subscription: subId, metadata: {} } }
      : null,
    lines: { object: 'list', data: [] },
  };
}

/** A Checkout Session. */
export function checkoutSession({
  id: csId = id('cs_test'),
  customer = null,
  subscription: subId = null,
  userId = null,
  status = 'complete',
  paymentStatus = 'paid',
  mode = 'subscription',
} = {}) {
  return {
    id: csId,
    object: 'checkout.session',
    mode,
    status,
    payment_status: paymentStatus,
    customer,
    subscription: subId,
    client_reference_id: userId,
    customer_details: { email: 'ada@example.com', name: 'Ada Lovelace' },
    amount_total: 2900,
    currency: 'usd',
    metadata: {},
  };
}

/** A customer. */
export function customer({ id: cusId = id('cus'), email = 'ada@example.com', name = 'Ada Lovelace', userId } = {}) {
  return {
    id: cusId,
    object: 'customer',
    email,
    name,
    metadata: userId ? { user_id: userId } : {},
    created: NOW - 86_400,
    livemode: false,
  };
}

// ---------------------------------------------------------------------------------------
// The shared corpus of collected Stripe events (outside the repository).

/** `shared/fixtures/stripe/events`, or null when it is not on this machine. */
export function sharedEventsDir() {
  const shared = process.env.TOLLBOOTH_SHARED
    ? resolve(process.env.TOLLBOOTH_SHARED)
    : resolve(REPO_ROOT, '..', 'shared');
  const dir = join(shared, 'fixtures', 'stripe', 'events');
  return existsSync(dir) ? dir : null;
}

/** Every `.json` file under `dir`, sorted. */
export function jsonFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.json')) out.push(p);
    }
  };
  walk(dir);
  return out;
}
