import { tollbooth } from '@/lib/tollbooth';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/**
 * The firing alerts as JSON: `{ ok, alerts, failure_rate, ... }`. Always 200 while the process
 * and its store answer (alerts are for the on-call, not a reason to pull the instance).
 */
export function GET() {
  return Response.json(tollbooth().health(), { headers: { 'cache-control': 'no-store' } });
}
