"""tollbooth from Python through its C ABI (include/tollbooth.h), with ctypes only.

A second runtime for the shared library, and an example of the ownership rules: every
result object is copied into Python values and freed before the call returns, so no
borrowed `tb_str` view outlives its owner.

    lib = load()  # $TOLLBOOTH_LIB, else target/debug/libtollbooth.so
    engine = Engine(lib, ":memory:", ["whsec_..."])
    handled = engine.handle_webhook(raw_body, request.headers["Stripe-Signature"])

Build the library with `cargo build -p tollbooth-c` (or `--release`).
"""

import ctypes
import os
from ctypes import POINTER, Structure, byref, c_bool, c_char, c_int64, c_size_t, c_uint32
from pathlib import Path

TB_NOW = -(2**63)  # the header's TB_NOW sentinel: read the clock
TB_ERROR_MESSAGE_MAX = 1024
TB_SIGNATURE_HEADER_MAX = 96

# tb_result numbers (tollbooth's error codes). test_ctypes.py checks them against the header.
RESULT_NAMES = {
    0: "OK", 1: "PANIC", 2: "NULL_PARAMETER", 3: "INVALID_ARGUMENT", 4: "INVALID_UTF8",
    5: "BUFFER_TOO_SMALL", 6: "CONFIG_INVALID", 7: "CLOSED",
    100: "SIGNATURE_HEADER_MISSING", 101: "SIGNATURE_HEADER_INVALID", 102: "SIGNATURE_MISMATCH",
    103: "TIMESTAMP_OUT_OF_TOLERANCE", 104: "SECRET_INVALID", 105: "PAYLOAD_TOO_LARGE",
    200: "PAYLOAD_INVALID_JSON", 201: "EVENT_FIELD_MISSING", 202: "LIVEMODE_MISMATCH",
    203: "SNAPSHOT_UNSUPPORTED",
    204: "CONNECT_EVENT_REFUSED",
    300: "STORE_OPEN_FAILED", 301: "STORE_BUSY", 302: "STORE_SCHEMA_TOO_NEW", 303: "STORE_ERROR",
    304: "STORE_FULL", 305: "STORE_READONLY", 306: "STORE_CORRUPT",
    307: "STORE_UNAVAILABLE", 308: "STORE_TIMEOUT",
    500: "JOB_NOT_FOUND", 501: "LEASE_LOST",
    600: "STRIPE_AUTH", 601: "STRIPE_RATE_LIMITED", 602: "STRIPE_UNAVAILABLE", 603: "STRIPE_NOT_FOUND",
    604: "STRIPE_REQUEST_INVALID", 605: "STRIPE_RESPONSE_INVALID",
}
OUTCOMES = ["processed", "duplicate", "ignored", "stale", "quarantined", "probe"]
ACCESS_STATES = ["active", "trialing", "past_due", "unpaid", "incomplete", "paused", "canceled", "none", "action_required"]
CHECKOUT_STATES = ["pending", "complete", "payment_pending", "payment_failed", "expired"]
FAIL_STATES = ["scheduled", "dead", "superseded"]
LIVEMODE = {None: 0, True: 1, False: 2}


class TbStr(Structure):
    _fields_ = [("ptr", POINTER(c_char)), ("len", c_size_t)]

    def get(self):
        """The string, or None for an absent value ({NULL, 0})."""
        if not self.ptr:
            return None
        return ctypes.string_at(self.ptr, self.len).decode("utf-8")


class TbString(Structure):
    _fields_ = [("ptr", POINTER(c_char)), ("len", c_size_t)]


class TbEnqueuedJob(Structure):
    _fields_ = [("id", c_int64), ("kind", TbStr), ("key", TbStr), ("coalesced", c_bool)]


class TbHandled(Structure):
    _fields_ = [
        ("outcome", c_uint32), ("event_id", TbStr), ("event_type", TbStr),
        ("customer_id", TbStr), ("jobs", POINTER(TbEnqueuedJob)), ("jobs_len", c_size_t), ("reason", c_uint32),
    ]


