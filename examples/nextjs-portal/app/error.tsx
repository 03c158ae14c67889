'use client';

// Shown for a server error while rendering. Next.js sends only a digest to the browser, never
// the server-side message, so nothing secret can appear here.
export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <section className="card state bad">
      <h1>Something went wrong</h1>
      <p>Please try again. If it keeps happening, contact support{error.digest ? ` (reference ${error.digest})` : ''}.</p>
      <button type="button" className="primary" onClick={reset}>
        Try again
      </button>
    </section>
  );
}
