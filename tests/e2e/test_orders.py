"""Orders: placing from the cart and from items, stock reserved before the
answer, out of stock, idempotency keys, who sees what, lists, cancel, the
admin list, mass assignment."""

import re

from tap import test
from shopclient import API, check_response, fx, get, in_parallel, post, put, qs, raw_request, uniq, walk
from flowlib import (adjust, buyer, cancel, cart_add, cart_lines, check_order, expiry_seconds, get_order,
                     items_body, must_place, order_of, place, product, stock_is, ts, wait_stock)


@test
def from_cart(t):
    u = buyer()
    a = product(stock=10, price_cents=1250)
    b = product(stock=5, price_cents=399)
    t.require(cart_add(u, a["id"], 2).status in (200, 201), "add A to the cart")
    t.require(cart_add(u, b["id"], 1).status in (200, 201), "add B to the cart")
    r = place(u, {})
    t.require(t.expect(r, 201, what="POST /orders from the cart"), "ordering the cart failed")
    t.eq(sorted(r.data or {}), ["order"], "data of POST /orders holds the order under its name")
    o = order_of(r)
    check_order(t, o, "POST /orders", user=u, status="PENDING_PAYMENT")
    t.eq(o.get("currency"), "EUR", "order currency")
    t.eq(o.get("total_cents"), 2 * 1250 + 399, "order total")
    lines = {i.get("product_id"): i for i in o.get("items") or []}
    t.eq(sorted(lines), sorted([a["id"], b["id"]]), "order lines")
    la = lines.get(a["id"]) or {}
    t.eq((la.get("sku"), la.get("name"), la.get("quantity"), la.get("unit_price_cents")),
         (a["sku"], a["name"], 2, 1250), "line of A (snapshot of the catalog)")
    exp, cre = ts(o.get("expires_at")), ts(o.get("created_at"))
    if exp is not None and cre is not None:
        want = expiry_seconds()
        t.ok(abs(exp - cre - want) <= 5, "expires_at - created_at = %.1f s, want %d" % (exp - cre, want))
    # reserved before the answer
    stock_is(t, a["id"], {"on_hand": 10, "reserved": 2, "available": 8}, "A after the order")
    stock_is(t, b["id"], {"on_hand": 5, "reserved": 1, "available": 4}, "B after the order")
    t.eq(cart_lines(u), {}, "ordering the cart empties it")
    r2 = get_order(u, o["id"])
    if t.expect(r2, 200, what="GET /orders/{id}"):
        t.eq(sorted(r2.data or {}), ["order"], "data of GET /orders/{id}")
        check_order(t, order_of(r2), "GET /orders/{id}", user=u, status="PENDING_PAYMENT")
        t.eq(order_of(r2), o, "GET /orders/{id} equals the order POST answered")
    # the empty cart cannot be ordered, and nothing happens
    r = place(u, {})
    t.expect(r, (400, 409), what="POST /orders with an empty cart")
    stock_is(t, a["id"], {"reserved": 2}, "A after ordering an empty cart")
    # the price changes later: the order keeps its snapshot
    t.expect(put(API + "/products/%d" % a["id"], {"price_cents": 9999}, token=fx.seller.token), 200,
             what="the seller changes A's price")
    r = get_order(u, o["id"])
    t.eq((order_of(r) or {}).get("total_cents"), 2 * 1250 + 399, "the order total stays")


