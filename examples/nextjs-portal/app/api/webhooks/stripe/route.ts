// app/api/webhooks/stripe/route.ts
import { httpStatus } from 'tollbooth';
import { tollbooth } from '@/lib/tollbooth';

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
  // The signature covers the exact bytes Stripe sent: read them raw, never req.json() or req.text().
  const body = await readCapped(req, MAX_BODY);
  if (body === null) {
    // The rest of the body was never read, so this connection cannot carry another request: close it.
    return Response.json({ received: false, error: 'PAYLOAD_TOO_LARGE' }, { status: 413, headers: { connection: 'close' } });
  }
  try {
    // One call, off the event loop: verify, dedupe, persist, apply billing state and enqueue jobs.
    const result = await tollbooth().handleWebhook(body, req.headers.get('stripe-signature'));
    return Response.json({ received: true, outcome: result.outcome, eventId: result.eventId });
  } catch (err) {
    const code = (err as { code?: string }).code;
    // tollbooth's one table: 400 when the request is not an authentic Stripe delivery (signature,
    // timestamp, size); 500 when the fault is ours (the store, the configuration): logged, and
    // Stripe retries for 3 days. An authentic event it cannot read is not an error: it resolves
    // with outcome 'quarantined' (200) and waits for `tollbooth reprocess --quarantined`.
    const status = httpStatus(code);
    if (status >= 500) console.error(`tollbooth: webhook answered ${status} (${code}):`, err);
    return Response.json({ received: false, error: code ?? 'INTERNAL' }, { status });
  }
}
