/* Every error path reachable from C, NULL for every pointer parameter of every function,
 * invalid UTF-8 for every string input, buffers too small, and "out-parameters are written
 * only on TB_RESULT_OK". */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>

#include "common.h"

static const uint8_t BAD_UTF8[] = {'c', 'u', 's', 0xff, 0xfe};
#define BAD BAD_UTF8, sizeof BAD_UTF8

/* Sentinels: an out-parameter still holding one was not written. */
#define POISON ((void *)&poison_target)
static int poison_target;

static void check_config_errors(void) {
  tb_config *config = POISON;
  CHECK_RC(tb_config_new(BAD, &config), TB_RESULT_INVALID_UTF8);
  CHECK(config == POISON);
  config = NULL;
  CHECK_OK(tb_config_new(S(":memory:"), &config));

  size_t n = 12345;
  uint8_t buf[TB_ERROR_MESSAGE_MAX];
  CHECK_OK(tb_config_last_error(config, buf, sizeof buf, &n));
  CHECK(n == 0);

  CHECK_RC(tb_config_set_livemode(config, 3), TB_RESULT_INVALID_ARGUMENT);
  CHECK_RC(tb_config_add_secret(config, S("")), TB_RESULT_SECRET_INVALID);
  CHECK_RC(tb_config_add_secret(config, BAD), TB_RESULT_INVALID_UTF8);

  /* No secret yet. */
  tb_engine *engine = POISON;
  CHECK_RC(tb_engine_open(config, &engine), TB_RESULT_CONFIG_INVALID);
  CHECK(engine == POISON);
  CHECK_OK(tb_config_last_error(config, buf, sizeof buf, &n));
  CHECK(contains(buf, n, "CONFIG_INVALID") && contains(buf, n, "secret"));
  n = 777;
  CHECK_RC(tb_config_last_error(config, buf, 3, &n), TB_RESULT_BUFFER_TOO_SMALL);
  CHECK(n == 777);

  CHECK_OK(tb_config_add_secret(config, S(SECRET)));
  CHECK_OK(tb_config_set_tolerance(config, 0));
  CHECK_RC(tb_engine_open(config, &engine), TB_RESULT_CONFIG_INVALID);
  CHECK_OK(tb_config_last_error(config, buf, sizeof buf, &n));
  CHECK(contains(buf, n, "tolerance"));
  CHECK(!contains(buf, n, SECRET));
  CHECK_OK(tb_config_set_tolerance(config, 300));
  CHECK_OK(tb_config_set_past_due_grace(config, -1));
  CHECK_RC(tb_engine_open(config, &engine), TB_RESULT_CONFIG_INVALID);
  CHECK_OK(tb_config_set_past_due_grace(config, 0));
  CHECK_OK(tb_config_set_max_attempts(config, 0));
  CHECK_RC(tb_engine_open(config, &engine), TB_RESULT_CONFIG_INVALID);
  CHECK_OK(tb_config_set_max_attempts(config, 5));
  CHECK_OK(tb_config_set_max_body_bytes(config, 0));
  CHECK_RC(tb_engine_open(config, &engine), TB_RESULT_CONFIG_INVALID);
  CHECK(engine == POISON);
  tb_config_free(config);

  /* A database in a directory that does not exist. */
  config = NULL;
  CHECK_OK(tb_config_new(S("/nonexistent-tollbooth-dir/sub/tb.db"), &config));
  CHECK_OK(tb_config_add_secret(config, S(SECRET)));
  CHECK_RC(tb_engine_open(config, &engine), TB_RESULT_STORE_OPEN_FAILED);
  CHECK(engine == POISON);
  CHECK_OK(tb_config_last_error(config, buf, sizeof buf, &n));
  CHECK(contains(buf, n, "STORE_OPEN_FAILED"));
  tb_config_free(config);
}

/* A file database written by "a newer tollbooth" (PRAGMA user_version patched in the file
 * header, big-endian at offset 60), and a file that is not a database at all. */
