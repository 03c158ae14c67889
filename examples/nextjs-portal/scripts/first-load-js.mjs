// The JavaScript each page makes the browser load before it can hydrate ("First Load JS"),
// read from the production build: Next.js 16's `next build` no longer prints it. A page loads
// the framework's root chunks (build-manifest.json's rootMainFiles) plus the client chunks of
// its layouts and of the page itself (entryJSFiles of its client reference manifest).
//
//   node node_modules/next/dist/bin/next build && node scripts/first-load-js.mjs
//
// Prints one line per page: gzip KiB in total (what the network carries) and the page's own
// part beyond the shared root chunks. Deterministic for a given build, unlike Lighthouse.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

const NEXT = join(import.meta.dirname, '..', '.next');
const root = JSON.parse(readFileSync(join(NEXT, 'build-manifest.json'), 'utf8')).rootMainFiles;

/** Every `page_client-reference-manifest.js` under the server app directory. */
function manifests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return manifests(path);
    return name === 'page_client-reference-manifest.js' ? [path] : [];
  });
}

const gz = new Map();
/** Gzip size of one static file, in bytes (memoised: the root chunks are counted per page). */
function gzipBytes(file) {
  if (!gz.has(file)) gz.set(file, gzipSync(readFileSync(join(NEXT, file)), { level: 9 }).length);
  return gz.get(file);
}
const kib = (files) => ([...files].reduce((n, f) => n + gzipBytes(f), 0) / 1024).toFixed(1);

const appDir = join(NEXT, 'server', 'app');
const rows = manifests(appDir).map((file) => {
  const route = `/${relative(appDir, file).replace(/\/?page_client-reference-manifest\.js$/, '')}`;
  globalThis.__RSC_MANIFEST = {};
  // The manifest is a script that assigns globalThis.__RSC_MANIFEST[page].
  new Function(readFileSync(file, 'utf8'))();
  const m = Object.values(globalThis.__RSC_MANIFEST)[0];
  const own = new Set(Object.values(m.entryJSFiles).flat().filter((f) => f.endsWith('.js')));
  return { route, total: kib(new Set([...root, ...own])), own: kib(own), files: own.size };
});
console.log(`root chunks (every page): ${kib(root)} KiB gzip in ${root.length} files`);
for (const r of rows.sort((a, b) => a.route.localeCompare(b.route))) {
  console.log(`${r.route.padEnd(24)} ${r.total.padStart(6)} KiB  (layouts + page: ${r.own} KiB in ${r.files} chunk(s))`);
}
