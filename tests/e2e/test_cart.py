"""Cart: lines that grow, are set and removed; validation; one currency per
cart; current prices; one cart per user."""

from tap import test
from shopclient import API, delete, fx, get, post, put
from flowlib import (buyer, cart, cart_add, cart_data, cart_del, cart_empty, cart_lines, cart_set,
                     check_cart, product, wait_for)


@test
def lines(t):
    u = buyer()
    a, b = product(stock=50, price_cents=250), product(stock=50, price_cents=1999)
    r = cart(u)
    if t.expect(r, 200, what="GET /cart of a new user"):
        d = cart_data(u)
        t.eq((d or {}).get("items"), [], "a new cart has no items")
        t.eq((d or {}).get("total_cents"), 0, "a new cart's total")
    t.expect(cart_add(u, a["id"], 2), (200, 201), what="add 2 of A")
    t.eq(cart_lines(u), {a["id"]: 2}, "cart after adding 2 of A")
    t.expect(cart_add(u, a["id"], 3), (200, 201), what="add 3 more of A")
    t.eq(cart_lines(u), {a["id"]: 5}, "adding again grows the quantity")
    t.expect(cart_add(u, b["id"], 1), (200, 201), what="add 1 of B")
    d = cart_data(u)
    check_cart(t, d, "cart with two lines")
    t.eq((d or {}).get("total_cents"), 5 * 250 + 1999, "total of 5 x 2.50 + 19.99")
    t.eq((d or {}).get("currency"), "EUR", "cart currency")
    names = {i.get("product_id"): i.get("name") for i in (d or {}).get("items") or []}
    t.eq(names.get(a["id"]), a["name"], "cart line name")
    t.expect(cart_set(u, a["id"], 7), 200, what="PUT quantity 7")
    t.eq(cart_lines(u), {a["id"]: 7, b["id"]: 1}, "cart after PUT 7")
    t.expect(cart_set(u, a["id"], 0), 200, what="PUT quantity 0")
    t.eq(cart_lines(u), {b["id"]: 1}, "PUT 0 removes the line")
    t.expect(cart_add(u, a["id"], 1), (200, 201), what="add A again")
    t.expect(cart_del(u, b["id"]), 200, what="DELETE the line of B")
    t.eq(cart_lines(u), {a["id"]: 1}, "cart after DELETE of B's line")
    t.expect(cart_add(u, b["id"], 4), (200, 201), what="add B again")
    t.expect(cart_empty(u), 200, what="DELETE /cart")
    t.eq(cart_lines(u), {}, "DELETE /cart empties it")
    d = cart_data(u)
    t.eq((d or {}).get("total_cents"), 0, "total of an emptied cart")
    # a PUT sets a line that is not there yet, or answers 404: never a 5xx
    r = cart_set(u, a["id"], 2)
    t.expect(r, (200, 201, 404), what="PUT of a product not in the cart")
    t.expect(cart_empty(u), 200, what="DELETE /cart again")
    t.expect(cart_empty(u), 200, what="DELETE of an empty cart")
    t.expect(get(API + "/cart"), 401, what="GET /cart anonymous")
    t.expect(post(API + "/cart/items", {"product_id": a["id"], "quantity": 1}), 401,
             what="POST /cart/items anonymous")


@test
def validation(t):
    u = buyer()
    a = product(stock=5)
    for q in (0, 1001, -1, "x", "1", 1.5, None, True, 10 ** 20):
        r = cart_add(u, a["id"], q)
        t.expect(r, 400, what="add quantity %r" % (q,))
    t.expect(post(API + "/cart/items", {"product_id": a["id"]}, token=u.token), 400,
             what="add without quantity")
    t.expect(post(API + "/cart/items", {"quantity": 1}, token=u.token), 400,
             what="add without product_id")
    t.expect(post(API + "/cart/items", {"product_id": "%d" % a["id"], "quantity": 1}, token=u.token),
             400, what="add with product_id a string")
    t.expect(cart_add(u, a["id"], 1, unit_price_cents=1), 400, "UNKNOWN_FIELD",
             "add with unit_price_cents")
    t.expect(cart_add(u, a["id"], 1, user_id=fx.customer.id), 400, "UNKNOWN_FIELD", "add with user_id")
    t.expect(post(API + "/cart/items", "{not json", token=u.token), 400, what="add malformed JSON")
    t.expect(post(API + "/cart/items", {"product_id": a["id"], "quantity": 1}, token=u.token,
                  ctype="text/plain"), (400, 415), what="add as text/plain")
    t.eq(cart_lines(u), {}, "refused adds left the cart empty")
    t.expect(cart_add(u, a["id"], 1000), (200, 201), what="add quantity 1000")
    t.expect(cart_add(u, 999999999, 1), 404, what="add an unknown product")
    # an archived product
    b = product(stock=5)
    t.expect(delete(API + "/products/%d" % b["id"], token=fx.seller.token), 200, what="archive B")
    t.expect(cart_add(u, b["id"], 1), 404, what="add an archived product")
    for q in (1001, -1, "x", None):
        t.expect(cart_set(u, a["id"], q), 400, what="PUT quantity %r" % (q,))
    t.expect(put(API + "/cart/items/%d" % a["id"], {"quantity": 1, "product_id": b["id"]}, token=u.token),
             400, "UNKNOWN_FIELD", "PUT with product_id in the body")
    t.expect(put(API + "/cart/items/abc", {"quantity": 1}, token=u.token), (400, 404),
             what="PUT /cart/items/abc")
    t.expect(delete(API + "/cart/items/0", token=u.token), (400, 404), what="DELETE /cart/items/0")
    t.eq(cart_lines(u), {a["id"]: 1000}, "refused PUTs changed nothing")
    # two adds beyond 1000 in one line: refused, never clamped
    t.expect(cart_add(u, a["id"], 1), (400, 409), what="add 1 to a line of 1000")
    t.eq(cart_lines(u), {a["id"]: 1000}, "a line stays at 1000")


