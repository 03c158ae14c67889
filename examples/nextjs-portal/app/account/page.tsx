import { day } from '@/lib/format';
import { requireUser } from '@/lib/session';
import { stripeApi } from '@/lib/stripe';
import { tollbooth } from '@/lib/tollbooth';
import { demoUsers } from '@/lib/users';

export const dynamic = 'force-dynamic';

const PORTAL_ERRORS: Record<string, string> = {
  no_customer: 'There is no Stripe customer for your account yet: subscribe first, then manage billing here.',
  not_configured: 'Billing management is not configured on this server (STRIPE_SECRET_KEY is not set).',
  stripe_unavailable: 'Stripe did not answer. Your card was not changed; please try again in a minute.',
};

function param(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Account settings. Every signed-in user sees their profile and their billing; admins also see
 * the team and how the portal reaches Stripe (never the key itself). Rendered on the server:
 * a member's page holds nothing of other users.
 */
export default async function Account({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await requireUser('/account');
  const error = param((await searchParams).portal_error);
  const access = await tollbooth().accessForUser(user.id);
  const isAdmin = user.role === 'admin';
  return (
    <>
      <h1>Account settings</h1>
      {error ? (
        <section className="card state bad" role="alert" data-testid="portal-error" data-reason={error}>
          <h2>Could not open billing management</h2>
          <p>{PORTAL_ERRORS[error] ?? 'Something went wrong; please try again.'}</p>
        </section>
      ) : null}
      <section className="card" data-testid="profile">
        <h2>Profile</h2>
        <table>
          <tbody>
            <tr>
              <th scope="row">Name</th>
              <td>{user.name}</td>
            </tr>
            <tr>
              <th scope="row">Email</th>
              <td>{user.email}</td>
            </tr>
            <tr>
              <th scope="row">Role</th>
              <td>
                <span className={`badge ${isAdmin ? 'info' : 'muted'}`} data-testid="role">
                  {isAdmin ? 'admin' : 'member'}
                </span>
              </td>
            </tr>
          </tbody>
        </table>
      </section>
      <section className="card" data-testid="billing">
        <h2>Billing</h2>
        {access.customerId ? (
          <>
            <p>
              Subscription: <strong data-testid="account-state">{access.state.replace('_', ' ')}</strong>
              {access.currentPeriodEnd ? <> · current period ends {day(access.currentPeriodEnd)}</> : null}
            </p>
            <form action="/billing/portal" method="post">
              <button type="submit" className="primary" data-testid="manage-billing">
                Update your card or plan
              </button>
            </form>
          </>
        ) : (
          <p className="empty" data-testid="no-billing">
            No subscription yet. Subscribe from the dashboard; your billing details appear here afterwards.
          </p>
        )}
      </section>
      {isAdmin ? <AdminSettings /> : null}
    </>
  );
}

/** Admins only (the caller checks the role): the team and the Stripe connection. */
function AdminSettings() {
  const api = stripeApi();
  const mode = api ? (/^(sk|rk)_live_/.test(api.key) ? 'live' : 'test') : null;
  return (
    <>
      <section className="card" data-testid="team">
        <h2>Team</h2>
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Role</th>
            </tr>
          </thead>
          <tbody>
            {demoUsers().map((u) => (
              <tr key={u.id}>
                <td>{u.name}</td>
                <td>{u.email}</td>
                <td>{u.role === 'admin' ? 'admin' : 'member'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section className="card" data-testid="stripe-connection">
        <h2>Stripe connection</h2>
        {api ? (
          <p>
            API key configured ({mode} mode){api.baseUrl ? <> · API base {api.baseUrl}</> : null}. The key is read on the
            server only and never shown.
          </p>
        ) : (
          <p className="error">STRIPE_SECRET_KEY is not set: billing management and “Import from Stripe” are off.</p>
        )}
      </section>
    </>
  );
}
