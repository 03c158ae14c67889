import Link from 'next/link';
import { notFound } from 'next/navigation';
import { dateTime } from '@/lib/format';
import { requireAdmin } from '@/lib/session';
import { tollbooth } from '@/lib/tollbooth';
import { AdminNav, tone } from '../../AdminNav';
import { ReprocessButton } from '../ReprocessButton';

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
                <span className={`badge ${tone(e.outcome)}`} data-testid="event-outcome">
                  {e.outcome}
                </span>
                {e.errorCode ? <code style={{ marginLeft: 8 }}>{e.errorCode}</code> : null}
              </td>
            </tr>
            <tr>
              <th scope="row">Customer</th>
              <td>{e.customerId ? <Link prefetch={false} href={`/admin/customers?q=${encodeURIComponent(e.customerId)}`}>{e.customerId}</Link> : '—'}</td>
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
        <ReprocessButton id={e.id} />
      </section>
      <section className="card">
        <h2>Jobs it caused</h2>
        {d.jobs.length === 0 ? (
          <p className="empty" data-testid="no-event-jobs">
            No jobs.
          </p>
        ) : (
          <table data-testid="event-jobs">
            <thead>
              <tr>
                <th>Job</th>
                <th>Kind / key</th>
                <th>State</th>
                <th>Attempts</th>
                <th>Last error</th>
              </tr>
            </thead>
            <tbody>
              {d.jobs.map((j) => (
                <tr key={j.id} data-kind={j.kind} data-state={j.state}>
                  <td>#{j.id}</td>
                  <td>
                    <code>{j.kind}</code>
                    <div className="muted small">{j.key}</div>
                  </td>
                  <td>
                    <span className={`badge ${tone(j.state)}`}>{j.state}</span>
                  </td>
                  <td>{j.attempts}</td>
                  <td className="small">{j.lastError ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
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
