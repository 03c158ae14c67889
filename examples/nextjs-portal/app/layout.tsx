import type { Metadata } from 'next';
import Link from 'next/link';
import { currentUser } from '@/lib/session';
import './globals.css';

export const metadata: Metadata = {
  title: 'Acme Portal',
  description: 'Client portal example for tollbooth',
};

// Links never prefetch: every page is dynamic (per user, per request), so a prefetch could
// only fetch the shared layout, and on a slow phone the 5-7 RSC requests and their parsing
// right after load were most of the main-thread work Lighthouse counted as blocking time.
export default async function RootLayout({ children }: { children: React.ReactNode }) {
  const user = await currentUser();
  return (
    <html lang="en">
      <body>
        <header className="topbar">
          <Link prefetch={false} href="/dashboard" className="brand">
            Acme Portal
          </Link>
          {user ? (
            <nav>
              <Link prefetch={false} href="/dashboard">Dashboard</Link>
              <Link prefetch={false} href="/invoices">Billing</Link>
              <Link prefetch={false} href="/support">Support</Link>
              <Link prefetch={false} href="/account">Account</Link>
              {user.role === 'admin' ? <Link prefetch={false} href="/admin">Admin</Link> : null}
              <span className="who" data-testid="who">
                {user.name}
              </span>
              <form action="/logout" method="post">
                <button type="submit" className="link">
                  Sign out
                </button>
              </form>
            </nav>
          ) : (
            <nav>
              <Link prefetch={false} href="/login">Sign in</Link>
            </nav>
          )}
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
