// The README's Next.js snippets are the one copy: the example portal runs exactly the same route
// and lib file (so its browser e2e exercises them too), and the package README refers to the
// root README instead of keeping a second route. The newcomer test (.ci/newcomer.sh) builds them
// in a fresh create-next-app.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { nextjsSnippets } from '../../.ci/newcomer.mjs';
import { PACKAGE_DIR, REPO_ROOT } from './helpers.mjs';

const EXAMPLE = join(REPO_ROOT, 'examples', 'nextjs-portal');

test('the README route and lib file are the example portal files, byte for byte', () => {
  const byPath = new Map();
  for (const { lines } of nextjsSnippets()) {
    const m = /^\/\/ ((?:app|lib)\/\S+\.tsx?)$/.exec(lines[0]);
    if (m) byPath.set(m[1], `${lines.join('\n')}\n`);
  }
  for (const path of ['app/api/webhooks/stripe/route.ts', 'lib/tollbooth.ts']) {
    assert.ok(byPath.has(path), `README has ${path}`);
    assert.equal(readFileSync(join(EXAMPLE, path), 'utf8'), byPath.get(path), `${path} differs from the README`);
  }
});

test('no Next.js snippet uses segment config that Next 16 rejects with cacheComponents', () => {
  for (const { lines } of nextjsSnippets()) {
    const text = lines.join('\n');
    assert.doesNotMatch(text, /export const (dynamic|revalidate|fetchCache|runtime)\b/, text.slice(0, 80));
    assert.doesNotMatch(text, /NODE_ENV/, 'livemode is never inferred from NODE_ENV');
  }
});

test('the package README keeps no route of its own and points at the root README', () => {
  const pkg = readFileSync(join(PACKAGE_DIR, 'README.md'), 'utf8');
  assert.doesNotMatch(pkg, /export async function POST/);
  assert.match(pkg, /"Use it from Next\.js"/);
  assert.doesNotMatch(pkg, /NODE_ENV ===/);
});

test('the minimum Rust in the package README is the binding crate\'s rust-version', () => {
  const cargo = readFileSync(join(PACKAGE_DIR, 'Cargo.toml'), 'utf8');
  const version = /^rust-version = "([\d.]+)"/m.exec(cargo)?.[1];
  assert.ok(version, 'bindings/node/Cargo.toml has a rust-version');
  const pkg = readFileSync(join(PACKAGE_DIR, 'README.md'), 'utf8');
  const stated = [...pkg.matchAll(/Rust ≥ ([\d.]+)/g)].map((m) => m[1]);
  assert.ok(stated.length > 0, 'the package README states a minimum Rust');
  assert.deepEqual([...new Set(stated)], [version]);
});
