export function money(minor: number, currency: string): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() }).format(
    minor / 100,
  );
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
