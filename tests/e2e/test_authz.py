"""Authorization on every route the code declares (corpusgen.load_routes:
fcgi-apps/*/routes.c):

  - BOLA: every route with an object id in its path (and every body that
    names another user's object) answers another user's object exactly as
    an absent one, 404 (API.md: "absent, or not yours: never reveal another
    user's resource"), and changes nothing;
  - BFLA: a CUSTOMER on SELLER and ADMIN routes, a SELLER on ADMIN routes:
    403 FORBIDDEN; anonymous on any non-public route: 401; nothing changes;
  - mass assignment: owner, ids, status, prices, roles, timestamps in the
    body of every body-taking route: 400 UNKNOWN_FIELD naming the field, and
    the object unchanged.

A route added to a routes.c without a case here fails authz.routes_covered."""

import threading

import corpusgen
from tap import test
from shopclient import API, User, delete, fx, get, new_product, new_user, post, request, uniq, unwrap
from flowlib import cart_add, idem, items_body, must_pay, must_place, order_status, wait_order, wait_payment

FORBIDDEN_FIELDS = ["id", "user_id", "owner_id", "seller_id", "status", "roles", "role", "price",
                    "price_cents", "unit_price_cents", "line_total_cents", "total_cents", "amount_cents",
                    "currency", "created_at", "updated_at", "disabled_at", "is_admin", "on_hand",
                    "reserved", "provider", "provider_ref", "email", "password_hash", "expires_at",
                    "carrier", "sku"]
NESTED_FORBIDDEN = ["unit_price_cents", "price_cents", "line_total_cents", "name", "sku", "seller_id"]

_world = None
_world_lock = threading.Lock()


class World:
    pass


def world(t):
    """Two customers (victim v, attacker x), the demo seller and a second
    seller, the admin, and objects of each (created once per run)."""
    global _world
    with _world_lock:
        if _world is not None:
            return _world
        w = World()
        w.v, w.x = new_user("victim"), new_user("attacker")
        w.seller, w.seller2, w.admin = fx.seller, fx.seller2, fx.admin
        w.p = new_product(initial_stock=50)                       # the demo seller's
        w.p2 = new_product(owner=w.seller2, initial_stock=50)     # the second seller's
        w.archived = new_product(initial_stock=5)
        r = delete(API + "/products/%d" % w.archived["id"], token=w.seller.token)
        t.require(r.status == 200, "archiving a product failed: %r" % r)
        w.addr_v = _address(t, w.v)
        w.addr_x = _address(t, w.x)
        # both carts hold p; only the victim's holds p2
        for u, pid in ((w.v, w.p["id"]), (w.x, w.p["id"]), (w.v, w.p2["id"])):
            r = cart_add(u, pid, 2)
            t.require(r.status in (200, 201), "cart add failed: %r" % r)
        w.order_v = must_place(t, w.v, items_body((w.p["id"], 1), address_id=w.addr_v))
        w.order_x = must_place(t, w.x, items_body((w.p["id"], 1), address_id=w.addr_x))
        w.paid_v = must_place(t, w.v, items_body((w.p["id"], 1)))
        w.pay_v = must_pay(t, w.v, w.paid_v["id"], "pm_card_ok")
        wait_order(t, w.v, w.paid_v["id"], "PAID", "the victim's paid order")
        wait_payment(t, w.v, w.pay_v["id"], "SUCCEEDED", "the victim's payment")
        _world = w
        return w


def _address(t, u):
    r = post(API + "/users/me/addresses", {"line1": "1 Authz Street", "city": "Nantes", "postal_code": "44000",
                                          "country": "FR"}, token=u.token)
    t.require(r.status == 201, "creating an address failed: %r" % r)
    return unwrap(r.data, "address")["id"]


def routes(t):
    rs, problems = corpusgen.load_routes()
    for p in problems:
        t.fail(p)
    t.require(len(rs) >= 40, "only %d routes read from the code" % len(rs))
    return [r for r in rs if not r.nginx_only]


