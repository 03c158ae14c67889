// Stripe-shaped events (API version 2025-03-31.basil) for the e2e and the load measurement:
// only the fields tollbooth reads plus some of the noise real events carry. Not a test file.
import { randomBytes } from 'node:crypto';

export const PRICE = 'price_portal_pro_monthly';
export const PRODUCT = 'prod_portal_pro';
const DAY = 86_400;

let seq = 0;
/** A unique Stripe-style id. */
export function sid(prefix) {
  seq += 1;
  return `${prefix}_e2e${randomBytes(6).toString('hex')}${seq}`;
}

export function event(type, object, created, extra = {}) {
  return {
    id: sid('evt'),
    object: 'event',
    api_version: '2025-03-31.basil',
    created,
    livemode: false,
    pending_webhooks: 1,
    request: { id: sid('req'), idempotency_key: null },
    type,
    data: { object, ...extra },
  };
}

export function checkoutSession({ id, customer, subscription, userId, email, name }) {
  return {
    id,
    object: 'checkout.session',
    mode: 'subscription',
    status: 'complete',
    payment_status: 'paid',
    customer,
    subscription,
    client_reference_id: userId,
    customer_details: { email, name },
    amount_total: 2900,
    currency: 'usd',
    success_url: 'http://127.0.0.1/checkout/success?session_id={CHECKOUT_SESSION_ID}',
    metadata: {},
  };
}

export function customer({ id, email, name, userId, created }) {
  return { id, object: 'customer', email, name, metadata: { user_id: userId }, created, livemode: false, delinquent: false };
}

export function subscription({ id, customer, status, periodStart, cancelAtPeriodEnd = false, canceledAt = null }) {
  const periodEnd = periodStart + 30 * DAY;
  return {
    id,
    object: 'subscription',
    customer,
    status,
    cancel_at_period_end: cancelAtPeriodEnd,
    cancel_at: cancelAtPeriodEnd ? periodEnd : null,
    canceled_at: canceledAt,
    ended_at: status === 'canceled' ? canceledAt : null,
    currency: 'usd',
    metadata: {},
    items: {
      object: 'list',
      data: [
        {
          id: `si_${id.slice(4)}`,
          object: 'subscription_item',
          price: { id: PRICE, object: 'price', product: PRODUCT, unit_amount: 2900, currency: 'usd', recurring: { interval: 'month' } },
          current_period_start: periodStart,
          current_period_end: periodEnd,
          quantity: 1,
        },
      ],
    },
  };
}

export function invoice({ id, number, customer, subscription, status, created, attemptCount, reason = 'subscription_cycle', nextPaymentAttempt = null }) {
  const paid = status === 'paid';
  return {
    id,
    object: 'invoice',
    customer,
    status,
    number,
    currency: 'usd',
    amount_due: 2900,
    amount_paid: paid ? 2900 : 0,
    amount_remaining: paid ? 0 : 2900,
    created,
    attempt_count: attemptCount,
    attempted: attemptCount > 0,
    next_payment_attempt: nextPaymentAttempt,
    billing_reason: reason,
    hosted_invoice_url: `https://invoice.stripe.com/i/acct_e2e/${id}`,
    invoice_pdf: `https://pay.stripe.com/invoice/acct_e2e/${id}/pdf`,
    parent: { type: 'subscription_details', subscription_details: { subscription, metadata: {} } },
    lines: { object: 'list', data: [] },
  };
}

export function dispute({ id, charge, customer }) {
  return { id, object: 'dispute', charge, amount: 2900, currency: 'usd', reason: 'fraudulent', status: 'needs_response', customer, payment_intent: null };
}
