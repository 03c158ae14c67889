'use server';

import { redirect } from 'next/navigation';
import { safeNext, startSession } from '@/lib/session';
import { authenticate } from '@/lib/users';

export interface LoginState {
  error: string | null;
}

export async function login(_prev: LoginState, form: FormData): Promise<LoginState> {
  const user = await authenticate(String(form.get('email') ?? ''), String(form.get('password') ?? ''));
  if (!user) return { error: 'Wrong email or password.' };
  await startSession(user);
  redirect(safeNext(form.get('next')));
}
