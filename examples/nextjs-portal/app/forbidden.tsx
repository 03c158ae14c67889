
export default function Forbidden() {
  return (
    <section className="card state bad">
      <h1>403 — Forbidden</h1>
      <p>
        This page is for administrators. <a href="/dashboard">Back to your dashboard</a>
      </p>
    </section>
  );
}
