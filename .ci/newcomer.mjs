// The newcomer test's two halves (driven by .ci/newcomer.sh):
//
//   node .ci/newcomer.mjs setup <app dir>   copy the README's Next.js snippets into a fresh
//                                          create-next-app, and swap its next/font/google import
//   node .ci/newcomer.mjs check <app dir> <base url>
//                                          send events signed by stripe-node to the running app
//                                          and assert every answer
//
// The snippets are read out of README.md each run, never kept here: if the README's code does not
// build or answer right, this fails.

import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [mode, appDir, baseUrl] = process.argv.slice(2);

/** Fenced code blocks of the README's "Use it from Next.js" section: `{ lang, lines }`. */
export function nextjsSnippets() {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf('## Use it from Next.js');
  const end = readme.indexOf('\n## ', start + 1);
  assert.ok(start >= 0 && end > start, 'README.md has a "Use it from Next.js" section');
  const section = readme.slice(start, end);
  return [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], lines: m[2].replace(/\n$/, '').split('\n') }));
}

function setup() {
  const files = [];
  let configLines = null;
  let ignoreLines = null;
  for (const { lang, lines } of nextjsSnippets()) {
    const file = /^\/\/ ((?:app|lib)\/[\w./[\]-]+\.tsx?)$/.exec(lines[0]);
    if ((lang === 'ts' || lang === 'tsx') && file) files.push({ path: file[1], text: `${lines.join('\n')}\n` });
    else if (lang === 'ts' && /^\/\/ next\.config\.ts: add this line inside the `nextConfig` object$/.test(lines[0])) configLines = lines.slice(1);
    else if (lang === 'gitignore' && /^# \.gitignore/.test(lines[0])) ignoreLines = lines;
  }
  const paths = files.map((f) => f.path).sort();
  assert.deepEqual(paths, ['app/api/billing/metrics/route.ts', 'app/api/webhooks/stripe/route.ts', 'app/checkout/success/page.tsx', 'lib/tollbooth.ts']);
  assert.ok(configLines?.length, 'README: the next.config.ts line');
  assert.ok(ignoreLines?.length, 'README: the .gitignore lines');
  for (const f of files) {
    mkdirSync(dirname(join(appDir, f.path)), { recursive: true });
    writeFileSync(join(appDir, f.path), f.text);
  }
  // next.config.ts: the README's line goes inside the template's config object.
  const configPath = join(appDir, 'next.config.ts');
  const config = readFileSync(configPath, 'utf8');
  const open = /const nextConfig(: NextConfig)? = \{\n/.exec(config);
  assert.ok(open, 'the template has `const nextConfig: NextConfig = {`');
  const at = open.index + open[0].length;
  writeFileSync(configPath, `${config.slice(0, at)}${configLines.join('\n')}\n${config.slice(at)}`);
  appendFileSync(join(appDir, '.gitignore'), `\n${ignoreLines.join('\n')}\n`);
  // The one change to the template itself: next/font/google downloads fonts at build time, and
  // this machine reaches only the npm registry. The stand-in keeps the template's names.
  const layoutPath = join(appDir, 'app', 'layout.tsx');
  const layout = readFileSync(layoutPath, 'utf8');
  const fontImport = /^import \{ Geist, Geist_Mono \} from "next\/font\/google";$/m;
  assert.match(layout, fontImport, 'the template imports Geist from next/font/google');
  writeFileSync(
    layoutPath,
    layout.replace(fontImport, 'const Geist = (_: object) => ({ variable: "" }); const Geist_Mono = Geist; // offline stand-in'),
  );
  console.log(`newcomer: wrote ${paths.join(', ')}, next.config.ts (+${configLines.length} line), .gitignore; swapped the font import`);
}

/** One HTTP request; resolves `{ status, headers, text, json, reused }`. */
function request(path, { method = 'GET', headers = {}, body, chunks, agent } = {}) {
  return new Promise((resolveRequest, reject) => {
    const req = http.request(new URL(path, baseUrl), { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {}
        resolveRequest({ status: res.statusCode, headers: res.headers, text, json, reused: req.reusedSocket });
      });
    });
    req.on('error', reject);
    if (chunks) {
      // Chunked transfer (no content-length), written as fast as the server takes it. The
      // server answers 413 before reading it all; a write to a socket it closed is expected.
      req.on('error', () => {});
      (async () => {
        for (const c of chunks) {
          if (req.destroyed) return;
          if (!req.write(c)) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      })().catch(() => {});
    } else {
      req.end(body);
    }
  });
}

async function check() {
  const stripe = new (createRequire(join(REPO, 'bindings', 'node', 'package.json'))('stripe'))('sk_test_newcomer_not_a_key');
  const secret = process.env.STRIPE_WEBHOOK_SECRET;
  assert.ok(secret, 'STRIPE_WEBHOOK_SECRET is set for the check');
  const now = () => Math.floor(Date.now() / 1000);
  const session = 'cs_test_newcomer_1';
  const event = (id, type, object) =>
    JSON.stringify({ id, object: 'event', api_version: '2025-03-31.basil', created: now() - 5, livemode: false, type, data: { object } });
  const completed = event('evt_newcomer_1', 'checkout.session.completed', {
    id: session, object: 'checkout.session', mode: 'subscription', status: 'complete', payment_status: 'paid',
    customer: 'cus_newcomer_1', subscription: 'sub_newcomer_1', client_reference_id: 'user_newcomer_1',
    customer_details: { email: 'new@example.com', name: 'New Comer' }, amount_total: 2900, currency: 'usd', metadata: {},
  });
  const signed = (payload, options = {}) => stripe.webhooks.generateTestHeaderString({ payload, secret, ...options });
  const post = (payload, signature, agent) =>
    request('/api/webhooks/stripe', {
      method: 'POST', body: payload, agent,
      headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'stripe-signature': signature }) },
    });
  const processedCount = async () => {
    const m = await request('/api/billing/metrics');
    assert.equal(m.status, 200, m.text.slice(0, 300));
    const line = /^tollbooth_deliveries_total\{outcome="processed"\} (\d+)$/m.exec(m.text);
    return line ? Number(line[1]) : 0;
  };

  const pending = await request(`/checkout/success?session_id=${session}`);
  assert.equal(pending.status, 200);
  assert.match(pending.text, /Confirming your payment/);
  assert.doesNotMatch(pending.text, /Payment received\./);
  const before = await processedCount();

  const first = await post(completed, signed(completed));
  assert.deepEqual([first.status, first.json?.outcome], [200, 'processed'], first.text);
  const again = await post(completed, signed(completed));
  assert.deepEqual([again.status, again.json?.outcome], [200, 'duplicate'], again.text);
  assert.equal(await processedCount(), before + 1, 'the GET route reads live numbers, not a build-time snapshot');

  const page = await request(`/checkout/success?session_id=${session}`);
  assert.equal(page.status, 200);
  assert.match(page.text, /Payment received\./, 'the page reads tollbooth at request time');

  const forged = await post(completed, signed(completed, { secret: 'whsec_not_the_secret' }));
  assert.deepEqual([forged.status, forged.json?.error], [400, 'SIGNATURE_MISMATCH']);
  const old = await post(completed, signed(completed, { timestamp: now() - 3600 }));
  assert.deepEqual([old.status, old.json?.error], [400, 'TIMESTAMP_OUT_OF_TOLERANCE']);
  const unsigned = await post(completed, undefined);
  assert.deepEqual([unsigned.status, unsigned.json?.error], [400, 'SIGNATURE_HEADER_MISSING']);
  const notJson = '{"not json';
  // Authentic but unreadable: acknowledged and kept in quarantine, never a 4xx Stripe retries.
  const junk = await post(notJson, signed(notJson));
  assert.deepEqual([junk.status, junk.json?.outcome], [200, 'quarantined'], junk.text);
  const get = await request('/api/webhooks/stripe');
  assert.equal(get.status, 405, 'GET on the webhook route');

  // 413, declared: refused before reading.
  const declared = await request('/api/webhooks/stripe', {
    method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(2 * 1024 * 1024), 'stripe-signature': 't=1,v1=00' },
    chunks: [Buffer.alloc(2 * 1024 * 1024, 0x20)],
  });
  assert.deepEqual([declared.status, declared.json?.error], [413, 'PAYLOAD_TOO_LARGE']);
  // 413, chunked, on a keep-alive connection: the answer closes the connection, so the next
  // request on the same agent gets a fresh socket instead of ECONNRESET.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const warm = await post(completed, signed(completed), agent);
  assert.equal(warm.json?.outcome, 'duplicate');
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const huge = await request('/api/webhooks/stripe', {
    method: 'POST', agent, headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' },
    chunks: Array.from({ length: 32 }, () => chunk), // 2 MiB
  });
  assert.deepEqual([huge.status, huge.json?.error], [413, 'PAYLOAD_TOO_LARGE']);
  assert.equal(huge.headers.connection, 'close', 'the 413 says the connection closes');
  const next = await post(completed, signed(completed), agent);
  assert.deepEqual([next.status, next.json?.outcome], [200, 'duplicate'], 'the request after a 413 on a keep-alive agent');
  assert.equal(next.reused, false, 'the closed connection was not reused');
  agent.destroy();

  // The database was created on first use, where the docs say: data/tollbooth.db in the app.
  assert.ok(existsSync(join(appDir, 'data', 'tollbooth.db')), 'data/tollbooth.db exists after the first delivery');
  console.log('newcomer: processed, duplicate, quarantined, 400 x3, 405, 413 x2 (keep-alive safe), live GET route and page: all as documented');
}

if (mode === 'setup') setup();
else if (mode === 'check') await check();
else if (mode !== undefined) throw new Error(`usage: newcomer.mjs setup|check <app dir> [base url]`);
