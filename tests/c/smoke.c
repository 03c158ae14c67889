/* The happy path a webhook endpoint and a worker take, signed in C:
 * checkout.session.completed + customer.subscription.created + invoice.paid -> access ->
 * claim / complete / fail / dead-letter / replay, plus checkout status, invoices, metrics. */
#include "common.h"

#ifndef TB_EXPECTED_VERSION
#error "compile with -DTB_EXPECTED_VERSION=\"x.y.z\" (the Cargo.toml version)"
#endif

static void check_version(void) {
  tb_str v = tb_version();
  CHECK(str_eq(v, TB_EXPECTED_VERSION));
  CHECK(v.ptr[v.len] == '\0'); /* documented convenience */
}

static void deliver_history(const tb_engine *engine) {
  char obj[2048], body[4096];
  tb_handled *h = NULL;

  checkout_json(obj, sizeof obj, "cs_1", "cus_1", "user_1", "sub_1");
  event_body(body, sizeof body, "evt_cs", "checkout.session.completed", T0, 0, obj);
  CHECK_OK(deliver(engine, body, T0, &h));
  CHECK(h->outcome == TB_OUTCOME_PROCESSED);
  CHECK(str_eq(h->event_id, "evt_cs"));
  CHECK(str_eq(h->event_type, "checkout.session.completed"));
  CHECK(str_eq(h->customer_id, "cus_1"));
  tb_handled_free(h);

  subscription_json(obj, sizeof obj, "sub_1", "cus_1", "active", T0 + 2592000);
  event_body(body, sizeof body, "evt_sc", "customer.subscription.created", T0 + 2, 0, obj);
  h = NULL;
  CHECK_OK(deliver(engine, body, T0 + 2, &h));
  CHECK(h->outcome == TB_OUTCOME_PROCESSED);
  CHECK(str_eq(h->customer_id, "cus_1"));
  CHECK(h->jobs_len >= 1 && h->jobs != NULL);
  int crm = 0;
  for (size_t i = 0; i < h->jobs_len; i++) {
    CHECK(h->jobs[i].id > 0);
    CHECK(h->jobs[i].key.len > 0);
    if (str_eq(h->jobs[i].kind, "crm.sync_customer")) crm = 1;
  }
  CHECK(crm);
  tb_handled_free(h);

  invoice_json(obj, sizeof obj, "in_1", "cus_1", "sub_1", T0 + 2);
  event_body(body, sizeof body, "evt_ip", "invoice.paid", T0 + 3, 0, obj);
  h = NULL;
  CHECK_OK(deliver(engine, body, T0 + 3, &h));
  CHECK(h->outcome == TB_OUTCOME_PROCESSED);
  tb_handled_free(h);

  /* Stripe delivers at least once: the same event again changes nothing. */
  h = NULL;
  CHECK_OK(deliver(engine, body, T0 + 3, &h));
  CHECK(h->outcome == TB_OUTCOME_DUPLICATE);
  CHECK(h->jobs_len == 0 && h->jobs == NULL);
  tb_handled_free(h);

  /* A type tollbooth does not act on is stored and acknowledged. */
  event_body(body, sizeof body, "evt_other", "balance.available", T0 + 4, 0,
             "{\"object\":\"balance\",\"available\":[]}");
  h = NULL;
  CHECK_OK(deliver(engine, body, T0 + 4, &h));
  CHECK(h->outcome == TB_OUTCOME_IGNORED);
  CHECK(h->customer_id.ptr == NULL && h->customer_id.len == 0);
  tb_handled_free(h);
}

static void check_portal(const tb_engine *engine) {
  tb_access *a = NULL;
  CHECK_OK(tb_engine_access(engine, S("cus_1"), T0 + 10, &a));
  CHECK(a->has_access);
  CHECK(a->state == TB_ACCESS_STATE_ACTIVE);
  CHECK(str_eq(a->customer_id, "cus_1"));
  CHECK(str_eq(a->user_id, "user_1"));
  CHECK(str_eq(a->subscription_id, "sub_1"));
  CHECK(str_eq(a->price_id, "price_pro"));
  CHECK(str_eq(a->product_id, "prod_pro"));
  CHECK(a->has_current_period_end && a->current_period_end == T0 + 2592000);
  CHECK(!a->cancel_at_period_end);
  CHECK(a->reason.len > 0);
  tb_access_free(a);

  a = NULL;
  CHECK_OK(tb_engine_access_for_user(engine, S("user_1"), TB_NOW, &a));
  CHECK(str_eq(a->customer_id, "cus_1"));
  tb_access_free(a);

  a = NULL;
  CHECK_OK(tb_engine_access(engine, S("cus_unknown"), T0, &a));
  CHECK(!a->has_access && a->state == TB_ACCESS_STATE_NONE);
  CHECK(!a->has_current_period_end);
  tb_access_free(a);

  tb_checkout *c = NULL;
  CHECK_OK(tb_engine_checkout_status(engine, S("cs_1"), &c));
  CHECK(c->state == TB_CHECKOUT_STATE_COMPLETE);
  CHECK(str_eq(c->session_id, "cs_1"));
  CHECK(str_eq(c->user_id, "user_1"));
  CHECK(str_eq(c->subscription_id, "sub_1"));
  tb_checkout_free(c);
  c = NULL;
  CHECK_OK(tb_engine_checkout_status(engine, S("cs_never_seen"), &c));
  CHECK(c->state == TB_CHECKOUT_STATE_PENDING && c->customer_id.ptr == NULL);
  tb_checkout_free(c);

  tb_invoice_list *inv = NULL;
  CHECK_OK(tb_engine_invoices(engine, S("cus_1"), &inv));
  CHECK(inv->len == 1);
  CHECK(str_eq(inv->items[0].id, "in_1"));
  CHECK(str_eq(inv->items[0].status, "paid"));
  CHECK(str_eq(inv->items[0].subscription_id, "sub_1"));
  CHECK(str_eq(inv->items[0].currency, "usd"));
  CHECK(inv->items[0].amount_paid == 2900 && inv->items[0].amount_remaining == 0);
  CHECK(!inv->items[0].has_next_payment_attempt);
  tb_invoice_list_free(inv);
  inv = NULL;
  CHECK_OK(tb_engine_invoices(engine, S("cus_none"), &inv));
  CHECK(inv->len == 0 && inv->items == NULL);
  tb_invoice_list_free(inv);
}

