"""Refunds: POST /payments/{id}/refund by an admin; the sim provider's
refund.succeeded webhook makes the payment REFUNDED, the order worker the
order REFUNDED, and the inventory worker puts the goods back on hand when the
order was not shipped yet or the admin says they came back (restock); an
ORDER_REFUNDED mail; refusals and the Idempotency-Key.

The products are made with shopclient.new_product (see test_shipping)."""

import json

from tap import test
from shopclient import API, fx, in_parallel, new_product, post, uniq
from flowlib import (FOLLOWUP, GRACE, TS_RE, SqlError, buyer, cancel, event_body, get_payment, holds, items_body,
                     ledger, must_pay, must_place, order_status, outbox_events, payment_of, payment_status,
                     send_webhook, sql, sql_int, stock, stock_is, wait_for, wait_order, wait_payment, wait_stock)
from maillib import (check_money, deliver, has_number, mail_of, paid_order, refund, require_sink, ship,
                     shipment_status, wait_shipment)

SLOW = 2.0


def _restocks(pid, oid):
    """The RESTOCK ledger rows of product pid for order oid."""
    return [r for r in ledger(pid) if r[0] == "RESTOCK" and r[3] == "refund:%d" % oid]


def _refunded(t, u, o, p, what):
    """Waits for the payment and the order to be REFUNDED."""
    wait_payment(t, u, p["id"], "REFUNDED", "%s: payment REFUNDED" % what)
    wait_order(t, u, o["id"], "REFUNDED", "%s: order REFUNDED" % what)


def _inventory_saw(t, oid, what):
    """Waits until the inventory worker claimed the order.refunded event of
    oid (its processed_events row): then no restock can still come."""
    try:
        evs, _ = wait_for(lambda: outbox_events("shop_orders", "order.refunded", oid), FOLLOWUP + GRACE)
        if not t.ok(evs and len(evs) == 1, "%s: order.refunded rows %r" % (what, evs)):
            return None
        ev = evs[0]
        claimed, secs = wait_for(lambda: sql_count("SELECT COUNT(*) FROM shop_catalog.processed_events"
                                                   " WHERE event_id = '%s'" % ev["event_id"]), FOLLOWUP + GRACE)
        t.ok(claimed, "%s: the inventory worker did not claim order.refunded %s within %.1f s" % (
            what, ev["event_id"], secs))
        return json.loads(ev["payload"])
    except SqlError as e:
        t.note("SQL as root is not available: %s" % e)
        return None


def sql_count(q):
    return sql_int(q, 0)


