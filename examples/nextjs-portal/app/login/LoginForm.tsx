'use client';

import { useActionState } from 'react';
import { login, type LoginState } from './actions';

export function LoginForm({ next }: { next: string }) {
  const [state, action, pending] = useActionState<LoginState, FormData>(login, { error: null });
  return (
    <form action={action} className="login">
      <input type="hidden" name="next" value={next} />
      <label>
        Email
        <br />
        <input name="email" type="email" autoComplete="username" required style={{ width: '100%' }} />
      </label>
      <label>
        Password
        <br />
        <input name="password" type="password" autoComplete="current-password" required style={{ width: '100%' }} />
      </label>
      {state.error ? (
        <p className="error" role="alert">
          {state.error}
        </p>
      ) : null}
      <button type="submit" className="primary" disabled={pending}>
        {pending ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}
