import { redirect } from 'next/navigation';
import { currentUser, safeNext } from '@/lib/session';
import { demoUsers } from '@/lib/users';
import { LoginForm } from './LoginForm';

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ next?: string }> }) {
  const next = safeNext((await searchParams).next);
  if (await currentUser()) redirect(next);
  return (
    <div className="card">
      <h1>Sign in</h1>
      <LoginForm next={next} />
      <p className="muted" style={{ marginTop: 22, fontSize: 13 }}>
        Demo accounts: {demoUsers().map((u) => u.email).join(', ')} — password{' '}
        <code>&lt;name&gt;-demo-password</code> (see the example&apos;s README).
      </p>
    </div>
  );
}
