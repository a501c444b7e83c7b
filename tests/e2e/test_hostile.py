"""Hostile input on every body-taking route and every query parameter:
malformed JSON, wrong types, huge numbers, bad strings, SQL metacharacters,
wrong Content-Type. Never a 5xx; a 4xx envelope, or a literal store."""

import json

from tap import test
from shopclient import (API, check_response, email, fx, get, new_product, new_user, post, qs,
                        raw_request, request, uniq, unwrap)

SQL = ["' OR '1'='1", "\"; DROP TABLE users; --", "a'); DELETE FROM products; /*", "*/ --",
       "back\\slash\\", "100% _wild_ %", "semi;colon -- comment", "' UNION SELECT password FROM users --"]
SQL_ALL = "O'Brien \" ; -- /* */ \\ % _"


class Route:
    def __init__(self, method, path, token, body, strings=(), ints=(), bools=(), arrays=(),
                 positive=(), created=None):
        self.method, self.path, self.token, self.body = method, path, token, body
        self.strings, self.ints, self.bools, self.arrays = strings, ints, bools, arrays
        self.positive = positive   # int fields where 0 and negatives are refused
        self.created = created     # response object name when a 2xx stores the body

    def send(self, body, ctype="application/json"):
        return request(self.method, self.path, body, token=self.token, ctype=ctype)

    def name(self):
        return "%s %s" % (self.method, self.path)


def routes():
    """Every body-taking route, with a valid body. Bodies are functions so
    that every call gets fresh unique values."""
    u = new_user("hostile")
    seller, admin = fx.seller, fx.admin
    target = new_user("target", do_login=False)
    p = new_product(initial_stock=100)
    cat = fx.leaf_category()
    return [
        Route("POST", API + "/auth/register", None,
              lambda: {"email": email("h"), "password": "0123456789", "name": "Hostile"},
              strings=("email", "password", "name"), created="user"),
        Route("POST", API + "/auth/login", None,
              lambda: {"email": u.email, "password": u.password}, strings=("email", "password")),
        Route("POST", API + "/auth/refresh", None,
              lambda: {"refresh_token": "not-a-real-token-" + uniq("r")}, strings=("refresh_token",)),
        Route("POST", API + "/auth/logout", None,
              lambda: {"refresh_token": "not-a-real-token-" + uniq("r")}, strings=("refresh_token",)),
        Route("PUT", API + "/users/me", u.token, lambda: {"name": "Hostile", "phone": "+1 555 0100"},
              strings=("name", "phone"), created="user"),
        Route("POST", API + "/users/me/addresses", u.token,
              lambda: {"line1": "Street 1", "line2": "Flat 2", "city": "Paris", "postal_code": "75001",
                       "country": "FR", "is_default": False},
              strings=("line1", "line2", "city", "postal_code", "country"), bools=("is_default",),
              created="address"),
        Route("PUT", API + "/admin/users/%d/roles" % target.id, admin.token,
              lambda: {"roles": ["CUSTOMER"]}, arrays=("roles",)),
        Route("POST", API + "/products", seller.token,
              lambda: {"sku": uniq("H"), "name": "Hostile", "description": "d", "price_cents": 100,
                       "currency": "EUR", "category_id": cat, "initial_stock": 1},
              strings=("sku", "name", "description", "currency"),
              ints=("price_cents", "category_id", "initial_stock"), positive=("category_id",),
              created="product"),
        Route("PUT", API + "/products/%d" % p["id"], seller.token,
              lambda: {"name": "Hostile", "description": "d", "price_cents": 100},
              strings=("sku", "name", "description", "currency"), ints=("price_cents", "category_id"),
              positive=("category_id",), created="product"),
        Route("POST", API + "/categories", admin.token, lambda: {"name": "Hostile " + uniq("c")},
              strings=("name",), ints=("parent_id",), positive=("parent_id",), created="category"),
        Route("POST", API + "/inventory/%d/adjust" % p["id"], seller.token,
              lambda: {"delta": 1, "reason": "hostile"}, strings=("reason",), ints=("delta",)),
    ]


_routes = None


def all_routes():
    global _routes
    if _routes is None:
        _routes = routes()
    return _routes


@test
def malformed_json(t):
    bodies = [b"{", b"{\"a\":}", b"{\"email\": \"x\",}", b"{'a': 1}", b"", b" ", b"nul", b"[1, 2",
              b"{\"a\": 1}{\"b\": 2}", b"{\"a\": 1} x", b"{\"a\": tru}", b"{\"a\": 01}",
              b"{\"a\": NaN}", b"{\"a\": Infinity}", b"{\"a\": \"\\x41\"}", b"{\"a\": \"unterminated}",
              b"[" * 5000 + b"]" * 5000, b"{\"a\":" * 3000 + b"1" + b"}" * 3000,
              b"\x00", b"{\"a\"\x00: 1}"]
    for rt in all_routes():
        for b in bodies:
            r = rt.send(b)
            t.expect(r, 400, what="%s with body %r" % (rt.name(), b[:24]))


