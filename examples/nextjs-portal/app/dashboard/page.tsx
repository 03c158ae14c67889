import Link from 'next/link';
import type { Access } from 'tollbooth';
import { day } from '@/lib/format';
import { requireUser } from '@/lib/session';
import { tollbooth } from '@/lib/tollbooth';

export const dynamic = 'force-dynamic';

const PLAN_NAMES: Record<string, string> = { prod_portal_pro: 'Pro' };

function planName(access: Access): string {
  return (access.productId && PLAN_NAMES[access.productId]) || access.productId || 'your plan';
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

  let tone: 'ok' | 'warn' | 'bad' | 'info' = 'info';
  let title: string;
  let body: React.ReactNode;
  switch (access.state) {
    case 'active':
      if (access.cancelAtPeriodEnd) {
        tone = 'warn';
        title = `Canceling — access until ${day(access.accessEndsAt ?? access.currentPeriodEnd)}`;
        body = (
          <p>
            Your {planName(access)} subscription will not renew. You keep full access until{' '}
            <strong>{day(access.accessEndsAt ?? access.currentPeriodEnd)}</strong>.
          </p>
        );
      } else {
        tone = 'ok';
        title = 'Active';
        body = (
          <p>
            Your {planName(access)} subscription is active. Next renewal on{' '}
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
          You are on a free trial of {planName(access)} until <strong>{day(access.currentPeriodEnd)}</strong>.
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
          <p>
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
          </p>
        </>
      );
      break;
    case 'canceled':
      tone = 'bad';
      title = 'Canceled';
      body = (
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
          {access.reason}. <Link href="/invoices">Open billing</Link> to settle it.
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
