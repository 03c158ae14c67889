import { DataTable } from '@/components/DataTable';
import { EmptyState } from '@/components/EmptyState';
import { ticketsFor } from '@/lib/helpdesk';
import { requireUser } from '@/lib/session';
import { tollbooth } from '@/lib/tollbooth';

export const dynamic = 'force-dynamic';

export default async function Support() {
  const user = await requireUser('/support');
  const { customerId } = await tollbooth().accessForUser(user.id);
  const tickets = customerId ? await ticketsFor(customerId) : [];
  return (
    <>
      <h1>Support</h1>
      <section className="card">
        <h2>Your tickets</h2>
        {tickets === null ? (
          <EmptyState>The helpdesk is not answering right now; try again in a minute.</EmptyState>
        ) : (
          <DataTable
            testId="tickets"
            empty={{ text: 'No tickets yet.', testId: 'no-tickets' }}
            rows={tickets}
            rowKey={(t) => t.id}
            rowData={(t) => ({ 'data-ticket': t.external_id, 'data-status': t.status })}
            columns={[
              { header: 'Ticket', cell: (t) => t.id },
              {
                header: 'Subject',
                cell: (t) => (
                  <>
                    {t.subject}
                    <div className="muted small">{t.body}</div>
                  </>
                ),
              },
              { header: 'Status', cell: (t) => <span className={`badge ${t.status === 'open' ? 'warn' : 'ok'}`}>{t.status}</span> },
              { header: 'Opened', cell: (t) => t.created_at.slice(0, 16).replace('T', ' ') },
            ]}
          />
        )}
      </section>
    </>
  );
}