@test
def from_items(t):
    u = buyer()
    a, b, c = product(stock=10, price_cents=100), product(stock=10, price_cents=200), product(stock=3)
    t.require(cart_add(u, c["id"], 1).status in (200, 201), "add C to the cart")
    r = place(u, items_body((a["id"], 3), (b["id"], 1)))
    t.require(t.expect(r, 201, what="POST /orders with items"), "ordering items failed")
    o = order_of(r)
    check_order(t, o, "order from items", user=u, status="PENDING_PAYMENT")
    t.eq(o.get("total_cents"), 3 * 100 + 200, "total of the items order")
    t.eq(sorted((i.get("product_id"), i.get("quantity")) for i in o.get("items") or []),
         sorted([(a["id"], 3), (b["id"], 1)]), "lines of the items order")
    stock_is(t, a["id"], {"reserved": 3, "on_hand": 10}, "A")
    stock_is(t, b["id"], {"reserved": 1, "on_hand": 10}, "B")
    t.eq(cart_lines(u), {c["id"]: 1}, "an order of explicit items leaves the cart alone")
    # validation of the items
    for body, what in (({"items": []}, "no items"),
                       (items_body((a["id"], 0)), "quantity 0"),
                       (items_body((a["id"], -1)), "quantity -1"),
                       (items_body((a["id"], 1001)), "quantity 1001"),
                       (items_body((a["id"], "1")), "quantity a string"),
                       ({"items": [{"product_id": a["id"]}]}, "no quantity"),
                       ({"items": "x"}, "items a string"),
                       ({"items": [5]}, "an item that is a number"),
                       ({"address_id": "x"}, "address_id a string")):
        t.expect(place(u, body), 400, what="POST /orders with %s" % what)
    t.expect(place(u, items_body((999999999, 1))), (400, 404, 409), what="POST /orders of an unknown product")
    t.expect(get(API + "/orders/abc", token=u.token), (400, 404), what="GET /orders/abc")
    usd = product(stock=5, currency="USD")
    r = place(u, items_body((a["id"], 1), (usd["id"], 1)))
    t.expect(r, 400, "CURRENCY_MISMATCH", "POST /orders mixing EUR and USD")
    stock_is(t, a["id"], {"reserved": 3}, "A after refused orders")
    stock_is(t, usd["id"], {"reserved": 0}, "USD product after refused orders")
    r = get(API + "/orders", token=u.token)
    t.eq(len((r.data or {}).get("items") or []), 1, "refused orders created nothing")


@test
def out_of_stock(t):
    u = buyer()
    a, b, c = product(stock=2), product(stock=1), product(stock=10)
    r = place(u, items_body((a["id"], 3), (c["id"], 1), (b["id"], 2)))
    t.expect(r, 409, "OUT_OF_STOCK", "POST /orders with two short lines")
    errs = (r.json or {}).get("errors") or []
    t.eq(len(errs), 2, "one error per short line: %r" % errs)
    t.eq(sorted(e.get("code") for e in errs), ["OUT_OF_STOCK", "OUT_OF_STOCK"], "error codes")
    t.eq(sorted(e.get("field") or "" for e in errs), ["items[0].quantity", "items[2].quantity"],
         "error fields name the short lines")
    for p, n in ((a, 2), (b, 1), (c, 10)):
        stock_is(t, p["id"], {"on_hand": n, "reserved": 0}, "after OUT_OF_STOCK")
    r = get(API + "/orders", token=u.token)
    t.eq((r.data or {}).get("items"), [], "OUT_OF_STOCK created no order")
    # from the cart: the cart stays as it was
    t.require(cart_add(u, a["id"], 3).status in (200, 201), "add 3 of A to the cart")
    r = place(u, {})
    t.expect(r, 409, "OUT_OF_STOCK", "POST /orders of a cart with a short line")
    t.eq(cart_lines(u), {a["id"]: 3}, "a refused cart order leaves the cart")
    stock_is(t, a["id"], {"reserved": 0}, "A after the refused cart order")
    # the seller adds one: now it fits
    t.expect(adjust(a["id"], 1, "restock for the e2e flow"), 200, what="adjust A +1")
    r = place(u, {})
    t.expect(r, 201, what="POST /orders of the cart after the restock")
    stock_is(t, a["id"], {"on_hand": 3, "reserved": 3, "available": 0}, "A after the cart order")
    t.eq(cart_lines(u), {}, "the cart is emptied")
    t.expect(place(u, items_body((a["id"], 1))), 409, "OUT_OF_STOCK", "one more of A")


