#!/usr/bin/env python3
"""Writes the seed corpora (tests/fuzz/corpus/<target>/) and dictionaries
(tests/fuzz/dict/<target>.dict) of the fuzz targets: real requests, bodies,
tokens and headers of the shop, valid and near-valid.

The output is committed; run this again only to change the seeds:
    python3 tests/fuzz/mkseeds.py
It reads the route tables in fcgi-apps/*/routes.c (to find which selector
byte picks which table in fuzz_json and fuzz_query) and signs tokens with
the test key tests/fuzz/keys/fuzz1.key through the openssl command.
Standard library only."""

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
KEY = os.path.join(HERE, "keys", "fuzz1.key")

FUZZ_NOW = 1790000000          # tests/fuzz/fuzz.h
FAR = 4102444800               # 2100-01-01: tokens for fuzz_auth (real clock)
SECRET = b"whsec_fuzz_0123456789abcdef0123456789abcdef"
APPS = ["identity", "catalog", "cart", "orders", "payments", "shipping", "notify"]  # fuzz_common.c order

corpora = {}


def seed(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    corpora.setdefault(target, {})[name] = data


# ---------------------------------------------------------------- routes

ROUTE_RE = re.compile(r'^\s*\{"(\w+)", "([^"]+)", (\w+), (\w+), (\w+), (\w+)')


def routes():
    out = []
    for app in APPS:
        with open(os.path.join(TOP, "fcgi-apps", app, "routes.c")) as f:
            for line in f:
                m = ROUTE_RE.match(line)
                if m:
                    method, pattern, _, access, body, query = m.groups()
                    out.append((method, pattern, access, body, query))
    return out


ROUTES = routes()
# fuzz_json: representative table at 0, then each route with a body, in order.
JSON_SPECS = [("rep", "representative")] + [(r[0] + " " + r[1], r[3]) for r in ROUTES if r[3] != "NULL"]
# fuzz_query: no table at 0, then each route with a query, in order.
QUERY_SPECS = [("none", "NULL")] + [(r[0] + " " + r[1], r[4]) for r in ROUTES if r[4] != "NULL"]


def json_sel(method, pattern):
    for i, (key, _) in enumerate(JSON_SPECS):
        if key == method + " " + pattern:
            return i
    sys.exit("no body table for %s %s" % (method, pattern))


def query_sel(method, pattern):
    for i, (key, _) in enumerate(QUERY_SPECS):
        if key == method + " " + pattern:
            return i
    sys.exit("no query table for %s %s" % (method, pattern))


def slug(s):
    return re.sub(r"[^A-Za-z0-9]+", "-", s).strip("-").lower()


# ---------------------------------------------------------------- helpers

def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def cursor(sort, value, id_):
    return b64url(("v1|%s|%d|%d" % (sort, value, id_)).encode())


def es256(msg):
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", KEY, "-binary"],
                         input=msg, capture_output=True, check=True).stdout
    # SEQUENCE { INTEGER r, INTEGER s }, short lengths (P-256)
    assert der[0] == 0x30
    i = 2
    parts = []
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        parts.append(der[i + 2:i + 2 + n].lstrip(b"\0").rjust(32, b"\0"))
        i += 2 + n
    return parts[0] + parts[1]


def token(header, payload):
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    p = b64url(json.dumps(payload, separators=(",", ":")).encode())
    signing = (h + "." + p).encode()
    return h + "." + p + "." + b64url(es256(signing))


def claims(sub, roles, iat, exp, **extra):
    c = {"iss": "shop", "aud": "shop-api", "sub": str(sub), "iat": iat, "exp": exp,
         "jti": "j%s%d" % (sub, iat), "roles": roles}
    c.update(extra)
    return c


HDR = {"alg": "ES256", "typ": "JWT", "kid": "fuzz1"}


