
const LINKS = [
  ['/admin', 'Overview'],
  ['/admin/events', 'Events'],
  ['/admin/deliveries', 'Deliveries'],
  ['/admin/customers', 'Customers'],
] as const;

/** The admin area's sections; `current` is the active path. */
export function AdminNav({ current }: { current: string }) {
  return (
    <nav aria-label="Admin sections" className="subnav" data-testid="admin-nav">
      {LINKS.map(([href, label]) => (
        <a key={href} href={href} aria-current={href === current ? 'page' : undefined}>
          {label}
        </a>
      ))}
    </nav>
  );
}

/** `YYYY-MM-DD` (UTC) to unix seconds at that midnight; undefined for anything else. */
export function dayToUnix(v: string | undefined, endOfDay = false): number | undefined {
  if (!v || !/^\d{4}-\d{2}-\d{2}$/.test(v)) return undefined;
  const t = Date.parse(`${v}T00:00:00Z`);
  return Number.isFinite(t) ? t / 1000 + (endOfDay ? 86_400 : 0) : undefined;
}

/** The first value of a search param. */
export function param(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s && s.trim() ? s.trim() : undefined;
}

/** A badge class for an outcome or state word. */
export function tone(word: string | null | undefined): string {
  switch (word) {
    case 'processed':
    case 'done':
    case 'completed':
    case 'active':
    case 'trialing':
    case 'paid':
      return 'ok';
    case 'rejected':
    case 'failed':
    case 'dead':
    case 'canceled':
    case 'unpaid':
    case 'past_due':
    case 'action_required':
      return 'bad';
    case 'stale':
    case 'quarantined':
    case 'due':
    case 'leased':
      return 'warn';
    default:
      return 'muted';
  }
}
