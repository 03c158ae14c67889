import type { Metadata } from 'next';
import { currentUser } from '@/lib/session';
import './globals.css';

export const metadata: Metadata = {
  title: 'Acme Portal',
  description: 'Client portal example for tollbooth',
};

// Links are plain <a>, not next/link: every page is dynamic (per user, per request), so a
// client-side navigation saves little, while next/link ships its own client chunk to every
// page and hydrates one component per link (a list of 200 events had 400). A full page load
// is what Lighthouse measures, and what a customer's first visit is.
export default async function RootLayout({ children }: { children: React.ReactNode }) {
  const user = await currentUser();
  return (
    <html lang="en">
      <body>
        <header className="topbar">
          <a href="/dashboard" className="brand">
            Acme Portal
          </a>
          {user ? (
            <nav>
              <a href="/dashboard">Dashboard</a>
              <a href="/invoices">Billing</a>
              <a href="/support">Support</a>
              <a href="/account">Account</a>
              {user.role === 'admin' ? <a href="/admin">Admin</a> : null}
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
              <a href="/login">Sign in</a>
            </nav>
          )}
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