def sig_header(t, body, secret=SECRET):
    mac = hmac.new(secret, str(t).encode() + b"." + body, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (t, mac)


# ---------------------------------------------------------------- router

def gen_router():
    ids = {"{id}": "42", "{product_id}": "7", "{order_id}": "1001"}
    for method, pattern, *_ in ROUTES:
        path = pattern
        for k, v in ids.items():
            path = path.replace(k, v)
        seed("router", slug(method + " " + pattern), method + "\n" + path)
    for name, text in [
        ("wrong-method", "PATCH\n/api/v1/products/42"),
        ("head", "HEAD\n/api/v1/products"),
        ("trailing-slash", "GET\n/api/v1/products/"),
        ("id-zero", "GET\n/api/v1/products/0"),
        ("id-leading-zero", "GET\n/api/v1/products/042"),
        ("id-max", "GET\n/api/v1/products/9007199254740991"),
        ("id-over-max", "GET\n/api/v1/products/9007199254740992"),
        ("id-17-digits", "GET\n/api/v1/products/12345678901234567"),
        ("id-sign", "GET\n/api/v1/products/+1"),
        ("two-ids", "PUT\n/api/v1/admin/users/9/roles"),
        ("empty-segment", "GET\n/api/v1/products//"),
        ("no-method-line", "/api/v1/cart"),
        ("ping", "GET\n/_ping"),
        ("case", "get\n/API/v1/products"),
    ]:
        seed("router", name, text)


# ---------------------------------------------------------------- cursor

def gen_cursor():
    seed("cursor", "id", cursor("id", 120, 120))
    seed("cursor", "newest", cursor("newest", 1790000000123, 55))
    seed("cursor", "price", cursor("price", 1999, 7))
    seed("cursor", "minus-price", cursor("-price", 0, 9007199254740991))
    seed("cursor", "negative-value", cursor("price", -9223372036854775808, 1))
    seed("cursor", "id-zero", cursor("id", 5, 0))
    seed("cursor", "leading-zero", b64url(b"v1|id|05|5"))
    seed("cursor", "plus", b64url(b"v1|id|+5|5"))
    seed("cursor", "minus-zero", b64url(b"v1|id|-0|5"))
    seed("cursor", "v2", b64url(b"v2|id|5|5"))
    seed("cursor", "five-fields", b64url(b"v1|id|5|5|5"))
    seed("cursor", "padded", base64.urlsafe_b64encode(b"v1|id|5|5").decode())
    seed("cursor", "std-alphabet", base64.b64encode(b"v1|price|1999|7>?").decode())
    seed("cursor", "non-canonical-bits", cursor("id", 1, 1)[:-1] + "B")
    seed("cursor", "raw-16-bytes", struct.pack("<qq", -1, 9007199254740991))


# ---------------------------------------------------------------- query

def gen_query():
    def q(method, pattern, name, text):
        seed("query", slug(method + pattern) + "-" + name, bytes([query_sel(method, pattern)]) + text.encode())

    P = "/api/v1/products"
    q("GET", P, "search", "q=oak+desk+lamp&sort=price&limit=5")
    q("GET", P, "filters", "category=3&min_price=100&max_price=20000&seller=2&sort=-price")
    q("GET", P, "cursor", "sort=newest&cursor=" + cursor("newest", 1790000000123, 55))
    q("GET", P, "cursor-other-sort", "sort=price&cursor=" + cursor("newest", 5, 5))
    q("GET", P, "percent", "q=K%C3%BCche%20M%C3%B6bel&limit=100")
    q("GET", P, "bad-percent", "q=%ZZ&limit=1")
    q("GET", P, "nul", "q=a%00b")
    q("GET", P, "control", "q=a%0Ab")
    q("GET", P, "dup", "limit=1&limit=2")
    q("GET", P, "empty-pair", "limit=1&&q=x")
    q("GET", P, "no-eq", "limit")
    q("GET", P, "unknown", "page=2")
    q("GET", P, "limit-range", "limit=101")
    q("GET", P, "int-overflow", "min_price=99999999999999999999")
    q("GET", P, "int-leading-zero", "limit=05")
    q("GET", P, "int-float", "limit=1.0")
    q("GET", P, "bad-sort", "sort=cheapest")
    q("GET", P, "overlong-utf8", "q=%C0%AF")
    q("GET", "/api/v1/admin/users", "email", "email=ann%40example.com&role=SELLER&limit=20")
    q("GET", "/api/v1/admin/users", "cursor", "cursor=" + cursor("id", 100, 100))
    q("GET", "/api/v1/orders", "status", "status=PENDING_PAYMENT&limit=10")
    q("GET", "/api/v1/orders", "cursor", "cursor=" + cursor("id", 77, 77))
    q("GET", "/api/v1/admin/orders", "user", "status=PAID&user=12&limit=100")
    q("GET", "/api/v1/notifications", "list", "limit=20&cursor=" + cursor("id", 9, 9))
    seed("query", "none-anything", b"\0a=1")
    seed("query", "none-empty", b"\0")


# ---------------------------------------------------------------- json

def gen_json():
    def j(method, pattern, name, body):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body, ensure_ascii=False)
        if isinstance(body, str):
            body = body.encode()
        seed("json", slug(method + pattern) + "-" + name, bytes([json_sel(method, pattern)]) + body)

    j("POST", "/api/v1/auth/register", "ok", {"email": "ann@example.com", "password": "correct horse battery", "name": "Ann"})
    j("POST", "/api/v1/auth/register", "short-password", {"email": "ann@example.com", "password": "short", "name": "Ann"})
    j("POST", "/api/v1/auth/register", "bad-email", {"email": "ann@@example", "password": "correct horse battery", "name": " Ann"})
    j("POST", "/api/v1/auth/register", "mass-assignment", {"email": "a@b.io", "password": "0123456789", "name": "A", "roles": ["ADMIN"]})
    j("POST", "/api/v1/auth/login", "ok", {"email": "customer@shop.test", "password": "x"})
    j("POST", "/api/v1/auth/refresh", "ok", {"refresh_token": "rt_" + "A" * 43})
    j("PUT", "/api/v1/users/me", "phone-null", {"name": "Zoë", "phone": None})
    j("PUT", "/api/v1/users/me", "phone", {"phone": "+49 (30) 123-456"})
    j("POST", "/api/v1/users/me/addresses", "ok", {"line1": "1 Main St", "line2": None, "city": "Berlin", "postal_code": "10115", "country": "DE", "is_default": True})
    j("POST", "/api/v1/users/me/addresses", "bad-country", {"line1": "1 Main St", "city": "X", "postal_code": "1", "country": "de", "is_default": "yes"})
    j("PUT", "/api/v1/admin/users/{id}/roles", "ok", {"roles": ["SELLER", "CUSTOMER"]})
    j("PUT", "/api/v1/admin/users/{id}/roles", "bad", {"roles": ["ROOT", 1, "ADMIN", "ADMIN"]})
    j("POST", "/api/v1/products", "ok", {"sku": "MUG-1", "name": "Blue mug", "description": "Stoneware\nDishwasher safe", "price_cents": 1299, "currency": "EUR", "category_id": 1, "initial_stock": 20})
    j("POST", "/api/v1/products", "float-price", '{"sku":"M","name":"m","description":"","price_cents":12.5,"currency":"EUR","category_id":1}')
    j("POST", "/api/v1/products", "huge-int", '{"sku":"M","name":"m","description":"","price_cents":99999999999999999999,"currency":"EUR","category_id":-9223372036854775808}')
    j("PUT", "/api/v1/products/{id}", "partial", {"price_cents": 1})
    j("PUT", "/api/v1/products/{id}", "stock-unknown", {"initial_stock": 5})
    j("POST", "/api/v1/categories", "ok", {"name": "Lamps", "parent_id": None})
    j("POST", "/api/v1/inventory/{product_id}/adjust", "ok", {"delta": -3, "reason": "broken in storage"})
    j("POST", "/api/v1/cart/items", "ok", {"product_id": 1, "quantity": 2})
    j("PUT", "/api/v1/cart/items/{product_id}", "zero", {"quantity": 0})
    j("POST", "/api/v1/orders", "items", {"address_id": 3, "items": [{"product_id": 1, "quantity": 2}, {"product_id": 9, "quantity": 1000}]})
    j("POST", "/api/v1/orders", "bad-items", {"items": [{"product_id": 1}, 5, {"product_id": 1, "quantity": 1, "price_cents": 1}]})
    j("POST", "/api/v1/orders", "empty", {})
    j("POST", "/api/v1/payments", "ok", {"order_id": 17, "payment_method": "pm_card_ok"})
    j("POST", "/api/v1/payments/{id}/refund", "restock", {"restock": True})
    j("POST", "/api/v1/admin/shipments/{order_id}/ship", "ok", {"carrier": "DHL", "tracking_number": "JD0002"})
    rep = 0
    for name, body in [
        ("all-fields", {"email": "a.b+c@sub.example.org", "sku": "A-1_2.3", "currency": "GBP", "roles": ["ADMIN"], "tags": ["x", ""], "items": [{"product_id": 1, "quantity": 1, "note": "line\none"}], "address": {"line1": "x", "country": "FR", "phone": "123"}, "restock": False, "delta": -1000, "count": 9223372036854775807, "text": "a\tb", "id": None}),
        ("nested-bad", {"id": 1, "items": [{"product_id": 0, "quantity": 1001, "extra": {}}], "address": {"country": "XX", "line1": " lead"}}),
        ("duplicate-key", '{"id":1,"id":2}'),
        ("deep", '{"id":1,"address":' + "[" * 20 + "]" * 20 + "}"),
        ("escapes", '{"id":1,"text":"\\u00e9\\ud83d\\ude00\\ud800\\u2028\\u0000"}'),
        ("single-quotes", "{'id':1}"),
        ("trailing", '{"id":1} x'),
        ("numbers", '{"id":1,"count":-0,"delta":1e3,"text":"1."}'),
        ("literals", '{"id":null,"restock":true,"tags":[],"items":[]}'),
        ("not-object", "[1,2,3]"),
        ("bad-utf8", b'{"id":1,"text":"\xc0\xaf\xed\xa0\x80\xff"}'),
        ("bom", b'\xef\xbb\xbf{"id":1}'),
        ("nan", '{"id":NaN,"count":Infinity}'),
        ("long-key", '{"' + "k" * 200 + '\\u00e9":1,"id":1}'),
    ]:
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body, ensure_ascii=False)
        if isinstance(body, str):
            body = body.encode()
        seed("json", "rep-" + name, bytes([rep]) + body)