static void check_store_files(void) {
  char dir[] = "/tmp/tollbooth-c-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[256];
  CHECK(snprintf(path, sizeof path, "%s/tb.db", dir) < (int)sizeof path);

  tb_config *config = NULL;
  tb_engine *engine = NULL;
  CHECK_OK(tb_config_new(S(path), &config));
  CHECK_OK(tb_config_add_secret(config, S(SECRET)));
  CHECK_OK(tb_engine_open(config, &engine));
  tb_engine_free(engine); /* closes: checkpoints and removes the WAL */

  FILE *f = fopen(path, "r+b");
  CHECK(f != NULL);
  const unsigned char future[4] = {0x00, 0x00, 0x27, 0x0f}; /* 9999 */
  CHECK(fseek(f, 60, SEEK_SET) == 0);
  CHECK(fwrite(future, 1, 4, f) == 4);
  CHECK(fclose(f) == 0);
  engine = POISON;
  CHECK_RC(tb_engine_open(config, &engine), TB_RESULT_STORE_SCHEMA_TOO_NEW);
  CHECK(engine == POISON);
  tb_config_free(config);

  char junk_path[256];
  CHECK(snprintf(junk_path, sizeof junk_path, "%s/junk.db", dir) < (int)sizeof junk_path);
  f = fopen(junk_path, "wb");
  CHECK(f != NULL);
  for (int i = 0; i < 64; i++) CHECK(fputs("this is not an sqlite database file. ", f) >= 0);
  CHECK(fclose(f) == 0);
  config = NULL;
  CHECK_OK(tb_config_new(S(junk_path), &config));
  CHECK_OK(tb_config_add_secret(config, S(SECRET)));
  CHECK_RC(tb_engine_open(config, &engine), TB_RESULT_STORE_CORRUPT);
  tb_config_free(config);

  const char *suffixes[] = {"", "-wal", "-shm"};
  for (size_t i = 0; i < 3; i++) {
    char p[300];
    snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
    unlink(p);
    snprintf(p, sizeof p, "%s%s", junk_path, suffixes[i]);
    unlink(p);
  }
  CHECK(rmdir(dir) == 0);
}

