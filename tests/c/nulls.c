/* NULL for every pointer parameter of every function (tests/c_api.rs checks that every
 * function in the header appears in this file): each is TB_RESULT_NULL_PARAMETER, does no
 * work, and writes no out-parameter; every _free(NULL) is a no-op. */
#include "common.h"

#define NUL_RC(expr) CHECK_RC(expr, TB_RESULT_NULL_PARAMETER)

int main(void) {
  tb_engine *engine = open_engine(0);
  tb_config *config = NULL;
  CHECK_OK(tb_config_new(S(":memory:"), &config));
  uint8_t buf[TB_ERROR_MESSAGE_MAX];
  size_t n = 31337;
  const uint8_t *p = (const uint8_t *)"x";
  char obj[2048], body[4096];
  uint8_t header[TB_SIGNATURE_HEADER_MAX];
  subscription_json(obj, sizeof obj, "sub_n", "cus_n", "active", T0 + 2592000);
  event_body(body, sizeof body, "evt_n", "customer.subscription.created", T0, 0, obj);
  size_t hn = sign(body, SECRET, T0, header);

  /* Freeing NULL is a no-op. */
  tb_config_free(NULL);
  tb_engine_free(NULL);
  tb_handled_free(NULL);
  tb_snapshot_free(NULL);
  tb_access_free(NULL);
  tb_checkout_free(NULL);
  tb_invoice_list_free(NULL);
  tb_feature_list_free(NULL);
  tb_job_batch_free(NULL);
  tb_job_list_free(NULL);
  tb_string_free(NULL);

  /* Library-level functions. */
  CHECK(tb_version().ptr != NULL);
  CHECK(tb_result_http_status(0) == 200); /* takes no pointer: nothing to NULL */
  NUL_RC(tb_result_message(0, NULL, 10, &n));
  NUL_RC(tb_result_message(0, buf, sizeof buf, NULL));
  NUL_RC(tb_sign_test_payload(NULL, 0, S(SECRET), T0, buf, sizeof buf, &n));
  NUL_RC(tb_sign_test_payload(S(body), NULL, 0, T0, buf, sizeof buf, &n));
  NUL_RC(tb_sign_test_payload(S(body), S(SECRET), T0, NULL, 0, &n));
  NUL_RC(tb_sign_test_payload(S(body), S(SECRET), T0, buf, sizeof buf, NULL));
  CHECK(n == 31337);

  /* Config. */
  tb_config *cfg_out = NULL;
  NUL_RC(tb_config_new(NULL, 0, &cfg_out));
  NUL_RC(tb_config_new(S(":memory:"), NULL));
  CHECK(cfg_out == NULL);
  NUL_RC(tb_config_add_secret(NULL, S(SECRET)));
  NUL_RC(tb_config_add_secret(config, NULL, 0));
  NUL_RC(tb_config_set_tolerance(NULL, 300));
  NUL_RC(tb_config_set_max_body_bytes(NULL, 1024));
  NUL_RC(tb_config_set_past_due_grace(NULL, 0));
  NUL_RC(tb_config_set_accept_connect_events(NULL, true));
  NUL_RC(tb_config_set_purchase_grants(NULL, S("price_1")));
  NUL_RC(tb_config_set_purchase_grants(config, NULL, 0));
  NUL_RC(tb_config_set_livemode(NULL, TB_LIVEMODE_ANY));
  NUL_RC(tb_config_set_max_attempts(NULL, 3));
  NUL_RC(tb_config_set_busy_timeout_ms(NULL, 2000));
  NUL_RC(tb_config_last_error(NULL, buf, sizeof buf, &n));
  NUL_RC(tb_config_last_error(config, NULL, 0, &n));
  NUL_RC(tb_config_last_error(config, buf, sizeof buf, NULL));
  CHECK(n == 31337);

  /* Engine lifecycle. */
  CHECK_OK(tb_config_add_secret(config, S(SECRET)));
  tb_engine *eng_out = NULL;
  NUL_RC(tb_engine_open(NULL, &eng_out));
  NUL_RC(tb_engine_open(config, NULL));
  CHECK(eng_out == NULL);
  NUL_RC(tb_engine_close(NULL));
  NUL_RC(tb_engine_last_error(NULL, buf, sizeof buf, &n));
  NUL_RC(tb_engine_last_error(engine, NULL, 0, &n));
  NUL_RC(tb_engine_last_error(engine, buf, sizeof buf, NULL));
  CHECK(n == 31337);

  /* Webhook: a NULL out-parameter means the delivery is not processed at all. */
  tb_handled *h = NULL;
  NUL_RC(tb_engine_handle_webhook(NULL, S(body), header, hn, T0, &h));
  NUL_RC(tb_engine_handle_webhook(engine, NULL, 5, header, hn, T0, &h));
  NUL_RC(tb_engine_handle_webhook(engine, S(body), NULL, 5, T0, &h));
  NUL_RC(tb_engine_handle_webhook(engine, S(body), header, hn, T0, NULL));
  CHECK(h == NULL);
  CHECK_OK(tb_engine_handle_webhook(engine, S(body), header, hn, T0, &h));
  CHECK(h->outcome == TB_OUTCOME_PROCESSED); /* not DUPLICATE: nothing was stored before */
  tb_handled_free(h);

  /* Trusted intake (NULL with length 0 is an empty body, not a NULL parameter). */
  h = NULL;
  NUL_RC(tb_engine_ingest_trusted(NULL, S(body), T0, &h));
  NUL_RC(tb_engine_ingest_trusted(engine, NULL, 5, T0, &h));
  NUL_RC(tb_engine_ingest_trusted(engine, S(body), T0, NULL));
  CHECK(h == NULL);

  /* The reconcile path. */
  tb_snapshot *snap = NULL;
  NUL_RC(tb_engine_apply_snapshot(NULL, S(obj), T0, &snap));
  NUL_RC(tb_engine_apply_snapshot(engine, NULL, 0, T0, &snap));
  NUL_RC(tb_engine_apply_snapshot(engine, S(obj), T0, NULL));
  CHECK(snap == NULL);

  /* Reads. */
  tb_access *a = NULL;
  NUL_RC(tb_engine_access(NULL, S("cus_n"), T0, &a));
  NUL_RC(tb_engine_access(engine, NULL, 0, T0, &a));
  NUL_RC(tb_engine_access(engine, S("cus_n"), T0, NULL));
  NUL_RC(tb_engine_access_for_user(NULL, S("u"), T0, &a));
  NUL_RC(tb_engine_access_for_user_in(NULL, S("acct_1"), S("u"), T0, &a));
  NUL_RC(tb_engine_access_for_user_in(engine, NULL, 0, S("u"), T0, &a));
  NUL_RC(tb_engine_access_for_user_in(engine, S("acct_1"), NULL, 0, T0, &a));
  NUL_RC(tb_engine_access_for_user_in(engine, S("acct_1"), S("u"), T0, NULL));
  NUL_RC(tb_engine_access_for_user(engine, NULL, 0, T0, &a));
  NUL_RC(tb_engine_access_for_user(engine, S("u"), T0, NULL));
  CHECK(a == NULL);
  tb_checkout *c = NULL;
  NUL_RC(tb_engine_checkout_status(NULL, S("cs"), &c));
  NUL_RC(tb_engine_checkout_status(engine, NULL, 0, &c));
  NUL_RC(tb_engine_checkout_status(engine, S("cs"), NULL));
  CHECK(c == NULL);
  tb_invoice_list *inv = NULL;
  NUL_RC(tb_engine_invoices(NULL, S("cus_n"), &inv));
  NUL_RC(tb_engine_invoices(engine, NULL, 0, &inv));
  NUL_RC(tb_engine_invoices(engine, S("cus_n"), NULL));
  CHECK(inv == NULL);
  tb_feature_list *fl = NULL;
  NUL_RC(tb_engine_features(NULL, S("cus_n"), &fl));
  NUL_RC(tb_engine_features(engine, NULL, 0, &fl));
  NUL_RC(tb_engine_features(engine, S("cus_n"), NULL));
  CHECK(fl == NULL);
  bool has = true;
  NUL_RC(tb_engine_has_feature(NULL, S("cus_n"), S("sso"), &has));
  NUL_RC(tb_engine_has_feature(engine, NULL, 0, S("sso"), &has));
  NUL_RC(tb_engine_has_feature(engine, S("cus_n"), NULL, 0, &has));
  NUL_RC(tb_engine_has_feature(engine, S("cus_n"), S("sso"), NULL));
  CHECK(has);

  /* Jobs: a NULL out-parameter on claim leases nothing. */
  tb_job_batch *batch = NULL;
  NUL_RC(tb_engine_job_claim(NULL, p, 0, 10, 30, T0, &batch));
  NUL_RC(tb_engine_job_claim(engine, NULL, 0, 10, 30, T0, &batch));
  NUL_RC(tb_engine_job_claim(engine, p, 0, 10, 30, T0, NULL));
  CHECK(batch == NULL);
  CHECK_OK(tb_engine_job_claim(engine, p, 0, 10, 30, T0 + 1, &batch));
  CHECK(batch->len >= 1 && batch->jobs[0].attempt == 1);
  const tb_claimed_job *job = &batch->jobs[0];
  NUL_RC(tb_engine_job_complete(NULL, job->id, job->lease_token, T0 + 2));
  tb_fail_outcome fo = {42, 42, 42};
  NUL_RC(tb_engine_job_fail(NULL, job->id, job->lease_token, S("e"), T0 + 2, &fo));
  NUL_RC(tb_engine_job_fail(engine, job->id, job->lease_token, NULL, 0, T0 + 2, &fo));
  NUL_RC(tb_engine_job_fail(engine, job->id, job->lease_token, S("e"), T0 + 2, NULL));
  CHECK(fo.state == 42);
  NUL_RC(tb_engine_job_fail_after(NULL, job->id, job->lease_token, S("e"), 5, T0 + 2, &fo));
  NUL_RC(tb_engine_job_fail_after(engine, job->id, job->lease_token, NULL, 0, 5, T0 + 2, &fo));
  NUL_RC(tb_engine_job_fail_after(engine, job->id, job->lease_token, S("e"), 5, T0 + 2, NULL));
  CHECK(fo.state == 42);
  tb_reconcile_report rr = {42, 42, 42, 42};
  NUL_RC(tb_stripe_reconcile(NULL, S("sk_test_x"), S(""), 10, 30, &rr));
  NUL_RC(tb_stripe_reconcile(engine, NULL, 0, S(""), 10, 30, &rr));
  NUL_RC(tb_stripe_reconcile(engine, S("sk_test_x"), NULL, 0, 10, 30, &rr));
  NUL_RC(tb_stripe_reconcile(engine, S("sk_test_x"), S(""), 10, 30, NULL));
  NUL_RC(tb_stripe_work(NULL, S("sk_test_x"), S(""), 10, 30, &rr));
  NUL_RC(tb_stripe_work(engine, NULL, 0, S(""), 10, 30, &rr));
  NUL_RC(tb_stripe_work(engine, S("sk_test_x"), NULL, 0, 10, 30, &rr));
  NUL_RC(tb_stripe_work(engine, S("sk_test_x"), S(""), 10, 30, NULL));
  CHECK(rr.claimed == 42);
  CHECK_OK(tb_engine_job_complete(engine, job->id, job->lease_token, T0 + 2));
  tb_job_batch_free(batch);
  tb_job_list *dead = NULL;
  NUL_RC(tb_engine_dead_jobs(NULL, &dead));
  NUL_RC(tb_engine_dead_jobs(engine, NULL));
  CHECK(dead == NULL);
  int64_t replayed = 42;
  NUL_RC(tb_engine_job_replay(NULL, 1, T0, &replayed));
  NUL_RC(tb_engine_job_replay(engine, 1, T0, NULL));
  CHECK(replayed == 42);

  /* Maintenance. */
  tb_pruned pruned = {0};
  uint64_t applied = 7, still = 7;
  NUL_RC(tb_engine_prune(NULL, 0, 0, 0, 0, T0, &pruned));
  NUL_RC(tb_engine_prune(engine, 0, 0, 0, 0, T0, NULL));
  NUL_RC(tb_engine_backup(NULL, S("x.db")));
  NUL_RC(tb_engine_backup(engine, NULL, 4));
  NUL_RC(tb_engine_reprocess_quarantined(NULL, T0, &applied, &still));
  NUL_RC(tb_engine_reprocess_quarantined(engine, T0, NULL, &still));
  NUL_RC(tb_engine_reprocess_quarantined(engine, T0, &applied, NULL));
  CHECK(applied == 7 && still == 7);

  /* Observability. */
  tb_string *s = NULL;
  NUL_RC(tb_engine_metrics_json(NULL, T0, &s));
  NUL_RC(tb_engine_metrics_json(engine, T0, NULL));
  NUL_RC(tb_engine_prometheus(NULL, T0, &s));
  NUL_RC(tb_engine_prometheus(engine, T0, NULL));
  NUL_RC(tb_engine_health_json(NULL, T0, &s));
  NUL_RC(tb_engine_health_json(engine, T0, NULL));
  CHECK(s == NULL);

  /* No failure above reached the engine, so none was recorded. */
  CHECK_OK(tb_engine_last_error(engine, buf, sizeof buf, &n));
  CHECK(n == 0);

  /* A request's own emptiness (no body, no header) is the request's fault (4xx), not a
     NULL-pointer bug in the host. */
  h = NULL;
  CHECK_RC(tb_engine_handle_webhook(engine, NULL, 0, header, hn, T0, &h),
           TB_RESULT_SIGNATURE_MISMATCH);
  CHECK_RC(tb_engine_handle_webhook(engine, S(body), NULL, 0, T0, &h),
           TB_RESULT_SIGNATURE_HEADER_MISSING);
  CHECK(h == NULL);

  tb_config_free(config);
  tb_engine_free(engine);
  printf("nulls: ok\n");
  return 0;
}
