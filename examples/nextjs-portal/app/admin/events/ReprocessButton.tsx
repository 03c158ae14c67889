'use client';

import { useActionState } from 'react';
import { reprocessEvent, type ReprocessState } from './actions';

export function ReprocessButton({ id }: { id: string }) {
  const [state, action, pending] = useActionState<ReprocessState, FormData>(reprocessEvent, { message: null });
  return (
    <form action={action}>
      <input type="hidden" name="id" value={id} />
      <button type="submit" className="primary" disabled={pending} data-testid="reprocess">
        {pending ? 'Reprocessing…' : 'Reprocess'}
      </button>
      {state.message ? (
        <p className="muted" role="status" data-testid="reprocess-result">
          {state.message}
        </p>
      ) : null}
    </form>
  );
}
