import { DataTable } from '@/components/DataTable';
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
        <DataTable
          testId="invoices"
          empty={{ text: 'No invoices yet.', testId: 'no-invoices' }}
          rows={invoices}
          rowKey={(inv) => inv.id}
          rowData={(inv) => ({ 'data-invoice': inv.id })}
          columns={[
            { header: 'Number', cell: (inv) => inv.number ?? inv.id },
            { header: 'Date', cell: (inv) => day(inv.created) },
            {
              header: 'Status',
              cell: (inv) => (
                <>
                  <span className={`badge ${TONE[inv.status ?? ''] ?? 'muted'}`}>{inv.status ?? 'unknown'}</span>
                  {inv.status === 'open' && inv.attemptCount > 0 ? (
                    <div className="muted small">
                      {inv.attemptCount} failed attempt{inv.attemptCount === 1 ? '' : 's'}
                    </div>
                  ) : null}
                </>
              ),
            },
            { header: 'Amount', num: true, cell: (inv) => money(inv.status === 'paid' ? inv.amountPaid : inv.amountDue, inv.currency) },
            {
              header: 'Documents',
              cell: (inv) => (
                <>
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
                </>
              ),
            },
          ]}
        />
      </section>
    </>
  );
}
