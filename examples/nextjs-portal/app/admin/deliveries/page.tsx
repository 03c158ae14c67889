import Link from 'next/link';
import { dateTime } from '@/lib/format';
import { requireAdmin } from '@/lib/session';
import { tollbooth } from '@/lib/tollbooth';
import { AdminNav, param, tone } from '../AdminNav';

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
      <form className="card filters" method="get" data-testid="delivery-filters">
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
          Type
          <input name="type" defaultValue={type ?? ''} placeholder="invoice.paid" />
        </label>
        <button type="submit" className="primary">
          Filter
        </button>
      </form>
      <section className="card">
        {rows.length === 0 ? (
          <p className="empty" data-testid="no-deliveries">
            No deliveries match.
          </p>
        ) : (
          <table data-testid="deliveries">
            <thead>
              <tr>
                <th>At</th>
                <th>Outcome</th>
                <th>Reason</th>
                <th>Type</th>
                <th>Event</th>
                <th className="num">Latency</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d, i) => (
                <tr key={i} data-outcome={d.outcome} data-reason={d.reason ?? ''}>
                  <td>{dateTime(d.at)}</td>
                  <td>
                    <span className={`badge ${tone(d.outcome)}`}>{d.outcome}</span>
                  </td>
                  <td>{d.reason ? <code>{d.reason}</code> : '—'}</td>
                  <td>{d.eventType ?? '—'}</td>
                  <td>{d.eventId && d.outcome !== 'rejected' && d.outcome !== 'failed' ? <Link prefetch={false} href={`/admin/events/${encodeURIComponent(d.eventId)}`}>{d.eventId}</Link> : (d.eventId ?? '—')}</td>
                  <td className="num">{(d.latencyUs / 1000).toFixed(2)} ms</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
