/* One-time purchases, entitlements and plans from C: a lifetime purchase grants access
 * through tb_config_set_purchase_grants, a full refund revokes it, and tb_engine_features /
 * tb_engine_has_feature answer from an entitlement summary. */
#include "common.h"

static tb_engine *open_with_grants(const char *grants) {
  tb_config *config = NULL;
  tb_engine *engine = NULL;
  CHECK_OK(tb_config_new(S(":memory:"), &config));
  CHECK_OK(tb_config_add_secret(config, S(SECRET)));
  /* A malformed grant is refused with a code and a message naming the problem. */
  CHECK_RC(tb_config_set_purchase_grants(config, S("price_life=-5")), TB_RESULT_CONFIG_INVALID);
  char buf[TB_ERROR_MESSAGE_MAX + 1];
  size_t n = 0;
  CHECK_OK(tb_config_last_error(config, (uint8_t *)buf, TB_ERROR_MESSAGE_MAX, &n));
  buf[n] = '\0';
  CHECK(strstr(buf, "positive number of seconds") != NULL);
  CHECK_OK(tb_config_set_purchase_grants(config, S(grants)));
  CHECK_OK(tb_engine_open(config, &engine));
  tb_config_free(config);
  return engine;
}

static void deliver_ok(const tb_engine *engine, const char *id, const char *type, int64_t t,
                       const char *obj) {
  char body[4096];
  tb_handled *h = NULL;
  event_body(body, sizeof body, id, type, t, 0, obj);
  CHECK_OK(deliver(engine, body, t, &h));
  CHECK(h->outcome == TB_OUTCOME_PROCESSED);
  tb_handled_free(h);
}

int main(void) {
  tb_engine *engine = open_with_grants("price_life");
  deliver_ok(engine, "evt_cs", "checkout.session.completed", T0,
             "{\"id\":\"cs_p\",\"object\":\"checkout.session\",\"customer\":\"cus_p\","
             "\"client_reference_id\":\"user_p\",\"mode\":\"payment\",\"status\":\"complete\","
             "\"payment_status\":\"paid\",\"payment_intent\":\"pi_p\",\"amount_total\":9900,"
             "\"currency\":\"usd\",\"metadata\":{\"price_id\":\"price_life\"}}");
  tb_access *a = NULL;
  CHECK_OK(tb_engine_access_for_user(engine, S("user_p"), T0 + 400000000, &a));
  CHECK(a->has_access && a->state == TB_ACCESS_STATE_ACTIVE);
  CHECK(str_eq(a->purchase_id, "pi_p"));
  CHECK(str_eq(a->price_id, "price_life"));
  CHECK(a->subscription_id.ptr == NULL && !a->has_access_ends_at);
  CHECK(contains(a->reason.ptr, a->reason.len, "lifetime access"));
  tb_access_free(a);

  deliver_ok(engine, "evt_ent", "entitlements.active_entitlement_summary.updated", T0 + 1,
             "{\"object\":\"entitlements.active_entitlement_summary\",\"customer\":\"cus_p\","
             "\"entitlements\":{\"object\":\"list\",\"data\":[{\"id\":\"ent_1\",\"object\":"
             "\"entitlements.active_entitlement\",\"feature\":\"feat_1\",\"lookup_key\":\"sso\"},"
             "{\"id\":\"ent_2\",\"object\":\"entitlements.active_entitlement\",\"feature\":"
             "\"feat_2\",\"lookup_key\":\"api\"}]}}");
  tb_feature_list *f = NULL;
  CHECK_OK(tb_engine_features(engine, S("user_p"), &f));
  CHECK(f->len == 2 && str_eq(f->items[0], "api") && str_eq(f->items[1], "sso"));
  tb_feature_list_free(f);
  f = NULL;
  CHECK_OK(tb_engine_features(engine, S("user_nobody"), &f));
  CHECK(f->len == 0 && f->items == NULL);
  tb_feature_list_free(f);
  bool has = false;
  CHECK_OK(tb_engine_has_feature(engine, S("cus_p"), S("sso"), &has));
  CHECK(has);
  CHECK_OK(tb_engine_has_feature(engine, S("cus_p"), S("priority_support"), &has));
  CHECK(!has);

  deliver_ok(engine, "evt_rf", "charge.refunded", T0 + 2,
             "{\"id\":\"ch_p\",\"object\":\"charge\",\"customer\":\"cus_p\",\"amount\":9900,"
             "\"amount_refunded\":9900,\"currency\":\"usd\",\"payment_intent\":\"pi_p\","
             "\"refunded\":true,\"status\":\"succeeded\",\"metadata\":{}}");
  a = NULL;
  CHECK_OK(tb_engine_access(engine, S("cus_p"), T0 + 3, &a));
  CHECK(!a->has_access && a->state == TB_ACCESS_STATE_CANCELED);
  CHECK(str_eq(a->purchase_id, "pi_p"));
  CHECK(contains(a->reason.ptr, a->reason.len, "refunded"));
  tb_access_free(a);

  CHECK_OK(tb_engine_close(engine));
  tb_engine_free(engine);
  printf("billing_model: ok\n");
  return 0;
}
