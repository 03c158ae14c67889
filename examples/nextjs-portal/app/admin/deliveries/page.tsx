import { DataTable } from '@/components/DataTable';
import { FilterForm } from '@/components/FilterForm';
import { dateTime } from '@/lib/format';
import { requireAdmin } from '@/lib/session';
import { tollbooth } from '@/lib/tollbooth';
import { AdminNav, param } from '../AdminNav';
import { Badge, EventLink } from '../columns';

export const dynamic = 'force-dynamic';

const OUTCOMES = ['processed', 'duplicate', 'ignored', 'stale', 'rejected', 'failed'];

type Search = Record<string, string | string[] | undefined>;

export default async function Deliveries({ searchParams }: { searchParams: Promise<Search> }) {
  await requireAdmin();
  const sp = await searchParams;
  const outcome = OUTCOMES.find((o) => o === param(sp.outcome));
  const type = param(sp.type);
  const all = await tollbooth().deliveries(500);
  const rows = all.filter((d) => (!outcome || d.outcome === outcome) && (!type || d.eventType === type));

  return (
    <>
      <h1>Deliveries</h1>
      <AdminNav current="/admin/deliveries" />
      <p className="muted">
        Every call to the webhook route, accepted or refused (the newest 500). Refused ones carry only an error code: their bodies are never kept.
      </p>
      <FilterForm
        testId="delivery-filters"
        filters={[
          { name: 'outcome', label: 'Outcome', value: outcome, options: OUTCOMES },
          { name: 'type', label: 'Type', value: type, placeholder: 'invoice.paid' },
        ]}
      />
      <section className="card">
        <DataTable
          testId="deliveries"
          empty={{ text: 'No deliveries match.', testId: 'no-deliveries' }}
          rows={rows}
          rowKey={(_, i) => i}
          rowData={(d) => ({ 'data-outcome': d.outcome, 'data-reason': d.reason ?? '' })}
          columns={[
            { header: 'At', cell: (d) => dateTime(d.at) },
            { header: 'Outcome', cell: (d) => <Badge word={d.outcome} /> },
            { header: 'Reason', cell: (d) => (d.reason ? <code>{d.reason}</code> : '—') },
            { header: 'Type', cell: (d) => d.eventType ?? '—' },
            // Refused deliveries stored no event: their id (if any) links nowhere.
            { header: 'Event', cell: (d) => (d.eventId && d.outcome !== 'rejected' && d.outcome !== 'failed' ? <EventLink id={d.eventId} /> : (d.eventId ?? '—')) },
            { header: 'Latency', num: true, cell: (d) => `${(d.latencyUs / 1000).toFixed(2)} ms` },
          ]}
        />
      </section>
    </>
  );
}
