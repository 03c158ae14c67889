import Link from 'next/link';

export default function Forbidden() {
  return (
    <section className="card state bad">
      <h1>403 — Forbidden</h1>
      <p>
        This page is for administrators. <Link prefetch={false} href="/dashboard">Back to your dashboard</Link>
      </p>
    </section>
  );
}