@test
def last_units_race(t):
    """Two lines, the second one scarce, ordered by many buyers at once: the
    winners get both lines; every loser is refused on the scarce line alone,
    whether the first look or the reservation itself found it short, and
    keeps nothing of the plentiful line (all or nothing); a loser's key
    replays its refusal."""
    units, n = 4, 24
    a, b = product(stock=1000), product(stock=units)
    t.require(a["id"] < b["id"], "the scarce line is reserved last (product ids %d, %d)" % (a["id"], b["id"]))
    buyers = in_parallel(lambda i: buyer("race"), n)
    t.require(all(u is not None and u.token for u in buyers), "registering %d buyers failed" % n)
    keys = [uniq("race") for _ in range(n)]
    body = items_body((a["id"], 1), (b["id"], 1))
    rs = in_parallel(lambda i: place(buyers[i], body, key=keys[i]), n)
    st = [r.status if r is not None else None for r in rs]
    t.eq(st.count(201), units, "orders placed (statuses %s)" % sorted(set(st), key=str))
    t.eq(st.count(409), n - units, "answers 409")
    lost = [i for i, r in enumerate(rs) if r is not None and r.status == 409]
    bad = []
    for i in lost:
        errs = (rs[i].json or {}).get("errors") or []
        shape = [(e.get("field"), e.get("code")) for e in errs]
        detail = errs[0].get("detail") if len(errs) == 1 else None
        if shape != [("items[1].quantity", "OUT_OF_STOCK")] or not re.fullmatch(r"only \d+ left", detail or ""):
            bad.append(errs)
    t.eq(bad[:3], [], "each refusal names the scarce line alone, 'only N left' (%d bad)" % len(bad))
    stock_is(t, b["id"], {"on_hand": units, "reserved": units, "available": 0}, "the scarce product")
    stock_is(t, a["id"], {"on_hand": 1000, "reserved": units}, "the plentiful product: the losers kept nothing")
    if lost:
        i = lost[0]
        again = place(buyers[i], body, key=keys[i])
        t.eq((again.status, again.raw), (409, rs[i].raw), "a loser's key replays its refusal byte for byte")


@test
def idempotency_key_format(t):
    u = buyer()
    a = product(stock=10)
    body = items_body((a["id"], 1))
    t.expect(place(u, body, key=False), 400, what="POST /orders without Idempotency-Key")
    for key, what in (("", "an empty key"), ("k" * 256, "a key of 256 chars"),
                      ("cl\xe9", "a latin-1 key"),
                      ("\u043a\u043b\u044e\u0447".encode("utf-8"), "a UTF-8 key"),
                      ("a\x01b", "a key with a control character"), ("a\x7fb", "a key with DEL")):
        t.expect(place(u, body, key=key), 400, what="POST /orders with %s" % what)
    stock_is(t, a["id"], {"reserved": 0}, "after refused keys")
    r = place(u, body, key="K" * 255)
    t.expect(r, 201, what="POST /orders with a key of 255 chars")
    r = place(u, body, key="a key with spaces and ~!@#$%^&*()")
    t.expect(r, 201, what="POST /orders with a key of printable ASCII and spaces")
    stock_is(t, a["id"], {"reserved": 2}, "after two accepted keys")


@test
def idempotent_replay(t):
    u, v = buyer(), buyer()
    a = product(stock=10)
    key = uniq("replay")
    body = items_body((a["id"], 2))
    r1 = place(u, body, key=key)
    t.require(t.expect(r1, 201, what="first POST /orders"), "first order failed")
    r2 = place(u, body, key=key)
    t.eq(r2.status, r1.status, "the same key and body: same status")
    t.eq(r2.raw, r1.raw, "the same key and body: byte-equal body")
    stock_is(t, a["id"], {"reserved": 2}, "after the replay (reserved once)")
    r3 = place(u, items_body((a["id"], 3)), key=key)
    t.expect(r3, 409, "IDEMPOTENCY_KEY_REUSED", "the same key with another body")
    stock_is(t, a["id"], {"reserved": 2}, "after the reused key")
    # the same body, spelled differently, is another body
    r4 = place(u, {"items": [{"quantity": 2, "product_id": a["id"]}]}, key=key)
    t.expect(r4, (201, 409), what="the same key with the same fields reordered")
    if r4.status == 201:
        t.eq((order_of(r4) or {}).get("id"), order_of(r1)["id"], "reordered fields: the first order")
    # keys are per user
    r5 = place(v, body, key=key)
    t.expect(r5, 201, what="another user with the same key")
    t.ok((order_of(r5) or {}).get("id") != order_of(r1)["id"], "another user's key makes another order")
    stock_is(t, a["id"], {"reserved": 4}, "after the other user's order")
    r = get(API + "/orders", token=u.token)
    t.eq([o.get("id") for o in (r.data or {}).get("items") or []], [order_of(r1)["id"]],
         "u has exactly one order")