def snapshot(w):
    """What BOLA, BFLA and mass-assignment attempts must leave as it is, as
    the owners and the admin see it."""
    def data(r):
        return r.status, r.json.get("data") if isinstance(r.json, dict) else r.raw

    s = {}
    for name, u in (("v", w.v), ("x", w.x)):
        s[name + " me"] = data(get(API + "/users/me", token=u.token))
        s[name + " addresses"] = data(get(API + "/users/me/addresses", token=u.token))
        s[name + " cart"] = data(get(API + "/cart", token=u.token))
        s[name + " orders"] = data(get(API + "/orders", token=u.token))
    s["paid order"] = data(get(API + "/orders/%d" % w.paid_v["id"], token=w.v.token))
    s["payment"] = data(get(API + "/payments/%d" % w.pay_v["id"], token=w.v.token))
    s["shipment"] = data(get(API + "/shipments/%d" % w.paid_v["id"], token=w.v.token))
    for name, p, owner in (("p", w.p, w.seller), ("p2", w.p2, w.seller2), ("archived", w.archived, w.seller)):
        s[name] = data(get(API + "/products/%d" % p["id"], token=owner.token))
        s[name + " stock"] = data(get(API + "/inventory/%d" % p["id"], token=owner.token))
    s["categories"] = data(get(API + "/categories"))
    for u in (w.v, w.x, w.seller2):
        r = get(API + "/admin/users?email=%s" % u.email.replace("@", "%40").replace("+", "%2B"),
                token=w.admin.token)
        s["admin view " + u.email] = data(r)
    return s


def compare(t, before, after, what):
    for k in sorted(before):
        if before[k] != after.get(k):
            t.fail("%s changed %s: %r -> %r" % (what, k, str(before[k])[:300], str(after.get(k))[:300]))


def _send(method, path, token, body=None, headers=None):
    return request(method, path, body, token=token, headers=headers or {}, retry_429=True)


# ---------------------------------------------------------------- valid requests


