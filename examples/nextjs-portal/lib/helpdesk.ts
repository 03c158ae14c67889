import 'server-only';

export interface Ticket {
  id: string;
  external_id: string;
  customer_id: string | null;
  subject: string;
  body: string;
  status: 'open' | 'closed';
  reference: string | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

/** The customer's helpdesk tickets, newest first; null when the helpdesk does not answer. */
export async function ticketsFor(customerId: string): Promise<Ticket[] | null> {
  const base = process.env.HELPDESK_URL ?? 'http://127.0.0.1:4020';
  try {
    const res = await fetch(`${base}/tickets?customer=${encodeURIComponent(customerId)}`, {
      cache: 'no-store',
      signal: AbortSignal.timeout(2000),
    });
    if (!res.ok) return null;
    const { tickets } = (await res.json()) as { tickets: Ticket[] };
    return tickets.sort((a, b) => b.created_at.localeCompare(a.created_at));
  } catch {
    return null;
  }
}