# ---------------------------------------------------------------- webhook signature

def gen_webhook_sig():
    ev = json.dumps({"id": "evt_1", "type": "payment.succeeded", "created": FUZZ_NOW,
                     "data": {"payment_id": 5, "provider_ref": "sim_5", "amount_cents": 2598, "currency": "EUR"}},
                    separators=(",", ":")).encode()
    good = sig_header(FUZZ_NOW, ev)
    seed("webhook_sig", "valid", good.encode() + b"\n" + ev)
    seed("webhook_sig", "valid-empty-body", sig_header(FUZZ_NOW - 10, b"") + "\n")
    seed("webhook_sig", "two-v1", (sig_header(FUZZ_NOW, ev, b"old") + "," + good.split(",")[1]).encode() + b"\n" + ev)
    seed("webhook_sig", "v2-ignored", (good + ",v2=anything").encode() + b"\n" + ev)
    seed("webhook_sig", "expired", sig_header(FUZZ_NOW - 301, ev).encode() + b"\n" + ev)
    seed("webhook_sig", "future", sig_header(FUZZ_NOW + 301, ev).encode() + b"\n" + ev)
    seed("webhook_sig", "wrong-mac", ("t=%d,v1=%s" % (FUZZ_NOW, "0" * 64)).encode() + b"\n" + ev)
    seed("webhook_sig", "upper-hex", good.upper().replace("T=", "t=").replace("V1=", "v1=").encode() + b"\n" + ev)
    seed("webhook_sig", "two-t", ("t=1," + good).encode() + b"\n" + ev)
    seed("webhook_sig", "leading-zero-t", good.replace("t=", "t=0").encode() + b"\n" + ev)
    seed("webhook_sig", "blank", good.replace(",", ", ").encode() + b"\n" + ev)
    seed("webhook_sig", "trailing-comma", (good + ",").encode() + b"\n" + ev)
    seed("webhook_sig", "nine-v1", ("t=%d" % FUZZ_NOW + (",v1=" + "a" * 64) * 9).encode() + b"\n")
    seed("webhook_sig", "body-with-nul", sig_header(FUZZ_NOW, b"{\0}").encode() + b"\n{\0}")
    seed("webhook_sig", "no-body-line", good)


