import { money, day } from '@/lib/format';
import { requireUser } from '@/lib/session';
import { tollbooth } from '@/lib/tollbooth';

export const dynamic = 'force-dynamic';

const TONE: Record<string, string> = { paid: 'ok', open: 'warn', uncollectible: 'bad', void: 'muted', draft: 'muted' };

export default async function Invoices() {
  const user = await requireUser('/invoices');
  const tb = tollbooth();
  const { customerId } = await tb.accessForUser(user.id);
  const invoices = customerId ? await tb.invoices(customerId) : [];
  return (
    <>
      <h1>Billing</h1>
      <section className="card">
        <h2>Invoices</h2>
        {invoices.length === 0 ? (
          <p className="empty" data-testid="no-invoices">
            No invoices yet.
          </p>
        ) : (
          <table data-testid="invoices">
            <thead>
              <tr>
                <th>Number</th>
                <th>Date</th>
                <th>Status</th>
                <th className="num">Amount</th>
                <th>Documents</th>
              </tr>
            </thead>
            <tbody>
              {invoices.map((inv) => (
                <tr key={inv.id} data-invoice={inv.id}>
                  <td>{inv.number ?? inv.id}</td>
                  <td>{day(inv.created)}</td>
                  <td>
                    <span className={`badge ${TONE[inv.status ?? ''] ?? 'muted'}`}>{inv.status ?? 'unknown'}</span>
                    {inv.status === 'open' && inv.attemptCount > 0 ? (
                      <div className="muted" style={{ fontSize: 12 }}>
                        {inv.attemptCount} failed attempt{inv.attemptCount === 1 ? '' : 's'}
                      </div>
                    ) : null}
                  </td>
                  <td className="num">{money(inv.status === 'paid' ? inv.amountPaid : inv.amountDue, inv.currency)}</td>
                  <td>
                    {inv.hostedInvoiceUrl ? (
                      <a href={inv.hostedInvoiceUrl} rel="noreferrer">
                        {inv.status === 'open' ? 'Pay / update card' : 'View invoice'}
                      </a>
                    ) : null}
                    {inv.invoicePdf ? (
                      <>
                        {' · '}
                        <a href={inv.invoicePdf} rel="noreferrer">
                          PDF
                        </a>
                      </>
                    ) : null}
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