@test
def paid_order_restocks(t):
    u = buyer("refund")
    a = new_product(initial_stock=10, price_cents=700)
    o, p = paid_order(t, u, [(a["id"], 3)])
    wait_stock(t, a["id"], {"on_hand": 7, "reserved": 0}, "settled")
    key = uniq("rf")
    r = refund(p["id"], key=key)
    t.require(t.expect(r, 202, what="POST /payments/{id}/refund"), "refund refused")
    t.eq(sorted(r.data or {}), ["payment"], "data of the refund answer holds the payment under its name")
    rp = payment_of(r) or {}
    t.eq(rp.get("id"), p["id"], "the refund answer is the payment")
    t.isin(rp.get("status"), ("SUCCEEDED", "REFUNDED"), "status in the refund answer")
    t.ok(isinstance(rp.get("refund_requested_at"), str) and TS_RE.match(rp["refund_requested_at"]),
         "refund_requested_at %r" % rp.get("refund_requested_at"))
    _refunded(t, u, o, p, "refund of a PAID order")
    wait_stock(t, a["id"], {"on_hand": 10, "reserved": 0}, "restocked (the order was not shipped)")
    rs = _restocks(a["id"], o["id"])
    t.eq([(k, d, dr) for k, d, dr, _ in rs], [("RESTOCK", 3, 0)], "RESTOCK ledger rows of the order")
    pl = _inventory_saw(t, o["id"], "refund of a PAID order")
    if pl is not None:
        t.eq((pl.get("order_id"), pl.get("payment_id"), pl.get("restock")), (o["id"], p["id"], True),
             "order.refunded payload (order_id, payment_id, restock)")
        t.eq([(i.get("product_id"), i.get("quantity")) for i in pl.get("items") or []], [(a["id"], 3)],
             "order.refunded items")
    g = payment_of(get_payment(fx.admin, p["id"])) or {}
    t.eq(g.get("refund_requested_at"), rp.get("refund_requested_at"), "refund_requested_at kept")
    t.eq(payment_of(get_payment(u, p["id"])).get("status"), "REFUNDED", "the owner sees REFUNDED")
    # the same key and body: the first answer, nothing again
    r2 = refund(p["id"], key=key)
    t.eq(r2.status, 202, "same key, same body: same status")
    t.eq(r2.raw, r.raw, "same key, same body: byte-equal body")
    t.expect(refund(p["id"], {"restock": True}, key=key), 409, "IDEMPOTENCY_KEY_REUSED",
             "same key, another body")
    # a REFUNDED payment is not refundable
    t.expect(refund(p["id"]), 409, ("NOT_REFUNDABLE", "REFUND_IN_PROGRESS"), "refund a REFUNDED payment")
    t.expect(cancel(u, o["id"]), 409, "ILLEGAL_TRANSITION", "cancel a REFUNDED order")
    t.expect(ship(o["id"]), 409, "ILLEGAL_TRANSITION", "ship a REFUNDED order (its shipment is PENDING)")
    t.eq(order_status(u, o["id"]), "REFUNDED", "the order stays REFUNDED")
    t.ok(holds(lambda: (stock(a["id"]) or {}).get("on_hand") == 10, 0.3), "stock after the replays %r"
         % stock(a["id"]))
    t.eq(len(_restocks(a["id"], o["id"])), 1, "RESTOCK rows after the replays")
    try:
        n = sql_count("SELECT COUNT(*) FROM shop_payments.outbox WHERE event_type = 'refund.requested'"
                      " AND aggregate_id = %d" % p["id"])
        t.eq(n, 1, "refund.requested events of the payment")
    except SqlError as e:
        t.note("cannot count refund.requested: %s" % e)


@test
def paid_order_restock_false(t):
    """restock = (the order was PAID) OR the admin's flag: a PAID order is
    restocked even with {"restock": false}."""
    u = buyer("refund-f")
    a = new_product(initial_stock=4, price_cents=500)
    o, p = paid_order(t, u, [(a["id"], 2)])
    wait_stock(t, a["id"], {"on_hand": 2, "reserved": 0}, "settled")
    t.expect(refund(p["id"], {"restock": False}), 202, what="refund {restock: false} of a PAID order")
    _refunded(t, u, o, p, "refund of a PAID order with restock false")
    wait_stock(t, a["id"], {"on_hand": 4, "reserved": 0}, "restocked all the same")


@test
def shipped_no_restock(t):
    u = buyer("refund-s")
    a = new_product(initial_stock=6, price_cents=900)
    o, p = paid_order(t, u, [(a["id"], 2)])
    wait_shipment(t, u, o["id"], "PENDING", "shipment PENDING")
    t.expect(ship(o["id"]), 200, what="ship")
    wait_stock(t, a["id"], {"on_hand": 4, "reserved": 0}, "settled")
    t.expect(refund(p["id"], {"restock": False}), 202, what="refund {restock: false} of a SHIPPED order")
    _refunded(t, u, o, p, "refund of a SHIPPED order")
    pl = _inventory_saw(t, o["id"], "refund without restock")
    if pl is not None:
        t.eq(pl.get("restock"), False, "order.refunded restock")
    stock_is(t, a["id"], {"on_hand": 4, "reserved": 0}, "no restock")
    t.eq(_restocks(a["id"], o["id"]), [], "RESTOCK rows")
    t.eq(shipment_status(u, o["id"]), "SHIPPED", "the shipment stays SHIPPED")
    t.expect(deliver(o["id"]), (404, 409), what="deliver a REFUNDED order")
    t.eq(order_status(u, o["id"]), "REFUNDED", "the order stays REFUNDED")


