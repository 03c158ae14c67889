import type { JobHistory } from 'tollbooth';
import { DataTable } from '@/components/DataTable';
import { EmptyState } from '@/components/EmptyState';
import { FilterForm } from '@/components/FilterForm';
import { day, money } from '@/lib/format';
import { requireAdmin } from '@/lib/session';
import { tollbooth } from '@/lib/tollbooth';
import { AdminNav, param } from '../AdminNav';
import { Badge, eventColumns as ev, jobColumns as job, ofJob } from '../columns';

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
      <FilterForm testId="customer-search" submit="Show" filters={[{ name: 'q', label: 'Customer', value: q, placeholder: 'cus_…, email or user id', required: true }]} />
      {q && !tl ? (
        <EmptyState className="card" testId="no-customer">
          No customer matches “{q}”.
        </EmptyState>
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
              <Badge word={tl.access.state} /> {tl.access.hasAccess ? 'has access' : 'no access'}:{' '}
              <span data-testid="access-reason">{tl.access.reason}</span>
            </p>
          </section>
          <section className="card">
            <h2>Subscriptions</h2>
            <DataTable
              empty={{ text: 'No subscriptions.' }}
              rows={tl.subscriptions}
              rowKey={(s) => s.id}
              columns={[
                { header: 'Subscription', cell: (s) => <code>{s.id}</code> },
                {
                  header: 'Status',
                  cell: (s) => (
                    <>
                      <Badge word={s.status} />
                      {s.cancelAtPeriodEnd ? <span className="muted small"> cancels at period end</span> : null}
                    </>
                  ),
                },
                { header: 'Price', cell: (s) => s.priceId ?? '—' },
                { header: 'Period ends', cell: (s) => day(s.currentPeriodEnd) },
              ]}
            />
          </section>
          <section className="card">
            <h2>Events</h2>
            <DataTable
              testId="timeline-events"
              rows={tl.events}
              rowKey={(e) => e.id}
              rowData={(e) => ({ 'data-event': e.id })}
              columns={[ev.created, ev.type, ev.outcome, ev.event]}
            />
          </section>
          <section className="card">
            <h2>Invoices</h2>
            <DataTable
              empty={{ text: 'No invoices.' }}
              rows={tl.invoices}
              rowKey={(i) => i.id}
              columns={[
                { header: 'Invoice', cell: (i) => i.number ?? i.id },
                { header: 'Status', cell: (i) => <Badge word={i.status} /> },
                { header: 'Due', num: true, cell: (i) => money(i.amountDue, i.currency) },
                { header: 'Attempts', num: true, cell: (i) => i.attemptCount },
              ]}
            />
          </section>
          <section className="card">
            <h2>Jobs</h2>
            <DataTable
              testId="timeline-jobs"
              empty={{ text: 'No jobs.' }}
              rows={tl.jobs}
              rowKey={(h) => h.job.id}
              rowData={({ job }) => ({ 'data-kind': job.kind, 'data-state': job.state })}
              columns={[
                ...[job.id, job.kindKey, job.state].map((c) => ofJob(c, (h: JobHistory) => h.job)),
                {
                  header: 'Attempts',
                  title: (h) => h.attempts.map((a) => a.error ?? a.outcome ?? 'running').join('\n'),
                  cell: (h) => attemptsCell(h.attempts),
                },
                ofJob(job.lastError, (h: JobHistory) => h.job),
              ]}
            />
          </section>
        </>
      ) : null}
    </>
  );
}
