'use client';

import { useActionState } from 'react';

/** What a server action behind an ActionButton answers; `ok: false` shows the message as an error. */
export interface ActionResult {
  ok?: boolean | null;
  message: string | null;
}

/**
 * The one client island of the admin pages: a button that runs a server action (which checks the
 * admin again), shows that it is pending, and says what happened. `fields` go along as hidden
 * inputs. Without JavaScript the form still posts to the action.
 */
export function ActionButton({
  action,
  label,
  pendingLabel,
  testId,
  resultTestId,
  fields = {},
}: {
  action: (prev: ActionResult, form: FormData) => Promise<ActionResult>;
  label: string;
  pendingLabel: string;
  testId: string;
  resultTestId?: string;
  fields?: Record<string, string | number>;
}) {
  const [state, run, pending] = useActionState(action, { ok: null, message: null });
  return (
    <form action={run}>
      {Object.entries(fields).map(([name, value]) => (
        <input key={name} type="hidden" name={name} value={value} />
      ))}
      <button type="submit" className="primary" disabled={pending} data-testid={testId}>
        {pending ? pendingLabel : label}
      </button>
      {state.message ? (
        <p role="status" className={state.ok === false ? 'error' : 'muted'} data-testid={resultTestId} data-ok={String(state.ok ?? '')}>
          {state.message}
        </p>
      ) : null}
    </form>
  );
}
