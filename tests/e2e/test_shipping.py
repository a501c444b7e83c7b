"""Shipping: the PENDING shipment the shipping worker creates when an order is
paid, who may see it, the admin's ship and deliver (the order moves with the
shipment, visible when the answer is sent), illegal transitions, and bodies
that must be refused.

The products are made with shopclient.new_product, not flowlib.product:
flow.conservation counts only PAID orders as settled, and these orders move
on to SHIPPED and DELIVERED."""

from tap import test
import json

from shopclient import API, fx, get, in_parallel, new_product, post, request, uniq
from flowlib import (FOLLOWUP, GRACE, SqlError, buyer, cancel, get_order, holds, items_body, must_pay,
                     must_place, order_of, order_status, outbox_events, stock_is, wait_for, wait_stock)
from maillib import (check_shipment, deliver, paid_order, ship, shipment, shipment_of, shipment_status,
                     wait_shipment)


def _order_now(t, u, oid, status, what):
    """The order's status in the very next read (no polling: API.md wants it
    when the ship/deliver answer is sent)."""
    t.eq(order_status(u, oid), status, "%s: order status right after the answer" % what)


@test
def created_on_paid(t):
    u, v = buyer(), buyer()
    a = new_product(initial_stock=5, price_cents=800)
    o = must_place(t, u, items_body((a["id"], 2)))
    t.expect(shipment(u, o["id"]), 404, what="GET /shipments/{id} of a PENDING_PAYMENT order")
    t.expect(shipment(fx.admin, o["id"]), 404, what="GET /shipments/{id} of an unpaid order as ADMIN")
    must_pay(t, u, o["id"], "pm_card_ok")
    s = wait_shipment(t, u, o["id"], "PENDING", "shipment PENDING after the payment")
    r = shipment(u, o["id"])
    if t.expect(r, 200, what="GET /shipments/{id} as the owner"):
        if not isinstance(r.data, dict) or "shipment" not in r.data:
            t.note("GET /shipments/{id}: the shipment's fields are directly in data")
        check_shipment(t, shipment_of(r), "GET /shipments/{id}", oid=o["id"], status="PENDING")
    t.eq(order_status(u, o["id"]), "PAID", "the order is PAID")
    t.expect(shipment(v, o["id"]), 404, what="GET /shipments/{id} by another user")
    t.expect(get(API + "/shipments/%d" % o["id"]), 401, what="GET /shipments/{id} anonymous")
    ra = shipment(fx.admin, o["id"])
    if t.expect(ra, 200, what="GET /shipments/{id} as ADMIN") and s:
        t.eq(shipment_of(ra), s, "the admin sees the owner's shipment")
    t.expect(shipment(fx.seller, o["id"]), 404, what="GET /shipments/{id} as the seller (not the owner)")
    t.expect(shipment(u, 999999999), 404, what="GET /shipments/{unknown}")
    t.expect(get(API + "/shipments/abc", token=u.token), (400, 404), what="GET /shipments/abc")
    t.expect(get(API + "/shipments/0", token=u.token), (400, 404), what="GET /shipments/0")
    t.expect(get(API + "/shipments/-1", token=u.token), (400, 404), what="GET /shipments/-1")
    t.expect(get(API + "/shipments/99999999999999999999999", token=u.token), (400, 404),
             what="GET /shipments/<beyond 64 bits>")