def valid_requests(w):
    """{route key: function(token) -> response}: one request per body- or
    object-taking route that would succeed for its rightful caller (the
    objects are the victim's or the demo seller's)."""
    v, p = w.v, w.p
    key = lambda: {"Idempotency-Key": idem()}  # noqa: E731
    return {
        "POST /api/v1/auth/register": ("PUBLIC", "POST", API + "/auth/register",
                                       lambda: {"email": "e2e.%s@example.com" % uniq("authz").lower(),
                                                "password": "authz-password-1", "name": "Authz"}, None),
        "POST /api/v1/auth/login": ("PUBLIC", "POST", API + "/auth/login",
                                    lambda: {"email": w.x.email, "password": w.x.password}, None),
        "POST /api/v1/auth/refresh": ("PUBLIC", "POST", API + "/auth/refresh",
                                      lambda: {"refresh_token": w.x.refresh}, None),
        "POST /api/v1/auth/logout": ("PUBLIC", "POST", API + "/auth/logout",
                                     lambda: {"refresh_token": w.x.refresh}, None),
        "PUT /api/v1/users/me": ("USER", "PUT", API + "/users/me", lambda: {"name": "Renamed"}, None),
        "POST /api/v1/users/me/addresses": ("USER", "POST", API + "/users/me/addresses",
                                            lambda: {"line1": "2 Authz Street", "city": "Brest",
                                                     "postal_code": "29200", "country": "FR"}, None),
        "DELETE /api/v1/users/me/addresses/{id}": ("USER", "DELETE", API + "/users/me/addresses/%d" % w.addr_v,
                                                  None, None),
        "PUT /api/v1/admin/users/{id}/roles": ("ADMIN", "PUT", API + "/admin/users/%d/roles" % v.id,
                                               lambda: {"roles": ["CUSTOMER", "SELLER", "ADMIN"]}, None),
        "POST /api/v1/admin/users/{id}/disable": ("ADMIN", "POST", API + "/admin/users/%d/disable" % v.id,
                                                  None, None),
        "POST /api/v1/products": ("SELLER", "POST", API + "/products",
                                  lambda: {"sku": uniq("AUTHZ"), "name": "Authz", "description": "d",
                                           "price_cents": 100, "currency": "EUR",
                                           "category_id": fx.leaf_category(), "initial_stock": 1}, None),
        "PUT /api/v1/products/{id}": ("SELLER", "PUT", API + "/products/%d" % p["id"],
                                      lambda: {"price_cents": 1, "name": "Cheap now"}, None),
        "DELETE /api/v1/products/{id}": ("SELLER", "DELETE", API + "/products/%d" % p["id"], None, None),
        "POST /api/v1/categories": ("ADMIN", "POST", API + "/categories", lambda: {"name": uniq("Authz")}, None),
        "POST /api/v1/inventory/{product_id}/adjust": ("SELLER", "POST", API + "/inventory/%d/adjust" % p["id"],
                                                       lambda: {"delta": -40, "reason": "authz"}, None),
        "POST /api/v1/cart/items": ("USER", "POST", API + "/cart/items",
                                    lambda: {"product_id": p["id"], "quantity": 1}, None),
        "PUT /api/v1/cart/items/{product_id}": ("USER", "PUT", API + "/cart/items/%d" % p["id"],
                                                lambda: {"quantity": 7}, None),
        "DELETE /api/v1/cart/items/{product_id}": ("USER", "DELETE", API + "/cart/items/%d" % p["id"], None, None),
        "POST /api/v1/orders": ("USER", "POST", API + "/orders",
                                lambda: {"items": [{"product_id": p["id"], "quantity": 1}]}, key),
        "POST /api/v1/orders/{id}/cancel": ("USER", "POST", API + "/orders/%d/cancel" % w.order_v["id"],
                                            None, None),
        "GET /api/v1/orders/{id}": ("USER", "GET", API + "/orders/%d" % w.paid_v["id"], None, None),
        "GET /api/v1/payments/{id}": ("USER", "GET", API + "/payments/%d" % w.pay_v["id"], None, None),
        "GET /api/v1/shipments/{order_id}": ("USER", "GET", API + "/shipments/%d" % w.paid_v["id"], None, None),
        "POST /api/v1/payments": ("USER", "POST", API + "/payments",
                                  lambda: {"order_id": w.order_v["id"], "payment_method": "pm_card_ok"}, key),
        "POST /api/v1/payments/{id}/refund": ("ADMIN", "POST", API + "/payments/%d/refund" % w.pay_v["id"],
                                              lambda: {"restock": True}, key),
        "POST /api/v1/admin/shipments/{order_id}/ship": ("ADMIN", "POST",
                                                         API + "/admin/shipments/%d/ship" % w.paid_v["id"],
                                                         lambda: {"carrier": "DHL", "tracking_number": "AUTHZ1"},
                                                         None),
        "POST /api/v1/admin/shipments/{order_id}/deliver": ("ADMIN", "POST",
                                                            API + "/admin/shipments/%d/deliver" % w.paid_v["id"],
                                                            None, None),
    }


# The object routes: how another user's object is asked for, and by whom.
# (route key: (attacker, path, body, headers, what)); the answer must be the
# one an absent object gets.
def bola_cases(w):
    x, s2, p = w.x, w.seller2, w.p
    N = corpusgen.ABSENT_ID
    return {
        "GET /api/v1/orders/{id}": [(x, "/orders/%d", w.order_v["id"], None, None)],
        "POST /api/v1/orders/{id}/cancel": [(x, "/orders/%d/cancel", w.order_v["id"], None, None)],
        "GET /api/v1/payments/{id}": [(x, "/payments/%d", w.pay_v["id"], None, None)],
        "GET /api/v1/shipments/{order_id}": [(x, "/shipments/%d", w.paid_v["id"], None, None)],
        "DELETE /api/v1/users/me/addresses/{id}": [(x, "/users/me/addresses/%d", w.addr_v, None, None)],
        # the id is a product in the caller's own cart: the victim's line of p2 is out of reach
        "PUT /api/v1/cart/items/{product_id}": [(x, "/cart/items/%d", w.p2["id"], {"quantity": 3}, None)],
        "DELETE /api/v1/cart/items/{product_id}": [(x, "/cart/items/%d", w.p2["id"], None, None)],
        "PUT /api/v1/products/{id}": [(s2, "/products/%d", p["id"], {"price_cents": 1}, None)],
        "DELETE /api/v1/products/{id}": [(s2, "/products/%d", p["id"], None, None)],
        "POST /api/v1/inventory/{product_id}/adjust": [(s2, "/inventory/%d/adjust", p["id"],
                                                        {"delta": -40, "reason": "authz"}, None)],
        # an archived product is gone for everybody but its owner and the admin
        "GET /api/v1/products/{id}": [(s2, "/products/%d", w.archived["id"], None, None),
                                      (x, "/products/%d", w.archived["id"], None, None),
                                      (None, "/products/%d", w.archived["id"], None, None)],
        "GET /api/v1/inventory/{product_id}": [(s2, "/inventory/%d", w.archived["id"], None, None),
                                               (None, "/inventory/%d", w.archived["id"], None, None)],
        # admin-only object routes: BFLA covers them (a non-admin never reaches the object)
        "PUT /api/v1/admin/users/{id}/roles": [],
        "POST /api/v1/admin/users/{id}/disable": [],
        "POST /api/v1/payments/{id}/refund": [],
        "POST /api/v1/admin/shipments/{order_id}/ship": [],
        "POST /api/v1/admin/shipments/{order_id}/deliver": [],
        "_absent": N,
    }


