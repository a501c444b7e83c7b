"""Payments: the sim provider's cards, who may pay and see what, one charge
per order, and the signed webhook (refusals, a correct one, replays)."""

import time

from tap import test
from shopclient import API, fx, get, in_parallel, post, uniq
from flowlib import (FOLLOWUP, GRACE, SqlError, buyer, cancel, check_payment, event_body, get_order, idem,
                     get_payment, holds, items_body, must_pay, must_place, order_of, order_status, pay,
                     payment_of, payment_status, product, send_webhook, signature, sql_int, stock, stock_is,
                     table_exists, wait_for, wait_order, wait_payment, wait_stock, webhook_secret)

SLOW = 2.0   # pm_card_slow succeeds after ~2 s (payment-sim slow_ms)


@test
def card_ok(t):
    u = buyer()
    a = product(stock=10, price_cents=700)
    o = must_place(t, u, items_body((a["id"], 3)))
    key = uniq("pay")
    first = pay(u, o["id"], "pm_card_ok", key=key)
    t.require(t.expect(first, 202, what="POST /payments pm_card_ok"), "paying failed")
    t.eq(sorted(first.data or {}), ["payment"], "data of POST /payments holds the payment under its name")
    p = payment_of(first)
    check_payment(t, p, "POST /payments", order=o, status="PROCESSING")
    t.eq(p.get("amount_cents"), 2100, "amount from the order")
    wait_payment(t, u, p["id"], "SUCCEEDED", "payment SUCCEEDED")
    wait_order(t, u, o["id"], "PAID", "order PAID")
    wait_stock(t, a["id"], {"on_hand": 7, "reserved": 0}, "stock settled (on_hand 10 - 3)")
    r = get_payment(u, p["id"])
    if t.expect(r, 200, what="GET /payments/{id}"):
        t.eq(sorted(r.data or {}), ["payment"], "data of GET /payments/{id}")
        check_payment(t, payment_of(r), "GET /payments/{id}", order=o, status="SUCCEEDED")
    o2 = order_of(get_order(u, o["id"]))
    t.eq((o2 or {}).get("expires_at"), o.get("expires_at"), "expires_at of a paid order (unchanged)")
    # the same key again: the first answer, and nothing more
    r2 = pay(u, o["id"], "pm_card_ok", key=key)
    t.eq(r2.status, 202, "same key, same body: same status")
    t.eq(r2.raw, first.raw, "same key, same body: byte-equal body")
    # a paid order cannot be paid or cancelled again
    t.expect(pay(u, o["id"], "pm_card_ok"), 409, what="pay a PAID order (new key)")
    t.expect(cancel(u, o["id"]), 409, "ILLEGAL_TRANSITION", "cancel a PAID order")
    stock_is(t, a["id"], {"on_hand": 7, "reserved": 0}, "nothing moved after the refusals")


@test
def card_declined(t):
    u = buyer()
    a = product(stock=5, price_cents=1000)
    o = must_place(t, u, items_body((a["id"], 2)))
    p = must_pay(t, u, o["id"], "pm_card_declined", "paying with pm_card_declined")
    check_payment(t, p, "declined payment (answer)", order=o, status="PROCESSING")
    wait_payment(t, u, p["id"], "FAILED", "payment FAILED")
    t.eq(order_status(u, o["id"]), "PENDING_PAYMENT", "the order stays PENDING_PAYMENT")
    stock_is(t, a["id"], {"on_hand": 5, "reserved": 2}, "the reservation stays")
    p2 = must_pay(t, u, o["id"], "pm_card_ok", "paying again with pm_card_ok")
    t.ok(p2["id"] != p["id"], "a new payment")
    wait_payment(t, u, p2["id"], "SUCCEEDED", "second payment SUCCEEDED")
    wait_order(t, u, o["id"], "PAID", "order PAID after the second payment")
    wait_stock(t, a["id"], {"on_hand": 3, "reserved": 0}, "stock settled once")
    t.eq(payment_status(u, p["id"]), "FAILED", "the declined payment stays FAILED")


