
export default function NotFound() {
  return (
    <section className="card">
      <h1>404 — Page not found</h1>
      <p>
        <a href="/dashboard">Go to your dashboard</a>
      </p>
    </section>
  );
}
