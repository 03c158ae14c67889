// lib/stripe.ts
import 'server-only'; // it reads the Stripe secret key
import Stripe from 'stripe';

/**
 * The Stripe API key and base URL the server uses: STRIPE_SECRET_KEY, and STRIPE_API_BASE only
 * when set (a loopback stub in the e2e; production leaves it unset: https://api.stripe.com).
 * Null when no key is configured, so pages can say so instead of failing.
 */
export function stripeApi(): { key: string; baseUrl?: string } | null {
  const key = process.env.STRIPE_SECRET_KEY;
  if (!key) return null;
  return { key, baseUrl: process.env.STRIPE_API_BASE || undefined };
}

const g = globalThis as typeof globalThis & { __stripe?: Stripe };

/** stripe-node for what the portal writes to Stripe (billing portal sessions); null without a key. */
export function stripe(): Stripe | null {
  const api = stripeApi();
  if (!api) return null;
  if (!g.__stripe) {
    const base = api.baseUrl ? new URL(api.baseUrl) : null;
    g.__stripe = new Stripe(api.key, {
      maxNetworkRetries: 2,
      timeout: 10_000,
      ...(base
        ? {
            host: base.hostname,
            port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)),
            protocol: base.protocol.replace(':', '') as 'http' | 'https',
          }
        : {}),
    });
  }
  return g.__stripe;
}
