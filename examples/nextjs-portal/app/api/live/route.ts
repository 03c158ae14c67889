export const dynamic = 'force-dynamic';

/** Liveness: the process answers HTTP. Touches no store (the load measurement's baseline too). */
export function GET() {
  return new Response('ok\n', { headers: { 'content-type': 'text/plain', 'cache-control': 'no-store' } });
}