@test
def shipped_restock(t):
    u = buyer("refund-r")
    a = new_product(initial_stock=6, price_cents=900)
    o, p = paid_order(t, u, [(a["id"], 2)])
    wait_shipment(t, u, o["id"], "PENDING", "shipment PENDING")
    t.expect(ship(o["id"]), 200, what="ship")
    wait_stock(t, a["id"], {"on_hand": 4, "reserved": 0}, "settled")
    t.expect(refund(p["id"], {"restock": True}), 202, what="refund {restock: true} of a SHIPPED order")
    _refunded(t, u, o, p, "refund of a SHIPPED order, restock")
    wait_stock(t, a["id"], {"on_hand": 6, "reserved": 0}, "restocked (the goods came back)")
    t.eq(len(_restocks(a["id"], o["id"])), 1, "RESTOCK rows")


@test
def delivered_default(t):
    """A DELIVERED order refunded without a body flag: no restock."""
    u = buyer("refund-d")
    a = new_product(initial_stock=5, price_cents=300)
    o, p = paid_order(t, u, [(a["id"], 1)])
    wait_shipment(t, u, o["id"], "PENDING", "shipment PENDING")
    t.expect(ship(o["id"]), 200, what="ship")
    t.expect(deliver(o["id"]), 200, what="deliver")
    t.expect(refund(p["id"]), 202, what="refund {} of a DELIVERED order")
    _refunded(t, u, o, p, "refund of a DELIVERED order")
    _inventory_saw(t, o["id"], "refund of a DELIVERED order")
    stock_is(t, a["id"], {"on_hand": 4, "reserved": 0}, "no restock")


@test
def refused(t):
    u = buyer("refund-x")
    a = new_product(initial_stock=10, price_cents=400)
    # a FAILED payment
    of = must_place(t, u, items_body((a["id"], 1)))
    pf = must_pay(t, u, of["id"], "pm_card_declined")
    wait_payment(t, u, pf["id"], "FAILED", "payment FAILED")
    t.expect(refund(pf["id"]), 409, "NOT_REFUNDABLE", "refund a FAILED payment")
    # a PROCESSING payment
    ps = must_pay(t, u, of["id"], "pm_card_slow")
    t.expect(refund(ps["id"]), 409, "NOT_REFUNDABLE", "refund a PROCESSING payment")
    t.eq(payment_status(u, ps["id"]), "PROCESSING", "the slow payment is still PROCESSING")
    # unknown, and not an admin
    t.expect(refund(999999999), 404, what="refund an unknown payment")
    o, p = paid_order(t, u, [(a["id"], 2)])
    for who, tok in (("the owner (CUSTOMER)", u.token), ("a SELLER", fx.seller.token)):
        t.expect(refund(p["id"], token=tok), 403, what="refund as %s" % who)
    t.expect(post(API + "/payments/%d/refund" % p["id"], {}, headers={"Idempotency-Key": uniq("rf")}), 401,
             what="refund anonymous")
    # twice, with two keys: the second finds the refund requested or done
    t.expect(refund(p["id"]), 202, what="refund")
    r = refund(p["id"])
    t.expect(r, 409, ("REFUND_IN_PROGRESS", "NOT_REFUNDABLE"), "refund again (another key)")
    _refunded(t, u, o, p, "refund")
    t.expect(refund(p["id"]), 409, "NOT_REFUNDABLE", "refund a REFUNDED payment")
    # the slow payment ends SUCCEEDED; its order PAID; then it can be refunded
    wait_payment(t, u, ps["id"], "SUCCEEDED", "slow payment SUCCEEDED", timeout=SLOW + FOLLOWUP + GRACE)
    wait_order(t, u, of["id"], "PAID", "the slow payment's order PAID")
    t.eq(payment_status(u, pf["id"]), "FAILED", "the FAILED payment stays FAILED")
    t.expect(refund(pf["id"]), 409, "NOT_REFUNDABLE", "refund the FAILED payment of a PAID order")
    # 10 on hand: 1 + 2 settled, 2 back from the refund
    wait_stock(t, a["id"], {"on_hand": 9, "reserved": 0}, "stock after the refusals and one refund")