static void check_webhook_errors(void) {
  tb_engine *engine = open_engine(0);
  char obj[2048], body[4096], err[TB_ERROR_MESSAGE_MAX + 1];
  uint8_t header[TB_SIGNATURE_HEADER_MAX];
  tb_handled *h = POISON;
  subscription_json(obj, sizeof obj, "sub_e", "cus_e", "active", T0 + 2592000);
  event_body(body, sizeof body, "evt_e", "customer.subscription.created", T0, 0, obj);

  /* Signed with another secret. The message says what failed, never with which secret. */
  size_t n = sign(body, "whsec_someone_else", T0, header);
  CHECK_RC(tb_engine_handle_webhook(engine, S(body), header, n, T0, &h),
           TB_RESULT_SIGNATURE_MISMATCH);
  CHECK(h == POISON);
  last_error(engine, err);
  CHECK(strstr(err, "SIGNATURE_MISMATCH") != NULL);
  CHECK(strstr(err, SECRET) == NULL && strstr(err, "whsec_") == NULL);
  CHECK(strstr(err, "0123456789SECRETVALUE") == NULL);

  CHECK_RC(tb_engine_handle_webhook(engine, S(body), (const uint8_t *)"", 0, T0, &h),
           TB_RESULT_SIGNATURE_HEADER_MISSING);
  CHECK_RC(tb_engine_handle_webhook(engine, S(body), S("t=abc,v1=zz"), T0, &h),
           TB_RESULT_SIGNATURE_HEADER_INVALID);
  CHECK(strstr(last_error(engine, err), "SIGNATURE_HEADER_INVALID") != NULL);
  /* Attacker-controlled bytes that are not UTF-8: a malformed header (4xx), never INVALID_UTF8. */
  CHECK_RC(tb_engine_handle_webhook(engine, S(body), BAD, T0, &h),
           TB_RESULT_SIGNATURE_HEADER_INVALID);
  CHECK(tb_result_http_status(TB_RESULT_SIGNATURE_HEADER_INVALID) == 400);

  n = sign(body, SECRET, T0, header);
  CHECK_RC(tb_engine_handle_webhook(engine, S(body), header, n, T0 + 301, &h),
           TB_RESULT_TIMESTAMP_OUT_OF_TOLERANCE);
  CHECK_RC(tb_engine_handle_webhook(engine, S(body), header, n, T0 - 301, &h),
           TB_RESULT_TIMESTAMP_OUT_OF_TOLERANCE);

  /* Authentic but unreadable: kept in quarantine with its code and acknowledged (HTTP 200),
     never refused with a 4xx that Stripe would retry for days. */
  h = NULL;
  CHECK_OK(deliver(engine, "{\"id\": not json", T0, &h));
  CHECK(h->outcome == TB_OUTCOME_QUARANTINED && h->reason == TB_RESULT_PAYLOAD_INVALID_JSON);
  CHECK(h->jobs_len == 0);
  tb_handled_free(h);
  event_body(body, sizeof body, "evt_f", "customer.subscription.created", T0, 0,
             "{\"object\":\"subscription\",\"status\":\"active\"}");
  h = NULL;
  CHECK_OK(deliver(engine, body, T0, &h));
  CHECK(h->outcome == TB_OUTCOME_QUARANTINED && h->reason == TB_RESULT_EVENT_FIELD_MISSING);
  CHECK(str_eq(h->event_id, "evt_f"));
  tb_handled_free(h);
  CHECK(tb_result_http_status(TB_RESULT_SIGNATURE_MISMATCH) == 400);
  CHECK(tb_result_http_status(TB_RESULT_STORE_BUSY) == 500);
  CHECK(tb_result_http_status(TB_RESULT_OK) == 200);
  CHECK(tb_result_http_status(9999) == 0);

  /* Nothing above was applied: the genuine delivery is processed. */
  event_body(body, sizeof body, "evt_e", "customer.subscription.created", T0, 0, obj);
  h = NULL;
  CHECK_OK(deliver(engine, body, T0, &h));
  CHECK(h->outcome == TB_OUTCOME_PROCESSED);
  tb_handled_free(h);

  /* Jobs: unknown ids and lost leases. */
  tb_fail_outcome fo = {77, 77, 77};
  int64_t replayed = 77;
  CHECK_RC(tb_engine_job_complete(engine, 999999, 1, T0), TB_RESULT_JOB_NOT_FOUND);
  CHECK(strstr(last_error(engine, err), "JOB_NOT_FOUND") != NULL);
  CHECK_RC(tb_engine_job_fail(engine, 999999, 1, S("x"), T0, &fo), TB_RESULT_JOB_NOT_FOUND);
  CHECK(fo.state == 77 && fo.next_attempt_at == 77);
  CHECK_RC(tb_engine_job_replay(engine, 999999, T0, &replayed), TB_RESULT_JOB_NOT_FOUND);
  CHECK(replayed == 77);
  tb_job_batch *batch = NULL;
  CHECK_OK(tb_engine_job_claim(engine, S(""), 1, 10, T0 + 5, &batch));
  CHECK(batch->len == 1);
  const tb_claimed_job *job = &batch->jobs[0];
  CHECK_RC(tb_engine_job_fail(engine, job->id, job->lease_token + 1, S("x"), T0 + 6, &fo),
           TB_RESULT_LEASE_LOST);
  CHECK(strstr(last_error(engine, err), "LEASE_LOST") != NULL);
  CHECK_RC(tb_engine_job_complete(engine, job->id, job->lease_token, T0 + 5 + 10),
           TB_RESULT_LEASE_LOST);
  CHECK_RC(tb_engine_job_replay(engine, job->id, T0, &replayed), TB_RESULT_JOB_NOT_FOUND);
  CHECK_RC(tb_engine_job_claim(engine, BAD, 1, 10, T0, &batch), TB_RESULT_INVALID_UTF8);
  tb_job_batch_free(batch);

  /* Invalid UTF-8 in every other string input. */
  tb_access *a = POISON;
  tb_checkout *c = POISON;
  tb_invoice_list *inv = POISON;
  CHECK_RC(tb_engine_access(engine, BAD, T0, &a), TB_RESULT_INVALID_UTF8);
  CHECK_RC(tb_engine_access_for_user(engine, BAD, T0, &a), TB_RESULT_INVALID_UTF8);
  CHECK_RC(tb_engine_checkout_status(engine, BAD, &c), TB_RESULT_INVALID_UTF8);
  CHECK_RC(tb_engine_invoices(engine, BAD, &inv), TB_RESULT_INVALID_UTF8);
  CHECK_RC(tb_engine_job_fail(engine, 1, 1, BAD, T0, &fo), TB_RESULT_INVALID_UTF8);
  CHECK(a == POISON && c == POISON && inv == POISON);

  /* Closed: every later call says so; closing again is fine. */
  CHECK_OK(tb_engine_close(engine));
  CHECK_OK(tb_engine_close(engine));
  CHECK_RC(tb_engine_access(engine, S("cus_e"), T0, &a), TB_RESULT_CLOSED);
  CHECK_RC(deliver(engine, body, T0, &h), TB_RESULT_CLOSED);
  tb_string *s = POISON;
  CHECK_RC(tb_engine_metrics_json(engine, T0, &s), TB_RESULT_CLOSED);
  CHECK(s == POISON);
  CHECK(strstr(last_error(engine, err), "CLOSED") != NULL);
  tb_engine_free(engine);
}

