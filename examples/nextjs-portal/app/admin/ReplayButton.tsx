'use client';

import { useActionState } from 'react';
import { replayJob, type ReplayState } from './actions';

export function ReplayButton({ id }: { id: number }) {
  const [state, action, pending] = useActionState<ReplayState, FormData>(replayJob, { message: null });
  return (
    <form action={action}>
      <input type="hidden" name="id" value={id} />
      <button type="submit" className="primary" disabled={pending} data-testid={`replay-${id}`}>
        {pending ? 'Replaying…' : 'Replay'}
      </button>
      {state.message ? <div className="muted" style={{ fontSize: 12 }}>{state.message}</div> : null}
    </form>
  );
}