@test
def not_yours(t):
    u, v = buyer(), buyer()
    a = product(stock=5)
    o = must_place(t, u, items_body((a["id"], 1)))
    t.expect(pay(v, o["id"]), 404, what="pay another user's order")
    t.expect(pay(u, 999999999), 404, what="pay an unknown order")
    t.eq(order_status(u, o["id"]), "PENDING_PAYMENT", "another user's attempt changed nothing")
    p = must_pay(t, u, o["id"], "pm_card_ok")
    t.expect(get_payment(v, p["id"]), 404, what="GET /payments/{id} by another user")
    t.expect(get(API + "/payments/%d" % p["id"]), 401, what="GET /payments/{id} anonymous")
    t.expect(get_payment(u, 999999999), 404, what="GET an unknown payment")
    r = get_payment(fx.admin, p["id"])
    if t.expect(r, 200, what="GET /payments/{id} as ADMIN"):
        t.eq((payment_of(r) or {}).get("id"), p["id"], "the admin sees the payment")
    wait_order(t, u, o["id"], "PAID", "order PAID")
    t.expect(get_payment(v, p["id"]), 404, what="GET a SUCCEEDED payment by another user")


@test
def validation(t):
    u = buyer()
    a = product(stock=5)
    o = must_place(t, u, items_body((a["id"], 1)))
    t.expect(pay(u, o["id"], key=False), 400, what="POST /payments without Idempotency-Key")
    t.expect(pay(u, o["id"], key="k" * 256), 400, what="POST /payments with a key of 256 chars")
    h = {"Idempotency-Key": uniq("pv")}
    for body, code, what in (
            ({"order_id": o["id"], "payment_method": "pm_card_ok", "amount_cents": 1}, "UNKNOWN_FIELD",
             "amount_cents"),
            ({"order_id": o["id"], "payment_method": "pm_card_ok", "currency": "USD"}, "UNKNOWN_FIELD",
             "currency"),
            ({"order_id": o["id"], "payment_method": "pm_card_ok", "status": "SUCCEEDED"},
             "UNKNOWN_FIELD", "status"),
            ({"order_id": o["id"]}, None, "no payment_method"),
            ({"payment_method": "pm_card_ok"}, None, "no order_id"),
            ({"order_id": str(o["id"]), "payment_method": "pm_card_ok"}, None, "order_id a string"),
            ({"order_id": o["id"], "payment_method": 5}, None, "payment_method a number"),
            ({"order_id": o["id"], "payment_method": "x" * 300}, None, "a long payment_method")):
        h = {"Idempotency-Key": uniq("pv")}
        t.expect(post(API + "/payments", body, token=u.token, headers=h), 400, code,
                 "POST /payments with %s" % what)
    # a payment method the provider does not know: refused now, or accepted
    # and decided by the provider (never a 5xx); on another order
    ob = must_place(t, u, items_body((a["id"], 1)))
    r = pay(u, ob["id"], "pm_card_bogus")
    t.expect(r, (202, 400), what="POST /payments with an unknown payment_method")
    if r.status == 202:
        pid = payment_of(r)["id"]
        st, secs = wait_for(lambda: payment_status(u, pid) in ("FAILED", "SUCCEEDED"))
        t.ok(st, "a payment with an unknown method is still %r after %.1f s (the provider never answered)"
             % (payment_status(u, pid), secs))
        if payment_status(u, pid) == "SUCCEEDED":
            t.note("the sim provider accepted the unknown method pm_card_bogus")
    t.expect(post(API + "/payments", {"order_id": o["id"], "payment_method": "pm_card_ok"},
                  headers={"Idempotency-Key": uniq("pv")}), 401, what="POST /payments anonymous")
    t.eq(order_status(u, o["id"]), "PENDING_PAYMENT", "refused payments changed nothing")
    # a key reused with another body
    key = uniq("pv")
    r1 = pay(u, o["id"], "pm_card_declined", key=key)
    t.expect(r1, 202, what="pay with pm_card_declined")
    t.expect(pay(u, o["id"], "pm_card_ok", key=key), 409, "IDEMPOTENCY_KEY_REUSED",
             "the same key with another payment_method")
    if r1.status == 202:
        wait_payment(t, u, payment_of(r1)["id"], "FAILED", "declined payment FAILED")
    t.expect(cancel(u, o["id"]), 200, what="cancel the order")