/* Claims every due job, fails the first one twice (max_attempts 2: scheduled, then dead),
 * completes the rest, replays the dead one and completes it. */
static void run_worker(const tb_engine *engine) {
  const int64_t now = T0 + 100;
  tb_job_batch *batch = NULL;
  CHECK_OK(tb_engine_job_claim(engine, S(""), 100, 30, now, &batch));
  CHECK(batch->len >= 1);
  const tb_claimed_job *first = &batch->jobs[0];
  const int64_t failing = first->id;
  CHECK(first->attempt == 1 && first->lease_until == now + 30);
  CHECK(first->payload.len > 1 && first->payload.ptr[0] == '{');

  tb_fail_outcome fo = {99, -1, -1};
  CHECK_OK(tb_engine_job_fail(engine, first->id, first->lease_token, S("CRM said 503"), now, &fo));
  CHECK(fo.state == TB_FAIL_STATE_SCHEDULED);
  CHECK(fo.next_attempt_at > now && fo.superseded_by == 0);
  const int64_t retry_at = fo.next_attempt_at;
  for (size_t i = 1; i < batch->len; i++) {
    CHECK_OK(tb_engine_job_complete(engine, batch->jobs[i].id, batch->jobs[i].lease_token, now));
  }
  /* The failed lease is over: completing it now is LEASE_LOST. */
  CHECK_RC(tb_engine_job_complete(engine, first->id, first->lease_token, now),
           TB_RESULT_LEASE_LOST);
  tb_job_batch_free(batch);

  /* Nothing is due before the retry time. */
  batch = NULL;
  CHECK_OK(tb_engine_job_claim(engine, S("crm.sync_customer, support.open_ticket"), 100, 30, now + 1,
                               &batch));
  CHECK(batch->len == 0 && batch->jobs == NULL);
  tb_job_batch_free(batch);

  /* At the retry time it comes back as attempt 2; failing it again dead-letters it. */
  batch = NULL;
  CHECK_OK(tb_engine_job_claim(engine, S(""), 100, 30, retry_at, &batch));
  CHECK(batch->len == 1 && batch->jobs[0].id == failing && batch->jobs[0].attempt == 2);
  CHECK_OK(tb_engine_job_fail(engine, failing, batch->jobs[0].lease_token, S("still down"),
                              retry_at, &fo));
  CHECK(fo.state == TB_FAIL_STATE_DEAD);
  tb_job_batch_free(batch);

  tb_job_list *dead = NULL;
  CHECK_OK(tb_engine_dead_jobs(engine, &dead));
  CHECK(dead->len == 1 && dead->jobs[0].id == failing);
  CHECK(dead->jobs[0].state == TB_JOB_STATE_DEAD && dead->jobs[0].attempts == 2);
  CHECK(str_eq(dead->jobs[0].last_error, "still down"));
  CHECK(dead->jobs[0].payload.len > 1 && dead->jobs[0].payload.ptr[0] == '{');
  tb_job_list_free(dead);

  int64_t replayed = -1;
  CHECK_OK(tb_engine_job_replay(engine, failing, retry_at + 1, &replayed));
  CHECK(replayed > 0);
  batch = NULL;
  CHECK_OK(tb_engine_job_claim(engine, S(""), 100, 30, retry_at + 2, &batch));
  CHECK(batch->len == 1 && batch->jobs[0].id == replayed);
  CHECK_OK(tb_engine_job_complete(engine, replayed, batch->jobs[0].lease_token, retry_at + 3));
  tb_job_batch_free(batch);

  dead = NULL;
  CHECK_OK(tb_engine_dead_jobs(engine, &dead));
  CHECK(dead->len == 0);
  tb_job_list_free(dead);
}