@test
def ship_and_deliver(t):
    u = buyer()
    a = new_product(initial_stock=5, price_cents=1500)
    o, _ = paid_order(t, u, [(a["id"], 2)])
    wait_shipment(t, u, o["id"], "PENDING", "shipment PENDING")
    wait_stock(t, a["id"], {"on_hand": 3, "reserved": 0}, "stock settled")
    trk = uniq("TRK").upper()
    r = ship(o["id"], "DHL", trk)
    t.expect(r, 200, what="POST /admin/shipments/{id}/ship")
    _order_now(t, u, o["id"], "SHIPPED", "ship")
    if r.status == 200:
        sh = shipment_of(r)
        if isinstance(sh, dict) and "status" in sh:
            check_shipment(t, sh, "the ship answer", oid=o["id"], status="SHIPPED", carrier="DHL", tracking=trk)
        else:
            t.note("the ship answer holds no shipment: %s" % r.body_short(200))
    s = shipment_of(shipment(u, o["id"]))
    check_shipment(t, s, "shipment after ship", oid=o["id"], status="SHIPPED", carrier="DHL", tracking=trk)
    o2 = order_of(get_order(u, o["id"]))
    t.ok(isinstance(o2, dict) and o2.get("updated_at", "") >= o.get("updated_at", ""),
         "updated_at of the shipped order %r" % ((o2 or {}).get("updated_at"),))
    # a shipped order cannot be shipped again or cancelled
    t.expect(ship(o["id"], "UPS", uniq("TRK")), 409, "ILLEGAL_TRANSITION", "ship a SHIPPED order")
    t.expect(cancel(u, o["id"]), 409, "ILLEGAL_TRANSITION", "cancel a SHIPPED order")
    s2 = shipment_of(shipment(u, o["id"]))
    t.eq((s2 or {}).get("carrier"), "DHL", "the refused second ship changed nothing (carrier)")
    t.eq((s2 or {}).get("tracking_number"), trk, "the refused second ship changed nothing (tracking)")
    r = deliver(o["id"])
    t.expect(r, 200, what="POST /admin/shipments/{id}/deliver")
    _order_now(t, u, o["id"], "DELIVERED", "deliver")
    s = shipment_of(shipment(u, o["id"]))
    check_shipment(t, s, "shipment after deliver", oid=o["id"], status="DELIVERED", carrier="DHL", tracking=trk)
    t.expect(deliver(o["id"]), 409, "ILLEGAL_TRANSITION", "deliver a DELIVERED order")
    t.expect(ship(o["id"]), 409, "ILLEGAL_TRANSITION", "ship a DELIVERED order")
    t.eq(order_status(u, o["id"]), "DELIVERED", "the order stays DELIVERED")
    stock_is(t, a["id"], {"on_hand": 3, "reserved": 0}, "shipping moves no stock")
    _events(t, o, u, "DHL", trk)


def _events(t, o, u, carrier, trk):
    """One order.shipped and one order.delivered row in shop_shipping.outbox,
    with the payload of docs/events.md, and the relay sent them."""
    for et in ("order.shipped", "order.delivered"):
        try:
            evs, secs = wait_for(lambda: [e for e in outbox_events("shop_shipping", et, o["id"]) if e["sent"]],
                                 FOLLOWUP + GRACE)
            evs = outbox_events("shop_shipping", et, o["id"])
        except SqlError as e:
            t.note("cannot read shop_shipping.outbox: %s" % e)
            return
        if not t.eq(len(evs), 1, "%s outbox rows of order %d" % (et, o["id"])):
            continue
        t.ok(evs[0]["sent"], "%s not sent by the relay after %.1f s" % (et, secs))
        try:
            pl = json.loads(evs[0]["payload"])
        except ValueError:
            t.fail("%s payload is not JSON: %r" % (et, evs[0]["payload"]))
            continue
        want = {"order_id": o["id"], "user_id": u.id, "carrier": carrier, "tracking_number": trk}
        t.eq({k: pl.get(k) for k in want}, want, "%s payload" % et)


