#include <stdio.h>
#include <string.h>
#include "tollbooth.h"

#define S(x) (const uint8_t *)(x), strlen(x)

static int fail(tb_result rc, const tb_engine *engine) {
  uint8_t msg[TB_ERROR_MESSAGE_MAX];
  size_t n = 0;
  if (engine == NULL || tb_engine_last_error(engine, msg, sizeof msg, &n) != TB_RESULT_OK)
    tb_result_message(rc, msg, sizeof msg, &n);
  fprintf(stderr, "tollbooth error %u: %.*s\n", (unsigned)rc, (int)n, (const char *)msg);
  return 1;
}

int main(void) {
  const char *secret = "whsec_example";
  tb_config *config = NULL;
  tb_engine *engine = NULL;
  tb_result rc = tb_config_new(S(":memory:"), &config); /* or a file path */
  if (rc == TB_RESULT_OK) rc = tb_config_add_secret(config, S(secret));
  if (rc == TB_RESULT_OK) rc = tb_engine_open(config, &engine);
  tb_config_free(config); /* the engine keeps a copy */
  if (rc != TB_RESULT_OK) return fail(rc, NULL);

  /* In a real endpoint: the raw request body and the Stripe-Signature header value. */
  const char *body =
      "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"customer.subscription.created\","
      "\"created\":1767000000,\"livemode\":false,\"data\":{\"object\":{\"id\":\"sub_1\","
      "\"object\":\"subscription\",\"customer\":\"cus_1\",\"status\":\"active\","
      "\"current_period_end\":1769592000,\"items\":{\"data\":[{\"price\":{\"id\":\"price_pro\","
      "\"product\":\"prod_pro\"}}]}}}}";
  uint8_t sig[TB_SIGNATURE_HEADER_MAX];
  size_t sig_len = 0;
  rc = tb_sign_test_payload(S(body), S(secret), 1767000000, sig, sizeof sig, &sig_len);
  if (rc != TB_RESULT_OK) return fail(rc, engine); /* tests only: Stripe signs for real */

  tb_handled *handled = NULL;
  rc = tb_engine_handle_webhook(engine, S(body), sig, sig_len, 1767000001, &handled);
  if (rc != TB_RESULT_OK) return fail(rc, engine); /* 100-299: answer 400, else 500 */
  printf("%.*s: outcome %u, %zu job(s)\n", (int)handled->event_id.len,
         (const char *)handled->event_id.ptr, (unsigned)handled->outcome, handled->jobs_len);
  tb_handled_free(handled); /* its tb_str views die with it */

  tb_access *access = NULL;
  if ((rc = tb_engine_access(engine, S("cus_1"), TB_NOW, &access)) != TB_RESULT_OK)
    return fail(rc, engine);
  printf("has_access=%d: %.*s\n", access->has_access, (int)access->reason.len,
         (const char *)access->reason.ptr);
  tb_access_free(access);

  /* A worker: claim due jobs, do the side effect, complete (or tb_engine_job_fail). */
  tb_job_batch *batch = NULL;
  if ((rc = tb_engine_job_claim(engine, S(""), 10, 60, TB_NOW, &batch)) != TB_RESULT_OK)
    return fail(rc, engine);
  for (size_t i = 0; i < batch->len; i++) {
    const tb_claimed_job *job = &batch->jobs[i];
    printf("job %lld %.*s\n", (long long)job->id, (int)job->kind.len, (const char *)job->kind.ptr);
    rc = tb_engine_job_complete(engine, job->id, job->lease_token, TB_NOW);
    if (rc != TB_RESULT_OK) return fail(rc, engine);
  }
  tb_job_batch_free(batch);
  tb_engine_free(engine);
  return 0;
}