# Bodies that name another user's object.
def bola_body_cases(w):
    x = w.x
    return [
        ("POST /api/v1/payments", x, "POST", API + "/payments",
         {"order_id": w.order_v["id"], "payment_method": "pm_card_ok"},
         {"order_id": corpusgen.ABSENT_ID, "payment_method": "pm_card_ok"}, True),
        ("POST /api/v1/orders", x, "POST", API + "/orders",
         {"address_id": w.addr_v, "items": [{"product_id": w.p["id"], "quantity": 1}]},
         {"address_id": corpusgen.ABSENT_ID, "items": [{"product_id": w.p["id"], "quantity": 1}]}, True),
        ("POST /api/v1/cart/items", x, "POST", API + "/cart/items",
         {"product_id": w.archived["id"], "quantity": 1},
         {"product_id": corpusgen.ABSENT_ID, "quantity": 1}, False),
    ]


# ---------------------------------------------------------------- tests


@test
def routes_covered(t):
    """Every object route has a BOLA case, every body route a valid request
    for the mass-assignment and BFLA checks; every non-public route is in the
    BFLA matrix by its declared access."""
    rs = routes(t)

    class Stub:
        pass
    w = Stub()
    for k in ("v", "x", "seller", "seller2", "admin"):
        u = User("%s@example.com" % k, "pw", {"id": 1})
        setattr(w, k, u)
    for k in ("p", "p2", "archived", "order_v", "order_x", "paid_v", "pay_v"):
        setattr(w, k, {"id": 1})
    w.addr_v = w.addr_x = 1
    valid = valid_requests(w)
    bola = bola_cases(w)
    for r in rs:
        if r.params:
            t.ok(r.key in bola, "%s (%s): an object route without a BOLA case" % (r.key, r.where))
        if isinstance(r.body, list) or (r.params and r.access != "PUBLIC"):
            t.ok(r.key in valid, "%s (%s): no valid request for the BFLA and mass-assignment checks"
                 % (r.key, r.where))
        if r.key in valid:
            t.eq(valid[r.key][0], r.access, "%s: access in the code vs this test" % r.key)
    known = {r.key for r in rs}
    for k in list(valid) + [k for k in bola if not k.startswith("_")]:
        t.ok(k in known, "%s: a case here for a route the code does not declare" % k)


