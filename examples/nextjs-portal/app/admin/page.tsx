import { dateTime } from '@/lib/format';
import { requireAdmin } from '@/lib/session';
import { tollbooth } from '@/lib/tollbooth';
import { AdminNav } from './AdminNav';
import { ImportButton } from './ImportButton';
import { ReplayButton } from './ReplayButton';

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
        <ImportButton />
      </section>

      <section className="card">
        <h2>Queue by kind</h2>
        <table data-testid="queue">
          <thead>
            <tr>
              <th>Kind</th>
              <th className="num">Due</th>
              <th className="num">Leased</th>
              <th className="num">Done</th>
              <th className="num">Dead</th>
              <th className="num">Failures (15 min)</th>
              <th className="num">Oldest due</th>
            </tr>
          </thead>
          <tbody>
            {queue.length === 0 ? (
              <tr>
                <td colSpan={7} className="empty">
                  No jobs yet.
                </td>
              </tr>
            ) : (
              queue.map((q) => (
                <tr key={q.kind} data-kind={q.kind}>
                  <td>
                    <code>{q.kind}</code>
                  </td>
                  <td className="num">{q.due}</td>
                  <td className="num">{q.leased}</td>
                  <td className="num">{q.done}</td>
                  <td className="num">{q.dead}</td>
                  <td className="num">{q.failed_attempts_window}</td>
                  <td className="num">{q.oldest_due_age_s ? `${q.oldest_due_age_s}s` : '—'}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </section>

      <section className="card">
        <h2>Dead letters</h2>
        {dead.length === 0 ? (
          <p className="empty" data-testid="no-dead">
            No dead letters.
          </p>
        ) : (
          <table data-testid="dead">
            <thead>
              <tr>
                <th>Job</th>
                <th>Kind / key</th>
                <th>Attempts</th>
                <th>Last error</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {dead.map((j) => (
                <tr key={j.id} data-job={j.id}>
                  <td>#{j.id}</td>
                  <td>
                    <code>{j.kind}</code>
                    <div className="muted" style={{ fontSize: 12 }}>{j.key}</div>
                  </td>
                  <td>{j.attempts}</td>
                  <td style={{ fontSize: 13 }}>{j.lastError ?? '—'}</td>
                  <td>
                    <ReplayButton id={j.id} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section className="card">
        <h2>Recent jobs</h2>
        <table>
          <thead>
            <tr>
              <th>Job</th>
              <th>Kind / key</th>
              <th>State</th>
              <th>Attempts</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {recent.map((j) => (
              <tr key={j.id}>
                <td>#{j.id}</td>
                <td>
                  <code>{j.kind}</code>
                  <div className="muted" style={{ fontSize: 12 }}>{j.key}</div>
                </td>
                <td>
                  <span className={`badge ${j.state === 'done' ? 'ok' : j.state === 'dead' ? 'bad' : j.state === 'superseded' ? 'muted' : 'info'}`}>
                    {j.state}
                  </span>
                </td>
                <td>{j.attempts}</td>
                <td>{dateTime(j.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}
