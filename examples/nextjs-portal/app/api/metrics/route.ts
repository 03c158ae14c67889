import { connection } from 'next/server';
import { tollbooth } from '@/lib/tollbooth';

/** Prometheus text exposition. Set METRICS_TOKEN to require `Authorization: Bearer <token>`. */
export async function GET(req: Request) {
  await connection(); // answered at request time, never prerendered at build
  const token = process.env.METRICS_TOKEN;
  if (token && req.headers.get('authorization') !== `Bearer ${token}`) {
    return new Response('unauthorized\n', { status: 401 });
  }
  return new Response(await tollbooth().prometheus(), {
    headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' },
  });
}