@test
def validation(t):
    u = buyer("refund-v")
    a = new_product(initial_stock=5, price_cents=250)
    o, p = paid_order(t, u, [(a["id"], 1)])
    t.expect(refund(p["id"], key=False), 400, what="refund without Idempotency-Key")
    t.expect(refund(p["id"], key="k" * 256), 400, what="refund with a 256-char key")
    t.expect(refund(p["id"], key="caf\u00e9".encode("utf-8").decode("latin-1")), 400,
             what="refund with a non-ASCII key")
    for body, code, what in (
            ({"restock": "yes"}, None, "restock a string"),
            ({"restock": 1}, None, "restock a number"),
            ({"restock": None}, None, "restock null"),
            ({"amount_cents": 1}, "UNKNOWN_FIELD", "amount_cents"),
            ({"status": "REFUNDED"}, "UNKNOWN_FIELD", "status"),
            ({"restock": True, "order_id": o["id"]}, "UNKNOWN_FIELD", "order_id"),
            ([], None, "an array"),
            ('{"restock": tru', None, "malformed JSON")):
        t.expect(refund(p["id"], body), 400, code, "refund with %s" % what)
    t.expect(refund(0), (400, 404), what="refund payment 0")
    t.expect(post(API + "/payments/abc/refund", {}, token=fx.admin.token,
                  headers={"Idempotency-Key": uniq("rf")}), (400, 404), what="refund /payments/abc")
    g = payment_of(get_payment(u, p["id"])) or {}
    t.eq((g.get("status"), g.get("refund_requested_at")), ("SUCCEEDED", None),
         "the payment after the refusals (status, refund_requested_at)")
    t.eq(order_status(u, o["id"]), "PAID", "the order stays PAID")


@test
def concurrent(t):
    """Ten refunds with one key act once and answer alike; eight with eight
    keys: one 202."""
    u = buyer("refund-c")
    a = new_product(initial_stock=5, price_cents=100)
    o1, p1 = paid_order(t, u, [(a["id"], 1)])
    o2, p2 = paid_order(t, u, [(a["id"], 1)])
    key = uniq("rfk")
    rs = in_parallel(lambda i: refund(p1["id"], key=key), 10)
    t.eq(sorted(r.status for r in rs if r is not None), [202] * 10, "10 refunds with one key")
    t.eq(len({r.raw for r in rs if r is not None and r.status == 202}), 1, "the answers are byte-equal")
    rs = in_parallel(lambda i: refund(p2["id"]), 8)
    t.eq(sorted(r.status for r in rs if r is not None), [202] + [409] * 7, "8 refunds with 8 keys")
    _refunded(t, u, o1, p1, "first order")
    _refunded(t, u, o2, p2, "second order")
    wait_stock(t, a["id"], {"on_hand": 5, "reserved": 0}, "both restocked once")
    try:
        for p in (p1, p2):
            n = sql_count("SELECT COUNT(*) FROM shop_payments.outbox WHERE event_type = 'refund.requested'"
                          " AND aggregate_id = %d" % p["id"])
            t.eq(n, 1, "refund.requested events of payment %d" % p["id"])
    except SqlError as e:
        t.note("cannot count refund.requested: %s" % e)
    for o in (o1, o2):
        t.eq(len(_restocks(a["id"], o["id"])), 1, "RESTOCK rows of order %d" % o["id"])


@test
def refunded_mail(t):
    require_sink(t)
    u = buyer("refund-m")
    a = new_product(initial_stock=5, price_cents=1850)
    o, p = paid_order(t, u, [(a["id"], 2)])
    t.expect(refund(p["id"]), 202, what="refund")
    _refunded(t, u, o, p, "refund")
    _, m = mail_of(t, u, "ORDER_REFUNDED", "ORDER_REFUNDED")
    if m is not None:
        for label, s in (("text", m.text), ("HTML", m.html_text())):
            t.ok(has_number(s, o["id"]), "ORDER_REFUNDED %s part does not name order %d" % (label, o["id"]))
        check_money(t, m, 3700, "EUR", "ORDER_REFUNDED amount")