@test
def non_object_json(t):
    for rt in all_routes():
        for b in (b"[]", b"[{}]", b"\"string\"", b"1", b"null", b"true", b"{}"):
            r = rt.send(b)
            if b == b"{}" and rt.method == "PUT":
                t.expect(r, (200, 400), what="%s with {}" % rt.name())  # an empty partial update
                continue
            t.expect(r, 400, what="%s with body %s" % (rt.name(), b.decode()))


@test
def wrong_types(t):
    for rt in all_routes():
        for f in rt.strings:
            for v in (123, 1.5, True, [], {}, ["x"]):
                b = rt.body()
                b[f] = v
                r = rt.send(b)
                if t.expect(r, 400, what="%s with %s=%r" % (rt.name(), f, v)):
                    t.isin(f, r.err_fields(), "%s %s=%r: errors name the field" % (rt.name(), f, v))
        for f in rt.ints:
            for v in ("1", 1.5, 1.0, 1e2, True, [], {}, "ten", None):
                b = rt.body()
                b[f] = v
                r = rt.send(b)
                if v is None and f not in ("price_cents", "delta", "category_id"):
                    t.expect(r, (200, 201, 400), what="%s with %s=null" % (rt.name(), f))
                    continue
                if v is None and rt.method == "PUT":
                    t.expect(r, (400,), what="%s with %s=null" % (rt.name(), f))
                    continue
                t.expect(r, 400, what="%s with %s=%r" % (rt.name(), f, v))
        for f in rt.bools:
            for v in ("true", 1, 0, [], "yes"):
                b = rt.body()
                b[f] = v
                t.expect(rt.send(b), 400, what="%s with %s=%r" % (rt.name(), f, v))
        for f in rt.arrays:
            for v in ("CUSTOMER", [1], [None], [["CUSTOMER"]], {"0": "CUSTOMER"}, ["CUSTOMER"] * 50,
                      ["CUSTOMER", "CUSTOMER"]):
                b = rt.body()
                b[f] = v
                r = rt.send(b)
                if v == ["CUSTOMER", "CUSTOMER"] or v == ["CUSTOMER"] * 50:
                    t.expect(r, (200, 400), what="%s with %s=%r" % (rt.name(), f, v[:3]))
                else:
                    t.expect(r, 400, what="%s with %s=%r" % (rt.name(), f, v))


@test
def huge_and_negative_numbers(t):
    for rt in all_routes():
        for f in rt.ints:
            for raw in ("99999999999999999999", "-99999999999999999999", "1e400", "-1e400",
                        "9223372036854775808", "-9223372036854775809", "18446744073709551616"):
                b = json.dumps(dict(rt.body(), **{f: 0})).replace('"%s": 0' % f, '"%s": %s' % (f, raw))
                r = rt.send(b)
                t.expect(r, 400, what="%s with %s=%s" % (rt.name(), f, raw))
            if f in rt.positive or f in ("price_cents", "initial_stock"):
                for v in ((-1, -100) if f not in rt.positive else (0, -1, -100)):
                    b = rt.body()
                    b[f] = v
                    t.expect(rt.send(b), 400, what="%s with %s=%d" % (rt.name(), f, v))
        for f in rt.strings:
            # a number where a string belongs, too long for any integer type
            b = json.dumps(dict(rt.body(), **{f: 0})).replace('"%s": 0' % f, '"%s": 99999999999999999999' % f)
            t.expect(rt.send(b), 400, what="%s with %s=99999999999999999999" % (rt.name(), f))


@test
def bad_strings(t):
    cases = [("\u0000", "NUL"), ("abc\u0000def", "embedded NUL"), ("x" * 20000, "20000 chars"),
             ("line\u0001ctl", "control character"), ("esc\u001b[31m", "ESC")]
    raw_cases = [(b"\xff\xfe", "invalid UTF-8 bytes"), (b"\xc0\xaf", "overlong UTF-8"),
                 (b"\xed\xa0\x80", "UTF-8 surrogate"), (b"abc\xe2\x82", "truncated UTF-8")]
    for rt in all_routes():
        for f in rt.strings:
            for v, what in cases:
                b = rt.body()
                b[f] = v
                data = json.dumps(b).encode()   # ensure_ascii: \u escapes
                r = rt.send(data)
                ok = (400,)
                if what == "20000 chars" and rt.path.startswith(API + "/auth/") and \
                        not rt.path.endswith("/register"):
                    ok = (400, 401) if not rt.path.endswith("/logout") else (200, 400, 401)
                t.expect(r, ok, what="%s with %s %s" % (rt.name(), f, what))
            b = rt.body()
            b[f] = "\ud800"    # a lone surrogate: refused, or stored as U+FFFD; never a 5xx
            r = rt.send(json.dumps(b).encode())
            t.ok(r.status < 500, "%s with %s a lone surrogate: HTTP %d" % (rt.name(), f, r.status))
            for v, what in raw_cases:
                b = rt.body()
                b[f] = "@@RAW@@"
                data = json.dumps(b).encode().replace(b"@@RAW@@", v)
                r = rt.send(data)
                t.expect(r, 400, what="%s with %s %s" % (rt.name(), f, what))


