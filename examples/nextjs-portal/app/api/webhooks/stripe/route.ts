import { errorCode, tollbooth, webhookErrorStatus } from '@/lib/tollbooth';

export const runtime = 'nodejs'; // a native addon: never the Edge runtime
export const dynamic = 'force-dynamic'; // never cached, never prerendered

const NO_STORE = { 'cache-control': 'no-store' };

/** Stripe events are a few KB; tollbooth refuses more than 1 MiB anyway, so stop reading there. */
const MAX_BODY = 1024 * 1024;

/** The raw body, or null once it grows past `max` (checked while reading, not after). */
async function readCapped(req: Request, max: number): Promise<Buffer | null> {
  if (Number(req.headers.get('content-length') ?? 0) > max) return null;
  if (!req.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks, size);
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
}

export async function POST(req: Request) {
  // The signature covers the exact bytes Stripe sent: read them raw, never req.json().
  const body = await readCapped(req, MAX_BODY);
  if (body === null) {
    return Response.json({ received: false, error: 'PAYLOAD_TOO_LARGE' }, { status: 413, headers: NO_STORE });
  }
  try {
    // One call: verify, dedupe, persist, apply billing state and enqueue jobs in one transaction.
    const result = tollbooth().handleWebhook(body, req.headers.get('stripe-signature'));
    return Response.json({ received: true, outcome: result.outcome, eventId: result.eventId }, { headers: NO_STORE });
  } catch (err) {
    const code = errorCode(err);
    const status = webhookErrorStatus(code); // 400: not an authentic delivery; 500: ours, Stripe retries
    if (status === 500) console.error('stripe webhook failed:', code ?? err);
    return Response.json({ received: false, error: code ?? 'INTERNAL' }, { status, headers: NO_STORE });
  }
}
