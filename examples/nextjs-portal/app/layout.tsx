import type { Metadata } from 'next';
import Link from 'next/link';
import { currentUser } from '@/lib/session';
import './globals.css';

export const metadata: Metadata = {
  title: 'Acme Portal',
  description: 'Client portal example for tollbooth',
};

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  const user = await currentUser();
  return (
    <html lang="en">
      <body>
        <header className="topbar">
          <Link href="/dashboard" className="brand">
            Acme Portal
          </Link>
          {user ? (
            <nav>
              <Link href="/dashboard">Dashboard</Link>
              <Link href="/invoices">Billing</Link>
              <Link href="/support">Support</Link>
              <Link href="/account">Account</Link>
              {user.role === 'admin' ? <Link href="/admin">Admin</Link> : null}
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
              <Link href="/login">Sign in</Link>
            </nav>
          )}
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