# ---------------------------------------------------------------- jwt

def gen_jwt():
    now = FUZZ_NOW
    c = claims(3, ["CUSTOMER"], now - 60, now + 840)
    seed("jwt", "valid-customer", token(HDR, c))
    seed("jwt", "valid-admin-aud-array", token(HDR, claims(1, ["ADMIN", "CUSTOMER"], now - 5, now + 900, aud=["x", "shop-api"], nbf=now - 5)))
    seed("jwt", "valid-no-roles", token(HDR, claims(2, [], now, now + 1)))
    seed("jwt", "expired", token(HDR, claims(3, ["CUSTOMER"], now - 1000, now)))
    seed("jwt", "nbf-future", token(HDR, claims(3, ["CUSTOMER"], now, now + 900, nbf=now + 10)))
    seed("jwt", "kid-fuzz2", token(dict(HDR, kid="fuzz2"), c))
    t = token(HDR, c)
    h, p, s = t.split(".")
    seed("jwt", "bad-signature", h + "." + p + "." + s[:-2] + ("AA" if s[-2:] != "AA" else "BA"))
    seed("jwt", "alg-none", b64url(b'{"alg":"none","kid":"fuzz1"}') + "." + p + ".")
    seed("jwt", "padding", t + "=")
    seed("jwt", "four-segments", t + ".x")
    # Signed by the target ('S'): header and payload JSON as they are.
    def S(name, header, payload):
        if not isinstance(header, str):
            header = json.dumps(header, separators=(",", ":"))
        if not isinstance(payload, str):
            payload = json.dumps(payload, separators=(",", ":"))
        seed("jwt", "signed-" + name, "S" + header + "\n" + payload)
    S("valid", HDR, c)
    S("alg-hs256", dict(HDR, alg="HS256"), c)
    S("alg-lower", dict(HDR, alg="es256"), c)
    S("crit", dict(HDR, crit=["exp"]), c)
    S("typ-lower", dict(HDR, typ="jwt"), c)
    S("typ-other", dict(HDR, typ="JOSE"), c)
    S("kid-unknown", dict(HDR, kid="nope"), c)
    S("kid-bad", dict(HDR, kid="../fuzz1"), c)
    S("dup-alg", '{"alg":"ES256","kid":"fuzz1","alg":"none"}', c)
    S("jku-ignored", dict(HDR, jku="https://evil.example/jwks"), c)
    S("iss-wrong", HDR, dict(c, iss="evil"))
    S("aud-wrong", HDR, dict(c, aud=["a", "b"]))
    S("sub-int", HDR, dict(c, sub=3))
    S("sub-zero", HDR, dict(c, sub="0"))
    S("sub-leading-zero", HDR, dict(c, sub="03"))
    S("sub-too-big", HDR, dict(c, sub="9007199254740992"))
    S("roles-dup", HDR, dict(c, roles=["ADMIN", "ADMIN"]))
    S("roles-unknown", HDR, dict(c, roles=["ROOT"]))
    S("roles-string", HDR, dict(c, roles="ADMIN"))
    S("exp-float", HDR, '{"iss":"shop","aud":"shop-api","sub":"3","iat":1,"exp":1790000900.5,"jti":"j","roles":[]}')
    S("exp-huge", HDR, '{"iss":"shop","aud":"shop-api","sub":"3","iat":1,"exp":99999999999999999999,"jti":"j","roles":[]}')
    S("jti-long", HDR, dict(c, jti="j" * 48))
    S("jti-empty", HDR, dict(c, jti=""))
    S("nul-in-iss", HDR, '{"iss":"shop\\u0000x","aud":"shop-api","sub":"3","iat":1,"exp":1790000900,"jti":"j","roles":[]}')
    S("payload-array", HDR, "[1]")
    seed("jwt", "roundtrip-admin", b"R" + struct.pack("<qq", 1, 900) + bytes([4]))
    seed("jwt", "roundtrip-all", b"R" + struct.pack("<qq", 9007199254740991, 1) + bytes([7]))
    seed("jwt", "roundtrip-bad", b"R" + struct.pack("<qq", 0, -5) + bytes([8]))


