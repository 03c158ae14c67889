'use server';

import { revalidatePath } from 'next/cache';
import type { ActionResult } from '@/components/ActionButton';
import { requireAdmin } from '@/lib/session';
import { stripeApi } from '@/lib/stripe';
import { tollbooth } from '@/lib/tollbooth';

const TYPE_NAMES: Record<string, string> = {
  customer: 'customers',
  product: 'products',
  price: 'prices',
  subscription: 'subscriptions',
  invoice: 'invoices',
  'checkout.session': 'checkout sessions',
};

/** What an operator can do about a failed import, by tollbooth's error code. */
function advice(code: string | undefined): string {
  switch (code) {
    case 'STRIPE_AUTH':
      return 'Stripe refused the API key: check STRIPE_SECRET_KEY (a restricted key needs read access to customers, products, prices, subscriptions, invoices and checkout sessions).';
    case 'STRIPE_RATE_LIMITED':
      return 'Stripe rate-limited the import: run it again in a minute; it resumes where it stopped.';
    case 'STRIPE_UNAVAILABLE':
      return 'Stripe did not answer: run it again later; it resumes where it stopped.';
    case 'CONFIG_INVALID':
      return 'STRIPE_SECRET_KEY is not a Stripe secret or restricted key.';
    default:
      return `The import stopped (${code ?? 'error'}); run it again: it resumes where it stopped.`;
  }
}

/**
 * "Import from Stripe": every existing customer, subscription, invoice and checkout session of
 * the Stripe account applied to tollbooth (admins only, checked here again), so customers who
 * paid before the portal used tollbooth get access at once. Safe to press twice.
 */
export async function importFromStripe(_prev: ActionResult): Promise<ActionResult> {
  await requireAdmin();
  const api = stripeApi();
  if (!api) return { ok: false, message: 'Set STRIPE_SECRET_KEY to import from Stripe.' };
  try {
    const report = await tollbooth().syncFromStripe({ apiKey: api.key, baseUrl: api.baseUrl });
    revalidatePath('/admin');
    const counts = report.types
      .filter((t) => t.fetched > 0)
      .map((t) => `${t.fetched} ${TYPE_NAMES[t.object] ?? t.object}`)
      .join(', ');
    const changed = report.types.reduce((n, t) => n + t.changed, 0);
    const skipped = report.types.reduce((n, t) => n + t.skipped, 0);
    return {
      ok: true,
      message: `Imported ${counts || 'nothing (the Stripe account is empty)'}: ${changed} changed${skipped ? `, ${skipped} skipped` : ''}.`,
    };
  } catch (err) {
    return { ok: false, message: advice((err as { code?: string }).code) };
  }
}
