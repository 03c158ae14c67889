// Starts and stops the example's processes (stubs, `next start`, worker) for the e2e and the
// load measurement. Every child runs in its own process group and is killed, by its pid, when
// the test ends or this process exits. Not a test file.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const APP_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const NEXT_BIN = join(APP_DIR, 'node_modules', 'next', 'dist', 'bin', 'next');

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/** Secrets for one run: taken from the environment when run.sh set them (the build saw them too). */
export function runSecrets() {
  return {
    STRIPE_WEBHOOK_SECRET: process.env.STRIPE_WEBHOOK_SECRET || `whsec_e2e${randomBytes(18).toString('hex')}`,
    STRIPE_SECRET_KEY: process.env.STRIPE_SECRET_KEY || `sk_test_e2e${randomBytes(18).toString('hex')}`,
    SESSION_SECRET: process.env.SESSION_SECRET || randomBytes(32).toString('hex'),
  };
}

const children = new Set();

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

process.on('exit', () => {
  for (const c of children) killGroup(c, 'SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const c of children) killGroup(c, 'SIGKILL');
    process.exit(130);
  });
}

/** Spawns `node <args>` in its own process group, output to logDir/<name>.log. */
export function start(name, args, { env, logDir }) {
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, args, {
    cwd: APP_DIR,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  child.name = name;
  child.exited = new Promise((ok) => child.once('exit', (code, signal) => ok({ code, signal })));
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export async function stop(child, graceMs = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  killGroup(child, 'SIGTERM');
  const t = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(t);
}

/** Polls `url` until it answers 2xx, or throws after `timeoutMs`. */
export async function waitForHttp(url, { timeoutMs = 30_000, child } = {}) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${child.name} exited (${child.exitCode ?? child.signalCode}) before ${url} answered`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.message;
    }
    await sleep(200);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms (${last})`);
}

/** Polls `fn` until it returns a truthy value, or throws `what` after `timeoutMs`. */
export async function waitUntil(what, fn, { timeoutMs = 30_000, intervalMs = 250 } = {}) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    last = await fn();
    if (last) return last;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * Starts the stubs, `instances` servers (`next start`, each on its own port, all on one
 * database) and (unless `worker: false`) the worker. `database` defaults to a fresh SQLite file
 * in `workDir` (passed as TOLLBOOTH_DB); a `postgres://` URL is passed as DATABASE_URL, the way
 * a hosted app gets it. Returns URLs, env, the database and a `stopAll()`.
 */
export async function startStack({ workDir, secrets, faultRate = 0, faultSeed = 1, worker = true, extraEnv = {}, instances = 1, database }) {
  if (!existsSync(join(APP_DIR, '.next', 'BUILD_ID'))) {
    throw new Error('no production build: run `node node_modules/next/dist/bin/next build` first (e2e/run.sh does)');
  }
  const [crmPort, helpdeskPort, stripePort] = [await freePort(), await freePort(), await freePort()];
  const appPorts = [];
  for (let i = 0; i < instances; i++) appPorts.push(await freePort());
  const logDir = join(workDir, 'logs');
  database ??= join(workDir, 'tollbooth.db');
  const postgres = /^postgres(ql)?:\/\//.test(database);
  const env = {
    ...secrets,
    NODE_ENV: 'production',
    // Blank counts as unset, so an inherited TOLLBOOTH_DB cannot win over DATABASE_URL.
    TOLLBOOTH_DB: postgres ? '' : database,
    DATABASE_URL: postgres ? database : '',
    CRM_PORT: String(crmPort),
    HELPDESK_PORT: String(helpdeskPort),
    CRM_URL: `http://127.0.0.1:${crmPort}`,
    HELPDESK_URL: `http://127.0.0.1:${helpdeskPort}`,
    FAULT_RATE: String(faultRate),
    FAULT_SEED: String(faultSeed),
    FAULT_HANG_MS: '2500',
    CALL_TIMEOUT_MS: '1000',
    STRIPE_PAYMENT_LINK: 'https://buy.stripe.com/test_portal_pro',
    // The loopback Stripe API stub (stubs/stripe.mjs), accepting this run's secret key.
    STRIPE_API_BASE: `http://127.0.0.1:${stripePort}`,
    ...extraEnv,
  };
  const procs = {};
  procs.stubs = start('stubs', ['stubs/services.mjs'], { env, logDir });
  await waitForHttp(`${env.HELPDESK_URL}/_stats`, { child: procs.stubs });
  await waitForHttp(`${env.CRM_URL}/_stats`, { child: procs.stubs });
  procs.stripe = start('stripe-stub', ['stubs/stripe.mjs'], { env: { ...env, STRIPE_STUB_KEY: env.STRIPE_SECRET_KEY, PORT: String(stripePort) }, logDir });
  await waitForHttp(`${env.STRIPE_API_BASE}/_stub/requests`, { child: procs.stripe });
  const baseUrls = [];
  for (const [i, port] of appPorts.entries()) {
    const name = i === 0 ? 'next' : `next${i + 1}`;
    procs[name] = start(name, [NEXT_BIN, 'start', '-H', '127.0.0.1', '-p', String(port)], { env, logDir });
    baseUrls.push(`http://127.0.0.1:${port}`);
  }
  for (const [i, url] of baseUrls.entries()) {
    await waitForHttp(`${url}/api/health`, { child: procs[i === 0 ? 'next' : `next${i + 1}`], timeoutMs: 60_000 });
  }
  const baseUrl = baseUrls[0];
  const startWorker = () => {
    procs.worker = start('worker', ['worker/worker.mjs'], { env, logDir });
    return procs.worker;
  };
  if (worker) startWorker();
  const stripeStub = {
    url: env.STRIPE_API_BASE,
    async add(objects) {
      const r = await fetch(`${env.STRIPE_API_BASE}/_stub/objects`, { method: 'POST', body: JSON.stringify({ objects }) });
      if (!r.ok) throw new Error(`stripe stub: ${r.status} ${await r.text()}`);
    },
    async requests() {
      return (await fetch(`${env.STRIPE_API_BASE}/_stub/requests`)).json();
    },
  };
  return {
    baseUrl,
    baseUrls,
    stripeStub,
    database,
    env,
    logDir,
    procs,
    startWorker,
    stopWorker: () => stop(procs.worker),
    async stopAll() {
      await Promise.all(Object.values(procs).map((c) => stop(c)));
    },
  };
}

/** Debian Chromium (playwright-core, no browser download) with a fresh profile in `workDir`. */
export async function launchBrowser(workDir) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launchPersistentContext(join(workDir, 'chromium-profile'), {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1100, height: 760 },
  });
  browser.setDefaultTimeout(15_000);
  return { browser, page: browser.pages()[0] ?? (await browser.newPage()) };
}

/** Signs `user` ({ email, password }) in through the login form; resolves on the dashboard. */
export async function signIn(page, baseUrl, user) {
  await page.goto(`${baseUrl}/login`);
  await page.fill('input[name="email"]', user.email);
  await page.fill('input[name="password"]', user.password);
  await Promise.all([page.waitForURL(/\/dashboard$/, { timeout: 15_000 }), page.click('button[type="submit"]')]);
}

/** POSTs `event` to the webhook route signed with `secret`, as Stripe would; { status, json }. */
export async function postSigned(baseUrl, secret, event) {
  const { signTestPayload } = await import('tollbooth');
  const raw = JSON.stringify(event);
  const res = await fetch(`${baseUrl}/api/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signTestPayload(raw, secret) },
    body: raw,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, json: await res.json() };
}
