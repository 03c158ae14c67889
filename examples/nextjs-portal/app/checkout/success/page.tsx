import { AutoRefresh } from '@/components/AutoRefresh';
import { requireUser } from '@/lib/session';
import { tollbooth } from '@/lib/tollbooth';

export const dynamic = 'force-dynamic';

// Landing here proves nothing: only a processed webhook (checkoutStatus) confirms the payment.
export default async function CheckoutSuccess({
  searchParams,
}: {
  searchParams: Promise<{ session_id?: string }>;
}) {
  const sessionId = (await searchParams).session_id ?? '';
  const user = await requireUser(`/checkout/success?session_id=${encodeURIComponent(sessionId)}`);
  if (!/^cs_[A-Za-z0-9_]{1,200}$/.test(sessionId)) {
    return (
      <section className="card state bad">
        <h1>Unknown checkout</h1>
        <p>This link has no valid checkout session. <a href="/dashboard">Go to your dashboard</a>.</p>
      </section>
    );
  }
  const status = await tollbooth().checkoutStatus(sessionId);
  // A session that belongs to someone else looks like one we have not heard of.
  const state = status.userId && status.userId !== user.id ? 'pending' : status.state;

  switch (state) {
    case 'complete':
      return (
        <section className="card state ok" data-testid="checkout" data-state={state}>
          <h1>Payment received</h1>
          <p>Thank you! Your subscription is active.</p>
          <a href="/dashboard" className="button">
            Go to your dashboard
          </a>
        </section>
      );
    case 'payment_failed':
      return (
        <section className="card state bad" data-testid="checkout" data-state={state}>
          <h1>Payment failed</h1>
          <p>Your bank declined the payment. <a href="/dashboard">Try again from your dashboard</a>.</p>
        </section>
      );
    case 'expired':
      return (
        <section className="card state bad" data-testid="checkout" data-state={state}>
          <h1>Checkout expired</h1>
          <p>This checkout session expired before it was paid. <a href="/dashboard">Start again</a>.</p>
        </section>
      );
    default:
      return (
        <section className="card state info" data-testid="checkout" data-state={state}>
          <AutoRefresh ms={2000} />
          <h1>
            <span className="spinner" aria-hidden="true" />
            Confirming your payment…
          </h1>
          <p>
            {state === 'payment_pending'
              ? 'Your bank is still processing the payment. This page updates by itself.'
              : 'We are waiting for Stripe to confirm your payment. This usually takes a few seconds; this page updates by itself.'}
          </p>
        </section>
      );
  }
}
