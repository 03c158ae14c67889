import Link from 'next/link';
import { dateTime, day, money } from '@/lib/format';
import { requireAdmin } from '@/lib/session';
import { tollbooth } from '@/lib/tollbooth';
import { AdminNav, param, tone } from '../AdminNav';

export const dynamic = 'force-dynamic';

type Search = Record<string, string | string[] | undefined>;

/** `✓✗⌛` per attempt, oldest first. */
function attemptsCell(attempts: { outcome?: string | null }[]): string {
  if (attempts.length === 0) return '—';
  return attempts.map((a) => (a.outcome === 'completed' ? '✓' : a.outcome === 'failed' ? '✗' : a.outcome ? '⌛' : '…')).join('');
}

export default async function Customers({ searchParams }: { searchParams: Promise<Search> }) {
  await requireAdmin();
  const q = param((await searchParams).q);
  const tl = q ? await tollbooth().customerTimeline(q) : null;

  return (
    <>
      <h1>Customer timeline</h1>
      <AdminNav current="/admin/customers" />
      <form className="card filters" method="get" data-testid="customer-search">
        <label>
          Customer
          <input name="q" defaultValue={q ?? ''} placeholder="cus_…, email or user id" required />
        </label>
        <button type="submit" className="primary">
          Show
        </button>
      </form>
      {q && !tl ? (
        <p className="card empty" data-testid="no-customer">
          No customer matches “{q}”.
        </p>
      ) : null}
      {tl ? (
        <>
          <section className={`card state ${tl.access.hasAccess ? 'ok' : 'bad'}`} data-testid="timeline-access" data-state={tl.access.state} data-has-access={String(tl.access.hasAccess)}>
            <h2>
              {tl.customer.name ?? '(no name)'} <span className="muted">{tl.customer.email ?? ''}</span>
            </h2>
            <p className="muted small">
              <code>{tl.customer.id}</code> · user {tl.customer.userId ?? '—'}
              {tl.customer.deleted ? ' · deleted in Stripe' : ''}
            </p>
            <p>
              <span className={`badge ${tone(tl.access.state)}`}>{tl.access.state}</span> {tl.access.hasAccess ? 'has access' : 'no access'}:{' '}
              <span data-testid="access-reason">{tl.access.reason}</span>
            </p>
          </section>
          <section className="card">
            <h2>Subscriptions</h2>
            {tl.subscriptions.length === 0 ? (
              <p className="empty">No subscriptions.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>Subscription</th>
                    <th>Status</th>
                    <th>Price</th>
                    <th>Period ends</th>
                  </tr>
                </thead>
                <tbody>
                  {tl.subscriptions.map((s) => (
                    <tr key={s.id}>
                      <td>
                        <code>{s.id}</code>
                      </td>
                      <td>
                        <span className={`badge ${tone(s.status)}`}>{s.status}</span>
                        {s.cancelAtPeriodEnd ? <span className="muted small"> cancels at period end</span> : null}
                      </td>
                      <td>{s.priceId ?? '—'}</td>
                      <td>{day(s.currentPeriodEnd)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section className="card">
            <h2>Events</h2>
            <table data-testid="timeline-events">
              <thead>
                <tr>
                  <th>Created</th>
                  <th>Type</th>
                  <th>Outcome</th>
                  <th>Event</th>
                </tr>
              </thead>
              <tbody>
                {tl.events.map((e) => (
                  <tr key={e.id} data-event={e.id}>
                    <td>{dateTime(e.created)}</td>
                    <td>
                      <code>{e.type}</code>
                    </td>
                    <td>
                      <span className={`badge ${tone(e.outcome)}`}>{e.outcome}</span>
                    </td>
                    <td>
                      <Link prefetch={false} href={`/admin/events/${encodeURIComponent(e.id)}`}>{e.id}</Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section className="card">
            <h2>Invoices</h2>
            {tl.invoices.length === 0 ? (
              <p className="empty">No invoices.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>Invoice</th>
                    <th>Status</th>
                    <th className="num">Due</th>
                    <th className="num">Attempts</th>
                  </tr>
                </thead>
                <tbody>
                  {tl.invoices.map((i) => (
                    <tr key={i.id}>
                      <td>{i.number ?? i.id}</td>
                      <td>
                        <span className={`badge ${tone(i.status)}`}>{i.status ?? '—'}</span>
                      </td>
                      <td className="num">{money(i.amountDue, i.currency)}</td>
                      <td className="num">{i.attemptCount}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section className="card">
            <h2>Jobs</h2>
            {tl.jobs.length === 0 ? (
              <p className="empty">No jobs.</p>
            ) : (
              <table data-testid="timeline-jobs">
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
                  {tl.jobs.map(({ job, attempts }) => (
                    <tr key={job.id} data-kind={job.kind} data-state={job.state}>
                      <td>#{job.id}</td>
                      <td>
                        <code>{job.kind}</code>
                        <div className="muted small">{job.key}</div>
                      </td>
                      <td>
                        <span className={`badge ${tone(job.state)}`}>{job.state}</span>
                      </td>
                      <td title={attempts.map((a) => a.error ?? a.outcome ?? 'running').join('\n')}>{attemptsCell(attempts)}</td>
                      <td className="small">{job.lastError ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      ) : null}
    </>
  );
}