@test
def idempotent_concurrent(t):
    u = buyer()
    a = product(stock=100)
    key = uniq("conc")
    body = items_body((a["id"], 1))
    rs = in_parallel(lambda i: place(u, body, key=key), 20)
    statuses = sorted(r.status for r in rs if r is not None)
    t.eq(statuses, [201] * 20, "20 concurrent requests with one key: every answer is the first")
    ids = {(order_of(r) or {}).get("id") for r in rs if r is not None and r.status == 201}
    t.eq(len(ids), 1, "one order id among the answers: %r" % ids)
    bodies = {r.raw for r in rs if r is not None and r.status == 201}
    t.eq(len(bodies), 1, "the answers are byte-equal (%d distinct)" % len(bodies))
    stock_is(t, a["id"], {"reserved": 1}, "reserved once")
    r = get(API + "/orders", token=u.token)
    t.eq(len((r.data or {}).get("items") or []), 1, "one order in the user's list")


@test
def not_yours(t):
    u, v = buyer(), buyer()
    a = product(stock=5)
    o = must_place(t, u, items_body((a["id"], 1)))
    t.expect(get_order(v, o["id"]), 404, what="GET another user's order")
    t.expect(cancel(v, o["id"]), 404, what="cancel another user's order")
    t.expect(get_order(u, 999999999), 404, what="GET an unknown order")
    t.expect(cancel(u, 999999999), 404, what="cancel an unknown order")
    t.expect(get(API + "/orders/%d" % o["id"]), 401, what="GET an order anonymous")
    r = get_order(fx.admin, o["id"])
    if t.expect(r, 200, what="GET an order as ADMIN"):
        t.eq((order_of(r) or {}).get("id"), o["id"], "the admin sees the order")
    t.eq(get_order(u, o["id"]).status, 200, "the owner still sees it")
    t.eq((order_of(get_order(u, o["id"])) or {}).get("status"), "PENDING_PAYMENT",
         "another user's cancel changed nothing")
    r = get(API + "/orders", token=v.token)
    t.eq((r.data or {}).get("items"), [], "v's list does not show u's order")


@test
def listing(t):
    u = buyer()
    a = product(stock=20)
    ids = [must_place(t, u, items_body((a["id"], 1)))["id"] for _ in range(4)]
    t.expect(cancel(u, ids[1]), 200, what="cancel the second order")
    r = get(API + "/orders", token=u.token)
    t.require(t.expect(r, 200, what="GET /orders"), "GET /orders failed")
    t.ok("next_cursor" in (r.data or {}), "GET /orders has next_cursor")
    got = [o.get("id") for o in r.data.get("items") or []]
    t.eq(got, ids[::-1], "own orders, newest first")
    for o in r.data.get("items") or []:
        check_order(t, o, "list item %s" % o.get("id"), user=u)
    r = get(API + "/orders" + qs(status="CANCELLED"), token=u.token)
    if t.expect(r, 200, what="?status=CANCELLED"):
        t.eq([o.get("id") for o in r.data.get("items") or []], [ids[1]], "?status=CANCELLED")
    r = get(API + "/orders" + qs(status="PENDING_PAYMENT"), token=u.token)
    if t.expect(r, 200, what="?status=PENDING_PAYMENT"):
        t.eq([o.get("id") for o in r.data.get("items") or []], [ids[3], ids[2], ids[0]],
             "?status=PENDING_PAYMENT, newest first")
    r = get(API + "/orders" + qs(status="PAID"), token=u.token)
    if t.expect(r, 200, what="?status=PAID"):
        t.eq(r.data.get("items"), [], "?status=PAID")
    items, pages, prob = walk(API + "/orders", {"limit": 1}, token=u.token)
    t.ok(prob is None, "walking /orders?limit=1: %s" % prob)
    t.eq([o.get("id") for o in items], ids[::-1], "pages of one, newest first, no repeats")
    t.ok(pages in (4, 5), "pages of one: %d pages for 4 orders" % pages)
    items, pages, prob = walk(API + "/orders", {"limit": 3, "status": "PENDING_PAYMENT"}, token=u.token)
    t.eq([o.get("id") for o in items], [ids[3], ids[2], ids[0]], "pages of three with ?status=")
    for q in ({"status": "BOGUS"}, {"status": "paid"}, {"limit": 0}, {"limit": 101}, {"limit": "x"},
              {"cursor": "not-a-cursor"}):
        t.expect(get(API + "/orders" + qs(**q), token=u.token), 400, "INVALID_QUERY",
                 "GET /orders%s" % qs(**q))
    t.expect(get(API + "/orders"), 401, what="GET /orders anonymous")


