// Browser e2e of what the portal does with Stripe's API, against the loopback Stripe stub
// (stubs/stripe.mjs, started by the harness with this run's secret key):
//   - a founder adopting tollbooth with existing customers presses "Import from Stripe" on the
//     admin page, and a customer who subscribed before (never seen by a webhook) gets access;
//   - a same-second conflict enqueues a stripe.reconcile job that the example's worker works
//     off through tollbooth (tb.workStripeJobs): the object fetched from Stripe decides;
//   - "Update your card" on a past-due account makes a billing portal session on the server
//     (stripe-node against the stub) and the browser lands on it; Stripe failing is an error
//     state, not a crash;
//   - account settings by role (member vs admin), and the empty states of the portal pages.
// Screenshots go to e2e/screenshots/stripe-*.png. Needs a production build (.next).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Tollbooth } from 'tollbooth';
import { APP_DIR, launchBrowser, postSigned, runSecrets, signIn, startStack, waitUntil } from './harness.mjs';
import * as S from './stripe-events.mjs';

const SHOTS = join(APP_DIR, 'e2e', 'screenshots');
const ADA = { id: 'user_ada', email: 'ada@example.com', password: 'ada-demo-password', name: 'Ada Lovelace' };
const GRACE = { id: 'user_grace', email: 'grace@example.com', password: 'grace-demo-password', name: 'Grace Hopper' };
const ADMIN = { email: 'admin@example.com', password: 'admin-demo-password' };
const STRIPE_VERSION = '2025-03-31.basil';

const secrets = runSecrets();
const workDir = mkdtempSync(join(tmpdir(), 'portal-stripe-e2e-'));
let stack;
let browser;
let page;

async function deliver(...events) {
  for (const e of events) {
    const r = await postSigned(stack.baseUrl, secrets.STRIPE_WEBHOOK_SECRET, e);
    assert.equal(r.status, 200, JSON.stringify(r.json));
  }
}

const login = (user) => signIn(page, stack.baseUrl, user);

async function logout() {
  await page.goto(`${stack.baseUrl}/dashboard`);
  await Promise.all([page.waitForURL(/\/login/), page.click('text=Sign out')]);
}

const shot = (name) => page.screenshot({ path: join(SHOTS, `stripe-${name}.png`), fullPage: true });

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const instances = Number(process.env.E2E_INSTANCES ?? 1);
  const database = process.env.E2E_STORE === 'postgres' ? freshPostgres() : undefined;
  stack = await startStack({ workDir, secrets, instances, database, extraEnv: { WORKER_POLL_MS: '100' } });
  ({ browser, page } = await launchBrowser(workDir));
});

/** A fresh schema on the PostgreSQL server of .ci/postgres.sh (E2E_STORE=postgres). */
function freshPostgres() {
  const url = process.env.TOLLBOOTH_TEST_POSTGRES;
  if (!url) throw new Error('E2E_STORE=postgres needs TOLLBOOTH_TEST_POSTGRES (run through .ci/postgres.sh)');
  return `${url}${url.includes('?') ? '&' : '?'}schema=portal_stripe_${process.pid}`;
}

after(async () => {
  await browser?.close().catch(() => {});
  await stack?.stopAll();
  // The secret key never reaches a log of the run (the stub's 401s would quote a wrong one).
  if (stack) {
    for (const f of readdirSync(stack.logDir)) {
      assert.ok(!readFileSync(join(stack.logDir, f), 'utf8').includes(secrets.STRIPE_SECRET_KEY), `${f} holds the Stripe key`);
    }
  }
  rmSync(workDir, { recursive: true, force: true });
});