def stored_value(r, name, field):
    obj = unwrap(r.data, name) if name else None
    return obj.get(field) if isinstance(obj, dict) else None


@test
def sql_metacharacters_in_bodies(t):
    for rt in all_routes():
        for f in rt.strings:
            for v in SQL + [SQL_ALL]:
                b = rt.body()
                b[f] = v
                r = rt.send(b)
                what = "%s with %s=%r" % (rt.name(), f, v)
                if r.status >= 500:
                    continue   # recorded by the client
                t.ok(r.status < 500, what)
                if 200 <= r.status < 300 and rt.created and f in ("name", "line1", "line2", "city",
                                                                  "description", "reason"):
                    got = stored_value(r, rt.created, f)
                    t.eq(got, v, "%s: stored value" % what)
    # stored literally, read back literally
    u = new_user("sql", name=SQL_ALL)
    r = get(API + "/users/me", token=u.token)
    t.eq(stored_value(r, "user", "name"), SQL_ALL, "user name read back")
    p = new_product(name="E2E " + SQL_ALL, description="desc " + SQL_ALL)
    r = get(API + "/products/%d" % p["id"])
    t.eq(stored_value(r, "product", "name"), "E2E " + SQL_ALL, "product name read back")
    t.eq(stored_value(r, "product", "description"), "desc " + SQL_ALL, "product description read back")
    r = post(API + "/users/me/addresses", {"line1": SQL_ALL, "city": "Rome", "postal_code": "00100",
                                          "country": "IT"}, token=u.token)
    if t.expect(r, 201, what="address with metacharacters"):
        t.eq(stored_value(r, "address", "line1"), SQL_ALL, "address line1")
    # an e-mail with the quote characters e-mail allows
    em = "o'brien+%s@example.com" % uniq("q").lower()
    r = post(API + "/auth/register", {"email": em, "password": "0123456789", "name": "Q"})
    t.expect(r, (201, 400), what="register %s" % em)
    if r.status == 201:
        r = get(API + "/admin/users" + qs(email=em), token=fx.admin.token)
        t.eq([x.get("email") for x in (r.data or {}).get("items") or []], [em], "?email= with a quote")


@test
def sql_metacharacters_in_queries(t):
    admin = fx.admin
    for v in SQL + [SQL_ALL, "%", "_", "*", "\\", "'", "\"", "--", "/*", ";", "%%", "\\%"]:
        r = get(API + "/products" + qs(q=v))
        t.expect(r, (200, 400), what="GET /products?q=%r" % v)
        if r.status == 200 and v in ("%", "_", "%%", "\\%", "'"):
            items = (r.data or {}).get("items") or []
            odd = [x.get("name") for x in items
                   if v not in x.get("name", "") + " " + x.get("description", "")]
            if odd:
                t.note("?q=%r (no searchable word) lists products without it, e.g. %r" % (v, odd[0]))
        for param in ("category", "seller", "min_price", "max_price", "limit", "cursor", "sort"):
            r = get(API + "/products" + qs(**{param: v}))
            t.expect(r, 400, "INVALID_QUERY", "GET /products?%s=%r" % (param, v))
        r = get(API + "/admin/users" + qs(email=v), token=admin.token)
        t.expect(r, (200, 400), what="GET /admin/users?email=%r" % v)
        if r.status == 200:
            t.eq((r.data or {}).get("items"), [], "GET /admin/users?email=%r lists users" % v)
        r = get(API + "/admin/users" + qs(role=v), token=admin.token)
        t.expect(r, 400, "INVALID_QUERY", "GET /admin/users?role=%r" % v)
    # in path segments
    # in path segments (escaped paths need a user: fcgi-apps/auth/rules.h)
    tok = fx.customer.token
    for seg in ("1'", "1%20OR%201=1", "1;", "1--", "%27", "1%00", "1%2F..%2F2", "1'--"):
        for base in ("/products/", "/inventory/"):
            r = get(API + base + seg, token=tok)
            t.expect(r, (400, 403, 404), what="GET %s%s" % (base, seg))


@test
def wrong_content_type_everywhere(t):
    for rt in all_routes():
        data = json.dumps(rt.body())
        for ct in ("text/plain", "application/x-www-form-urlencoded", None):
            r = rt.send(data, ctype=ct)
            t.expect(r, 415, "UNSUPPORTED_MEDIA_TYPE", "%s with Content-Type %r" % (rt.name(), ct))


@test
def body_where_none_is_taken(t):
    u = new_user("nobody")
    for method, path, tok in (("GET", API + "/users/me", u.token),
                              ("DELETE", API + "/users/me/addresses/999999999", u.token)):
        r = raw_request(method, path, b"{\"x\": 1}", {"Content-Type": "application/json",
                                                      "Authorization": "Bearer " + tok})
        check_response(r)
        t.expect(r, 400 if method == "GET" else (400, 404), what="%s %s with a body" % (method, path))
    t.expect(get(API + "/users/me", token=u.token), 200, what="GET /users/me still works")
