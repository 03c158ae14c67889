/* Helpers shared by the C tests: checks, Stripe-shaped event bodies, signed delivery. */
#ifndef TB_TEST_COMMON_H
#define TB_TEST_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tollbooth.h"

#define SECRET "whsec_c_test_0123456789SECRETVALUE"
#define T0 INT64_C(1767000000)

/* (ptr, len) of a C string literal or char array, for tollbooth's string inputs. */
#define S(x) (const uint8_t *)(x), strlen(x)

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

/* Fails with the code's name-free number and the static message when rc != want. */
#define CHECK_RC(expr, want)                                                   \
  do {                                                                         \
    tb_result rc_ = (expr);                                                    \
    if (rc_ != (tb_result)(want)) {                                            \
      fprintf(stderr, "%s:%d: %s returned %u, want %u (%s)\n", __FILE__,       \
              __LINE__, #expr, (unsigned)rc_, (unsigned)(want), #want);        \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

#define CHECK_OK(expr) CHECK_RC(expr, TB_RESULT_OK)

/* Whether a tb_str holds exactly the C string `want`. */
static inline int str_eq(tb_str s, const char *want) {
  size_t n = strlen(want);
  return s.ptr != NULL && s.len == n && (n == 0 || memcmp(s.ptr, want, n) == 0);
}

/* Whether [p, p+n) contains the C string `needle`. */
static inline int contains(const uint8_t *p, size_t n, const char *needle) {
  size_t k = strlen(needle);
  if (k == 0) return 1;
  for (size_t i = 0; i + k <= n; i++) {
    if (memcmp(p + i, needle, k) == 0) return 1;
  }
  return 0;
}

/* An event envelope around `object_json` (livemode false unless `live`). */
static inline void event_body(char *out, size_t cap, const char *id, const char *type,
                              int64_t created, int live, const char *object_json) {
  int n = snprintf(out, cap,
                   "{\"id\":\"%s\",\"object\":\"event\",\"api_version\":\"2024-06-20\","
                   "\"created\":%lld,\"livemode\":%s,\"pending_webhooks\":1,"
                   "\"type\":\"%s\",\"data\":{\"object\":%s,\"previous_attributes\":{}}}",
                   id, (long long)created, live ? "true" : "false", type, object_json);
  CHECK(n > 0 && (size_t)n < cap);
}

static inline void checkout_json(char *out, size_t cap, const char *cs, const char *cus,
                                 const char *user, const char *sub) {
  int n = snprintf(out, cap,
                   "{\"id\":\"%s\",\"object\":\"checkout.session\",\"customer\":\"%s\","
                   "\"client_reference_id\":\"%s\",\"customer_details\":{\"email\":"
                   "\"ada@example.com\",\"name\":\"Ada Lovelace\"},\"mode\":\"subscription\","
                   "\"status\":\"complete\",\"payment_status\":\"paid\",\"subscription\":\"%s\","
                   "\"amount_total\":2900,\"currency\":\"usd\",\"metadata\":{}}",
                   cs, cus, user, sub);
  CHECK(n > 0 && (size_t)n < cap);
}

static inline void subscription_json(char *out, size_t cap, const char *sub, const char *cus,
                                     const char *status, int64_t period_end) {
  int n = snprintf(out, cap,
                   "{\"id\":\"%s\",\"object\":\"subscription\",\"customer\":\"%s\","
                   "\"status\":\"%s\",\"cancel_at_period_end\":false,\"cancel_at\":null,"
                   "\"canceled_at\":null,\"ended_at\":null,\"trial_end\":null,\"metadata\":{},"
                   "\"current_period_start\":%lld,\"current_period_end\":%lld,"
                   "\"items\":{\"object\":\"list\",\"data\":[{\"id\":\"si_%s\","
                   "\"object\":\"subscription_item\",\"quantity\":1,\"price\":{\"id\":"
                   "\"price_pro\",\"object\":\"price\",\"product\":\"prod_pro\","
                   "\"unit_amount\":2900,\"currency\":\"usd\"}}]}}",
                   sub, cus, status, (long long)(period_end - 2592000), (long long)period_end,
                   sub);
  CHECK(n > 0 && (size_t)n < cap);
}

static inline void invoice_json(char *out, size_t cap, const char *in, const char *cus,
                                const char *sub, int64_t created) {
  int n = snprintf(out, cap,
                   "{\"id\":\"%s\",\"object\":\"invoice\",\"customer\":\"%s\","
                   "\"subscription\":\"%s\",\"number\":\"TB-%s\",\"status\":\"paid\","
                   "\"amount_due\":2900,\"amount_paid\":2900,\"amount_remaining\":0,"
                   "\"currency\":\"usd\",\"attempt_count\":1,\"next_payment_attempt\":null,"
                   "\"hosted_invoice_url\":\"https://invoice.stripe.com/i/%s\","
                   "\"invoice_pdf\":\"https://pay.stripe.com/invoice/%s/pdf\","
                   "\"created\":%lld,\"billing_reason\":\"subscription_create\"}",
                   in, cus, sub, in, in, in, (long long)created);
  CHECK(n > 0 && (size_t)n < cap);
}

/* Signs `body` with `secret` at `t` (in C, through tb_sign_test_payload) into `header`
 * (TB_SIGNATURE_HEADER_MAX bytes) and returns its length. */
static inline size_t sign(const char *body, const char *secret, int64_t t, uint8_t *header) {
  size_t n = 0;
  CHECK_OK(tb_sign_test_payload(S(body), S(secret), t, header, TB_SIGNATURE_HEADER_MAX, &n));
  CHECK(n > 0 && n <= TB_SIGNATURE_HEADER_MAX);
  return n;
}

/* Signs `body` with SECRET at `t` and delivers it at `t + 1`. */
static inline tb_result deliver(const tb_engine *engine, const char *body, int64_t t,
                                tb_handled **out) {
  uint8_t header[TB_SIGNATURE_HEADER_MAX];
  size_t n = sign(body, SECRET, t, header);
  return tb_engine_handle_webhook(engine, S(body), header, n, t + 1, out);
}

/* The engine's last error as a NUL-terminated string in `buf` (cap TB_ERROR_MESSAGE_MAX+1). */
static inline const char *last_error(const tb_engine *engine, char *buf) {
  size_t n = 0;
  CHECK_OK(tb_engine_last_error(engine, (uint8_t *)buf, TB_ERROR_MESSAGE_MAX, &n));
  buf[n] = '\0';
  return buf;
}

/* A new in-memory engine with SECRET; `max_attempts` 0 keeps the default. */
static inline tb_engine *open_engine(uint32_t max_attempts) {
  tb_config *config = NULL;
  tb_engine *engine = NULL;
  /* TB_DATABASE (a postgres:// URL from the PostgreSQL smoke) or a private in-memory SQLite. */
  const char *db = getenv("TB_DATABASE");
  if (db == NULL || db[0] == '\0') db = ":memory:";
  CHECK_OK(tb_config_new((const uint8_t *)db, strlen(db), &config));
  CHECK_OK(tb_config_add_secret(config, S(SECRET)));
  if (max_attempts > 0) CHECK_OK(tb_config_set_max_attempts(config, max_attempts));
  CHECK_OK(tb_engine_open(config, &engine));
  tb_config_free(config);
  CHECK(engine != NULL);
  return engine;
}

#endif