@test
def illegal(t):
    u = buyer()
    a = new_product(initial_stock=6)
    o, _ = paid_order(t, u, [(a["id"], 1)])
    wait_shipment(t, u, o["id"], "PENDING", "shipment PENDING")
    t.expect(deliver(o["id"]), 409, "ILLEGAL_TRANSITION", "deliver before ship")
    t.eq(shipment_status(u, o["id"]), "PENDING", "the shipment stays PENDING")
    t.eq(order_status(u, o["id"]), "PAID", "the order stays PAID")
    # a CANCELLED order can never be shipped: API.md's state machine says
    # "any other transition → 409 ILLEGAL_TRANSITION" (it never had a
    # shipment either, but a 404 would say "not there yet")
    oc = must_place(t, u, items_body((a["id"], 1)))
    t.expect(cancel(u, oc["id"]), 200, what="cancel")
    t.expect(ship(oc["id"]), 409, "ILLEGAL_TRANSITION", "ship a CANCELLED order")
    t.expect(deliver(oc["id"]), 409, "ILLEGAL_TRANSITION", "deliver a CANCELLED order")
    t.expect(ship(999999999), 404, what="ship an unknown order")
    t.expect(deliver(999999999), 404, what="deliver an unknown order")
    t.eq(order_status(u, oc["id"]), "CANCELLED", "the cancelled order stays CANCELLED")
    # an unpaid order has no shipment yet (GET answers 404 until it is
    # paid): 404 "not there", or 409 by the state machine; either is fine
    op = must_place(t, u, items_body((a["id"], 1)))
    r = ship(op["id"])
    if t.expect(r, (404, 409), what="ship a PENDING_PAYMENT order") and r.status == 409:
        t.expect(r, 409, "ILLEGAL_TRANSITION", "ship a PENDING_PAYMENT order")
    t.eq(order_status(u, op["id"]), "PENDING_PAYMENT", "the unpaid order stays PENDING_PAYMENT")
    t.expect(shipment(u, op["id"]), 404, what="no shipment for the unpaid order after the refused ship")
    t.expect(cancel(u, op["id"]), 200, what="cancel the unpaid order")
    # the paid order still goes its way after the refusals
    t.expect(ship(o["id"]), 200, what="ship")
    t.expect(deliver(o["id"]), 200, what="deliver")
    t.eq(order_status(u, o["id"]), "DELIVERED", "DELIVERED")
    wait_stock(t, a["id"], {"on_hand": 5, "reserved": 0}, "stock after the refusals and cancels")


@test
def access(t):
    u = buyer()
    a = new_product(initial_stock=3)
    o, _ = paid_order(t, u, [(a["id"], 1)])
    wait_shipment(t, u, o["id"], "PENDING", "shipment PENDING")
    for who, tok in (("the owner (CUSTOMER)", u.token), ("a SELLER", fx.seller.token),
                     ("another customer", fx.customer.token)):
        t.expect(ship(o["id"], token=tok), 403, what="ship as %s" % who)
        t.expect(deliver(o["id"], token=tok), 403, what="deliver as %s" % who)
    for path in ("ship", "deliver"):
        r = post(API + "/admin/shipments/%d/%s" % (o["id"], path),
                 {"carrier": "DHL", "tracking_number": "X1"} if path == "ship" else None)
        t.expect(r, 401, what="%s anonymous" % path)
    t.eq(shipment_status(u, o["id"]), "PENDING", "the shipment stays PENDING")
    t.eq(order_status(u, o["id"]), "PAID", "the order stays PAID")
    # another method on the routes
    t.expect(get(API + "/admin/shipments/%d/ship" % o["id"], token=fx.admin.token), (404, 405),
             what="GET /admin/shipments/{id}/ship")
    t.expect(request("DELETE", API + "/shipments/%d" % o["id"], token=u.token), (404, 405),
             what="DELETE /shipments/{id}")


