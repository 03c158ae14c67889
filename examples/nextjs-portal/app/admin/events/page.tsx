import { DataTable } from '@/components/DataTable';
import { FilterForm } from '@/components/FilterForm';
import { requireAdmin } from '@/lib/session';
import { tollbooth } from '@/lib/tollbooth';
import { AdminNav, dayToUnix, param } from '../AdminNav';
import { Badge, CustomerLink, eventColumns as col } from '../columns';

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
      <FilterForm
        testId="event-filters"
        filters={[
          { name: 'type', label: 'Type', value: type, placeholder: 'invoice.paid' },
          { name: 'outcome', label: 'Outcome', value: outcome, options: OUTCOMES },
          { name: 'customer', label: 'Customer', value: customer, placeholder: 'cus_…, email or user id' },
          { name: 'since', label: 'From', value: since, type: 'date' },
          { name: 'until', label: 'To', value: until, type: 'date' },
        ]}
      />
      <section className="card">
        <h2>
          {events.length} event{events.length === 1 ? '' : 's'}
          {events.length === 200 ? ' (the newest 200)' : ''}
        </h2>
        <DataTable
          testId="events"
          empty={{ text: 'No events match.', testId: 'no-events' }}
          rows={events}
          rowKey={(e) => e.id}
          rowData={(e) => ({ 'data-event': e.id, 'data-outcome': e.outcome })}
          columns={[
            col.created,
            col.type,
            {
              header: 'Outcome',
              cell: (e) => (
                <>
                  <Badge word={e.outcome} />
                  {e.errorCode ? <div className="muted small">{e.errorCode}</div> : null}
                </>
              ),
            },
            { header: 'Customer', cell: (e) => <CustomerLink id={e.customerId} /> },
            col.event,
          ]}
        />
      </section>
    </>
  );
}