@test
def one_charge(t):
    u = buyer()
    a = product(stock=10, price_cents=500)
    o = must_place(t, u, items_body((a["id"], 2)))
    t0 = time.monotonic()
    p1 = must_pay(t, u, o["id"], "pm_card_slow", "paying with pm_card_slow")
    r = pay(u, o["id"], "pm_card_ok")
    t.expect(r, 409, what="a second payment (another key) while the first is PROCESSING")
    t.ok(time.monotonic() - t0 < SLOW, "the second payment was refused while the first was live")
    t.eq(payment_status(u, p1["id"]), "PROCESSING", "the slow payment is PROCESSING")
    wait_payment(t, u, p1["id"], "SUCCEEDED", "slow payment SUCCEEDED", timeout=SLOW + FOLLOWUP + GRACE)
    wait_order(t, u, o["id"], "PAID", "order PAID")
    wait_stock(t, a["id"], {"on_hand": 8, "reserved": 0}, "stock settled once")
    try:
        if table_exists("shop_payments", "payments"):
            n = sql_int("SELECT COUNT(*) FROM shop_payments.payments WHERE order_id = %d" % o["id"])
            t.eq(n, 1, "payments rows of the order")
    except SqlError as e:
        t.note("cannot count payments rows: %s" % e)
    # many at once, each with its own key: one is accepted
    o2 = must_place(t, u, items_body((a["id"], 1)))
    rs = in_parallel(lambda i: pay(u, o2["id"], "pm_card_ok"), 8)
    st = sorted(r.status for r in rs if r is not None)
    t.eq(st, [202] + [409] * 7, "8 concurrent payments of one order with 8 keys")
    wait_order(t, u, o2["id"], "PAID", "second order PAID")
    wait_stock(t, a["id"], {"on_hand": 7, "reserved": 0}, "stock settled once for the second order")
    try:
        if table_exists("shop_payments", "payments"):
            n = sql_int("SELECT COUNT(*) FROM shop_payments.payments WHERE order_id = %d" % o2["id"])
            t.eq(n, 1, "payments rows of the second order")
    except SqlError as e:
        t.note("cannot count payments rows: %s" % e)


@test
def same_key_concurrent(t):
    """10 concurrent POST /payments with one key act once: one payment, and
    every answer is the first one."""
    u = buyer()
    a = product(stock=5, price_cents=300)
    o = must_place(t, u, items_body((a["id"], 1)))
    key = uniq("paykey")
    rs = in_parallel(lambda i: pay(u, o["id"], "pm_card_ok", key=key), 10)
    st = sorted(r.status for r in rs if r is not None)
    t.eq(st, [202] * 10, "statuses of 10 concurrent payments with one key")
    ids = {(payment_of(r) or {}).get("id") for r in rs if r is not None and r.status == 202}
    t.eq(len(ids), 1, "one payment among the answers: %r" % ids)
    t.eq(len({r.raw for r in rs if r is not None and r.status == 202}), 1, "the answers are byte-equal")
    wait_order(t, u, o["id"], "PAID", "order PAID")
    wait_stock(t, a["id"], {"on_hand": 4, "reserved": 0}, "stock settled once")
    try:
        if table_exists("shop_payments", "payments"):
            n = sql_int("SELECT COUNT(*) FROM shop_payments.payments WHERE order_id = %d" % o["id"])
            t.eq(n, 1, "payments rows of the order")
    except SqlError as e:
        t.note("cannot count payments rows: %s" % e)