static void check_limits_and_livemode(void) {
  tb_config *config = NULL;
  tb_engine *engine = NULL;
  char obj[2048], body[4096];
  tb_handled *h = POISON;
  CHECK_OK(tb_config_new(S(":memory:"), &config));
  CHECK_OK(tb_config_add_secret(config, S("whsec_old_secret")));
  CHECK_OK(tb_config_add_secret(config, S(SECRET))); /* rotation: both are accepted */
  CHECK_OK(tb_config_set_max_body_bytes(config, 1024));
  CHECK_OK(tb_config_set_livemode(config, TB_LIVEMODE_LIVE_ONLY));
  CHECK_OK(tb_config_set_past_due_grace(config, 86400));
  CHECK_OK(tb_engine_open(config, &engine));
  tb_config_free(config);

  subscription_json(obj, sizeof obj, "sub_l", "cus_l", "active", T0 + 2592000);
  event_body(body, sizeof body, "evt_lt", "customer.subscription.created", T0, 0, obj);
  CHECK(strlen(body) < 1024);
  h = NULL; /* a test-mode event on a live-only engine: kept in quarantine, nothing applied */
  CHECK_OK(deliver(engine, body, T0, &h));
  CHECK(h->outcome == TB_OUTCOME_QUARANTINED && h->reason == TB_RESULT_LIVEMODE_MISMATCH);
  tb_handled_free(h);
  event_body(body, sizeof body, "evt_l", "customer.subscription.created", T0, 1, obj);
  h = NULL;
  CHECK_OK(deliver(engine, body, T0, &h));
  CHECK(h->outcome == TB_OUTCOME_PROCESSED);
  tb_handled_free(h);

  char big[2048];
  memset(big, ' ', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  memcpy(big, body, strlen(body)); /* the same event padded with whitespace */
  h = POISON;
  CHECK_RC(deliver(engine, big, T0, &h), TB_RESULT_PAYLOAD_TOO_LARGE);
  CHECK(h == POISON);
  tb_engine_free(engine);
}

static void check_messages_and_buffers(void) {
  uint8_t buf[TB_ERROR_MESSAGE_MAX];
  size_t n = 0;
  const uint32_t codes[] = {0, 1, 2, 3, 4, 5, 6, 7, 100, 101, 102, 103, 104, 105,
                            200, 201, 202, 203, 204, 300, 301, 302, 303, 304, 305, 306, 307, 308, 500, 501};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    n = 0;
    CHECK_OK(tb_result_message(codes[i], buf, sizeof buf, &n));
    CHECK(n > 0 && n <= TB_ERROR_MESSAGE_MAX);
  }
  CHECK_OK(tb_result_message(TB_RESULT_SIGNATURE_MISMATCH, buf, sizeof buf, &n));
  CHECK(n == strlen("no signature matched any configured secret"));
  CHECK(memcmp(buf, "no signature matched any configured secret", n) == 0);
  n = 5555;
  CHECK_RC(tb_result_message(99, buf, sizeof buf, &n), TB_RESULT_INVALID_ARGUMENT);
  CHECK_RC(tb_result_message(400, buf, sizeof buf, &n), TB_RESULT_INVALID_ARGUMENT); /* retired */
  CHECK_RC(tb_result_message(UINT32_MAX, buf, sizeof buf, &n), TB_RESULT_INVALID_ARGUMENT);
  memset(buf, 'x', sizeof buf);
  CHECK_RC(tb_result_message(TB_RESULT_OK, buf, 3, &n), TB_RESULT_BUFFER_TOO_SMALL);
  CHECK(n == 5555 && buf[0] == 'x');
  CHECK_RC(tb_result_message(TB_RESULT_OK, buf, 0, &n), TB_RESULT_BUFFER_TOO_SMALL);

  CHECK_RC(tb_sign_test_payload(S("{}"), S(SECRET), T0, buf, 20, &n), TB_RESULT_BUFFER_TOO_SMALL);
  CHECK(n == 5555 && buf[0] == 'x');
  CHECK_RC(tb_sign_test_payload(S("{}"), S(""), T0, buf, sizeof buf, &n), TB_RESULT_SECRET_INVALID);
  CHECK_RC(tb_sign_test_payload(S("{}"), BAD, T0, buf, sizeof buf, &n), TB_RESULT_INVALID_UTF8);
  /* Stripe's scheme: HMAC-SHA256 of "1.{}" keyed with "whsec_x" (computed independently). */
  const char *vector = "t=1,v1=36ee2f7498f0c1777d1312b2a7361947fe5ad31223be30d0c62421f4ca753401";
  CHECK_OK(tb_sign_test_payload(S("{}"), S("whsec_x"), 1, buf, sizeof buf, &n));
  CHECK(n == strlen(vector) && memcmp(buf, vector, n) == 0);

  tb_engine *engine = open_engine(0);
  tb_handled *h = NULL;
  CHECK_RC(tb_engine_handle_webhook(engine, S("[]"), S("t=1"), T0, &h),
           TB_RESULT_SIGNATURE_HEADER_INVALID);
  n = 4242;
  CHECK_RC(tb_engine_last_error(engine, buf, 4, &n), TB_RESULT_BUFFER_TOO_SMALL);
  CHECK(n == 4242);
  tb_engine_free(engine);
}

int main(void) {
  check_config_errors();
  check_store_files();
  check_webhook_errors();
  check_limits_and_livemode();
  check_messages_and_buffers();
  printf("errors: ok\n");
  return 0;
}
