#!/usr/bin/env bash
# Runs the portal's browser e2e from a clean checkout: Debian Chromium (installed if missing),
# the tollbooth addon, the example's dependencies, one production build, then the tests in two
# modes: on SQLite, every e2e file (one `next start`; E2E_INSTANCES=2 for two on one file), and
# on PostgreSQL, the portal e2e with two `next start` on one database, through .ci/postgres.sh
# (which installs and starts a throwaway server when none answers at TOLLBOOTH_TEST_POSTGRES).
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

# One build serves both modes: the database is chosen at run time from the environment.
status=0
echo "== e2e 1/2: SQLite (TOLLBOOTH_DB), ${E2E_INSTANCES:-1} server(s)"
t0=$(date +%s)
node --test --test-reporter=spec e2e/portal.e2e.mjs e2e/admin.e2e.mjs e2e/stripe.e2e.mjs e2e/doctor.e2e.mjs e2e/latency.e2e.mjs e2e/billing-model.e2e.mjs e2e/sca.e2e.mjs || status=$?
t1=$(date +%s)
echo "== e2e SQLite: $((t1 - t0)) s"
# The portal e2e and the Stripe API e2e (import, reconcile, billing portal) again, with
# two `next start` instances on one PostgreSQL database (DATABASE_URL with a fresh schema), as
# behind a load balancer: redeliveries go to the other instance than the first copy, and the
# worker claims from the same database. postgres.sh starts a throwaway PostgreSQL (or uses the
# one at TOLLBOOTH_TEST_POSTGRES) and stops it afterwards, whatever happens. E2E_POSTGRES=0 skips.
if [ "$status" = 0 ] && [ "${E2E_POSTGRES:-1}" != 0 ]; then
  echo "== e2e 2/2: PostgreSQL (DATABASE_URL), two servers on one database"
  bash "$REPO_DIR/.ci/postgres.sh" run -- env E2E_STORE=postgres E2E_INSTANCES=2 \
    node --test --test-reporter=spec e2e/portal.e2e.mjs e2e/stripe.e2e.mjs || status=$?
  t2=$(date +%s)
  echo "== e2e PostgreSQL, two servers: $((t2 - t1)) s (with the server's start and stop)"
fi
ended=$(date +%s)
echo "== e2e tests: $((ended - t0)) s; whole run (install + build + tests): $((ended - started)) s"
exit $status
