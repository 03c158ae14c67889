import { currencyExponent } from 'tollbooth';

/** A Stripe amount (minor units: cents, yen, fils) in its own currency's decimals. */
export function money(minor: number, currency: string): string {
  const digits = currencyExponent(currency);
  return new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency: currency.toUpperCase(),
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(minor / 10 ** digits);
}

/** A unix-seconds time as a date, in UTC so server and tests agree. */
export function day(unixS: number | null | undefined): string {
  if (!unixS) return '—';
  return new Date(unixS * 1000).toLocaleDateString('en-US', {
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    timeZone: 'UTC',
  });
}

export function dateTime(unixS: number | null | undefined): string {
  if (!unixS) return '—';
  return new Date(unixS * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}
