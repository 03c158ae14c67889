import type { Access, CatalogEntry, Purchase, Subscription } from 'tollbooth';
import { day, money } from '@/lib/format';
import { requireUser } from '@/lib/session';
import { tollbooth } from '@/lib/tollbooth';

export const dynamic = 'force-dynamic';

const PLAN_NAMES: Record<string, string> = { prod_portal_pro: 'Pro' };

function planName(access: Access, catalog: CatalogEntry[] = []): string {
  const named = catalogName(catalog, access.productId) ?? catalogName(catalog, access.priceId);
  return named || (access.productId && PLAN_NAMES[access.productId]) || access.productId || access.priceId || 'your plan';
}

/**
 * A product's name, or a price's product's name (else the price's nickname), from the catalog
 * tollbooth keeps from Stripe's product.* / price.* events.
 */
function catalogName(catalog: CatalogEntry[], id: string | null): string | undefined {
  const entry = id ? catalog.find((c) => c.id === id) : undefined;
  if (entry?.object === 'price' && entry.productId) return catalogName(catalog, entry.productId) ?? entry.name ?? undefined;
  return entry?.name ?? undefined;
}

/** The first of `ids` the catalog names, else the first id. */
function nameOf(catalog: CatalogEntry[], ...ids: (string | null)[]): string {
  for (const id of ids) {
    const named = catalogName(catalog, id);
    if (named) return named;
  }
  return ids.find((id) => id) ?? '—';
}