@test
def bad_bodies(t):
    u = buyer()
    a = new_product(initial_stock=3)
    o, _ = paid_order(t, u, [(a["id"], 1)])
    wait_shipment(t, u, o["id"], "PENDING", "shipment PENDING")
    ok = {"carrier": "DHL", "tracking_number": "TRK123"}
    cases = [
        (dict(ok, status="DELIVERED"), "UNKNOWN_FIELD", "status"),
        (dict(ok, order_id=o["id"]), "UNKNOWN_FIELD", "order_id"),
        (dict(ok, user_id=u.id), "UNKNOWN_FIELD", "user_id"),
        (dict(ok, shipped_at="2020-01-01T00:00:00Z"), "UNKNOWN_FIELD", "shipped_at"),
        (dict(ok, events=[{"status": "DELIVERED", "at": "2020-01-01T00:00:00Z"}]), "UNKNOWN_FIELD", "events"),
        ({"carrier": "DHL"}, None, "no tracking_number"),
        ({"tracking_number": "TRK123"}, None, "no carrier"),
        ({}, None, "an empty object"),
        ({"carrier": "", "tracking_number": "TRK123"}, None, "an empty carrier"),
        ({"carrier": "DHL", "tracking_number": ""}, None, "an empty tracking_number"),
        ({"carrier": 5, "tracking_number": "TRK123"}, None, "a numeric carrier"),
        ({"carrier": "DHL", "tracking_number": 123}, None, "a numeric tracking_number"),
        ({"carrier": None, "tracking_number": "TRK123"}, None, "a null carrier"),
        ({"carrier": "DHL", "tracking_number": "T" * 300}, None, "a 300-char tracking_number"),
        ({"carrier": "D" * 300, "tracking_number": "TRK123"}, None, "a 300-char carrier"),
        ([ok], None, "an array"),
        ("{\"carrier\": \"DHL\", ", None, "malformed JSON"),
        ("", None, "an empty body"),
    ]
    for body, code, what in cases:
        t.expect(ship(o["id"], body=body), 400, code, "ship with %s" % what)
    r = ship(o["id"], body='{"carrier":"DHL","tracking_number":"A","carrier":"UPS"}')
    t.expect(r, 400, what="ship with a duplicate key")
    r = request("POST", API + "/admin/shipments/%d/ship" % o["id"], "carrier=DHL&tracking_number=X",
                token=fx.admin.token, ctype="application/x-www-form-urlencoded")
    t.expect(r, (400, 415), what="ship with a form body")
    t.expect(deliver(o["id"], body={"status": "DELIVERED"}), (400, 409), what="deliver with a body")
    t.expect(ship(999999999, body={"carrier": "DHL", "tracking_number": "X", "x": 1}), (400, 404),
             what="ship an unknown order with an unknown field")
    t.expect(post(API + "/admin/shipments/abc/ship", ok, token=fx.admin.token), (400, 404),
             what="ship /admin/shipments/abc")
    t.eq(shipment_status(u, o["id"]), "PENDING", "the shipment stays PENDING after the refusals")
    t.eq(order_status(u, o["id"]), "PAID", "the order stays PAID after the refusals")
    # printable text is kept as sent
    trk = "1Z 999-AA/10 " + uniq("t")[-8:]
    t.expect(ship(o["id"], body={"carrier": "La Poste \u00e9", "tracking_number": trk}), 200,
             what="ship with a carrier in UTF-8")
    s = shipment_of(shipment(u, o["id"]))
    t.eq((s or {}).get("carrier"), "La Poste \u00e9", "carrier as sent")
    t.eq((s or {}).get("tracking_number"), trk, "tracking_number as sent")


@test
def concurrent_ship(t):
    """Eight admins ship one order at once: one 200, seven 409, one
    order.shipped event."""
    u = buyer()
    a = new_product(initial_stock=3)
    o, _ = paid_order(t, u, [(a["id"], 1)])
    wait_shipment(t, u, o["id"], "PENDING", "shipment PENDING")
    rs = in_parallel(lambda i: ship(o["id"], "C%d" % i, "T%d" % i), 8)
    st = sorted(r.status for r in rs if r is not None)
    t.eq(st, [200] + [409] * 7, "8 concurrent ships")
    won = [i for i, r in enumerate(rs) if r is not None and r.status == 200]
    s = shipment_of(shipment(u, o["id"]))
    if won:
        t.eq(((s or {}).get("carrier"), (s or {}).get("tracking_number")), ("C%d" % won[0], "T%d" % won[0]),
             "the shipment is the winner's")
    _order_now(t, u, o["id"], "SHIPPED", "concurrent ship")
    try:
        evs, _ = wait_for(lambda: outbox_events("shop_shipping", "order.shipped", o["id"]), FOLLOWUP + GRACE)
        t.eq(len(evs or []), 1, "order.shipped outbox rows")
    except SqlError as e:
        t.note("cannot read shop_shipping.outbox: %s" % e)
    t.ok(holds(lambda: shipment_status(u, o["id"]) == "SHIPPED", 0.2), "the shipment left SHIPPED")
