import { ActionButton } from '@/components/ActionButton';
import { DataTable } from '@/components/DataTable';
import { requireAdmin } from '@/lib/session';
import { tollbooth } from '@/lib/tollbooth';
import { replayJob } from './actions';
import { AdminNav } from './AdminNav';
import { jobColumns as col } from './columns';
import { importFromStripe } from './stripe-actions';

export const dynamic = 'force-dynamic';

interface QueueRow {
  kind: string;
  due: number;
  due_now: number;
  leased: number;
  done: number;
  dead: number;
  failed_attempts_window: number;
  oldest_due_age_s: number | null;
}

export default async function Admin() {
  await requireAdmin();
  const tb = tollbooth();
  const [metrics, health, dead, recent] = await Promise.all([tb.metrics(), tb.health(), tb.deadJobs(), tb.jobs({ limit: 15 })]);
  const queue = (metrics.queue ?? []) as QueueRow[];
  const failureRate = Number(metrics.failure_rate ?? 0);
  const latency = (metrics.latency ?? {}) as { p50_us?: number; p95_us?: number; p99_us?: number };

  return (
    <>
      <h1>Operations</h1>
      <AdminNav current="/admin" />
      <div className="grid" style={{ marginBottom: 18 }}>
        <div className="stat">
          <div className="l">Webhook failure rate (15 min)</div>
          <div className="v" data-testid="failure-rate">{(failureRate * 100).toFixed(2)}%</div>
        </div>
        <div className="stat">
          <div className="l">Deliveries (15 min)</div>
          <div className="v">{Number(health.deliveries_window ?? 0)}</div>
        </div>
        <div className="stat">
          <div className="l">Dead letters</div>
          <div className="v" data-testid="dead-count">{dead.length}</div>
        </div>
        <div className="stat">
          <div className="l">Handler p95</div>
          <div className="v">{latency.p95_us != null ? `${(latency.p95_us / 1000).toFixed(2)} ms` : '—'}</div>
        </div>
      </div>

      <section className={`card state ${health.ok ? 'ok' : 'bad'}`}>
        <h2>Health: {health.ok ? 'no alerts' : `${health.alerts.length} alert(s) firing`}</h2>
        {health.alerts.length ? (
          <ul>
            {health.alerts.map((a, i) => (
              <li key={i}>
                {typeof a === 'string' ? a : String((a as { message?: unknown }).message ?? JSON.stringify(a))}
                {typeof a === 'object' && a && 'severity' in a ? <span className="badge warn" style={{ marginLeft: 8 }}>{String(a.severity)}</span> : null}
              </li>
            ))}
          </ul>
        ) : null}
      </section>

      <section className="card" data-testid="stripe-card">
        <h2>Existing Stripe customers</h2>
        <p className="muted">
          Customers who subscribed before this portal used tollbooth get access once their Stripe objects are imported.
          Safe to run again (it changes nothing twice); the same as <code>tollbooth sync</code> on the server.
        </p>
        <ActionButton action={importFromStripe} label="Import from Stripe" pendingLabel="Importing…" testId="stripe-import" resultTestId="stripe-import-result" />
      </section>

      <section className="card">
        <h2>Queue by kind</h2>
        <DataTable
          testId="queue"
          emptyRow="No jobs yet."
          rows={queue}
          rowKey={(q) => q.kind}
          rowData={(q) => ({ 'data-kind': q.kind })}
          columns={[
            { header: 'Kind', cell: (q) => <code>{q.kind}</code> },
            { header: 'Due', num: true, cell: (q) => q.due },
            { header: 'Leased', num: true, cell: (q) => q.leased },
            { header: 'Done', num: true, cell: (q) => q.done },
            { header: 'Dead', num: true, cell: (q) => q.dead },
            { header: 'Failures (15 min)', num: true, cell: (q) => q.failed_attempts_window },
            { header: 'Oldest due', num: true, cell: (q) => (q.oldest_due_age_s ? `${q.oldest_due_age_s}s` : '—') },
          ]}
        />
      </section>

      <section className="card">
        <h2>Dead letters</h2>
        <DataTable
          testId="dead"
          empty={{ text: 'No dead letters.', testId: 'no-dead' }}
          rows={dead}
          rowKey={(j) => j.id}
          rowData={(j) => ({ 'data-job': j.id })}
          columns={[col.id, col.kindKey, col.attempts, col.lastError, { header: '', cell: (j) => <ActionButton action={replayJob} fields={{ id: j.id }} label="Replay" pendingLabel="Replaying…" testId={`replay-${j.id}`} /> }]}
        />
      </section>

      <section className="card">
        <h2>Recent jobs</h2>
        <DataTable rows={recent} rowKey={(j) => j.id} columns={[col.id, col.kindKey, col.state, col.attempts, col.updated]} />
      </section>
    </>
  );
}