class TbAccess(Structure):
    _fields_ = [
        ("has_access", c_bool), ("state", c_uint32), ("reason", TbStr), ("customer_id", TbStr),
        ("user_id", TbStr), ("subscription_id", TbStr), ("price_id", TbStr),
        ("product_id", TbStr), ("has_current_period_end", c_bool),
        ("current_period_end", c_int64), ("cancel_at_period_end", c_bool),
        ("has_access_ends_at", c_bool), ("access_ends_at", c_int64),
    ]


class TbCheckout(Structure):
    _fields_ = [
        ("state", c_uint32), ("session_id", TbStr), ("customer_id", TbStr), ("user_id", TbStr),
        ("subscription_id", TbStr),
    ]


class TbClaimedJob(Structure):
    _fields_ = [
        ("id", c_int64), ("lease_token", c_int64), ("lease_until", c_int64), ("attempt", c_int64),
        ("kind", TbStr), ("key", TbStr), ("customer_id", TbStr), ("payload", TbStr),
    ]


class TbJobBatch(Structure):
    _fields_ = [("jobs", POINTER(TbClaimedJob)), ("len", c_size_t)]


class TbFailOutcome(Structure):
    _fields_ = [("state", c_uint32), ("next_attempt_at", c_int64), ("superseded_by", c_int64)]


class TollboothError(Exception):
    """A failed call: `code` is the stable name (e.g. "SIGNATURE_MISMATCH"), `number` the
    tb_result value; the message is for humans."""

    def __init__(self, number, message):
        self.number = number
        self.code = RESULT_NAMES.get(number, f"UNKNOWN_{number}")
        super().__init__(f"{self.code}: {message}" if message else self.code)


def _bytes(s):
    return s if isinstance(s, bytes) else s.encode("utf-8")


def _in(s):
    """(pointer, length) for a string or bytes input."""
    b = _bytes(s)
    return ctypes.c_char_p(b), len(b)


def load(path=None):
    """Loads libtollbooth.so and declares the functions used here."""
    if path is None:
        path = os.environ.get("TOLLBOOTH_LIB") or str(
            Path(__file__).resolve().parents[2] / "target" / "debug" / "libtollbooth.so"
        )
    lib = ctypes.CDLL(path)
    u8p, sz, res = ctypes.c_char_p, c_size_t, c_uint32
    buf = POINTER(c_char)
    sigs = {
        "tb_version": ([], TbStr),
        "tb_result_message": ([c_uint32, buf, sz, POINTER(sz)], res),
        "tb_sign_test_payload": ([u8p, sz, u8p, sz, c_int64, buf, sz, POINTER(sz)], res),
        "tb_config_new": ([u8p, sz, POINTER(ctypes.c_void_p)], res),
        "tb_config_free": ([ctypes.c_void_p], None),
        "tb_config_add_secret": ([ctypes.c_void_p, u8p, sz], res),
        "tb_config_set_tolerance": ([ctypes.c_void_p, c_int64], res),
        "tb_config_set_livemode": ([ctypes.c_void_p, c_uint32], res),
        "tb_config_set_max_attempts": ([ctypes.c_void_p, c_uint32], res),
        "tb_config_set_past_due_grace": ([ctypes.c_void_p, c_int64], res),
        "tb_config_last_error": ([ctypes.c_void_p, buf, sz, POINTER(sz)], res),
        "tb_engine_open": ([ctypes.c_void_p, POINTER(ctypes.c_void_p)], res),
        "tb_engine_close": ([ctypes.c_void_p], res),
        "tb_engine_free": ([ctypes.c_void_p], None),
        "tb_engine_last_error": ([ctypes.c_void_p, buf, sz, POINTER(sz)], res),
        "tb_engine_handle_webhook": (
            [ctypes.c_void_p, u8p, sz, u8p, sz, c_int64, POINTER(POINTER(TbHandled))], res),
        "tb_handled_free": ([POINTER(TbHandled)], None),
        "tb_engine_access": ([ctypes.c_void_p, u8p, sz, c_int64, POINTER(POINTER(TbAccess))], res),
        "tb_engine_access_for_user": (
            [ctypes.c_void_p, u8p, sz, c_int64, POINTER(POINTER(TbAccess))], res),
        "tb_access_free": ([POINTER(TbAccess)], None),
        "tb_engine_checkout_status": (
            [ctypes.c_void_p, u8p, sz, POINTER(POINTER(TbCheckout))], res),
        "tb_checkout_free": ([POINTER(TbCheckout)], None),
        "tb_engine_job_claim": (
            [ctypes.c_void_p, u8p, sz, c_uint32, c_int64, c_int64, POINTER(POINTER(TbJobBatch))],
            res),
        "tb_job_batch_free": ([POINTER(TbJobBatch)], None),
        "tb_engine_job_complete": ([ctypes.c_void_p, c_int64, c_int64, c_int64], res),
        "tb_engine_job_fail": (
            [ctypes.c_void_p, c_int64, c_int64, u8p, sz, c_int64, POINTER(TbFailOutcome)], res),
        "tb_engine_metrics_json": ([ctypes.c_void_p, c_int64, POINTER(POINTER(TbString))], res),
        "tb_engine_prometheus": ([ctypes.c_void_p, c_int64, POINTER(POINTER(TbString))], res),
        "tb_string_free": ([POINTER(TbString)], None),
    }
    for name, (args, ret) in sigs.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, ret
    return lib


