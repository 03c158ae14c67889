/* The Stripe jobs worker from C against the loopback Stripe stub that the Rust driver
 * (bindings/c/tests/c_api.rs, `stripe_reconcile_from_c`) starts: argv[1] the database,
 * argv[2] the stub's base URL, argv[3] the API key, argv[4] a thin event (v2 notification)
 * about sub_c2, which the stub serves. The database holds one due stripe.reconcile job and
 * one crm.sync_customer job. */
#include "common.h"

int main(int argc, char **argv) {
  CHECK(argc == 5);
  const char *db = argv[1], *base = argv[2], *key = argv[3];
  tb_config *config = NULL;
  tb_engine *engine = NULL;
  CHECK_OK(tb_config_new(S(db), &config));
  CHECK_OK(tb_config_add_secret(config, S(SECRET)));
  CHECK_OK(tb_engine_open(config, &engine));
  tb_config_free(config);

  /* Keys and URLs of the wrong shape are refused before any request. */
  tb_reconcile_report r = {9, 9, 9, 9};
  CHECK_RC(tb_stripe_reconcile(engine, S("pk_test_publishable"), S(base), 10, 60, &r),
           TB_RESULT_CONFIG_INVALID);
  CHECK_RC(tb_stripe_reconcile(engine, S(key), S("http://example.com"), 10, 60, &r),
           TB_RESULT_CONFIG_INVALID);
  CHECK(r.claimed == 9);
  uint8_t msg[TB_ERROR_MESSAGE_MAX];
  size_t n = 0;
  CHECK_OK(tb_engine_last_error(engine, msg, sizeof msg - 1, &n));
  msg[n] = 0; /* the text is not NUL-terminated */
  CHECK(n > 0 && strstr((const char *)msg, key) == NULL);

  /* The job: fetched, applied, completed. */
  CHECK_OK(tb_stripe_reconcile(engine, S(key), S(base), 10, 60, &r));
  CHECK(r.claimed == 1 && r.completed == 1 && r.changed == 1 && r.failed == 0);
  CHECK_OK(tb_stripe_reconcile(engine, S(key), S(base), 10, 60, &r));
  CHECK(r.claimed == 0);

  /* A thin event through the trusted path (as from EventBridge): stored, one fetch job. */
  tb_handled *h = NULL;
  CHECK_OK(tb_engine_ingest_trusted(engine, S(argv[4]), T0 + 50, &h));
  CHECK(h->outcome == TB_OUTCOME_PROCESSED);
  CHECK(h->jobs_len == 1 && str_eq(h->jobs[0].kind, "stripe.fetch_event"));
  CHECK(str_eq(h->jobs[0].key, "evt_test_c_thin"));
  tb_handled_free(h);
  /* tb_stripe_reconcile leaves it; tb_stripe_work fetches the event, then sub_c2. */
  CHECK_OK(tb_stripe_reconcile(engine, S(key), S(base), 10, 60, &r));
  CHECK(r.claimed == 0);
  CHECK_OK(tb_stripe_work(engine, S(key), S(base), 10, 60, &r));
  CHECK(r.claimed == 1 && r.completed == 1 && r.changed == 1 && r.failed == 0);

  /* A CRM answered 429 with Retry-After: 90. */
  tb_job_batch *batch = NULL;
  CHECK_OK(tb_engine_job_claim(engine, S("crm.sync_customer"), 1, 60, T0 + 100, &batch));
  CHECK(batch->len == 1);
  tb_fail_outcome fo;
  CHECK_OK(tb_engine_job_fail_after(engine, batch->jobs[0].id, batch->jobs[0].lease_token,
                                    S("HubSpot 429"), 90, T0 + 101, &fo));
  CHECK(fo.state == TB_FAIL_STATE_SCHEDULED && fo.next_attempt_at == T0 + 191);
  tb_job_batch_free(batch);

  /* Connect: a connected account's checkout links its own user_42, never the platform's. */
  const char *conn =
      "{\"id\":\"evt_c_conn\",\"object\":\"event\",\"type\":\"checkout.session.completed\","
      "\"created\":1767000500,\"livemode\":false,\"account\":\"acct_1FromC\",\"data\":{\"object\":"
      "{\"id\":\"cs_c_conn\",\"object\":\"checkout.session\",\"customer\":\"cus_c_conn\","
      "\"client_reference_id\":\"user_42\",\"mode\":\"subscription\",\"status\":\"complete\","
      "\"payment_status\":\"paid\",\"subscription\":\"sub_c_conn\"}}}";
  CHECK_OK(tb_engine_ingest_trusted(engine, S(conn), T0 + 500, &h));
  CHECK(h->outcome == TB_OUTCOME_PROCESSED);
  tb_handled_free(h);
  tb_access *a = NULL;
  CHECK_OK(tb_engine_access_for_user_in(engine, S("acct_1FromC"), S("user_42"), T0 + 501, &a));
  CHECK(str_eq(a->customer_id, "cus_c_conn"));
  tb_access_free(a);
  CHECK_OK(tb_engine_access_for_user(engine, S("user_42"), T0 + 501, &a));
  CHECK(a->customer_id.len == 0 && a->state == TB_ACCESS_STATE_NONE);
  tb_access_free(a);

  /* An endpoint that takes no Connect events acknowledges them as ignored, with the reason. */
  tb_config *c2 = NULL;
  tb_engine *refusing = NULL;
  CHECK_OK(tb_config_new(S(":memory:"), &c2));
  CHECK_OK(tb_config_add_secret(c2, S(SECRET)));
  CHECK_OK(tb_config_set_accept_connect_events(c2, false));
  CHECK_OK(tb_engine_open(c2, &refusing));
  tb_config_free(c2);
  CHECK_OK(tb_engine_ingest_trusted(refusing, S(conn), T0 + 500, &h));
  CHECK(h->outcome == TB_OUTCOME_IGNORED && h->reason == TB_RESULT_CONNECT_EVENT_REFUSED);
  CHECK(h->jobs_len == 0);
  tb_handled_free(h);
  tb_engine_free(refusing);

  tb_engine_free(engine);
  printf("stripe: ok\n");
  return 0;
}
