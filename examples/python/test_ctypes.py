"""Tests the C ABI from a second runtime: Python's ctypes on libtollbooth.so (stdlib only).

Run: cargo build -p tollbooth-c && python3 examples/python/test_ctypes.py
(bindings/c/tests/python.rs runs it from `cargo test`, with TOLLBOOTH_LIB set).
"""

import json
import re
import sys
import threading
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tollbooth_ctypes as tb  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_py_test_0123456789SECRETVALUE"
T0 = 1_767_000_000
LIB = tb.load()


def event(evt_id, kind, created, obj, live=False):
    return json.dumps({
        "id": evt_id, "object": "event", "api_version": "2024-06-20", "created": created,
        "livemode": live, "pending_webhooks": 1, "type": kind,
        "data": {"object": obj, "previous_attributes": {}},
    }).encode()


def subscription(sub, cus, status, period_end):
    return {
        "id": sub, "object": "subscription", "customer": cus, "status": status,
        "cancel_at_period_end": False, "metadata": {}, "current_period_end": period_end,
        "current_period_start": period_end - 2_592_000,
        "items": {"object": "list", "data": [{
            "id": "si_" + sub, "object": "subscription_item", "quantity": 1,
            "price": {"id": "price_pro", "object": "price", "product": "prod_pro"}}]},
    }


def checkout(cs, cus, user, sub):
    return {
        "id": cs, "object": "checkout.session", "customer": cus, "client_reference_id": user,
        "customer_details": {"email": "ada@example.com", "name": "Ada"}, "mode": "subscription",
        "status": "complete", "payment_status": "paid", "subscription": sub,
        "amount_total": 2900, "currency": "usd", "metadata": {},
    }


def deliver(engine, body, t, secret=SECRET):
    header = tb.sign_test_payload(LIB, body, secret, t)
    return engine.handle_webhook(body, header, now=t + 1)