@test
def bfla(t):
    """A customer on SELLER and ADMIN routes and a seller on ADMIN routes:
    403 FORBIDDEN; anonymous on every non-public route: 401; with requests
    that would succeed for the right role. Nothing changes."""
    w = world(t)
    rs = routes(t)
    valid = valid_requests(w)
    before = snapshot(w)
    n = 0
    for r in rs:
        if r.access == "PUBLIC":
            continue
        _, method, path, body, hdrs = valid.get(r.key, (None, r.method, corpusgen.absent_path(r), None, None))
        if r.key not in valid:
            path = API + path[len("/api/v1"):] if path.startswith("/api/v1") else path
            b = corpusgen.valid_body(r.body) if isinstance(r.body, list) else None
            body = (lambda b=b: b) if b is not None else None
        lower = {"SELLER": [("CUSTOMER", w.x)],
                 "ADMIN": [("CUSTOMER", w.x), ("SELLER", w.seller)]}.get(r.access, [])
        for role, u in lower:
            resp = _send(method, path, u.token, body() if body else None, hdrs() if hdrs else None)
            t.expect(resp, 403, "FORBIDDEN", "%s as a %s" % (r.key, role))
            n += 1
        resp = _send(method, path, None, body() if body else None, hdrs() if hdrs else None)
        t.expect(resp, 401, ("UNAUTHENTICATED", "INVALID_TOKEN"), "%s anonymous" % r.key)
        n += 1
    compare(t, before, snapshot(w), "a refused BFLA request")
    # the victim is still a customer, enabled, with a working login
    r = post(API + "/auth/login", {"email": w.v.email, "password": w.v.password})
    t.expect(r, 200, what="the victim still logs in")
    t.eq(((r.data or {}).get("user") or {}).get("roles"), ["CUSTOMER"], "the victim's roles")
    t.note("%d BFLA requests over %d non-public routes" % (n, sum(r.access != "PUBLIC" for r in rs)))


@test
def bola(t):
    """Another user's object, on every object route: the answer an absent
    object gets (404, the same code), and the object unchanged."""
    w = world(t)
    rs = routes(t)
    cases = bola_cases(w)
    # controls: each object exists and its owner reaches it
    for u, path in ((w.v, "/orders/%d" % w.order_v["id"]), (w.v, "/payments/%d" % w.pay_v["id"]),
                    (w.v, "/shipments/%d" % w.paid_v["id"]), (w.seller, "/products/%d" % w.archived["id"]),
                    (w.seller, "/inventory/%d" % w.archived["id"])):
        t.expect(get(API + path, token=u.token), 200, what="control: the owner's GET %s" % path)
    lines = {i.get("product_id") for i in (get(API + "/cart", token=w.v.token).data or {}).get("items") or []}
    t.ok(w.p2["id"] in lines, "control: the victim's cart holds p2: %s" % sorted(lines))
    before = snapshot(w)
    n = 0
    for r in rs:
        for attacker, fmt, oid, body, hdrs in cases.get(r.key) or []:
            path = API + fmt % oid
            absent = API + fmt % cases["_absent"]
            tok = attacker.token if attacker else None
            who = "anonymous" if attacker is None else attacker.email.split("@")[0]
            got = _send(r.method, path, tok, body, hdrs)
            ref = _send(r.method, absent, tok, body, hdrs)
            t.expect(got, 404, what="%s on another's object %d as %s" % (r.key, oid, who))
            t.eq((got.status, got.err_codes()), (ref.status, ref.err_codes()),
                 "%s: another's object vs an absent one (as %s)" % (r.key, who))
            n += 1
    for key, attacker, method, path, body, absent_body, with_key in bola_body_cases(w):
        h = (lambda: {"Idempotency-Key": idem()}) if with_key else (lambda: {})
        got = _send(method, path, attacker.token, body, h())
        ref = _send(method, path, attacker.token, absent_body, h())
        t.ok(400 <= got.status < 500, "%s naming another's object: HTTP %d %s"
             % (key, got.status, got.body_short()))
        t.eq((got.status, got.err_codes(), got.err_fields()), (ref.status, ref.err_codes(), ref.err_fields()),
             "%s: another's object vs an absent one in the body" % key)
        n += 1
    # the owner still sees what is theirs; the non-owner sees only public stock
    for u, what in ((w.seller2, "another seller"), (w.x, "a customer"), (None, "anonymous")):
        r = get(API + "/inventory/%d" % w.p["id"], token=u.token if u else None)
        if t.expect(r, 200, what="GET /inventory of an active product as %s" % what):
            d = unwrap(r.data, "stock") or {}
            t.ok(not ({"on_hand", "reserved"} & set(d)), "GET /inventory as %s shows %s" % (what, sorted(d)))
    r = get(API + "/inventory/%d" % w.p["id"], token=w.seller.token)
    t.ok({"on_hand", "reserved"} <= set(unwrap(r.data, "stock") or {}), "the owner sees the whole stock: %r" % r)
    t.expect(get(API + "/products/%d" % w.archived["id"], token=w.seller.token), 200,
             what="the owner sees the archived product")
    # lists show one's own objects only
    r = get(API + "/orders", token=w.x.token)
    ids = {o.get("id") for o in (r.data or {}).get("items") or []}
    t.ok(w.order_v["id"] not in ids and w.paid_v["id"] not in ids, "the attacker's order list: %s" % sorted(ids))
    r = get(API + "/users/me/addresses", token=w.x.token)
    ids = {a.get("id") for a in (r.data or {}).get("items") or []}
    t.ok(w.addr_v not in ids, "the attacker's address list: %s" % sorted(ids))
    compare(t, before, snapshot(w), "a refused BOLA request")
    t.eq(order_status(w.v, w.order_v["id"]), "PENDING_PAYMENT", "the victim's pending order")
    t.note("%d BOLA requests" % n)