@test
def cancelling(t):
    u = buyer()
    a, b = product(stock=10), product(stock=4)
    o = must_place(t, u, items_body((a["id"], 3), (b["id"], 4)))
    stock_is(t, a["id"], {"on_hand": 10, "reserved": 3}, "A before the cancel")
    stock_is(t, b["id"], {"on_hand": 4, "reserved": 4, "available": 0}, "B before the cancel")
    r = cancel(u, o["id"])
    if t.expect(r, 200, what="POST /orders/{id}/cancel"):
        c = order_of(r)
        check_order(t, c, "cancel answer", user=u, status="CANCELLED")
    t.eq((order_of(get_order(u, o["id"])) or {}).get("status"), "CANCELLED", "GET after cancel")
    wait_stock(t, a["id"], {"on_hand": 10, "reserved": 0}, "A released after the cancel")
    wait_stock(t, b["id"], {"on_hand": 4, "reserved": 0}, "B released after the cancel")
    r = cancel(u, o["id"])
    t.expect(r, 409, "ILLEGAL_TRANSITION", "cancel twice")
    stock_is(t, a["id"], {"reserved": 0}, "A after the second cancel")
    # what was released can be ordered again
    o2 = must_place(t, u, items_body((b["id"], 4)), "ordering B again")
    stock_is(t, b["id"], {"reserved": 4}, "B ordered again")
    t.expect(cancel(u, o2["id"]), 200, what="cancel the second order")
    wait_stock(t, b["id"], {"reserved": 0}, "B released again")


@test
def admin_list(t):
    u = buyer()
    a = product(stock=5)
    o1 = must_place(t, u, items_body((a["id"], 1)))
    o2 = must_place(t, u, items_body((a["id"], 1)))
    t.expect(cancel(u, o2["id"]), 200, what="cancel o2")
    r = get(API + "/admin/orders" + qs(user=u.id), token=fx.admin.token)
    if t.expect(r, 200, what="GET /admin/orders?user="):
        t.eq([o.get("id") for o in (r.data or {}).get("items") or []], [o2["id"], o1["id"]],
             "admin list of one user, newest first")
        for o in (r.data or {}).get("items") or []:
            check_order(t, o, "admin list item")
    r = get(API + "/admin/orders" + qs(user=u.id, status="CANCELLED"), token=fx.admin.token)
    if t.expect(r, 200, what="GET /admin/orders?user=&status=CANCELLED"):
        t.eq([o.get("id") for o in (r.data or {}).get("items") or []], [o2["id"]],
             "?status= in the admin list")
    r = get(API + "/admin/orders" + qs(limit=100), token=fx.admin.token)
    if t.expect(r, 200, what="GET /admin/orders"):
        items = (r.data or {}).get("items") or []
        t.isin(o2["id"], [o.get("id") for o in items], "the newest orders include o2")
        ids = [o.get("id") for o in items]
        t.eq(ids, sorted(ids, reverse=True), "admin list newest first")
    r = get(API + "/admin/orders" + qs(status="NOPE"), token=fx.admin.token)
    t.expect(r, 400, "INVALID_QUERY", "GET /admin/orders?status=NOPE")
    r = get(API + "/admin/orders" + qs(user="x"), token=fx.admin.token)
    t.expect(r, 400, "INVALID_QUERY", "GET /admin/orders?user=x")
    t.expect(get(API + "/admin/orders", token=u.token), 403, what="GET /admin/orders as a customer")
    t.expect(get(API + "/admin/orders", token=fx.seller.token), 403, what="GET /admin/orders as a seller")
    t.expect(get(API + "/admin/orders"), 401, what="GET /admin/orders anonymous")


