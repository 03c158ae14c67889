// Runs before /admin and /api/admin are rendered: the server answers 403 to a signed-in
// non-admin (and sends visitors to /login), whatever the page or the client would do.
// The admin page checks again itself (requireAdmin); this is the first gate, not the only one.
import { NextResponse, type NextRequest } from 'next/server';
import { SESSION_COOKIE, verifySession } from './lib/session-token';
import { userById } from './lib/users';

export function proxy(req: NextRequest) {
  const session = verifySession(req.cookies.get(SESSION_COOKIE)?.value);
  const user = session ? userById(session.uid) : null;
  const isApi = req.nextUrl.pathname.startsWith('/api/');
  if (!user) {
    if (isApi) return NextResponse.json({ error: 'unauthenticated' }, { status: 401 });
    const login = new URL('/login', req.url);
    login.searchParams.set('next', req.nextUrl.pathname);
    return NextResponse.redirect(login, 303);
  }
  if (user.role !== 'admin') {
    return new NextResponse(
      isApi
        ? JSON.stringify({ error: 'forbidden' })
        : '<!doctype html><title>403 Forbidden</title><h1>403 — Forbidden</h1><p>This page is for administrators. <a href="/dashboard">Back to your dashboard</a></p>',
      {
        status: 403,
        headers: {
          'content-type': isApi ? 'application/json' : 'text/html; charset=utf-8',
          'cache-control': 'no-store',
        },
      },
    );
  }
  return NextResponse.next();
}

export const config = {
  matcher: ['/admin', '/admin/:path*', '/api/admin/:path*'],
};