def _text(call):
    """Runs `call(buf, len, &n)` with a TB_ERROR_MESSAGE_MAX buffer and decodes the text."""
    buf = ctypes.create_string_buffer(TB_ERROR_MESSAGE_MAX)
    n = c_size_t(0)
    rc = call(buf, TB_ERROR_MESSAGE_MAX, byref(n))
    if rc != 0:
        raise TollboothError(rc, "")
    return buf.raw[: n.value].decode("utf-8")


def version(lib):
    return lib.tb_version().get()


def result_message(lib, number):
    return _text(lambda b, l, n: lib.tb_result_message(number, b, l, n))


def sign_test_payload(lib, body, secret, timestamp):
    """FOR TESTS: a Stripe-Signature header for `body` (bytes) signed with `secret`."""
    buf = ctypes.create_string_buffer(TB_SIGNATURE_HEADER_MAX)
    n = c_size_t(0)
    rc = lib.tb_sign_test_payload(*_in(body), *_in(secret), timestamp, buf, len(buf), byref(n))
    if rc != 0:
        raise TollboothError(rc, "")
    return buf.raw[: n.value].decode("ascii")


def _now(now):
    return TB_NOW if now is None else int(now)


class Engine:
    """An open engine. Safe to share between Python threads (the library locks inside)."""

    def __init__(self, lib, database, secrets, tolerance=None, livemode=None,
                 past_due_grace=None, max_attempts=None):
        self._lib = lib
        self._ptr = None
        config = ctypes.c_void_p()
        self._check_config(None, lib.tb_config_new(*_in(database), byref(config)))
        try:
            for s in secrets:
                self._check_config(config, lib.tb_config_add_secret(config, *_in(s)))
            if tolerance is not None:
                self._check_config(config, lib.tb_config_set_tolerance(config, tolerance))
            if livemode not in LIVEMODE:
                raise ValueError("livemode must be None, True or False")
            self._check_config(config, lib.tb_config_set_livemode(config, LIVEMODE[livemode]))
            if past_due_grace is not None:
                self._check_config(
                    config, lib.tb_config_set_past_due_grace(config, past_due_grace))
            if max_attempts is not None:
                self._check_config(config, lib.tb_config_set_max_attempts(config, max_attempts))
            engine = ctypes.c_void_p()
            self._check_config(config, lib.tb_engine_open(config, byref(engine)))
            self._ptr = engine
        finally:
            lib.tb_config_free(config)

    def _check_config(self, config, rc):
        if rc != 0:
            detail = ""
            if config is not None:
                detail = _text(lambda b, l, n: self._lib.tb_config_last_error(config, b, l, n))
            raise TollboothError(rc, detail)

    def _check(self, rc):
        if rc != 0:
            raise TollboothError(rc, self.last_error())

    def last_error(self):
        return _text(lambda b, l, n: self._lib.tb_engine_last_error(self._ptr, b, l, n))

    def close(self):
        if self._ptr:
            self._lib.tb_engine_free(self._ptr)
            self._ptr = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def handle_webhook(self, body, signature, now=None):
        """Verifies and applies one delivery (raw body bytes, Stripe-Signature value)."""
        out = POINTER(TbHandled)()
        self._check(self._lib.tb_engine_handle_webhook(
            self._ptr, *_in(body), *_in(signature), _now(now), byref(out)))
        try:
            h = out.contents
            return {
                "outcome": OUTCOMES[h.outcome],
                "event_id": h.event_id.get(),
                "event_type": h.event_type.get(),
                "customer_id": h.customer_id.get(),
                "jobs": [
                    {"id": j.id, "kind": j.kind.get(), "key": j.key.get(),
                     "coalesced": bool(j.coalesced)}
                    for j in h.jobs[: h.jobs_len]
                ],
                "reason": RESULT_NAMES.get(h.reason) if h.reason else None,
            }
        finally:
            self._lib.tb_handled_free(out)

    def _access(self, fn, who, now):
        out = POINTER(TbAccess)()
        self._check(fn(self._ptr, *_in(who), _now(now), byref(out)))
        try:
            a = out.contents
            return {
                "has_access": bool(a.has_access),
                "state": ACCESS_STATES[a.state],
                "reason": a.reason.get(),
                "customer_id": a.customer_id.get(),
                "user_id": a.user_id.get(),
                "subscription_id": a.subscription_id.get(),
                "price_id": a.price_id.get(),
                "product_id": a.product_id.get(),
                "current_period_end": a.current_period_end if a.has_current_period_end else None,
                "cancel_at_period_end": bool(a.cancel_at_period_end),
                "access_ends_at": a.access_ends_at if a.has_access_ends_at else None,
            }
        finally:
            self._lib.tb_access_free(out)

    def access(self, customer_id, now=None):
        return self._access(self._lib.tb_engine_access, customer_id, now)

    def access_for_user(self, user_id, now=None):
        return self._access(self._lib.tb_engine_access_for_user, user_id, now)

    def checkout_status(self, session_id):
        out = POINTER(TbCheckout)()
        self._check(self._lib.tb_engine_checkout_status(self._ptr, *_in(session_id), byref(out)))
        try:
            c = out.contents
            return {
                "state": CHECKOUT_STATES[c.state], "session_id": c.session_id.get(),
                "customer_id": c.customer_id.get(), "user_id": c.user_id.get(),
                "subscription_id": c.subscription_id.get(),
            }
        finally:
            self._lib.tb_checkout_free(out)

    def claim(self, kinds=(), limit=10, lease_secs=60, now=None):
        out = POINTER(TbJobBatch)()
        self._check(self._lib.tb_engine_job_claim(
            self._ptr, *_in(",".join(kinds)), limit, lease_secs, _now(now), byref(out)))
        try:
            b = out.contents
            return [
                {"id": j.id, "lease_token": j.lease_token, "lease_until": j.lease_until,
                 "attempt": j.attempt, "kind": j.kind.get(), "key": j.key.get(),
                 "customer_id": j.customer_id.get(), "payload": j.payload.get()}
                for j in b.jobs[: b.len]
            ]
        finally:
            self._lib.tb_job_batch_free(out)

    def complete(self, job, now=None):
        self._check(self._lib.tb_engine_job_complete(
            self._ptr, job["id"], job["lease_token"], _now(now)))

    def fail(self, job, error, now=None):
        out = TbFailOutcome()
        self._check(self._lib.tb_engine_job_fail(
            self._ptr, job["id"], job["lease_token"], *_in(error), _now(now), byref(out)))
        return {"state": FAIL_STATES[out.state], "next_attempt_at": out.next_attempt_at,
                "superseded_by": out.superseded_by}

    def _string(self, fn, now):
        out = POINTER(TbString)()
        self._check(fn(self._ptr, _now(now), byref(out)))
        try:
            return ctypes.string_at(out.contents.ptr, out.contents.len).decode("utf-8")
        finally:
            self._lib.tb_string_free(out)

    def metrics_json(self, now=None):
        return self._string(self._lib.tb_engine_metrics_json, now)

    def prometheus(self, now=None):
        return self._string(self._lib.tb_engine_prometheus, now)