static void check_observability(const tb_engine *engine) {
  tb_string *s = NULL;
  CHECK_OK(tb_engine_metrics_json(engine, T0 + 200, &s));
  CHECK(s->len > 2 && s->ptr[0] == '{' && contains(s->ptr, s->len, "processed"));
  tb_string_free(s);
  s = NULL;
  CHECK_OK(tb_engine_prometheus(engine, T0 + 200, &s));
  CHECK(contains(s->ptr, s->len, "# TYPE tollbooth_"));
  tb_string_free(s);
  s = NULL;
  CHECK_OK(tb_engine_health_json(engine, TB_NOW, &s));
  CHECK(s->ptr[0] == '{' && contains(s->ptr, s->len, "\"ok\""));
  tb_string_free(s);
}

/* The reconcile path: an authoritative API snapshot replaces the row; an event created
 * before the fetch can no longer overwrite it; an unsupported object is a clear code. */
static void check_snapshot(const tb_engine *engine) {
  char obj[2048];
  subscription_json(obj, sizeof obj, "sub_1", "cus_1", "past_due", T0 + 2592000);
  tb_snapshot *snap = NULL;
  CHECK_OK(tb_engine_apply_snapshot(engine, S(obj), T0 + 20, &snap));
  CHECK(snap->changed);
  CHECK(str_eq(snap->object_type, "subscription"));
  CHECK(str_eq(snap->object_id, "sub_1"));
  CHECK(str_eq(snap->customer_id, "cus_1"));
  tb_snapshot_free(snap);
  tb_access *a = NULL;
  CHECK_OK(tb_engine_access(engine, S("cus_1"), T0 + 21, &a));
  CHECK(a->state == TB_ACCESS_STATE_PAST_DUE && !a->has_access);
  tb_access_free(a);
  snap = NULL;
  CHECK_RC(tb_engine_apply_snapshot(engine, S("{\"object\":\"balance\",\"id\":\"x\"}"), T0, &snap),
           TB_RESULT_SNAPSHOT_UNSUPPORTED);
  CHECK(snap == NULL);
}

/* Keeping the store bounded: prune far in the future leaves billing state, a quarantined
   event is replayed once it reads, and a backup taken while the engine is open is a store
   that answers the same. */
static void check_maintenance(tb_engine *engine) {
  tb_access *before = NULL;
  CHECK_OK(tb_engine_access(engine, S("cus_1"), T0 + 10, &before));
  tb_pruned p = {0};
  CHECK_RC(tb_engine_prune(engine, 0, 7, 0, 0, T0, &p), TB_RESULT_CONFIG_INVALID);
  CHECK_OK(tb_engine_prune(engine, 0, 0, 0, 0, T0 + 400 * 86400LL, &p));
  CHECK(p.events > 0 && p.deliveries > 0);
  tb_access *after = NULL;
  CHECK_OK(tb_engine_access(engine, S("cus_1"), T0 + 10, &after));
  CHECK(after->has_access == before->has_access && after->state == before->state);
  tb_access_free(after);
  uint64_t applied = 9, still = 9;
  CHECK_OK(tb_engine_reprocess_quarantined(engine, T0, &applied, &still));
  CHECK(applied == 0 && still == 0);
  if (getenv("TB_DATABASE") != NULL) {
    /* PostgreSQL is backed up with pg_dump: the engine says so with a code. */
    CHECK_RC(tb_engine_backup(engine, S("/tmp/unused.db")), TB_RESULT_CONFIG_INVALID);
    tb_access_free(before);
    return;
  }
  char path[128];
  snprintf(path, sizeof path, "/tmp/tollbooth-smoke-backup-%p.db", (void *)&path);
  remove(path);
  CHECK_OK(tb_engine_backup(engine, (const uint8_t *)path, strlen(path)));
  tb_config *config = NULL;
  CHECK_OK(tb_config_new((const uint8_t *)path, strlen(path), &config));
  CHECK_OK(tb_config_add_secret(config, S(SECRET)));
  tb_engine *copy = NULL;
  CHECK_OK(tb_engine_open(config, &copy));
  tb_config_free(config);
  tb_access *restored = NULL;
  CHECK_OK(tb_engine_access(copy, S("cus_1"), T0 + 10, &restored));
  CHECK(restored->has_access == before->has_access && restored->state == before->state);
  tb_access_free(restored);
  tb_access_free(before);
  CHECK_OK(tb_engine_close(copy));
  tb_engine_free(copy);
  remove(path);
  char wal[160];
  snprintf(wal, sizeof wal, "%s-wal", path);
  remove(wal);
  snprintf(wal, sizeof wal, "%s-shm", path);
  remove(wal);
}

int main(void) {
  check_version();
  tb_engine *engine = open_engine(2);
  deliver_history(engine);
  check_portal(engine);
  run_worker(engine);
  check_observability(engine);
  check_snapshot(engine);
  check_maintenance(engine);
  CHECK_OK(tb_engine_close(engine));
  tb_engine_free(engine);
  printf("smoke: ok\n");
  return 0;
}
