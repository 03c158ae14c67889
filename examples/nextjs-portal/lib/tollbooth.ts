// lib/tollbooth.ts
import 'server-only'; // it holds the webhook secret: never part of a client bundle
import { Tollbooth } from 'tollbooth';

const g = globalThis as typeof globalThis & { __tollbooth?: Tollbooth };

/**
 * The one engine of this process. Made on first use, never at import, so `next build` opens no
 * database and needs no secret; kept on globalThis so `next dev` reloads reuse it. Configured by
 * STRIPE_WEBHOOK_SECRET, TOLLBOOTH_DB (default data/tollbooth.db) and STRIPE_LIVEMODE (else
 * the mode of STRIPE_SECRET_KEY); a missing variable is a CONFIG_INVALID error that names it.
 */
export function tollbooth(): Tollbooth {
  return (g.__tollbooth ??= Tollbooth.fromEnv());
}