# ---------------------------------------------------------------- auth

def gen_auth():
    far = FAR
    toks = {
        "admin": token(HDR, claims(1, ["ADMIN", "CUSTOMER"], FUZZ_NOW, far)),
        "seller": token(HDR, claims(2, ["CUSTOMER", "SELLER"], FUZZ_NOW, far)),
        "customer": token(HDR, claims(3, ["CUSTOMER"], FUZZ_NOW, far)),
        "disabled": token(HDR, claims(4, ["CUSTOMER"], FUZZ_NOW, far)),
        "absent": token(HDR, claims(5, ["CUSTOMER"], FUZZ_NOW, far)),
        "demoted": token(HDR, claims(6, ["ADMIN"], FUZZ_NOW, far)),
        "unknown-user": token(HDR, claims(7, ["CUSTOMER"], FUZZ_NOW, far)),
        "expired": token(HDR, claims(3, ["CUSTOMER"], FUZZ_NOW - 900, FUZZ_NOW)),
    }
    for who, t in toks.items():
        seed("auth", "admin-route-" + who, "GET\n/api/v1/admin/users\nBearer " + t)
    seed("auth", "seller-route-customer", "POST\n/api/v1/products\nBearer " + toks["customer"])
    seed("auth", "seller-route-seller", "PUT\n/api/v1/products/5\nbearer   " + toks["seller"])
    seed("auth", "refund-admin", "POST\n/api/v1/payments/5/refund\nBearer " + toks["admin"])
    seed("auth", "user-route-customer", "GET\n/api/v1/orders?status=PAID\nBearer " + toks["customer"])
    seed("auth", "public-anonymous", "GET\n/api/v1/products?q=lamp\n")
    seed("auth", "public-bad-token", "GET\n/api/v1/products/1\nBearer abc.def.ghi")
    seed("auth", "login-stale-token", "POST\n/api/v1/auth/login\nBearer " + toks["expired"])
    seed("auth", "webhook", "POST\n/api/v1/payments/webhook\n")
    seed("auth", "jwks", "HEAD\n/.well-known/jwks.json\n")
    seed("auth", "basic-scheme", "GET\n/api/v1/cart\nBasic YWxhZGRpbjpvcGVuc2VzYW1l")
    seed("auth", "no-header", "GET\n/api/v1/cart")
    seed("auth", "token-junk-char", "GET\n/api/v1/cart\nBearer " + toks["customer"] + "!")
    for name, uri in [
        ("double-slash", "//api/v1/admin/users"),
        ("dot-segment", "/api/v1/products/../admin/users"),
        ("dot-dot-root", "/../api/v1/products"),
        ("encoded-admin", "/api/v1/%61dmin/users"),
        ("encoded-slash", "/api/v1/admin%2Fusers"),
        ("encoded-dots", "/api/v1/products/%2e%2e/admin"),
        ("encoded-nul", "/api/v1/products%00"),
        ("bad-escape", "/api/v1/products%zz"),
        ("short-escape", "/api/v1/products%4"),
        ("webhook-dot", "/api/v1/payments/./webhook"),
        ("auth-prefix-trick", "/api/v1/authx/users"),
        ("docs-dots", "/docs/../api/v1/admin/users"),
        ("relative", "api/v1/products"),
        ("fragment", "/api/v1/admin/users#x"),
        ("query-only", "?a=1"),
    ]:
        seed("auth", "uri-" + name, "POST\n" + uri + "\nBearer " + toks["customer"])


