// `tollbooth doctor` against the example's real webhook route under `next start`: every route
// check passes (the signed probe included), the store checks run on the app's database, and the
// probe leaves the database as it found it. Needs a production build (.next) and the CLI
// (target/{release,debug}/tollbooth, or TOLLBOOTH_BIN); e2e/run.sh provides both.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Tollbooth, signTestPayload } from 'tollbooth';
import { APP_DIR, runSecrets, startStack } from './harness.mjs';
import * as S from './stripe-events.mjs';

const REPO = resolve(APP_DIR, '..', '..');
const BIN =
  process.env.TOLLBOOTH_BIN ??
  [join(REPO, 'target', 'release', 'tollbooth'), join(REPO, 'target', 'debug', 'tollbooth')].find((p) => existsSync(p));

const secrets = runSecrets();
const workDir = mkdtempSync(join(tmpdir(), 'portal-doctor-'));
let stack;

/** Runs the CLI; resolves with its exit code and parsed JSON (it never throws on exit 4). */
async function doctor(args, env = {}) {
  try {
    const { stdout } = await promisify(execFile)(BIN, ['--json', 'doctor', ...args], {
      env: { PATH: process.env.PATH, NO_COLOR: '1', ...env },
      timeout: 60_000,
    });
    return { code: 0, json: JSON.parse(stdout), stdout };
  } catch (err) {
    if (typeof err.code !== 'number') throw err;
    return { code: err.code, json: JSON.parse(err.stdout), stdout: err.stdout };
  }
}

const byName = (checks) => Object.fromEntries(checks.map((c) => [c.name, c]));

before(async () => {
  assert.ok(BIN, 'the tollbooth CLI is built (cargo build --bin tollbooth)');
  stack = await startStack({ workDir, secrets, worker: false });
});

after(async () => {
  await stack?.stopAll();
  rmSync(workDir, { recursive: true, force: true });
});

test('tollbooth doctor: the example route passes every check; the probe changes nothing', async (t) => {
  const url = `${stack.baseUrl}/api/webhooks/stripe`;
  // One real delivery first, so the store has history to judge.
  const raw = JSON.stringify(S.event('customer.created', S.customer({ id: S.sid('cus'), email: 'doc@example.com', name: 'Doc', userId: 'user_doc', created: Math.floor(Date.now() / 1000) - 5 }), Math.floor(Date.now() / 1000) - 5));
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signTestPayload(raw, secrets.STRIPE_WEBHOOK_SECRET) }, body: raw });
  assert.equal(res.status, 200);

  const reader = new Tollbooth({ database: stack.database, webhookSecrets: [secrets.STRIPE_WEBHOOK_SECRET] });
  const before = await reader.metrics();
  const { code, json, stdout } = await doctor(['--url', url, '--db', stack.database], { STRIPE_WEBHOOK_SECRET: secrets.STRIPE_WEBHOOK_SECRET });
  const route = byName(json.route);
  t.diagnostic(json.route.map((c) => `${c.status} ${c.name}: ${c.summary}`).join('\n'));
  t.diagnostic(json.store.map((c) => `${c.status} ${c.name}: ${c.summary}`).join('\n'));
  assert.equal(code, 0, stdout);
  for (const name of ['https', 'no_redirect', 'unsigned_post_rejected', 'answer_time', 'no_body_leak', 'not_cached', 'not_a_challenge_page', 'get_not_a_page', 'signed_probe']) {
    assert.equal(route[name]?.status, 'pass', `${name}: ${route[name]?.summary}`);
  }
  assert.match(route.signed_probe.summary, /recognised/);
  const store = byName(json.store);
  assert.equal(store.last_authentic_delivery.status, 'pass');
  assert.equal(store.schema_version.status, 'pass');
  assert.match(store.secrets_configured.summary, /^1 secret/);
  assert.ok(!stdout.includes(secrets.STRIPE_WEBHOOK_SECRET), 'the secret is never printed');

  // The probe wrote nothing: no authentic delivery was added (the unsigned POST is only tallied
  // as a rejection, written by the app process a second or so later), and the last authentic
  // delivery is still the real one.
  const after = await reader.metrics();
  const count = (m, outcome) => (m.window.by_outcome.find(([o]) => o === outcome) ?? [outcome, 0])[1];
  for (const o of ['processed', 'duplicate', 'ignored', 'stale', 'failed', 'quarantined']) assert.equal(count(after, o), count(before, o), o);
  assert.equal(after.activity.last_authentic_at, before.activity.last_authentic_at, 'a probe is not a delivery');
  await reader.close();

  // With the wrong secret the doctor names it and exits 4.
  const wrong = await doctor(['--url', url], { STRIPE_WEBHOOK_SECRET: 'whsec_not_the_deployments_secret_0000' });
  assert.equal(wrong.code, 4);
  const probe = byName(wrong.json.route).signed_probe;
  assert.equal(probe.status, 'fail');
  assert.match(probe.summary, /SIGNATURE_MISMATCH/);
});