class VerifyHandleAccessWork(unittest.TestCase):
    def setUp(self):
        self.engine = tb.Engine(LIB, ":memory:", [SECRET], max_attempts=3)

    def tearDown(self):
        self.engine.close()

    def test_full_path(self):
        e = self.engine
        h = deliver(e, event("evt_cs", "checkout.session.completed", T0,
                             checkout("cs_1", "cus_1", "user_1", "sub_1")), T0)
        self.assertEqual(h["outcome"], "processed")
        self.assertEqual(h["customer_id"], "cus_1")
        body = event("evt_sc", "customer.subscription.created", T0 + 1,
                     subscription("sub_1", "cus_1", "active", T0 + 2_592_000))
        h = deliver(e, body, T0 + 1)
        self.assertEqual(h["outcome"], "processed")
        self.assertEqual(h["event_type"], "customer.subscription.created")
        self.assertIn("crm.sync_customer", [j["kind"] for j in h["jobs"]])
        self.assertEqual(deliver(e, body, T0 + 1)["outcome"], "duplicate")

        a = e.access("cus_1", now=T0 + 10)
        self.assertTrue(a["has_access"])
        self.assertEqual(a["state"], "active")
        self.assertEqual(a["price_id"], "price_pro")
        self.assertEqual(a["user_id"], "user_1")
        self.assertEqual(a["current_period_end"], T0 + 2_592_000)
        self.assertEqual(e.access_for_user("user_1", now=T0 + 10)["customer_id"], "cus_1")
        none = e.access("cus_nobody", now=T0)
        self.assertFalse(none["has_access"])
        self.assertEqual(none["state"], "none")
        self.assertIsNone(none["price_id"])
        self.assertEqual(e.checkout_status("cs_1")["state"], "complete")

        jobs = e.claim(now=T0 + 20, lease_secs=30)
        self.assertGreaterEqual(len(jobs), 1)
        for job in jobs:
            self.assertIsInstance(json.loads(job["payload"]), dict)
            self.assertEqual(job["attempt"], 1)
        first, rest = jobs[0], jobs[1:]
        outcome = e.fail(first, "CRM timeout", now=T0 + 21)
        self.assertEqual(outcome["state"], "scheduled")
        self.assertGreater(outcome["next_attempt_at"], T0 + 21)
        for job in rest:
            e.complete(job, now=T0 + 21)
        self.assertEqual(e.claim(now=T0 + 22), [])
        again = e.claim(now=outcome["next_attempt_at"])
        self.assertEqual([j["id"] for j in again], [first["id"]])
        self.assertEqual(again[0]["attempt"], 2)
        e.complete(again[0], now=outcome["next_attempt_at"])
        with self.assertRaises(tb.TollboothError) as cm:
            e.complete(again[0], now=outcome["next_attempt_at"] + 1)
        self.assertEqual(cm.exception.code, "LEASE_LOST")

        self.assertIn('"processed"', e.metrics_json(now=T0 + 30))
        self.assertIn("# TYPE tollbooth_", e.prometheus(now=T0 + 30))

    def test_rejections_carry_codes_and_never_the_secret(self):
        e = self.engine
        body = event("evt_x", "customer.subscription.created", T0,
                     subscription("sub_x", "cus_x", "active", T0 + 9))
        cases = [
            (lambda: deliver(e, body, T0, secret="whsec_other"), "SIGNATURE_MISMATCH"),
            (lambda: e.handle_webhook(body, "", now=T0), "SIGNATURE_HEADER_MISSING"),
            (lambda: e.handle_webhook(body, "v1=,t=", now=T0), "SIGNATURE_HEADER_INVALID"),
            (lambda: e.handle_webhook(body, tb.sign_test_payload(LIB, body, SECRET, T0),
                                      now=T0 + 1000), "TIMESTAMP_OUT_OF_TOLERANCE"),
            (lambda: e.handle_webhook(body, b"t=1,\xff", now=T0), "SIGNATURE_HEADER_INVALID"),
            (lambda: e.access(b"cus\xff"), "INVALID_UTF8"),
            (lambda: e.complete({"id": 424242, "lease_token": 1}), "JOB_NOT_FOUND"),
        ]
        for call, code in cases:
            with self.subTest(code=code):
                with self.assertRaises(tb.TollboothError) as cm:
                    call()
                self.assertEqual(cm.exception.code, code)
                self.assertNotIn(SECRET, str(cm.exception))
        # Nothing above was stored.
        self.assertEqual(deliver(e, body, T0)["outcome"], "processed")
        # Authentic but unreadable: kept in quarantine and acknowledged, not refused.
        q = deliver(e, b"{nope", T0)
        self.assertEqual((q["outcome"], q["reason"]), ("quarantined", "PAYLOAD_INVALID_JSON"))

    def test_livemode_and_config_errors(self):
        with tb.Engine(LIB, ":memory:", [SECRET], livemode=True) as live:
            body = event("evt_t", "customer.subscription.created", T0,
                         subscription("sub_t", "cus_t", "active", T0 + 9))
            q = deliver(live, body, T0)
            self.assertEqual((q["outcome"], q["reason"]), ("quarantined", "LIVEMODE_MISMATCH"))
        with self.assertRaises(tb.TollboothError) as cm:
            tb.Engine(LIB, ":memory:", [])
        self.assertEqual(cm.exception.code, "CONFIG_INVALID")
        self.assertIn("secret", str(cm.exception))
        with self.assertRaises(tb.TollboothError) as cm:
            tb.Engine(LIB, ":memory:", [""])
        self.assertEqual(cm.exception.code, "SECRET_INVALID")
        with self.assertRaises(tb.TollboothError) as cm:
            tb.Engine(LIB, "/nonexistent-tollbooth-dir/x/tb.db", [SECRET])
        self.assertEqual(cm.exception.code, "STORE_OPEN_FAILED")

    def test_threads_share_one_engine(self):
        e = self.engine
        errors = []

        def run(t):
            try:
                for i in range(10):
                    body = event(f"evt_{t}_{i}", "customer.subscription.created", T0 + i,
                                 subscription(f"sub_{t}_{i}", f"cus_{t}_{i}", "active", T0 + 99))
                    self.assertEqual(deliver(e, body, T0 + i)["outcome"], "processed")
            except Exception as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(errors, [])
        self.assertTrue(e.access("cus_3_9", now=T0 + 50)["has_access"])


class ContractWithTheHeader(unittest.TestCase):
    def test_result_names_match_the_header(self):
        header = (ROOT / "include" / "tollbooth.h").read_text()
        found = {int(n): name for name, n in re.findall(r"TB_RESULT_(\w+) = (\d+),", header)}
        self.assertEqual(found, tb.RESULT_NAMES)
        self.assertIn("#define TB_NOW INT64_MIN", header)
        for name, value in [("TB_ERROR_MESSAGE_MAX", tb.TB_ERROR_MESSAGE_MAX),
                            ("TB_SIGNATURE_HEADER_MAX", tb.TB_SIGNATURE_HEADER_MAX)]:
            self.assertIn(f"#define {name} {value}", header)

    def test_version_is_the_cargo_version(self):
        manifest = (ROOT / "bindings" / "c" / "Cargo.toml").read_text()
        want = re.search(r'^version = "([^"]+)"', manifest, re.M).group(1)
        self.assertEqual(tb.version(LIB), want)

    def test_result_messages(self):
        self.assertEqual(tb.result_message(LIB, 102), "no signature matched any configured secret")
        with self.assertRaises(tb.TollboothError) as cm:
            tb.result_message(LIB, 99)
        self.assertEqual(cm.exception.code, "INVALID_ARGUMENT")


if __name__ == "__main__":
    unittest.main(verbosity=2)
