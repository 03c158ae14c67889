import Link from 'next/link';

export default function NotFound() {
  return (
    <section className="card">
      <h1>404 — Page not found</h1>
      <p>
        <Link prefetch={false} href="/dashboard">Go to your dashboard</Link>
      </p>
    </section>
  );
}
