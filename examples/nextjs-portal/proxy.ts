// Runs before /admin and /api/admin are rendered: the server answers 403 to a signed-in
// non-admin (and sends visitors to /login), whatever the page or the client would do.
// The admin page checks again itself (requireAdmin); this is the first gate, not the only one.
import { NextResponse, type NextRequest } from 'next/server';
import { SESSION_COOKIE, verifySession } from './lib/session-token';
import { userById } from './lib/users';

const FORBIDDEN_HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>403 Forbidden · Acme Portal</title>
<style>body{margin:0;font:15px/1.5 system-ui,sans-serif;background:#f6f7f9;color:#1d2330}
header{padding:12px 28px;background:#fff;border-bottom:1px solid #e2e5ea;font-weight:700;font-size:17px}
main{max-width:920px;margin:32px auto;padding:0 24px}
section{background:#fdecea;border:1px solid #e2e5ea;border-left:6px solid #b42318;border-radius:10px;padding:22px 24px}
h1{font-size:24px;margin:0 0 12px}a{color:#4f46e5}</style></head>
<body><header>Acme Portal</header><main><section><h1>403 — Forbidden</h1>
<p>This page is for administrators. <a href="/dashboard">Back to your dashboard</a></p></section></main></body></html>`;

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
        : FORBIDDEN_HTML,
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
