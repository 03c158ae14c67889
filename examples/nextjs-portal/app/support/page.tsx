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
          <p className="empty">The helpdesk is not answering right now; try again in a minute.</p>
        ) : tickets.length === 0 ? (
          <p className="empty" data-testid="no-tickets">
            No tickets yet.
          </p>
        ) : (
          <table data-testid="tickets">
            <thead>
              <tr>
                <th>Ticket</th>
                <th>Subject</th>
                <th>Status</th>
                <th>Opened</th>
              </tr>
            </thead>
            <tbody>
              {tickets.map((t) => (
                <tr key={t.id} data-ticket={t.external_id} data-status={t.status}>
                  <td>{t.id}</td>
                  <td>
                    {t.subject}
                    <div className="muted" style={{ fontSize: 12 }}>
                      {t.body}
                    </div>
                  </td>
                  <td>
                    <span className={`badge ${t.status === 'open' ? 'warn' : 'ok'}`}>{t.status}</span>
                  </td>
                  <td>{t.created_at.slice(0, 16).replace('T', ' ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
