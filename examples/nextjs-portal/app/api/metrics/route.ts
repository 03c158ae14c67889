import { tollbooth } from '@/lib/tollbooth';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** Prometheus text exposition. Set METRICS_TOKEN to require `Authorization: Bearer <token>`. */
export function GET(req: Request) {
  const token = process.env.METRICS_TOKEN;
  if (token && req.headers.get('authorization') !== `Bearer ${token}`) {
    return new Response('unauthorized\n', { status: 401 });
  }
  return new Response(tollbooth().prometheus(), {
    headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' },
  });
}
