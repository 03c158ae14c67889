// The official stripe-node package as the oracle for signature verification.
//
// A deterministic set of generated deliveries (valid, tampered, truncated, re-timestamped,
// rotated, wrong secret, malformed, whitespace, uppercase hex, duplicate t=, ...) goes through
// both `stripe.webhooks.constructEvent(body, header, secret, 300, undefined, nowMs)` and
// `tb.handleWebhookSync(bytes, header, now)`. Each side's verdict is one of
//   accepted     — stripe returned an event / tollbooth returned an outcome
//   rejected     — the signature check failed (StripeSignatureVerificationError / a verify code)
//   unparseable  — the signature verified but the body is not usable (SyntaxError from
//                  JSON.parse / tollbooth keeps it in quarantine with reason
//                  PAYLOAD_INVALID_JSON or EVENT_FIELD_MISSING)
// Both libraries must agree on every case except the deliberate differences listed in
// DIFFERENCES, each of which is asserted exactly (stripe's verdict, tollbooth's verdict and
// tollbooth's code).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  NOW,
  PARSE_CODES,
  Tollbooth,
  VERIFY_CODES,
  assertNoSecret,
  checkoutSession,
  customer,
  event,
  hmacHex,
  id,
  invoice,
  rng,
  signTestPayload,
  stripeNode,
  subscription,
} from './helpers.mjs';

const stripe = stripeNode();
const TOLERANCE = 300;
const SEED = 0x70_11_b0_07;
const OLD = 'whsec_oracle_old_secret_5f3a9c';
const NEW = 'whsec_oracle_new_secret_c9a3f5';
const OTHER = 'whsec_oracle_someone_elses_1b2c';
const ALL_SECRETS = [OLD, NEW, OTHER];

/**
 * The deliberate differences from stripe-node, decided by running both (see the README).
 * Keyed by case category; each generated case of the category is asserted against it.
 */
export const DIFFERENCES = {
  'future-beyond-tolerance': {
    stripe: 'accepted',
    tb: 'rejected',
    code: 'TIMESTAMP_OUT_OF_TOLERANCE',
    why: 'stripe-node only bounds the age; a timestamp far in the future is a replay-window bug',
  },
  'whitespace-before-key-or-around-v1': {
    stripe: 'rejected',
    tb: 'accepted',
    why: 'tollbooth trims optional whitespace around items and values (", v1=", " t=", "v1= sig", "sig "), as HTTP and stripe-go-style parsers do',
  },
  'uppercase-hex': {
    stripe: 'rejected',
    tb: 'accepted',
    why: 'tollbooth compares the decoded bytes; stripe-node compares hex strings',
  },
  'duplicate-t-last-signed': {
    stripe: 'accepted',
    tb: 'rejected',
    code: 'SIGNATURE_HEADER_INVALID',
    why: 'an ambiguous timestamp is refused instead of letting the last one win',
  },
  'junk-item-without-equals': {
    stripe: 'accepted',
    tb: 'rejected',
    code: 'SIGNATURE_HEADER_INVALID',
    why: 'a header item that is not key=value makes the whole header malformed',
  },
  'v1-with-extra-equals': {
    stripe: 'accepted',
    tb: 'rejected',
    code: 'SIGNATURE_MISMATCH',
    why: 'stripe-node keeps only the text between the first and second "="; tollbooth takes the whole value',
  },
  't-with-trailing-garbage': {
    stripe: 'accepted',
    tb: 'rejected',
    code: 'SIGNATURE_HEADER_INVALID',
    why: 'stripe-node parseInt("1767225600abc") reads a number prefix; tollbooth requires an integer',
  },
  'nan-timestamp': {
    stripe: 'accepted',
    tb: 'rejected',
    code: 'SIGNATURE_HEADER_INVALID',
    why: 'stripe-node turns t=abc into NaN, signs "NaN.<body>", and NaN skips its age check',
  },
  'valid-v1-after-16-others': {
    stripe: 'accepted',
    tb: 'rejected',
    code: 'SIGNATURE_MISMATCH',
    why: 'tollbooth compares at most 16 well-formed v1 values (bounded work per request)',
  },
  'body-over-1mib': {
    stripe: 'accepted',
    tb: 'rejected',
    code: 'PAYLOAD_TOO_LARGE',
    why: 'tollbooth refuses bodies over maxBodyBytes (default 1 MiB) before hashing',
  },
  'invalid-utf8-signed-over-replaced-text': {
    stripe: 'accepted',
    tb: 'rejected',
    code: 'SIGNATURE_MISMATCH',
    why: 'stripe-node decodes a Buffer with TextDecoder (U+FFFD) and signs the text; tollbooth verifies the raw bytes',
  },
  'invalid-utf8-signed-over-raw-bytes': {
    stripe: 'rejected',
    tb: 'unparseable',
    code: 'PAYLOAD_INVALID_JSON',
    why: 'same cause, other side: the raw-byte signature verifies in tollbooth, then the body is not valid UTF-8 JSON',
  },
  'bom-signed-without-bom': {
    stripe: 'accepted',
    tb: 'rejected',
    code: 'SIGNATURE_MISMATCH',
    why: "TextDecoder drops a leading UTF-8 BOM before stripe-node hashes; tollbooth hashes the bytes received",
  },
  'bom-signed-with-bom': {
    stripe: 'rejected',
    tb: 'unparseable',
    code: 'PAYLOAD_INVALID_JSON',
    why: 'the BOM-inclusive signature verifies in tollbooth; a BOM is not JSON',
  },
  'empty-body': {
    stripe: 'rejected',
    tb: 'unparseable',
    code: 'PAYLOAD_INVALID_JSON',
    why: 'stripe-node refuses an empty string payload before verifying; tollbooth verifies, then fails to parse (an empty Buffer behaves the same in both)',
  },
  'json-but-not-an-event': {
    stripe: 'accepted',
    tb: 'unparseable',
    why: 'constructEvent returns any JSON; tollbooth needs an event envelope (id, type, created, data.object)',
  },
};