@test
def cancelled_order(t):
    u = buyer()
    a = product(stock=5)
    o = must_place(t, u, items_body((a["id"], 1)))
    t.expect(cancel(u, o["id"]), 200, what="cancel")
    r = pay(u, o["id"], "pm_card_ok")
    t.expect(r, 409, what="pay a cancelled order")
    t.eq(order_status(u, o["id"]), "CANCELLED", "the order stays CANCELLED")
    wait_stock(t, a["id"], {"on_hand": 5, "reserved": 0}, "released, not settled")


@test
def refusal_replayed(t):
    """A refused payment's answer is kept under its key (API.md: the same key
    and body return the first response), even once the order is payable."""
    u = buyer()
    a = product(stock=5)
    o = must_place(t, u, items_body((a["id"], 1)))
    first = pay(u, o["id"], "pm_card_slow")   # live for ~2 s: the second surely finds it
    t.expect(first, 202, what="the first payment")
    key = idem()
    r1 = pay(u, o["id"], "pm_card_ok", key=key)
    t.expect(r1, 409, "PAYMENT_IN_PROGRESS", what="a second payment while the first is live")
    wait_order(t, u, o["id"], "PAID", "the first payment settles the order", timeout=SLOW + FOLLOWUP + GRACE)
    r2 = pay(u, o["id"], "pm_card_ok", key=key)
    t.eq((r2.status, r2.raw), (r1.status, r1.raw), "the same key and body replay the first refusal")
    t.eq(r2.header("idempotent-replayed"), "true", "a replay says so")
    r3 = pay(u, o["id"], "pm_card_ok")
    t.expect(r3, 409, "ORDER_NOT_PAYABLE", what="a new key is judged afresh (the order is PAID now)")


def _slow_payment(t, u, stock_n=5, q=1):
    a = product(stock=stock_n, price_cents=1500)
    o = must_place(t, u, items_body((a["id"], q)))
    p = must_pay(t, u, o["id"], "pm_card_slow", "paying with pm_card_slow")
    r = get_payment(u, p["id"])
    t.require(r.status == 200 and isinstance(payment_of(r), dict), "GET the slow payment: %r" % r)
    return a, o, payment_of(r)


@test
def webhook_refusals(t):
    u = buyer()
    a, o, p = _slow_payment(t, u)
    t0 = time.monotonic()
    evid, body = event_body(p, "payment.succeeded")
    now = int(time.time())
    good = signature(body)
    mac = good.split("v1=", 1)[1]
    flipped = mac[:-1] + ("0" if mac[-1] != "0" else "1")
    changed = body.replace(b'"type":"payment.succeeded"', b'"type":"payment.succeedeD"')
    assert changed != body and len(changed) == len(body)
    cases = (
        (body, signature(body, secret=b"not the secret"), "a signature with another secret"),
        (body, "t=%d,v1=%s" % (now, flipped), "a signature with one hex digit changed"),
        (body, signature(body, t=now - 301), "t = now - 301"),
        (body, signature(body, t=now + 310), "t = now + 310"),
        (changed, good, "one byte of the body changed"),
        (body + b" ", good, "a byte appended to the body"),
        (body, None, "no Shop-Signature header"),
        (body, "", "an empty Shop-Signature"),
        (body, "v1=" + mac, "no t="),
        (body, "t=%d" % now, "no v1="),
        (body, "t=abc,v1=" + mac, "t not a number"),
        (body, "t=%d,v1=%s" % (now, mac.upper()[:-2]), "a short v1"),
    )
    for b, sig, what in cases:
        r = send_webhook(b, sig, sign=sig is not None)
        t.expect(r, 400, "INVALID_SIGNATURE", "webhook with %s" % what)
    t.ok(time.monotonic() - t0 < SLOW, "the refusals ran while the slow payment was live")
    t.eq(payment_status(u, p["id"]), "PROCESSING", "refused webhooks changed nothing (payment)")
    t.eq(order_status(u, o["id"]), "PENDING_PAYMENT", "refused webhooks changed nothing (order)")
    stock_is(t, a["id"], {"on_hand": 5, "reserved": 1}, "refused webhooks changed nothing (stock)")
    # nginx lets only POST through
    t.expect(get(API + "/payments/webhook"), (404, 405), what="GET /payments/webhook")
    wait_payment(t, u, p["id"], "SUCCEEDED", "the sim's own webhook still works",
                 timeout=SLOW + FOLLOWUP + GRACE)


