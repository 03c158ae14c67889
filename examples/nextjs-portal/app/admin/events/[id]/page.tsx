import { notFound } from 'next/navigation';
import { ActionButton } from '@/components/ActionButton';
import { DataTable } from '@/components/DataTable';
import { dateTime } from '@/lib/format';
import { requireAdmin } from '@/lib/session';
import { tollbooth } from '@/lib/tollbooth';
import { AdminNav } from '../../AdminNav';
import { Badge, CustomerLink, jobColumns as col } from '../../columns';
import { reprocessEvent } from '../actions';

export const dynamic = 'force-dynamic';

/** Pretty-prints the raw body for reading (the stored bytes themselves are unchanged). */
function pretty(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

export default async function EventView({ params }: { params: Promise<{ id: string }> }) {
  await requireAdmin();
  const { id } = await params;
  const d = await tollbooth().eventDetail(decodeURIComponent(id));
  if (!d) notFound();
  const e = d.event;
  return (
    <>
      <h1>
        Event <code>{e.id}</code>
      </h1>
      <AdminNav current="/admin/events" />
      <section className="card" data-testid="event-detail" data-outcome={e.outcome}>
        <table>
          <tbody>
            <tr>
              <th scope="row">Type</th>
              <td>
                <code>{e.type}</code>
              </td>
            </tr>
            <tr>
              <th scope="row">Outcome</th>
              <td>
                <Badge word={e.outcome} testId="event-outcome" />
                {e.errorCode ? <code style={{ marginLeft: 8 }}>{e.errorCode}</code> : null}
              </td>
            </tr>
            <tr>
              <th scope="row">Customer</th>
              <td>
                <CustomerLink id={e.customerId} />
              </td>
            </tr>
            <tr>
              <th scope="row">Object</th>
              <td>{e.objectId ?? '—'}</td>
            </tr>
            <tr>
              <th scope="row">Created / received</th>
              <td>
                {dateTime(e.created)} / {dateTime(e.receivedAt)}
              </td>
            </tr>
            <tr>
              <th scope="row">Mode / API version</th>
              <td>
                {d.livemode ? 'live' : 'test'} / {d.apiVersion ?? '—'}
              </td>
            </tr>
          </tbody>
        </table>
        <ActionButton action={reprocessEvent} fields={{ id: e.id }} label="Reprocess" pendingLabel="Reprocessing…" testId="reprocess" resultTestId="reprocess-result" />
      </section>
      <section className="card">
        <h2>Jobs it caused</h2>
        <DataTable
          testId="event-jobs"
          empty={{ text: 'No jobs.', testId: 'no-event-jobs' }}
          rows={d.jobs}
          rowKey={(j) => j.id}
          rowData={(j) => ({ 'data-kind': j.kind, 'data-state': j.state })}
          columns={[col.id, col.kindKey, col.state, col.attempts, col.lastError]}
        />
      </section>
      <section className="card">
        <h2>Raw body</h2>
        <p className="muted small">The bytes Stripe signed, shown to admins only.</p>
        <pre className="raw" data-testid="event-body">
          {pretty(d.body)}
        </pre>
      </section>
    </>
  );
}