// ---------------------------------------------------------------------------------------

function stripeVerdict(body, header, secrets, now) {
  let verdict = 'rejected';
  for (const secret of secrets) {
    try {
      stripe.webhooks.constructEvent(body, header, secret, TOLERANCE, undefined, now * 1000);
      return 'accepted';
    } catch (e) {
      if (e?.type === 'StripeSignatureVerificationError') continue;
      // A bare `v1` item (no "=") pushes `undefined` as a signature and stripe-node throws a
      // plain Error from secureCompare: still a refusal, just not a typed one.
      if (e?.message === 'secureCompare must receive two arguments') continue;
      if (e instanceof SyntaxError) {
        verdict = 'unparseable';
        continue;
      }
      throw e;
    }
  }
  return verdict;
}

const engines = new Map();
function engineFor(secrets) {
  const key = secrets.join('|');
  if (!engines.has(key)) {
    engines.set(key, new Tollbooth({ database: ':memory:', webhookSecrets: secrets, toleranceSeconds: TOLERANCE }));
  }
  return engines.get(key);
}

function tbVerdict(body, header, secrets, now) {
  try {
    // tollbooth takes bytes only: a string body is what `Buffer.from(text)` would hand over.
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    // A fresh store for bodies that may be quarantined: in a shared one, a second case with the
    // same bytes would be a duplicate of the quarantined first.
    const tb = /** @type {any} */ (engineFor(secrets));
    const probe = new Tollbooth({ database: ':memory:', webhookSecrets: secrets, toleranceSeconds: TOLERANCE });
    let h = probe.handleWebhookSync(bytes, header, now);
    probe.closeSync();
    if (h.outcome !== 'quarantined') h = tb.handleWebhookSync(bytes, header, now);
    assertNoSecret(h, ALL_SECRETS);
    // Authentic but unusable: kept in quarantine (acknowledged, so Stripe stops retrying).
    if (h.outcome === 'quarantined') {
      assert.ok(PARSE_CODES.has(h.reason), `quarantined with ${h.reason}`);
      return { verdict: 'unparseable', code: h.reason };
    }
    assert.equal(h.reason, null);
    return { verdict: 'accepted', outcome: h.outcome };
  } catch (e) {
    assert.ok(e instanceof Error, 'tollbooth threw a non-Error');
    assertNoSecret(e, ALL_SECRETS);
    if (VERIFY_CODES.has(e.code) || e.code === 'SIGNATURE_HEADER_MISSING') return { verdict: 'rejected', code: e.code };
    if (PARSE_CODES.has(e.code)) return { verdict: 'unparseable', code: e.code };
    throw new Error(`unexpected tollbooth code ${e.code}: ${e.message}`);
  }
}

