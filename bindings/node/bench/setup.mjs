// What both benchmarks start with: the package folder, a `require` rooted there (for the addon
// and the baselines' dependencies), `--name value` arguments, the signing secret and the
// baselines folder.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const pkgDir = path.resolve(here, '..');
export const require = createRequire(path.join(pkgDir, 'package.json'));
export const { Tollbooth, signTestPayload } = require('./index.js');
export const SECRET = 'whsec_bench_0123456789abcdef0123456789abcdef';
export const baselinesDir =
  process.env.TOLLBOOTH_BASELINES ?? path.resolve(pkgDir, '../../../shared/baselines');

const args = process.argv.slice(2);

/** The value after `--name` on the command line, else `dflt`. */
export const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};

/** Lets the baselines (loaded from ../shared as is) resolve their dependencies from here. */
export function resolveFromHere() {
  process.env.NODE_PATH = [path.join(pkgDir, 'node_modules'), process.env.NODE_PATH]
    .filter(Boolean)
    .join(path.delimiter);
  require('node:module').Module._initPaths();
}
