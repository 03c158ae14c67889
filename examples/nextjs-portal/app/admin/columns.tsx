import type { Job, StoredEvent } from 'tollbooth';
import type { Column } from '@/components/DataTable';
import { dateTime } from '@/lib/format';
import { tone } from './AdminNav';

/** An outcome or state word as a coloured badge (one colour per word, `tone`). */
export function Badge({ word, testId }: { word: string | null | undefined; testId?: string }) {
  return (
    <span className={`badge ${tone(word)}`} data-testid={testId}>
      {word ?? '—'}
    </span>
  );
}

/** A link to an event's detail page. */
export function EventLink({ id }: { id: string }) {
  return (
    <a href={`/admin/events/${encodeURIComponent(id)}`}>
      {id}
    </a>
  );
}

/** A link to a customer's timeline, or a dash. */
export function CustomerLink({ id }: { id: string | null | undefined }) {
  return id ? (
    <a href={`/admin/customers?q=${encodeURIComponent(id)}`}>
      {id}
    </a>
  ) : (
    '—'
  );
}

/** The columns every job table shares; each page picks and orders them. */
export const jobColumns = {
  id: { header: 'Job', cell: (j) => `#${j.id}` },
  kindKey: {
    header: 'Kind / key',
    cell: (j) => (
      <>
        <code>{j.kind}</code>
        <div className="muted small">{j.key}</div>
      </>
    ),
  },
  state: { header: 'State', cell: (j) => <Badge word={j.state} /> },
  attempts: { header: 'Attempts', cell: (j) => j.attempts },
  lastError: { header: 'Last error', className: 'small', cell: (j) => j.lastError ?? '—' },
  updated: { header: 'Updated', cell: (j) => dateTime(j.updatedAt) },
} satisfies Record<string, Column<Job>>;

/** A job column for rows that hold a job (a customer timeline's job with its attempts). */
export function ofJob<T>(c: Column<Job>, job: (row: T) => Job): Column<T> {
  return { ...c, cell: (row) => c.cell(job(row)), title: undefined };
}

/** The columns an event row shares across the events list and a customer's timeline. */
export const eventColumns = {
  created: { header: 'Created', cell: (e) => dateTime(e.created) },
  type: { header: 'Type', cell: (e) => <code>{e.type}</code> },
  event: { header: 'Event', cell: (e) => <EventLink id={e.id} /> },
  outcome: { header: 'Outcome', cell: (e) => <Badge word={e.outcome} /> },
} satisfies Record<string, Column<StoredEvent>>;