test('Stripe API: import existing customers, reconcile by the worker, billing portal, account settings, empty and error states', { timeout: 300_000 }, async (t) => {
  const B = stack.baseUrl;
  const now = Math.floor(Date.now() / 1000);

  // Grace subscribed before the portal used tollbooth: she exists only in Stripe.
  const gCus = S.sid('cus');
  const gSub = S.sid('sub');
  const gInv = S.sid('in');
  await stack.stripeStub.add([
    { ...S.customer({ id: gCus, email: GRACE.email, name: GRACE.name, userId: GRACE.id, created: now - 40 * 86_400 }) },
    { ...S.subscription({ id: gSub, customer: gCus, status: 'active', periodStart: now - 5 * 86_400 }), created: now - 40 * 86_400 },
    S.invoice({ id: gInv, number: 'ACME-0901', customer: gCus, subscription: gSub, status: 'paid', created: now - 5 * 86_400, attemptCount: 1 }),
    { ...S.checkoutSession({ id: S.sid('cs_test'), customer: gCus, subscription: gSub, userId: GRACE.id, email: GRACE.email, name: GRACE.name }), created: now - 40 * 86_400 },
  ]);

  await t.test('before the import: no access, empty states on every page', async () => {
    await login(GRACE);
    assert.equal(await page.getAttribute('[data-testid="billing-state"]', 'data-state'), 'none');
    assert.ok(await page.$('[data-testid="workspace-locked"]'));
    await shot('01-grace-before-import');
    await page.goto(`${B}/invoices`);
    await page.waitForSelector('[data-testid="no-invoices"]');
    await page.goto(`${B}/support`);
    await page.waitForSelector('[data-testid="no-tickets"]');
    await page.goto(`${B}/account`);
    await page.waitForSelector('[data-testid="no-billing"]');
    assert.equal(await page.textContent('[data-testid="role"]'), 'member');
    assert.equal(await page.$('[data-testid="team"]'), null, 'members see no team');
    assert.equal(await page.$('[data-testid="stripe-connection"]'), null);
    assert.doesNotMatch(await page.content(), /ada@example\.com|admin@example\.com/, "nothing of other users");
    await shot('02-account-member-empty');
    // "Update your card" without a Stripe customer: an explained error, no Stripe call.
    const n = (await stack.stripeStub.requests()).length;
    const res = await page.request.post(`${B}/billing/portal`, { maxRedirects: 0, headers: { origin: B } });
    assert.equal(res.status(), 303);
    assert.equal(res.headers().location, '/account?portal_error=no_customer');
    await page.goto(new URL(res.headers().location, B).toString());
    assert.match(await page.innerText('[data-testid="portal-error"]'), /subscribe first/);
    assert.equal((await stack.stripeStub.requests()).length, n);
    await logout();
  });

  await t.test('admin: "Import from Stripe" applies the existing customers; pressing it again changes nothing', async () => {
    await login(ADMIN);
    await page.goto(`${B}/admin`);
    await page.click('[data-testid="stripe-import"]');
    const result = page.locator('[data-testid="stripe-import-result"]');
    await result.waitFor({ timeout: 60_000 });
    assert.equal(await result.getAttribute('data-ok'), 'true', await result.innerText());
    assert.match(await result.innerText(), /1 customers, 1 subscriptions, 1 invoices, 1 checkout sessions: \d+ changed/);
    await shot('03-admin-import');
    const sent = (await stack.stripeStub.requests()).filter((r) => r.method === 'GET');
    assert.ok(sent.length >= 6);
    assert.ok(sent.every((r) => r.authorized && r.stripeVersion === STRIPE_VERSION));
    assert.deepEqual(sent.find((r) => r.path === '/v1/subscriptions').query, { limit: '100', status: 'all' });
    await page.reload();
    await page.click('[data-testid="stripe-import"]');
    await page.waitForSelector('[data-testid="stripe-import-result"]', { timeout: 60_000 });
    assert.match(await result.innerText(), /: 0 changed\./, 'a second import changes nothing');
    // A member cannot run it: the admin page (and its action) answer 403.
    await logout();
  });

  await t.test('after the import: Grace has access, her invoice and her account', async () => {
    await login(GRACE);
    assert.equal(await page.getAttribute('[data-testid="billing-state"]', 'data-state'), 'active');
    assert.ok(await page.$('[data-testid="workspace"]'));
    await shot('04-grace-after-import');
    await page.goto(`${B}/invoices`);
    assert.match(await page.locator(`[data-invoice="${gInv}"]`).innerText(), /ACME-0901[\s\S]*paid/i);
    assert.equal((await page.goto(`${B}/admin`)).status(), 403, 'members never reach the import');
    await logout();
  });

  // Ada: two events about her subscription in the same second that disagree.
  const aCus = S.sid('cus');
  const aSub = S.sid('sub');
  const aInv = S.sid('in');
  await t.test('a same-second conflict: the worker reconciles it through tollbooth from Stripe', async () => {
    const t0 = now - 600;
    // What Stripe says about the subscription now: past due (the invoice failed).
    await stack.stripeStub.add([
      S.customer({ id: aCus, email: ADA.email, name: ADA.name, userId: ADA.id, created: t0 }),
      { ...S.subscription({ id: aSub, customer: aCus, status: 'past_due', periodStart: t0 }), created: t0 },
    ]);
    await deliver(
      S.event('checkout.session.completed', S.checkoutSession({ id: S.sid('cs_test'), customer: aCus, subscription: aSub, userId: ADA.id, email: ADA.email, name: ADA.name }), t0),
      S.event('customer.created', S.customer({ id: aCus, email: ADA.email, name: ADA.name, userId: ADA.id, created: t0 }), t0),
      S.event('invoice.payment_failed', S.invoice({ id: aInv, number: 'ACME-0902', customer: aCus, subscription: aSub, status: 'open', created: t0 + 1, attemptCount: 1 }), t0 + 1),
      S.event('customer.subscription.updated', S.subscription({ id: aSub, customer: aCus, status: 'active', periodStart: t0 }), t0 + 2),
      S.event('customer.subscription.updated', S.subscription({ id: aSub, customer: aCus, status: 'incomplete', periodStart: t0 }), t0 + 2),
    );
    const ops = new Tollbooth({ database: stack.database, webhookSecrets: [secrets.STRIPE_WEBHOOK_SECRET] });
    try {
      const job = await waitUntil(
        'the stripe.reconcile job to be done',
        async () => (await ops.jobs({ kind: 'stripe.reconcile' })).find((j) => j.payload.object_id === aSub && j.state === 'done'),
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      assert.equal(job.payload.object_id, aSub);
      assert.equal(job.attempts, 1);
      assert.equal((await ops.access(aCus)).state, 'past_due', "Stripe's answer, not either event, decides");
    } finally {
      await ops.close();
    }
    const fetched = (await stack.stripeStub.requests()).filter((r) => r.path === `/v1/subscriptions/${aSub}`);
    assert.equal(fetched.length, 1);
    assert.ok(fetched[0].authorized && fetched[0].stripeVersion === STRIPE_VERSION);
  });

  await t.test('"Update your card": a billing portal session made on the server; back to the account page', async () => {
    await login(ADA);
    assert.equal(await page.getAttribute('[data-testid="billing-state"]', 'data-state'), 'past_due');
    await shot('05-dashboard-past-due');
    const n = (await stack.stripeStub.requests()).length;
    await Promise.all([page.waitForURL(/\/p\/session\/bps_/), page.click('[data-testid="update-card"]')]);
    assert.equal(new URL(page.url()).origin, new URL(stack.stripeStub.url).origin, 'the browser is at the (stub) Stripe billing portal');
    assert.match(await page.innerText('main'), new RegExp(`Update your payment method[\\s\\S]*${aCus}`));
    await shot('06-billing-portal');
    const created = (await stack.stripeStub.requests()).slice(n).filter((r) => r.path === '/v1/billing_portal/sessions');
    assert.equal(created.length, 1);
    assert.ok(created[0].authorized, 'stripe-node sent the secret key');
    await Promise.all([page.waitForURL(/\/account$/), page.click('text=Return to the portal')]);
    assert.equal(await page.innerText('[data-testid="account-state"]'), 'past due');
    assert.ok(await page.$('[data-testid="manage-billing"]'));
    await shot('07-account-member');
    // The page source holds no secret and nothing of other users.
    const html = await page.content();
    assert.ok(!html.includes(secrets.STRIPE_SECRET_KEY));
    assert.doesNotMatch(html, /grace@example\.com|admin@example\.com/);
  });

  await t.test('Stripe down: "Update your card" is an explained error state, not a crash', async () => {
    await fetch(`${stack.stripeStub.url}/_stub/fail`, { method: 'POST', body: JSON.stringify({ status: 500, times: 10, path: '/v1/billing_portal' }) });
    await page.goto(`${B}/dashboard`);
    await Promise.all([page.waitForURL(/portal_error=stripe_unavailable/, { timeout: 60_000 }), page.click('[data-testid="update-card"]')]);
    assert.match(await page.innerText('[data-testid="portal-error"]'), /Stripe did not answer/);
    await shot('08-portal-error');
    // A cross-site form post is refused before anything happens.
    const cross = await page.request.post(`${B}/billing/portal`, { maxRedirects: 0, headers: { origin: 'https://evil.example' } });
    assert.equal(cross.status(), 403);
    await logout();
  });

  await t.test('account settings for an admin: the team and the Stripe connection, never the key', async () => {
    await login(ADMIN);
    await page.goto(`${B}/account`);
    assert.equal(await page.textContent('[data-testid="role"]'), 'admin');
    assert.match(await page.innerText('[data-testid="team"]'), /ada@example\.com[\s\S]*grace@example\.com/);
    assert.match(await page.innerText('[data-testid="stripe-connection"]'), /API key configured \(test mode\)/);
    assert.ok(!(await page.content()).includes(secrets.STRIPE_SECRET_KEY));
    await shot('09-account-admin');
  });
});