@test
def webhook_guard(t):
    """A correctly signed refund.succeeded for a payment whose refund nobody
    asked for changes nothing; the provider's own refund event sent again
    after the refund changes nothing either."""
    u = buyer("refund-w")
    a = new_product(initial_stock=5, price_cents=600)
    o, p = paid_order(t, u, [(a["id"], 2)])
    wait_stock(t, a["id"], {"on_hand": 3, "reserved": 0}, "settled")
    pay_now = payment_of(get_payment(u, p["id"]))
    t.require(isinstance(pay_now, dict), "cannot read the payment")
    _, body = event_body(pay_now, "refund.succeeded")
    r = send_webhook(body)
    t.ok(r.status < 500, "an unrequested refund.succeeded: %r" % r)
    t.ok(holds(lambda: payment_status(u, p["id"]) == "SUCCEEDED" and order_status(u, o["id"]) == "PAID", 0.5),
         "an unrequested refund.succeeded moved the payment (%s) or the order (%s)" % (
             payment_status(u, p["id"]), order_status(u, o["id"])))
    stock_is(t, a["id"], {"on_hand": 3, "reserved": 0}, "nothing restocked")
    t.expect(refund(p["id"]), 202, what="refund")
    _refunded(t, u, o, p, "refund")
    wait_stock(t, a["id"], {"on_hand": 5, "reserved": 0}, "restocked")
    _, body = event_body(payment_of(get_payment(u, p["id"])), "refund.succeeded",
                         evid="evt_%d_refunded" % p["id"])
    t.expect(send_webhook(body), 200, what="the provider's refund event again")
    t.ok(holds(lambda: (stock(a["id"]) or {}).get("on_hand") == 5, 0.5), "stock after the replay %r"
         % stock(a["id"]))
    t.eq(len(_restocks(a["id"], o["id"])), 1, "RESTOCK rows after the replay")


@test(background=True)
def late_payment(t):
    """A payment that succeeds after its order expired is refundable (the
    customer paid for nothing); the order stays EXPIRED and its stock, long
    released, does not come back a second time."""
    u = buyer("refund-late")
    a = new_product(initial_stock=5, price_cents=450)
    o = must_place(t, u, items_body((a["id"], 2)))
    p = must_pay(t, u, o["id"], "pm_card_slow")
    try:
        rows = sql("UPDATE shop_orders.orders SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND"
                   " WHERE id = %d AND status = 'PENDING_PAYMENT'; SELECT ROW_COUNT()" % o["id"])
    except SqlError as e:
        t.skip("SQL as root is not available: %s" % e)
    t.require(rows == [["1"]], "setting expires_at into the past changed %r rows" % rows)
    wait_order(t, u, o["id"], "EXPIRED", "order EXPIRED")
    wait_stock(t, a["id"], {"on_hand": 5, "reserved": 0}, "released")
    st, secs = wait_for(lambda: payment_status(u, p["id"]) != "PROCESSING", SLOW + FOLLOWUP + GRACE)
    t.require(st, "the slow payment is still PROCESSING after %.1f s" % secs)
    if payment_status(u, p["id"]) != "SUCCEEDED":
        t.skip("the late payment ended %s, not SUCCEEDED" % payment_status(u, p["id"]))
    r = refund(p["id"])
    t.expect(r, (202, 409), what="refund the late payment of an EXPIRED order")
    if r.status == 202:
        wait_payment(t, u, p["id"], "REFUNDED", "the late payment REFUNDED")
    else:
        t.note("the late payment of an EXPIRED order is not refundable: %s" % r.body_short(200))
    t.ok(holds(lambda: order_status(u, o["id"]) == "EXPIRED" and
               (stock(a["id"]) or {}).get("on_hand") == 5 and (stock(a["id"]) or {}).get("reserved") == 0, 0.5),
         "after refunding the late payment: order %s, stock %r (want EXPIRED, on_hand 5, reserved 0)"
         % (order_status(u, o["id"]), stock(a["id"])))
    t.eq(_restocks(a["id"], o["id"]), [], "RESTOCK rows of the EXPIRED order")
