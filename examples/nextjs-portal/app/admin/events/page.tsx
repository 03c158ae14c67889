import Link from 'next/link';
import { dateTime } from '@/lib/format';
import { requireAdmin } from '@/lib/session';
import { tollbooth } from '@/lib/tollbooth';
import { AdminNav, dayToUnix, param, tone } from '../AdminNav';

export const dynamic = 'force-dynamic';

const OUTCOMES = ['processed', 'ignored', 'stale', 'quarantined'] as const;
type Outcome = (typeof OUTCOMES)[number];

type Search = Record<string, string | string[] | undefined>;

export default async function Events({ searchParams }: { searchParams: Promise<Search> }) {
  await requireAdmin();
  const sp = await searchParams;
  const type = param(sp.type);
  const outcomeParam = param(sp.outcome);
  const outcome = OUTCOMES.find((o) => o === outcomeParam) as Outcome | undefined;
  const customer = param(sp.customer);
  const since = param(sp.since);
  const until = param(sp.until);
  const tb = tollbooth();
  // A customer may be given as an email or app user id: resolve it to the Stripe id.
  const found = customer ? await tb.findCustomer(customer) : null;
  const events = await tb.events({
    type,
    outcome,
    customerId: found?.id ?? customer,
    since: dayToUnix(since),
    until: dayToUnix(until, true),
    limit: 200,
  });

  return (
    <>
      <h1>Events</h1>
      <AdminNav current="/admin/events" />
      <form className="card filters" method="get" data-testid="event-filters">
        <label>
          Type
          <input name="type" defaultValue={type ?? ''} placeholder="invoice.paid" />
        </label>
        <label>
          Outcome
          <select name="outcome" defaultValue={outcome ?? ''}>
            <option value="">any</option>
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        <label>
          Customer
          <input name="customer" defaultValue={customer ?? ''} placeholder="cus_…, email or user id" />
        </label>
        <label>
          From
          <input type="date" name="since" defaultValue={since ?? ''} />
        </label>
        <label>
          To
          <input type="date" name="until" defaultValue={until ?? ''} />
        </label>
        <button type="submit" className="primary">
          Filter
        </button>
      </form>
      <section className="card">
        <h2>
          {events.length} event{events.length === 1 ? '' : 's'}
          {events.length === 200 ? ' (the newest 200)' : ''}
        </h2>
        {events.length === 0 ? (
          <p className="empty" data-testid="no-events">
            No events match.
          </p>
        ) : (
          <table data-testid="events">
            <thead>
              <tr>
                <th>Created</th>
                <th>Type</th>
                <th>Outcome</th>
                <th>Customer</th>
                <th>Event</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.id} data-event={e.id} data-outcome={e.outcome}>
                  <td>{dateTime(e.created)}</td>
                  <td>
                    <code>{e.type}</code>
                  </td>
                  <td>
                    <span className={`badge ${tone(e.outcome)}`}>{e.outcome}</span>
                    {e.errorCode ? <div className="muted small">{e.errorCode}</div> : null}
                  </td>
                  <td>{e.customerId ? <Link prefetch={false} href={`/admin/customers?q=${encodeURIComponent(e.customerId)}`}>{e.customerId}</Link> : '—'}</td>
                  <td>
                    <Link prefetch={false} href={`/admin/events/${encodeURIComponent(e.id)}`}>{e.id}</Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