// ---------------------------------------------------------------------------------------
// Case generation (deterministic).

const r = rng(SEED);

function randomEvent() {
  const cus = id('cus');
  const sub = id('sub');
  const name = r.pick(['Ada Lovelace', 'Zoë Brontë — 東京 🚀', 'O\'Brien "Q" \\ Ltd', 'Ünïcödé\u2028Name']);
  const created = NOW - r.int(0, 86_400);
  const ev = r.pick([
    () => event('customer.subscription.updated', subscription({ id: sub, customer: cus, status: r.pick(['active', 'past_due', 'canceled', 'trialing']) }), { created }),
    () => event('invoice.paid', invoice({ customer: cus, subscription: sub }), { created }),
    () => event('checkout.session.completed', checkoutSession({ customer: cus, subscription: sub, userId: id('user') }), { created }),
    () => event('customer.updated', customer({ id: cus, name }), { created }),
    () => event('charge.succeeded', { id: id('ch'), object: 'charge', customer: cus, amount: r.int(50, 99_999) }, { created }),
  ])();
  const style = r.int(0, 3);
  let text = style === 0 ? JSON.stringify(ev) : JSON.stringify(ev, null, style === 1 ? 2 : '\t');
  if (style === 3) text = text.replace(/\n/g, '\r\n');
  if (r.next() < 0.5) text += '\n';
  return text;
}

/** The body as the app would hand it over: a string (to stripe-node; tollbooth gets its UTF-8) or a Buffer. */
function asInput(text) {
  return r.next() < 0.5 ? text : Buffer.from(text, 'utf8');
}

function stripeHeader(text, secret, timestamp) {
  return stripe.webhooks.generateTestHeaderString({ payload: text, secret, timestamp });
}