@test
def currency_mismatch(t):
    u = buyer()
    eur = product(stock=5, currency="EUR")
    usd = product(stock=5, currency="USD", price_cents=500)
    t.expect(cart_add(u, eur["id"], 1), (200, 201), what="add a EUR product")
    t.expect(cart_add(u, usd["id"], 1), 400, "CURRENCY_MISMATCH", "add a USD product to a EUR cart")
    t.eq(cart_lines(u), {eur["id"]: 1}, "the USD product is not in the cart")
    t.expect(cart_empty(u), 200, what="empty the cart")
    t.expect(cart_add(u, usd["id"], 2), (200, 201), what="add the USD product to an empty cart")
    d = cart_data(u)
    t.eq((d or {}).get("currency"), "USD", "currency of a USD cart")
    t.eq((d or {}).get("total_cents"), 1000, "total of a USD cart")
    t.expect(cart_add(u, eur["id"], 1), 400, "CURRENCY_MISMATCH", "add a EUR product to a USD cart")


@test
def current_prices(t):
    u = buyer()
    a = product(stock=5, price_cents=1000)
    t.expect(cart_add(u, a["id"], 3), (200, 201), what="add 3")
    t.eq((cart_data(u) or {}).get("total_cents"), 3000, "total at the old price")
    r = put(API + "/products/%d" % a["id"], {"price_cents": 1500}, token=fx.seller.token)
    t.require(t.expect(r, 200, what="the seller changes the price"), "price change failed")

    def shows_new():
        d = cart_data(u) or {}
        line = [i for i in d.get("items") or [] if i.get("product_id") == a["id"]]
        return line and line[0].get("unit_price_cents") == 1500 and d.get("total_cents") == 4500 \
            and line[0].get("line_total_cents") == 4500
    ok, secs = wait_for(shows_new, 1.5)
    t.ok(ok, "GET /cart does not show the new price within 1.5 s: %r" % (cart_data(u),))
    check_cart(t, cart_data(u), "cart after the price change")
    # an archived product in the cart: the cart still answers
    t.expect(delete(API + "/products/%d" % a["id"], token=fx.seller.token), 200, what="archive it")
    r = cart(u)
    t.expect(r, 200, what="GET /cart with an archived product in it")


@test
def per_user(t):
    u, v = buyer("cartA"), buyer("cartB")
    a, b = product(stock=5), product(stock=5)
    t.expect(cart_add(u, a["id"], 2), (200, 201), what="u adds A")
    t.eq(cart_lines(v), {}, "v's cart is empty while u's has a line")
    t.expect(cart_add(v, a["id"], 1), (200, 201), what="v adds A")
    t.expect(cart_add(v, b["id"], 1), (200, 201), what="v adds B")
    t.eq(cart_lines(u), {a["id"]: 2}, "u's cart after v's adds")
    t.expect(cart_set(v, a["id"], 9), 200, what="v sets A to 9")
    r = cart_del(v, a["id"])
    t.expect(r, 200, what="v deletes A")
    t.expect(cart_empty(v), 200, what="v empties the cart")
    t.eq(cart_lines(u), {a["id"]: 2}, "u's cart after v set, deleted and emptied")
    t.eq(cart_lines(v), {}, "v's cart")
    # u's delete of a line it does not have does not touch v
    t.expect(cart_add(v, b["id"], 3), (200, 201), what="v adds B again")
    t.expect(cart_del(u, b["id"]), (200, 404), what="u deletes B (not in u's cart)")
    t.eq(cart_lines(v), {b["id"]: 3}, "v's cart after u's delete")
