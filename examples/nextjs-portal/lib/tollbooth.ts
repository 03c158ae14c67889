// The one tollbooth engine of this server process. Server-only: it holds the webhook secrets.
import 'server-only';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { httpStatus, Tollbooth, type TollboothError } from 'tollbooth';

type Global = typeof globalThis & { __tollbooth?: Tollbooth };

/** STRIPE_WEBHOOK_SECRET may list several secrets, comma-separated, while rotating. */
function webhookSecrets(): string[] {
  const secrets = (process.env.STRIPE_WEBHOOK_SECRET ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (secrets.length === 0) throw new Error('STRIPE_WEBHOOK_SECRET is not set');
  return secrets;
}

/**
 * One `Tollbooth` per process, kept on `globalThis` so `next dev` hot reloads do not open the
 * database again with every edit. Opened on first use, never at build time.
 */
export function tollbooth(): Tollbooth {
  const g = globalThis as Global;
  if (!g.__tollbooth) {
    const database = resolve(/*turbopackIgnore: true*/ process.env.DATABASE_PATH ?? 'data/tollbooth.db');
    mkdirSync(dirname(database), { recursive: true });
    g.__tollbooth = new Tollbooth({
      database,
      webhookSecrets: webhookSecrets(),
      livemode: process.env.STRIPE_LIVEMODE === undefined ? undefined : process.env.STRIPE_LIVEMODE === 'true',
    });
  }
  return g.__tollbooth;
}

/** The error code tollbooth put on a thrown error, if any. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as Partial<TollboothError> | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * HTTP status for a rejected delivery, from tollbooth's one code table: 400 when the request is
 * not an authentic Stripe delivery, 500 for everything on our side (Stripe retries later).
 */
export function webhookErrorStatus(code: string | undefined): number {
  return httpStatus(code ?? null);
}