# ---------------------------------------------------------------- request

def params(**kw):
    return "".join("%s=%s\n" % (k, v) for k, v in kw.items())


def gen_request():
    def req(name, method, uri, body=b"", ctype=None, user=None, roles=None, query=None, clen=None, **hdrs):
        if isinstance(body, str):
            body = body.encode()
        p = {"REQUEST_METHOD": method, "DOCUMENT_URI": uri}
        if query is not None:
            p["QUERY_STRING"] = query
        if ctype is not None:
            p["CONTENT_TYPE"] = ctype
        if body or clen is not None:
            p["CONTENT_LENGTH"] = str(len(body) if clen is None else clen)
        if user is not None:
            p["SHOP_USER_ID"] = str(user)
            p["SHOP_USER_ROLES"] = roles or "CUSTOMER"
        for k, v in hdrs.items():
            p["HTTP_" + k.upper()] = v
        seed("request", name, params(**p).encode() + b"\n" + body)

    J = "application/json"
    req("products-list", "GET", "/api/v1/products", query="q=lamp&sort=price&limit=5")
    req("products-cursor", "GET", "/api/v1/products", query="sort=newest&cursor=" + cursor("newest", 5, 5))
    req("products-bad-query", "GET", "/api/v1/products", query="limit=0&limit=2&x")
    req("product-get-head", "HEAD", "/api/v1/products/42")
    req("product-create", "POST", "/api/v1/products", json.dumps({"sku": "MUG-1", "name": "Blue mug", "description": "Stoneware", "price_cents": 1299, "currency": "EUR", "category_id": 1, "initial_stock": 20}), J, 2, "CUSTOMER,SELLER")
    req("product-create-customer", "POST", "/api/v1/products", '{"sku":"A"}', J, 3)
    req("product-update-anonymous", "PUT", "/api/v1/products/1", '{"price_cents":1}', J)
    req("product-delete", "DELETE", "/api/v1/products/9", user=1, roles="ADMIN")
    req("register", "POST", "/api/v1/auth/register", '{"email":"ann@example.com","password":"correct horse battery","name":"Ann"}', "application/json; charset=utf-8")
    req("register-charset-quoted", "POST", "/api/v1/auth/register", '{"email":"x"}', 'Application/JSON ; charset="UTF-8"')
    req("register-text-plain", "POST", "/api/v1/auth/register", '{"email":"x"}', "text/plain")
    req("register-empty-json", "POST", "/api/v1/auth/register", "", J, clen=0)
    req("register-malformed", "POST", "/api/v1/auth/register", '{"email":', J)
    req("login-no-body", "POST", "/api/v1/auth/login")
    req("length-mismatch", "POST", "/api/v1/auth/login", '{"email":"a@b.io","password":"x"}', J, clen=5)
    req("length-huge", "POST", "/api/v1/auth/login", '{}', J, clen=70000)
    req("length-bad", "POST", "/api/v1/auth/login", '{}', J, clen="-1")
    req("body-on-get", "GET", "/api/v1/cart", "{}", J, 3)
    req("cart-add", "POST", "/api/v1/cart/items", '{"product_id":1,"quantity":2}', J, 3)
    req("cart-set", "PUT", "/api/v1/cart/items/7", '{"quantity":0}', J, 3)
    req("order-place", "POST", "/api/v1/orders", '{"items":[{"product_id":1,"quantity":2}]}', J, 3, Idempotency_Key="order-1")
    req("order-place-no-key", "POST", "/api/v1/orders", "{}", J, 3)
    req("order-place-bad-key", "POST", "/api/v1/orders", "{}", J, 3, Idempotency_Key="caf\xc3\xa9")
    req("order-cancel", "POST", "/api/v1/orders/5/cancel", user=3)
    req("orders-list", "GET", "/api/v1/orders", query="status=PAID&limit=10", user=3)
    req("payment", "POST", "/api/v1/payments", '{"order_id":5,"payment_method":"pm_card_ok"}', J, 3, Idempotency_Key="pay-5")
    req("refund", "POST", "/api/v1/payments/5/refund", '{"restock":true}', J, 1, "ADMIN", Idempotency_Key="refund-5")
    ev = json.dumps({"id": "evt_1", "type": "payment.succeeded", "created": FUZZ_NOW, "data": {"payment_id": 5, "provider_ref": "sim_5", "amount_cents": 2598, "currency": "EUR"}}, separators=(",", ":"))
    req("webhook", "POST", "/api/v1/payments/webhook", ev, J, Shop_Signature=sig_header(FUZZ_NOW, ev.encode()))
    req("webhook-bad-sig", "POST", "/api/v1/payments/webhook", ev, J, Shop_Signature="t=1,v1=00")
    req("webhook-no-ctype", "POST", "/api/v1/payments/webhook", ev)
    req("ship", "POST", "/api/v1/admin/shipments/1001/ship", '{"carrier":"DHL","tracking_number":"JD0002"}', J, 1, "ADMIN")
    req("roles", "PUT", "/api/v1/admin/users/9/roles", '{"roles":["SELLER"]}', J, 1, "ADMIN,CUSTOMER")
    req("admin-users-query", "GET", "/api/v1/admin/users", query="email=ann%40example.com&cursor=" + cursor("id", 3, 3), user=1, roles="ADMIN")
    req("notifications", "GET", "/api/v1/notifications", query="limit=2", user=3)
    req("method-not-allowed", "PATCH", "/api/v1/products/1")
    req("not-found", "GET", "/api/v1/nothing")
    req("ping", "GET", "/_ping")
    req("bad-user-params", "GET", "/api/v1/cart", user="abc", roles="ROOT,,")
    seed("request", "request-id-too-long", params(REQUEST_METHOD="GET", DOCUMENT_URI="/api/v1/products", REQUEST_ID="x" * 70).encode())
    seed("request", "request-uri-only", params(REQUEST_METHOD="GET", REQUEST_URI="/api/v1/products/3?x=1", REQUEST_ID="abc-1.2_3").encode())
    seed("request", "nothing", b"\n\n")


