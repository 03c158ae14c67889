'use client';

import { useActionState } from 'react';
import { importFromStripe, type ImportState } from './stripe-actions';

export function ImportButton() {
  const [state, action, pending] = useActionState<ImportState>(importFromStripe, { ok: null, message: null });
  return (
    <form action={action}>
      <button type="submit" className="primary" disabled={pending} data-testid="stripe-import">
        {pending ? 'Importing…' : 'Import from Stripe'}
      </button>
      {state.message ? (
        <p role="status" className={state.ok ? 'muted' : 'error'} data-testid="stripe-import-result" data-ok={String(state.ok)}>
          {state.message}
        </p>
      ) : null}
    </form>
  );
}
