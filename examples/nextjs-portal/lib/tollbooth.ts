// lib/tollbooth.ts
import 'server-only'; // it holds the webhook secret: never part of a client bundle
import { Tollbooth } from 'tollbooth';

const g = globalThis as typeof globalThis & { __tollbooth?: Tollbooth };

/**
 * The one engine of this process. Made on first use, never at import, so `next build` opens no
 * database and needs no secret; kept on globalThis so `next dev` reloads reuse it. Configured by
 * STRIPE_WEBHOOK_SECRET, the database (below) and STRIPE_LIVEMODE (else the mode of
 * STRIPE_SECRET_KEY); a missing variable is a CONFIG_INVALID error that names it.
 */
export function tollbooth(): Tollbooth {
  return (g.__tollbooth ??= Tollbooth.fromEnv({ database: postgresUrl() }));
}

/**
 * The app's DATABASE_URL when it is PostgreSQL (several instances, serverless) and TOLLBOOTH_DB
 * is unset; otherwise undefined, and fromEnv takes TOLLBOOTH_DB (default data/tollbooth.db). A
 * DATABASE_URL of another kind (Prisma's `file:./dev.db`) is the app's, not tollbooth's.
 */
function postgresUrl(): string | undefined {
  const url = process.env.DATABASE_URL ?? '';
  return !process.env.TOLLBOOTH_DB && /^postgres(ql)?:\/\//.test(url) ? url : undefined;
}