@test
def mass_assignment(t):
    u, v = buyer(), buyer()
    a = product(stock=10, price_cents=1000)
    line = {"product_id": a["id"], "quantity": 1}
    for body, what in (({"items": [line], "status": "PAID"}, "status"),
                       ({"items": [line], "user_id": v.id}, "user_id"),
                       ({"items": [line], "total_cents": 1}, "total_cents"),
                       ({"items": [line], "price": 1}, "price"),
                       ({"items": [line], "currency": "USD"}, "currency"),
                       ({"items": [line], "expires_at": "2099-01-01T00:00:00Z"}, "expires_at"),
                       ({"items": [dict(line, unit_price_cents=1)]}, "items[0].unit_price_cents"),
                       ({"items": [dict(line, price_cents=1)]}, "items[0].price_cents"),
                       ({"items": [dict(line, price=1)]}, "items[0].price"),
                       ({"status": "PAID"}, "status without items")):
        r = place(u, body)
        t.expect(r, 400, "UNKNOWN_FIELD", "POST /orders with %s" % what)
    stock_is(t, a["id"], {"reserved": 0}, "after refused bodies")
    r = get(API + "/orders", token=u.token)
    t.eq((r.data or {}).get("items"), [], "refused bodies created no order")
    r = get(API + "/orders", token=v.token)
    t.eq((r.data or {}).get("items"), [], "nothing was created for v")
    o = must_place(t, u, items_body((a["id"], 1)))
    r = post(API + "/orders/%d/cancel" % o["id"], {"status": "PAID"}, token=u.token)
    t.expect(r, (400, 200), what="cancel with a body")
    if r.status == 200:
        t.eq((order_of(r) or {}).get("status"), "CANCELLED", "a cancel body never sets the status")
    # wrong content type
    raw = raw_request("POST", API + "/orders", b'{"items": []}',
                      {"Authorization": "Bearer " + u.token, "Content-Type": "text/plain",
                       "Idempotency-Key": uniq("ct")})
    check_response(raw)
    t.ok(raw.status in (400, 415), "POST /orders as text/plain: %r" % raw)


@test
def addresses(t):
    u, v = buyer(), buyer()
    a = product(stock=10)
    r = post(API + "/users/me/addresses", {"line1": "1 Flow Street", "city": "Testville",
                                           "postal_code": "12345", "country": "DE"}, token=u.token)
    t.require(r.status == 201, "creating an address: %r" % r)
    addr = r.data.get("address", r.data) if isinstance(r.data, dict) else {}
    o = must_place(t, u, items_body((a["id"], 1), address_id=addr.get("id")), "order with address_id")
    sa = o.get("shipping_address")
    t.ok(sa is not None, "shipping_address of an order with address_id is %r" % (sa,))
    t.ok("Testville" in repr(sa) and "1 Flow Street" in repr(sa),
         "shipping_address holds the address: %r" % (sa,))
    r = place(v, items_body((a["id"], 1), address_id=addr.get("id")))
    t.expect(r, (400, 404), what="an order with another user's address_id")
    r = place(u, items_body((a["id"], 1), address_id=999999999))
    t.expect(r, (400, 404), what="an order with an unknown address_id")
    # without address_id: the default address, or none (pick-up)
    o = must_place(t, v, items_body((a["id"], 1)), "order of a user without addresses")
    t.eq(o.get("shipping_address"), None, "shipping_address of a pick-up order")
    stock_is(t, a["id"], {"reserved": 2}, "refused address orders reserved nothing")