@test
def webhook_signed(t):
    """A webhook we sign ourselves for a PROCESSING payment works; the
    provider's later webhook for the same payment changes nothing more."""
    u = buyer()
    a, o, p = _slow_payment(t, u, stock_n=6, q=2)
    t0 = time.monotonic()
    evid, body = event_body(p, "payment.succeeded")
    r = send_webhook(body)
    t.expect(r, 200, what="a correctly signed payment.succeeded")
    t.ok(time.monotonic() - t0 < SLOW, "the signed webhook went before the sim's")
    wait_payment(t, u, p["id"], "SUCCEEDED", "payment SUCCEEDED by our webhook")
    wait_order(t, u, o["id"], "PAID", "order PAID by our webhook")
    wait_stock(t, a["id"], {"on_hand": 4, "reserved": 0}, "stock settled by our webhook")
    # the same event again: 200, nothing changes
    r = send_webhook(body)
    t.expect(r, 200, what="the same event id again")
    # the sim's own webhook arrives ~2 s after the payment; it must not settle again
    left = SLOW + FOLLOWUP - (time.monotonic() - t0)
    t.ok(holds(lambda: (stock(a["id"]) or {}).get("on_hand") == 4, max(left, 0.5)),
         "the sim's later webhook settled again: %r" % (stock(a["id"]),))
    t.eq(payment_status(u, p["id"]), "SUCCEEDED", "payment after the replay")
    t.eq(order_status(u, o["id"]), "PAID", "order after the replay")


@test
def webhook_replay(t):
    """An event id the shop has handled, replayed with another payment in its
    data: 200 and nothing changes."""
    u = buyer()
    a, o, p = _slow_payment(t, u)
    evid, body = event_body(p, "payment.succeeded")
    t.expect(send_webhook(body), 200, what="payment.succeeded for the first payment")
    wait_payment(t, u, p["id"], "SUCCEEDED", "first payment SUCCEEDED")
    b, o2, q = _slow_payment(t, u)
    t0 = time.monotonic()
    _, body2 = event_body(q, "payment.succeeded", evid=evid)
    t.expect(send_webhook(body2), 200, what="the handled event id with the second payment's data")
    _, body3 = event_body(q, "payment.failed", evid=evid)
    t.expect(send_webhook(body3), 200, what="the handled event id as payment.failed")
    t.ok(time.monotonic() - t0 < SLOW, "the replays went before the sim's webhook")
    t.eq(payment_status(u, q["id"]), "PROCESSING", "the replayed event id changed nothing (payment)")
    t.eq(order_status(u, o2["id"]), "PENDING_PAYMENT", "the replayed event id changed nothing (order)")
    stock_is(t, b["id"], {"on_hand": 5, "reserved": 1}, "the replayed event id changed nothing (stock)")
    wait_payment(t, u, q["id"], "SUCCEEDED", "second payment SUCCEEDED by the sim",
                 timeout=SLOW + FOLLOWUP + GRACE)
    wait_stock(t, b["id"], {"on_hand": 4, "reserved": 0}, "second product settled")
    wait_stock(t, a["id"], {"on_hand": 4, "reserved": 0}, "first product settled")
    # a well-signed event for an unknown payment: accepted or refused, never a 5xx
    fake = {"id": 999999999, "provider_ref": "sim_none", "amount_cents": 1, "currency": "EUR"}
    _, body4 = event_body(fake, "payment.succeeded")
    r = send_webhook(body4)
    t.expect(r, (200, 400, 404), what="a signed event for an unknown payment")
    t.ok(webhook_secret(), "webhook secret readable")
