"""Inventory: who sees what, adjustments and their limits."""

from tap import test
from shopclient import API, RUN_ID, fx, get, in_parallel, new_product, poll, post, uniq, unwrap


def inv_of(r):
    return unwrap(r.data, "stock")


def inv(pid, token=None):
    return get(API + "/inventory/%d" % pid, token=token)


def adjust(pid, delta, token, reason="e2e test", **kw):
    b = {"delta": delta, "reason": reason}
    b.update(kw)
    return post(API + "/inventory/%d/adjust" % pid, b, token=token)


def full(t, pid, token, what):
    r = inv(pid, token)
    if not t.expect(r, 200, what=what):
        return None
    d = inv_of(r) or {}
    t.eq(sorted(d), ["available", "on_hand", "product_id", "reserved"], "%s: fields" % what)
    if all(k in d for k in ("on_hand", "reserved", "available")):
        t.eq(d["available"], d["on_hand"] - d["reserved"], "%s: available = on_hand - reserved" % what)
        t.ok(0 <= d["reserved"] <= d["on_hand"], "%s: 0 <= reserved <= on_hand: %r" % (what, d))
    return d


@test
def visibility(t):
    seller, s2, cust, admin = fx.seller, fx.seller2, fx.customer, fx.admin
    p = new_product(initial_stock=10)
    pid = p["id"]
    for tok, who in ((None, "anonymous"), (cust.token, "customer"), (s2.token, "another seller")):
        r = inv(pid, tok)
        if t.expect(r, 200, what="GET /inventory as %s" % who):
            t.eq(inv_of(r), {"product_id": pid, "available": 10}, "inventory as %s" % who)
    for tok, who in ((seller.token, "owner"), (admin.token, "admin")):
        d = full(t, pid, tok, "GET /inventory as %s" % who)
        if d:
            t.eq(d, {"product_id": pid, "on_hand": 10, "reserved": 0, "available": 10},
                 "inventory as %s" % who)
    q = new_product(initial_stock=None)
    d = full(t, q["id"], seller.token, "GET /inventory of a product created without initial_stock")
    if d:
        t.eq(d.get("on_hand"), 0, "on_hand without initial_stock")
    t.expect(inv(999999999), 404, what="GET /inventory of an unknown product")
    # demo products have stock
    r = get(API + "/products?sort=price&limit=50&seller=%d" % seller.id)
    demo = [x for x in (r.data or {}).get("items") or [] if RUN_ID not in x.get("sku", "")][:10]
    t.ok(demo, "no demo product found")
    avail = []
    for x in demo:
        r = inv(x["id"])
        if t.expect(r, 200, what="GET /inventory of a demo product"):
            avail.append((inv_of(r) or {}).get("available", 0))
    t.ok(any(a > 0 for a in avail), "demo products have no stock: %r" % avail)


@test
def adjustments(t):
    seller, s2, cust, admin = fx.seller, fx.seller2, fx.customer, fx.admin
    p = new_product(initial_stock=10)
    pid = p["id"]
    r = adjust(pid, 5, seller.token)
    t.expect(r, 200, what="adjust +5 by the owner")
    d = full(t, pid, seller.token, "after +5")
    t.eq((d or {}).get("on_hand"), 15, "on_hand after +5")
    t.expect(adjust(pid, -3, seller.token, reason="damaged"), 200, what="adjust -3")
    t.expect(adjust(pid, 1, admin.token, reason="found one"), 200, what="adjust +1 by the admin")
    d = full(t, pid, admin.token, "after -3, +1")
    t.eq((d or {}).get("on_hand"), 13, "on_hand = 10 + 5 - 3 + 1")
    # public view follows within ~1 s
    t.ok(poll(lambda: (inv_of(inv(pid)) or {}).get("available") == 13),
         "public available does not show 13 within 2.5 s")
    # below zero is a conflict and changes nothing
    r = adjust(pid, -14, seller.token)
    t.expect(r, 409, what="adjust -14 with 13 on hand")
    r = adjust(pid, -9223372036854775807, seller.token)
    t.expect(r, (400, 409), what="adjust by -(2^63-1)")
    d = full(t, pid, seller.token, "after refused adjustments")
    t.eq((d or {}).get("on_hand"), 13, "on_hand after refused adjustments")
    t.expect(adjust(pid, -13, seller.token), 200, what="adjust to exactly zero")
    d = full(t, pid, seller.token, "at zero")
    t.eq((d or {}).get("available"), 0, "available at zero")
    t.expect(adjust(pid, -1, seller.token), 409, what="adjust -1 at zero")
    t.expect(adjust(pid, 7, seller.token), 200, what="adjust +7 from zero")
    # who may adjust
    t.expect(adjust(pid, 1, s2.token), 404, what="adjust by another seller")
    t.expect(adjust(pid, 1, cust.token), 403, "FORBIDDEN", "adjust by a customer")
    t.expect(adjust(pid, 1, None), 401, what="adjust anonymous")
    t.expect(adjust(999999999, 1, admin.token), 404, what="adjust an unknown product")
    # validation
    for b, what in (({"delta": "5", "reason": "x"}, "delta a string"),
                    ({"delta": 1.5, "reason": "x"}, "fractional delta"),
                    ({"delta": 99999999999999999999, "reason": "x"}, "huge delta"),
                    ({"delta": 9223372036854775807, "reason": "x"}, "delta 2^63-1"),
                    ({"reason": "x"}, "no delta"),
                    ({"delta": 1, "reason": "x" * 5000}, "reason of 5000 chars"),
                    ({"delta": 1, "reason": 5}, "reason a number"),
                    ({"delta": 1, "reason": "x", "on_hand": 100}, "on_hand"),
                    ({"delta": 1, "reason": "x", "reserved": 0}, "reserved"),
                    ({"delta": 1, "reason": "x", "product_id": pid + 1}, "product_id")):
        t.expect(post(API + "/inventory/%d/adjust" % pid, b, token=seller.token), 400,
                 "UNKNOWN_FIELD" if what in ("on_hand", "reserved", "product_id") else None,
                 "adjust with %s" % what)
    r = adjust(pid, 0, seller.token)
    t.expect(r, (200, 400), what="adjust by 0")
    d = full(t, pid, seller.token, "after everything")
    t.eq((d or {}).get("on_hand"), 7, "on_hand = 13 - 13 + 7 (refused requests changed nothing)")
    t.eq((d or {}).get("reserved"), 0, "reserved untouched")
    r = adjust(pid, 2, seller.token, reason="restock " + uniq("r"))
    t.expect(r, 200, what="adjust +2")
    t.eq((full(t, pid, seller.token, "final") or {}).get("on_hand"), 9, "final on_hand")


@test
def concurrent_decrements(t):
    """16 concurrent -1 adjustments on a stock of 10: exactly 10 succeed, and
    on_hand never goes below zero."""
    seller = fx.seller
    p = new_product(initial_stock=10)
    rs = in_parallel(lambda i: adjust(p["id"], -1, seller.token, reason="race %d" % i), 16)
    st = sorted(r.status for r in rs if r is not None)
    t.eq(st.count(200), 10, "successful concurrent decrements (statuses %s)" % st)
    t.eq(st.count(409), 6, "refused concurrent decrements (statuses %s)" % st)
    d = full(t, p["id"], seller.token, "after concurrent decrements")
    t.eq((d or {}).get("on_hand"), 0, "on_hand after 10 of 16 decrements")
