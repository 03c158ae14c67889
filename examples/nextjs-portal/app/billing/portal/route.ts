import { NextResponse } from 'next/server';
import { currentUser } from '@/lib/session';
import { stripe } from '@/lib/stripe';
import { tollbooth } from '@/lib/tollbooth';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** A 303 to a path of this site (relative: right behind any proxy or host name). */
const seeOther = (path: string) => new NextResponse(null, { status: 303, headers: { location: path } });

/** This site's origin as the browser sees it (the Host header, and the proxy's protocol). */
function siteOrigin(req: Request): string {
  const host = req.headers.get('x-forwarded-host') ?? req.headers.get('host') ?? new URL(req.url).host;
  const proto = req.headers.get('x-forwarded-proto') ?? new URL(req.url).protocol.replace(':', '');
  return `${proto}://${host}`;
}

/**
 * "Update your card": creates a Stripe billing portal session for the signed-in user's Stripe
 * customer, server-side (the secret key never reaches the browser), and sends the browser
 * there; Stripe sends it back to /account. A plain form POST: no client JavaScript. Failures
 * go back to /account with a reason the page explains (never Stripe's message).
 */
export async function POST(req: Request) {
  // A form post from this site only (the session cookie is SameSite=Lax as well).
  const origin = req.headers.get('origin');
  if (origin && origin !== siteOrigin(req)) return new NextResponse('cross-site request refused', { status: 403 });
  const user = await currentUser();
  if (!user) return seeOther('/login?next=/account');
  const { customerId } = await tollbooth().accessForUser(user.id);
  if (!customerId) return seeOther('/account?portal_error=no_customer');
  const client = stripe();
  if (!client) return seeOther('/account?portal_error=not_configured');
  let url: string;
  try {
    const session = await client.billingPortal.sessions.create({
      customer: customerId,
      return_url: `${siteOrigin(req)}/account`,
    });
    url = session.url;
  } catch {
    return seeOther('/account?portal_error=stripe_unavailable');
  }
  return NextResponse.redirect(url, 303);
}
