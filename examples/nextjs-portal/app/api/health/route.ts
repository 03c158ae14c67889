import { connection } from 'next/server';
import { tollbooth } from '@/lib/tollbooth';

/**
 * The firing alerts as JSON: `{ ok, alerts, failure_rate, ... }`. Always 200 while the process
 * and its store answer (alerts are for the on-call, not a reason to pull the instance).
 */
export async function GET() {
  await connection(); // answered at request time, never prerendered at build
  return Response.json(await tollbooth().health(), { headers: { 'cache-control': 'no-store' } });
}
