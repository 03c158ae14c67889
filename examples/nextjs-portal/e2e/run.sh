#!/usr/bin/env bash
# Runs the portal's browser e2e from a clean checkout: Debian Chromium (installed if missing),
# the tollbooth addon, the example's dependencies, a production build, then the test.
# Usage: bash examples/nextjs-portal/e2e/run.sh   (from anywhere; needs root for apt-get)
set -euo pipefail
started=$(date +%s)
APP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$APP_DIR/../.." && pwd)"
export NEXT_TELEMETRY_DISABLED=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 CI="${CI:-true}"

if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

echo "== building the tollbooth addon"
cd "$REPO_DIR/bindings/node"
npm ci --no-audit --no-fund
npx napi build --platform --release --strip

echo "== installing the example (install-links: a packed copy, not a symlink)"
cd "$APP_DIR"
npm ci --install-links --no-audit --no-fund

# Secrets of this run: the build sees them too, so the leak check of .next/static means something.
export STRIPE_WEBHOOK_SECRET="whsec_e2e$(node -e "process.stdout.write(require('crypto').randomBytes(18).toString('hex'))")"
export STRIPE_SECRET_KEY="sk_test_e2e$(node -e "process.stdout.write(require('crypto').randomBytes(18).toString('hex'))")"
export SESSION_SECRET="$(node -e "process.stdout.write(require('crypto').randomBytes(32).toString('hex'))")"

echo "== the tollbooth CLI (for e2e/doctor.e2e.mjs)"
(cd "$REPO_DIR" && cargo build --quiet --bin tollbooth)

echo "== next build"
node node_modules/next/dist/bin/next build

echo "== e2e"
e2e_started=$(date +%s)
status=0
node --test --test-reporter=spec e2e/portal.e2e.mjs e2e/admin.e2e.mjs e2e/doctor.e2e.mjs e2e/latency.e2e.mjs || status=$?
# Again with two `next start` instances on one database, deliveries split between them (what a
# load balancer does). E2E_DATABASE may name another store (a postgres:// URL) for both runs.
if [ "$status" = 0 ] && [ "${E2E_INSTANCES:-}" = "" ]; then
  echo "== e2e, two servers on one database"
  E2E_INSTANCES=2 node --test --test-reporter=spec e2e/portal.e2e.mjs || status=$?
fi
ended=$(date +%s)
echo "== e2e test: $((ended - e2e_started)) s; whole run (install + build + test): $((ended - started)) s"
exit $status
