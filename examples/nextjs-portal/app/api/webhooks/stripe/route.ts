import { errorCode, tollbooth, webhookErrorStatus } from '@/lib/tollbooth';

export const runtime = 'nodejs'; // a native addon: never the Edge runtime
export const dynamic = 'force-dynamic'; // never cached, never prerendered

const NO_STORE = { 'cache-control': 'no-store' };

export async function POST(req: Request) {
  // The signature covers the exact bytes Stripe sent: read them raw, never req.json().
  const body = Buffer.from(await req.arrayBuffer());
  try {
    // One call: verify, dedupe, persist, apply billing state and enqueue jobs in one transaction.
    const result = tollbooth().handleWebhook(body, req.headers.get('stripe-signature'));
    return Response.json({ received: true, outcome: result.outcome, eventId: result.eventId }, { headers: NO_STORE });
  } catch (err) {
    const code = errorCode(err);
    const status = webhookErrorStatus(code); // 400: bad request, Stripe stops; 500: Stripe retries
    if (status === 500) console.error('stripe webhook failed:', code ?? err);
    return Response.json({ received: false, error: code ?? 'INTERNAL' }, { status, headers: NO_STORE });
  }
}