# ---------------------------------------------------------------- search

def gen_search():
    for name, text in [
        ("words", "oak desk lamp"),
        ("stopwords", "the a an of lamp"),
        ("operators", '+evil -operator <x> (y) ~z "phrase" w* @2'),
        ("short-long", "ab " + "x" * 84 + " " + "y" * 85),
        ("utf8", "Küche Möbel Straße 東京タワー"),
        ("punctuation", "chair—table…lamp «sofa» ＡＢＣ！"),
        ("emoji", "lamp💡 bulb"),
        ("ordinals", "ºªµ× ÷"),
        ("empty", ""),
    ]:
        seed("search", name, text)
    seed("search", "bad-bytes", b"lamp\xff\xfe\xc3 desk\xe2\x80 \xf4\x90\x80\x80ok")
    seed("search", "nul", b"lamp\0desk")


# ---------------------------------------------------------------- dictionaries

def dicts():
    names = set()
    for app in APPS:
        with open(os.path.join(TOP, "fcgi-apps", app, "routes.c")) as f:
            names.update(re.findall(r'(?:\.name = |\{ )"(\w+)"', f.read()))
    d = {}
    d["json"] = sorted('"%s"' % n for n in names) + ['{', '}', '[', ']', ':', ',', 'null', 'true', 'false', '"\\u0000"', '"\\ud800"', '1e308', '-0', '9223372036854775808', '"EUR"', '"DE"', '"ADMIN"', '"SELLER"', '"CUSTOMER"']
    d["query"] = sorted("%s=" % n for n in names) + ["&", "%", "%00", "%C3%A9", "+", "=", "price", "-price", "newest", "PAID"]
    paths = sorted({r[1] for r in ROUTES})
    d["router"] = ["GET", "POST", "PUT", "DELETE", "HEAD", "/", "/api/v1/", "9007199254740991"] + paths
    d["request"] = ["REQUEST_METHOD=", "DOCUMENT_URI=", "REQUEST_URI=", "QUERY_STRING=", "CONTENT_TYPE=", "CONTENT_LENGTH=", "SHOP_USER_ID=", "SHOP_USER_ROLES=", "REQUEST_ID=", "HTTP_IDEMPOTENCY_KEY=", "HTTP_SHOP_SIGNATURE=", "application/json", "; charset=utf-8", "ADMIN", "SELLER", "CUSTOMER"] + paths + sorted('"%s"' % n for n in names)
    d["auth"] = ["Bearer ", "GET", "POST", "HEAD", "%2e", "%2f", "%2F", "%00", "/./", "/../", "//", "/api/v1/admin", "/api/v1/auth", "/api/v1/payments/webhook", "/docs", "/healthz", "/.well-known/jwks.json", "?", "#"] + paths
    d["jwt"] = ["S", "R", ".", '"alg"', '"ES256"', '"kid"', '"fuzz1"', '"fuzz2"', '"typ"', '"crit"', '"iss"', '"shop"', '"aud"', '"shop-api"', '"sub"', '"iat"', '"exp"', '"nbf"', '"jti"', '"roles"', "eyJ", "eyJhbGciOiJFUzI1NiIs"]
    d["webhook_sig"] = ["t=", ",v1=", ",v2=", "1790000000", "0" * 64, '"payment.succeeded"']
    d["cursor"] = ["v1|", "|", "id", "newest", "price", "-price", b64url(b"v1|id|"), b64url(b"v1|price|"), b64url(b"v1|newest|")]
    d["search"] = ["+", "-", "*", '"', "(", ")", "~", "@", "<", ">", "the", "\u00e9", "\u2014", "\U0001F4A1"]
    return d