/** Seats (every subscription item with its quantity), one-time purchases and features. */
function PlanDetails({
  subscriptions,
  purchases,
  features,
  catalog,
}: {
  subscriptions: Subscription[];
  purchases: Purchase[];
  features: string[];
  catalog: CatalogEntry[];
}) {
  const live = subscriptions.filter((s) => s.status !== 'canceled' && s.status !== 'incomplete_expired');
  return (
    <section className="card" data-testid="plan-details">
      <h2>Your plan</h2>
      {live.length > 0 ? (
        <table data-testid="seats">
          <thead>
            <tr>
              <th>Item</th>
              <th>Seats</th>
            </tr>
          </thead>
          <tbody>
            {live.flatMap((s) =>
              s.items.map((i) => (
                <tr key={`${s.id}-${i.id}-${i.priceId}`} data-testid="seat-row">
                  <td>{nameOf(catalog, i.productId, i.priceId)}</td>
                  <td>{i.quantity}</td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      ) : null}
      {purchases.length > 0 ? (
        <ul data-testid="purchases">
          {purchases.map((p) => (
            <li key={p.id} data-testid="purchase" data-refunded={p.refundedAt ? 'true' : 'false'}>
              One-time purchase: <strong>{nameOf(catalog, ...p.items.flatMap((i) => [i.productId, i.priceId]))}</strong>,{' '}
              {money(p.amount, p.currency)}
              {p.paidAt ? ` on ${day(p.paidAt)}` : ' (payment pending)'}
              {p.refundedAt ? ` — refunded on ${day(p.refundedAt)}` : ''}
            </li>
          ))}
        </ul>
      ) : null}
      <p data-testid="features">
        Features:{' '}
        {features.length > 0
          ? features.map((f) => (
              <span key={f} className="badge ok" data-testid="feature" style={{ marginRight: 6 }}>
                {f}
              </span>
            ))
          : 'none yet'}
      </p>
    </section>
  );
}

/** Where "Subscribe" goes: a Stripe Payment Link, tagged with the app user as client_reference_id. */
function subscribeUrl(userId: string, email: string): string | null {
  const link = process.env.STRIPE_PAYMENT_LINK;
  if (!link) return null;
  const url = new URL(link);
  url.searchParams.set('client_reference_id', userId);
  url.searchParams.set('prefilled_email', email);
  return url.toString();
}

export default async function Dashboard() {
  const user = await requireUser('/dashboard');
  const tb = tollbooth();
  const access = await tb.accessForUser(user.id);
  const openInvoice = access.customerId
    ? (await tb.invoices(access.customerId)).find((i) => i.status === 'open' && i.hostedInvoiceUrl)
    : undefined;
  const [timeline, features, catalog] = await Promise.all([
    access.customerId ? tb.customerTimeline(access.customerId) : Promise.resolve(null),
    tb.features(user.id),
    tb.catalog(),
  ]);

  let tone: 'ok' | 'warn' | 'bad' | 'info' = 'info';
  let title: string;
  let body: React.ReactNode;
  switch (access.state) {
    case 'active':
      if (access.purchaseId) {
        tone = 'ok';
        title = access.accessEndsAt ? `One-time purchase — access until ${day(access.accessEndsAt)}` : 'Lifetime access';
        body = (
          <p data-testid="purchase-access">
            You bought <strong>{planName(access, catalog)}</strong> once:{' '}
            {access.accessEndsAt ? <>access until {day(access.accessEndsAt)}.</> : <>access for life, nothing renews.</>}
          </p>
        );
      } else if (access.cancelAtPeriodEnd) {
        tone = 'warn';
        title = `Canceling — access until ${day(access.accessEndsAt ?? access.currentPeriodEnd)}`;
        body = (
          <p>
            Your {planName(access, catalog)} subscription will not renew. You keep full access until{' '}
            <strong>{day(access.accessEndsAt ?? access.currentPeriodEnd)}</strong>.
          </p>
        );
      } else {
        tone = 'ok';
        title = 'Active';
        body = (
          <p>
            Your {planName(access, catalog)} subscription is active. Next renewal on{' '}
            <strong>{day(access.currentPeriodEnd)}</strong>.
          </p>
        );
      }
      break;
    case 'trialing':
      tone = 'ok';
      title = 'Trialing';
      body = (
        <p>
          You are on a free trial of {planName(access, catalog)} until{' '}
          <strong data-testid="trial-end">{day(access.trialEnd ?? access.currentPeriodEnd)}</strong>.
        </p>
      );
      break;
    case 'past_due':
      tone = 'bad';
      title = 'Past due — payment failed';
      body = (
        <>
          <p>
            <strong>Payment failed — update your card.</strong> We could not charge your card for the latest
            invoice. {access.hasAccess ? 'Your access continues for a short grace period.' : 'Your access is paused until the invoice is paid.'}
          </p>
          {/* A <div>, not a <p>: a <form> inside a <p> makes the browser close the <p> before it,
              so the server's HTML and React's tree differ and hydration fails (React #418). */}
          <div className="actions">
            {/* A Stripe billing portal session, made on the server (app/billing/portal/route.ts). */}
            <form action="/billing/portal" method="post" style={{ display: 'inline' }}>
              <button type="submit" className="primary" data-testid="update-card">
                Update your card
              </button>
            </form>{' '}
            {openInvoice?.hostedInvoiceUrl ? (
              <a href={openInvoice.hostedInvoiceUrl} className="button secondary" rel="noreferrer">
                Pay invoice {openInvoice.number ?? ''}
              </a>
            ) : null}
          </div>
        </>
      );
      break;
    case 'action_required':
      // 3-D Secure / SCA (`invoice.payment_action_required`): Stripe cannot finish the payment
      // without the customer; the hosted invoice page runs the bank's authentication.
      tone = 'bad';
      title = 'Confirm your payment';
      body = (
        <>
          <p data-testid="payment-action">
            <strong>Your bank asks you to confirm this payment.</strong> Nothing is wrong with your card: open the
            invoice and approve the payment with your bank (3-D Secure).{' '}
            {access.hasAccess ? 'Your access continues meanwhile.' : 'Your access resumes once it is confirmed.'}
          </p>
          {access.paymentActionUrl ? (
            <p>
              <a href={access.paymentActionUrl} className="button" rel="noreferrer" data-testid="confirm-payment">
                Confirm your payment
              </a>
            </p>
          ) : null}
        </>
      );
      break;
    case 'canceled':
      tone = 'bad';
      title = access.purchaseId ? 'Purchase refunded' : 'Canceled';
      body = access.purchaseId ? (
        <p data-testid="purchase-refunded">
          Your purchase of {planName(access, catalog)} was refunded on <strong>{day(access.accessEndsAt)}</strong>; its access ended then.
        </p>
      ) : (
        <p>
          Your subscription is canceled. Access {access.hasAccess ? 'ends' : 'ended'} on{' '}
          <strong data-testid="access-ends">{day(access.accessEndsAt)}</strong>.
        </p>
      );
      break;
    case 'unpaid':
    case 'incomplete':
    case 'paused':
      tone = 'bad';
      title = access.state === 'unpaid' ? 'Unpaid' : access.state === 'paused' ? 'Paused' : 'Incomplete';
      body = (
        <p>
          {access.reason}. <a href="/invoices">Open billing</a> to settle it.
        </p>
      );
      break;
    default: {
      const url = subscribeUrl(user.id, user.email);
      title = 'No subscription yet';
      body = (
        <>
          <p>Subscribe to Pro to unlock your workspace.</p>
          {url ? (
            <a href={url} className="button" data-testid="subscribe">
              Subscribe
            </a>
          ) : (
            <p className="muted">Checkout is not configured (set STRIPE_PAYMENT_LINK).</p>
          )}
        </>
      );
    }
  }

  return (
    <>
      <h1>Welcome, {user.name.split(' ')[0]}</h1>
      <section className={`card state ${tone}`} data-testid="billing-state" data-state={access.state}>
        <h2>
          Subscription: <span data-testid="state-title">{title}</span>
        </h2>
        {body}
        <p className="muted" style={{ fontSize: 13, marginBottom: 0 }}>
          {access.reason}
        </p>
      </section>
      <PlanDetails
        subscriptions={timeline?.subscriptions ?? []}
        purchases={timeline?.purchases ?? []}
        features={features}
        catalog={catalog}
      />
      <section className="card">
        <h2>Your workspace</h2>
        {access.hasAccess ? (
          <p data-testid="workspace">
            Projects, reports and files live here. (This is the part of the portal a subscription unlocks.)
          </p>
        ) : (
          <p className="muted" data-testid="workspace-locked">
            Locked — an active subscription unlocks your workspace.
          </p>
        )}
      </section>
    </>
  );
}