@test
def mass_assignment(t):
    """Owner, ids, status, prices, roles and timestamps in the body of every
    body-taking route: 400 UNKNOWN_FIELD naming the field; nothing changes
    (the requests are otherwise valid for their rightful caller)."""
    w = world(t)
    rs = routes(t)
    valid = valid_requests(w)
    tokens = {"PUBLIC": None, "USER": w.x.token, "SELLER": w.seller.token, "ADMIN": w.admin.token}
    # as the rightful caller, on objects of its own where the route needs one
    own = dict(valid)
    own["DELETE /api/v1/users/me/addresses/{id}"] = None
    own["POST /api/v1/orders/{id}/cancel"] = ("USER", "POST", API + "/orders/%d/cancel" % w.order_x["id"],
                                              None, None)
    own["POST /api/v1/payments"] = ("USER", "POST", API + "/payments",
                                    lambda: {"order_id": w.order_x["id"], "payment_method": "pm_card_ok"},
                                    lambda: {"Idempotency-Key": idem()})
    before = snapshot(w)
    n = 0
    for r in rs:
        if not isinstance(r.body, list) or own.get(r.key) is None:
            continue
        access, method, path, body, hdrs = own[r.key]
        declared = {f.name for f in r.body}
        for field in FORBIDDEN_FIELDS:
            if field in declared:
                continue
            b = dict(body() if body else {})
            b[field] = {"roles": ["ADMIN"], "role": "ADMIN", "status": "PAID", "is_admin": True,
                        "currency": "USD", "email": "evil@example.com"}.get(field, 1)
            resp = _send(method, path, tokens[access], b, hdrs() if hdrs else None)
            if t.expect(resp, 400, "UNKNOWN_FIELD", "%s with %s" % (r.key, field)):
                t.isin(field, resp.err_fields(), "%s with %s: the error names the field" % (r.key, field))
            n += 1
        for f in r.body:
            if f.type != "OBJECT_ARRAY" or not f.nested:
                continue
            sub_declared = {s.name for s in f.nested}
            for field in NESTED_FORBIDDEN:
                if field in sub_declared:
                    continue
                b = dict(body() if body else {})
                line = corpusgen.valid_body(f.nested, {"product_id": w.p["id"]})
                line[field] = 1 if field != "name" else "Free"
                b[f.name] = [line]
                resp = _send(method, path, tokens[access], b, hdrs() if hdrs else None)
                if t.expect(resp, 400, "UNKNOWN_FIELD", "%s with %s[0].%s" % (r.key, f.name, field)):
                    t.isin("%s[0].%s" % (f.name, field), resp.err_fields(),
                           "%s with %s[0].%s: the error names the field" % (r.key, f.name, field))
                n += 1
    compare(t, before, snapshot(w), "a refused mass-assignment request")
    # a refused refresh did not spend the token
    r = post(API + "/auth/refresh", {"refresh_token": w.x.refresh})
    t.expect(r, 200, what="the refresh token after refused requests that carried it")
    if r.status == 200:
        w.x.login = dict(w.x.login, **r.data)
    t.eq(order_status(w.x, w.order_x["id"]), "PENDING_PAYMENT", "the attacker's own order after {status: ...}")
    t.note("%d mass-assignment requests" % n)
