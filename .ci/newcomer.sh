#!/usr/bin/env bash
# A newcomer's first try, as README.md's "Use it from Next.js" describes it: `npm pack` the
# package, make a fresh app with a pinned create-next-app@16 (default template: TypeScript,
# Tailwind, App Router, cacheComponents on), copy the README's snippets into it (read from the
# README itself by .ci/newcomer.mjs), `next build` with no secret set (it must open no store),
# `next start` on a loopback port, then send events signed by stripe-node and check every answer.
#
# Needs the addon built in bindings/node (.ci/run builds it first) and its devDependencies
# (stripe). Reaches only the npm registry; npm's cache is reused between runs (--prefer-offline).
# NEWCOMER_CNA=create-next-app@15.5.9 bash .ci/newcomer.sh tries another template (Next 15).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
CNA="${NEWCOMER_CNA:-create-next-app@16.4.3}"
started=$SECONDS
export NEXT_TELEMETRY_DISABLED=1 npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tollbooth-newcomer.XXXXXX")"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
say() { printf 'newcomer [%3ss] %s\n' "$((SECONDS - started))" "$*"; }

ls "$REPO"/bindings/node/*.node >/dev/null 2>&1 || { echo "newcomer: build the addon first (npx napi build --platform --release --strip in bindings/node)" >&2; exit 1; }
tarball="$(cd "$REPO/bindings/node" && npm pack --ignore-scripts --pack-destination "$WORK" --silent | tail -1)"
say "packed $tarball ($(du -k "$WORK/$tarball" | cut -f1) KiB)"

cd "$WORK"
npx --yes "$CNA" app --yes --use-npm --skip-install --disable-git >/dev/null
node "$REPO/.ci/newcomer.mjs" setup "$WORK/app"
cd app
npm install --prefer-offline --no-audit --no-fund --loglevel=error "../$tarball" >/dev/null
say "$CNA app installed with $(node -p "'next ' + require('next/package.json').version")"

# The build gets no tollbooth configuration at all: route modules are evaluated, nothing opens.
env -u STRIPE_WEBHOOK_SECRET -u TOLLBOOTH_DB node node_modules/next/dist/bin/next build >"$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log"; exit 1; }
if [ -e data ]; then echo "newcomer: next build created data/ (a store was opened at build time)" >&2; exit 1; fi
say "next build ok; no store opened"

port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
export STRIPE_WEBHOOK_SECRET="whsec_newcomer$(node -e "process.stdout.write(require('crypto').randomBytes(16).toString('hex'))")"
node node_modules/next/dist/bin/next start -H 127.0.0.1 -p "$port" >"$WORK/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  if node -e "fetch('http://127.0.0.1:$port/').then(r=>process.exit(r.status<500?0:1),()=>process.exit(1))" 2>/dev/null; then break; fi
  sleep 0.2
done
NODE_PATH="$REPO/bindings/node/node_modules" node "$REPO/.ci/newcomer.mjs" check "$WORK/app" "http://127.0.0.1:$port" \
  || { echo "--- server log"; cat "$WORK/server.log"; exit 1; }
say "done: the newcomer path took $((SECONDS - started)) s"