def dict_entry(word):
    """A libFuzzer dictionary line: printable ASCII as is, '"' and '\\'
    escaped, every other byte as \\xHH."""
    out = []
    for b in word.encode():
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif 0x20 <= b < 0x7f:
            out.append(c)
        else:
            out.append("\\x%02X" % b)
    return '"' + "".join(out) + '"'


def write():
    corpus = os.path.join(HERE, "corpus")
    if os.path.isdir(corpus):
        shutil.rmtree(corpus)
    for target, files in corpora.items():
        os.makedirs(os.path.join(corpus, target))
        for name, data in files.items():
            with open(os.path.join(corpus, target, name), "wb") as f:
                f.write(data)
    ddir = os.path.join(HERE, "dict")
    os.makedirs(ddir, exist_ok=True)
    for target, words in dicts().items():
        with open(os.path.join(ddir, target + ".dict"), "w", encoding="utf-8") as f:
            for w in words:
                f.write(dict_entry(w) + "\n")
    for target in sorted(corpora):
        print("%-12s %3d seeds" % (target, len(corpora[target])))


if __name__ == "__main__":
    gen_router()
    gen_cursor()
    gen_query()
    gen_json()
    gen_webhook_sig()
    gen_jwt()
    gen_auth()
    gen_request()
    gen_search()
    write()