function cases() {
  const out = [];
  const add = (category, n, make) => {
    for (let i = 0; i < n; i++) out.push({ category, now: NOW, secrets: [NEW], ...make(i) });
  };
  const fresh = () => randomEvent();

  // -- same behaviour ------------------------------------------------------------------
  add('valid', 80, () => {
    const text = fresh();
    return { body: asInput(text), header: stripeHeader(text, NEW, NOW - r.int(0, TOLERANCE)), want: 'accepted' };
  });
  add('valid-at-tolerance-edge', 4, (i) => {
    const text = fresh();
    const age = [TOLERANCE, TOLERANCE, TOLERANCE + 1, TOLERANCE + 2][i];
    return { body: text, header: stripeHeader(text, NEW, NOW - age), want: age <= TOLERANCE ? 'accepted' : 'rejected' };
  });
  add('future-within-tolerance', 20, () => {
    const text = fresh();
    return { body: asInput(text), header: stripeHeader(text, NEW, NOW + r.int(1, TOLERANCE)), want: 'accepted' };
  });
  add('tampered-body', 70, () => {
    const text = fresh();
    const header = stripeHeader(text, NEW, NOW);
    let t = text;
    while (t === text) {
      const at = r.int(0, text.length - 1);
      t = r.pick([
        () => text.slice(0, at) + String.fromCharCode(r.int(32, 126)) + text.slice(at + 1),
        () => text.slice(0, at) + text.slice(at + 1),
        () => text.slice(0, at) + ' ' + text.slice(at),
        () => text + '\n',
        () => JSON.stringify(JSON.parse(text), null, 1),
        () => text.replace('"livemode":false', '"livemode":true'),
      ])();
    }
    return { body: asInput(t), header, want: 'rejected' };
  });
  add('truncated-header', 60, () => {
    const text = fresh();
    const header = stripeHeader(text, NEW, NOW);
    return { body: asInput(text), header: header.slice(0, r.int(0, header.length - 1)), want: 'rejected' };
  });
  add('re-timestamped', 40, () => {
    const text = fresh();
    const signedAt = NOW - r.int(0, TOLERANCE);
    let shown = signedAt;
    while (shown === signedAt) shown = NOW - r.int(0, TOLERANCE);
    const header = stripeHeader(text, NEW, signedAt).replace(`t=${signedAt}`, `t=${shown}`);
    return { body: asInput(text), header, want: 'rejected' };
  });
  add('expired', 40, () => {
    const text = fresh();
    return { body: asInput(text), header: stripeHeader(text, NEW, NOW - r.int(TOLERANCE + 1, 10_000_000)), want: 'rejected' };
  });
  add('rotation', 60, () => {
    const text = fresh();
    const t = NOW - r.int(0, TOLERANCE);
    const parts = r.pick([[OLD], [NEW], [OLD, NEW], [NEW, OLD]]).map((s) => `v1=${hmacHex(text, s, t)}`);
    if (r.next() < 0.3) parts.splice(r.int(0, parts.length), 0, `v0=${hmacHex(text, OTHER, t)}`);
    return { body: asInput(text), header: [`t=${t}`, ...parts].join(','), secrets: [OLD, NEW], want: 'accepted' };
  });
  add('rotation-none-match', 20, () => {
    const text = fresh();
    const header = `t=${NOW},v1=${hmacHex(text, OTHER, NOW)},v1=${hmacHex(text, 'whsec_x', NOW)}`;
    return { body: asInput(text), header, secrets: [OLD, NEW], want: 'rejected' };
  });
  add('wrong-secret', 40, () => {
    const text = fresh();
    return { body: asInput(text), header: stripeHeader(text, r.pick([OTHER, OLD, NEW + 'x', 'whsec_']), NOW), want: 'rejected' };
  });
  add('malformed-header', 90, () => {
    const text = fresh();
    const sig = hmacHex(text, NEW, NOW);
    const junk = () => Array.from({ length: r.int(1, 40) }, () => String.fromCharCode(r.int(32, 126))).join('');
    const header = r.pick([
      () => '',
      () => ' \t ',
      () => junk(),
      () => 't=',
      () => 'v1=',
      () => `t=${NOW}`,
      () => `v1=${sig}`,
      () => `t=abc,v1=${sig}`,
      () => `t=${NOW};v1=${sig}`,
      () => `t:${NOW},v1:${sig}`,
      () => `T=${NOW},V1=${sig}`,
      () => `t=${NOW},v0=${sig}`,
      () => `t=${NOW},v1=${sig.slice(0, 63)}`,
      () => `t=${NOW},v1=${sig}0`,
      () => `t=${NOW},v1=${sig.slice(0, 62)}zz`,
      () => `t=${NOW},v2=${sig}`,
      () => `t=${NOW}.5,v1=${sig}x`,
      () => `t=-1,v1=${sig}`,
      () => `${junk()},t=${NOW},v1=${junk()}`,
    ])();
    return { body: asInput(text), header, want: 'rejected' };
  });
  add('extra-unknown-items', 30, () => {
    const text = fresh();
    const sig = hmacHex(text, NEW, NOW);
    const items = [`t=${NOW}`, `v1=${sig}`, `v0=${hmacHex(text, OTHER, NOW)}`, 'foo=bar', `v1=${'0'.repeat(64)}`];
    for (let i = items.length - 1; i > 0; i--) {
      const j = r.int(0, i);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return { body: asInput(text), header: items.join(','), want: 'accepted' };
  });
  add('empty-items', 20, () => {
    const text = fresh();
    const sig = hmacHex(text, NEW, NOW);
    const header = r.pick([`t=${NOW},,v1=${sig}`, `t=${NOW},v1=${sig},`, `,t=${NOW},v1=${sig}`, `t=${NOW},,,v1=${sig},,`]);
    return { body: asInput(text), header, want: 'accepted' };
  });
  add('t-spelling', 20, () => {
    const text = fresh();
    const sig = hmacHex(text, NEW, NOW);
    const header = r.pick([`t=000${NOW},v1=${sig}`, `t=+${NOW},v1=${sig}`, `t= ${NOW},v1=${sig}`, `t=${NOW} ,v1=${sig}`]);
    return { body: asInput(text), header, want: 'accepted' };
  });
  add('empty-buffer-body', 4, () => {
    // Not a difference: an empty Buffer is truthy, so stripe-node verifies it and JSON.parse fails.
    return { body: Buffer.alloc(0), header: stripeHeader('', NEW, NOW), want: 'unparseable' };
  });
  add('signed-invalid-json', 10, () => {
    const text = r.pick(['not json', '{"id":', '{"a":1}}', "{'a':1}", 'nul']);
    return { body: asInput(text), header: stripeHeader(text, NEW, NOW), want: 'unparseable' };
  });

  // -- deliberate differences ----------------------------------------------------------
  add('future-beyond-tolerance', 30, () => {
    const text = fresh();
    return { body: asInput(text), header: stripeHeader(text, NEW, NOW + r.int(TOLERANCE + 1, 10_000_000)) };
  });
  add('whitespace-before-key-or-around-v1', 30, () => {
    const text = fresh();
    const sig = hmacHex(text, NEW, NOW);
    const ws = r.pick([' ', '\t', '  ']);
    const header = r.pick([
      `t=${NOW},${ws}v1=${sig}`,
      `${ws}t=${NOW},v1=${sig}`,
      `t=${NOW},v1=${ws}${sig}`,
      `t=${NOW},v1=${sig}${ws}`,
    ]);
    return { body: asInput(text), header };
  });
  add('uppercase-hex', 20, () => {
    const text = fresh();
    return { body: asInput(text), header: `t=${NOW},v1=${hmacHex(text, NEW, NOW).toUpperCase()}` };
  });
  add('duplicate-t-last-signed', 20, () => {
    const text = fresh();
    const other = r.pick([NOW, NOW - r.int(1, 100), NOW - 10_000_000]);
    return { body: asInput(text), header: `t=${other},t=${NOW},v1=${hmacHex(text, NEW, NOW)}` };
  });
  add('duplicate-t-first-signed', 10, () => {
    // Not a difference: stripe-node's last t wins, so its signature fails too.
    const text = fresh();
    return { body: asInput(text), header: `t=${NOW},t=${NOW - r.int(1, 100)},v1=${hmacHex(text, NEW, NOW)}`, want: 'rejected' };
  });
  add('junk-item-without-equals', 20, () => {
    const text = fresh();
    const junk = r.pick(['garbage', 'x y z', 'abc;def', 'v0', 'sig']);
    const items = [`t=${NOW}`, `v1=${hmacHex(text, NEW, NOW)}`];
    items.splice(r.int(0, 2), 0, junk);
    return { body: asInput(text), header: items.join(',') };
  });
  add('bare-v1-item', 5, () => {
    // Not a difference: both refuse (stripe-node with an untyped Error, see stripeVerdict).
    const text = fresh();
    return { body: asInput(text), header: `t=${NOW},v1=${hmacHex(text, NEW, NOW)},v1`, want: 'rejected' };
  });
  add('v1-with-extra-equals', 10, () => {
    const text = fresh();
    return { body: asInput(text), header: `t=${NOW},v1=${hmacHex(text, NEW, NOW)}=${r.pick(['', 'x', '=='])}` };
  });
  add('t-with-trailing-garbage', 10, () => {
    const text = fresh();
    return { body: asInput(text), header: `t=${NOW}${r.pick(['abc', '.5', 'e3', 'x1'])},v1=${hmacHex(text, NEW, NOW)}` };
  });
  add('nan-timestamp', 5, () => {
    const text = fresh();
    return { body: asInput(text), header: `t=${r.pick(['abc', 'now', 'NaN'])},v1=${hmacHex(text, NEW, 'NaN')}` };
  });
  add('valid-v1-after-16-others', 5, () => {
    const text = fresh();
    const decoys = Array.from({ length: 16 + r.int(0, 4) }, (_, i) => `v1=${hmacHex(text, `whsec_decoy_${i}`, NOW)}`);
    return { body: asInput(text), header: [`t=${NOW}`, ...decoys, `v1=${hmacHex(text, NEW, NOW)}`].join(',') };
  });
  add('body-over-1mib', 2, () => {
    const ev = JSON.parse(fresh());
    ev.data.object.padding = 'x'.repeat(1024 * 1024);
    const text = JSON.stringify(ev);
    return { body: asInput(text), header: stripeHeader(text, NEW, NOW) };
  });
  const withInvalidUtf8 = () => {
    const ev = JSON.parse(fresh());
    ev.data.object.description = '@@INVALID@@';
    const [a, b] = JSON.stringify(ev).split('@@INVALID@@');
    return Buffer.concat([Buffer.from(a), Buffer.from([0xff, 0xc3, 0x28]), Buffer.from(b)]);
  };
  add('invalid-utf8-signed-over-replaced-text', 5, () => {
    const raw = withInvalidUtf8();
    return { body: raw, header: stripeHeader(new TextDecoder().decode(raw), NEW, NOW) };
  });
  add('invalid-utf8-signed-over-raw-bytes', 5, () => {
    const raw = withInvalidUtf8();
    return { body: raw, header: `t=${NOW},v1=${hmacHex(raw, NEW, NOW)}` };
  });
  const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
  add('bom-signed-without-bom', 5, () => {
    const text = fresh();
    return { body: Buffer.concat([BOM, Buffer.from(text)]), header: stripeHeader(text, NEW, NOW) };
  });
  add('bom-signed-with-bom', 5, () => {
    const raw = Buffer.concat([BOM, Buffer.from(fresh())]);
    return { body: raw, header: `t=${NOW},v1=${hmacHex(raw, NEW, NOW)}` };
  });
  add('empty-body', 4, () => ({ body: '', header: stripeHeader('', NEW, NOW) }));
  add('json-but-not-an-event', 10, () => {
    const text = r.pick(['{}', '[]', '1', 'null', '"evt"', '{"id":"evt_1"}', '{"object":"event","type":"x"}']);
    return { body: asInput(text), header: stripeHeader(text, NEW, NOW) };
  });
  return out;
}

const CASES = cases();

test('the generated set is large and covers every deliberate difference', () => {
  assert.ok(CASES.length >= 500, `only ${CASES.length} cases`);
  const categories = new Set(CASES.map((c) => c.category));
  for (const d of Object.keys(DIFFERENCES)) assert.ok(categories.has(d), `no case for difference ${d}`);
  console.log(`# oracle: ${CASES.length} cases in ${categories.size} categories (seed ${SEED})`);
});

test('every generateTestHeaderString header verifies with tollbooth, and signTestPayload matches it', () => {
  const rr = rng(SEED + 1);
  for (let i = 0; i < 100; i++) {
    const text = randomEvent();
    const t = NOW - rr.int(0, TOLERANCE);
    const header = stripeHeader(text, NEW, t);
    assert.equal(signTestPayload(text, NEW, t), header);
    assert.equal(signTestPayload(Buffer.from(text), NEW, t), header);
    assert.equal(tbVerdict(Buffer.from(text), header, [NEW], NOW).verdict, 'accepted');
  }
});

test('tollbooth accepts exactly when stripe-node accepts, outside the listed differences', () => {
  const disagreements = [];
  let checked = 0;
  for (const [i, c] of CASES.entries()) {
    if (DIFFERENCES[c.category]) continue;
    const s = stripeVerdict(c.body, c.header, c.secrets, c.now);
    const t = tbVerdict(c.body, c.header, c.secrets, c.now);
    checked += 1;
    if (s !== t.verdict || (c.want && s !== c.want)) {
      disagreements.push({ i, category: c.category, header: c.header.slice(0, 120), stripe: s, tb: t, want: c.want });
    }
  }
  assert.ok(checked >= 500, `only ${checked} agreement cases`);
  assert.deepEqual(disagreements, []);
});

for (const [category, d] of Object.entries(DIFFERENCES)) {
  test(`deliberate difference: ${category} (stripe ${d.stripe}, tollbooth ${d.tb}${d.code ? ` ${d.code}` : ''})`, () => {
    const mine = CASES.filter((c) => c.category === category);
    assert.ok(mine.length > 0);
    for (const c of mine) {
      const s = stripeVerdict(c.body, c.header, c.secrets, c.now);
      const t = tbVerdict(c.body, c.header, c.secrets, c.now);
      const where = `${category}: ${String(c.header).slice(0, 100)}`;
      assert.equal(s, d.stripe, `stripe-node, ${where}`);
      assert.equal(t.verdict, d.tb, `tollbooth, ${where}`);
      if (d.code) assert.equal(t.code, d.code, `tollbooth code, ${where}`);
    }
  });
}
