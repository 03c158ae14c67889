/* One tb_engine shared by several threads at once, as the header promises: concurrent
 * deliveries, reads, last-error reads and job claims. Every delivery is processed exactly
 * once and no job is handed to two workers. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "common.h"

#define THREADS 8
#define EVENTS 12
#define MAX_JOBS (THREADS * EVENTS * 8)

static tb_engine *engine;
static pthread_mutex_t claimed_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t claimed[MAX_JOBS];
static size_t claimed_len;

static void *deliverer(void *arg) {
  const int t = *(const int *)arg;
  char obj[2048], body[4096], id[64], sub[64], cus[64], err[TB_ERROR_MESSAGE_MAX + 1];
  for (int i = 0; i < EVENTS; i++) {
    snprintf(id, sizeof id, "evt_t%d_%d", t, i);
    snprintf(sub, sizeof sub, "sub_t%d_%d", t, i);
    snprintf(cus, sizeof cus, "cus_t%d_%d", t, i);
    subscription_json(obj, sizeof obj, sub, cus, "active", T0 + 2592000);
    event_body(body, sizeof body, id, "customer.subscription.created", T0 + i, 0, obj);
    tb_handled *h = NULL;
    CHECK_OK(deliver(engine, body, T0 + i, &h));
    CHECK(h->outcome == TB_OUTCOME_PROCESSED && str_eq(h->event_id, id));
    tb_handled_free(h);
    h = NULL;
    CHECK_OK(deliver(engine, body, T0 + i, &h));
    CHECK(h->outcome == TB_OUTCOME_DUPLICATE);
    tb_handled_free(h);
    /* A rejected delivery records an error while other threads read theirs. */
    CHECK_RC(tb_engine_handle_webhook(engine, S(body), S("t=1,v1=00"), T0 + i, &h),
             TB_RESULT_TIMESTAMP_OUT_OF_TOLERANCE);
    (void)last_error(engine, err);
    tb_access *a = NULL;
    CHECK_OK(tb_engine_access(engine, S(cus), T0 + 100, &a));
    CHECK(a->has_access && str_eq(a->customer_id, cus));
    tb_access_free(a);
  }
  return NULL;
}

static void *worker(void *arg) {
  (void)arg;
  for (int round = 0; round < 40; round++) {
    tb_job_batch *batch = NULL;
    CHECK_OK(tb_engine_job_claim(engine, S(""), 5, 600, T0 + 1000, &batch));
    for (size_t i = 0; i < batch->len; i++) {
      CHECK_OK(tb_engine_job_complete(engine, batch->jobs[i].id, batch->jobs[i].lease_token,
                                      T0 + 1001));
      pthread_mutex_lock(&claimed_lock);
      CHECK(claimed_len < MAX_JOBS);
      claimed[claimed_len++] = batch->jobs[i].id;
      pthread_mutex_unlock(&claimed_lock);
    }
    tb_job_batch_free(batch);
  }
  return NULL;
}

int main(void) {
  engine = open_engine(0);
  pthread_t threads[THREADS * 2];
  int ids[THREADS];
  for (int t = 0; t < THREADS; t++) {
    ids[t] = t;
    CHECK(pthread_create(&threads[t], NULL, deliverer, &ids[t]) == 0);
  }
  for (int t = 0; t < THREADS; t++) {
    CHECK(pthread_create(&threads[THREADS + t], NULL, worker, NULL) == 0);
  }
  for (int t = 0; t < THREADS * 2; t++) CHECK(pthread_join(threads[t], NULL) == 0);

  /* Drain what the workers did not get to while deliveries were still arriving. */
  for (;;) {
    tb_job_batch *batch = NULL;
    CHECK_OK(tb_engine_job_claim(engine, S(""), 50, 600, T0 + 1000, &batch));
    size_t len = batch->len;
    for (size_t i = 0; i < len; i++) {
      CHECK_OK(tb_engine_job_complete(engine, batch->jobs[i].id, batch->jobs[i].lease_token,
                                      T0 + 1001));
      CHECK(claimed_len < MAX_JOBS);
      claimed[claimed_len++] = batch->jobs[i].id;
    }
    tb_job_batch_free(batch);
    if (len == 0) break;
  }
  /* Each subscription enqueued at least one job; none was claimed twice. */
  CHECK(claimed_len >= THREADS * EVENTS);
  for (size_t i = 0; i < claimed_len; i++) {
    for (size_t j = i + 1; j < claimed_len; j++) CHECK(claimed[i] != claimed[j]);
  }
  tb_string *m = NULL;
  CHECK_OK(tb_engine_metrics_json(engine, T0 + 2000, &m));
  tb_string_free(m);
  tb_engine_free(engine);
  printf("threads: ok (%zu jobs)\n", claimed_len);
  return 0;
}
