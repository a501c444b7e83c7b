"""Health, JWKS, request ids and the generic HTTP refusals (404, 405, 413, 415)."""

import json
import os
import random

from tap import test
from shopclient import (API, RID_RE, SHOP_VAR, b64u_dec, check_response, email, envelope_problems, fx,
                        get, jwt_parts, poll, raw_request, request, send_raw_http, uniq)


@test
def healthz(t):
    r = get("/healthz")
    t.expect(r, 200)
    t.eq(r.json, {"status": "ok"}, "GET /healthz body")
    t.ok((r.header("content-type") or "").startswith("application/json"),
         "GET /healthz Content-Type %r" % r.header("content-type"))


@test
def jwks_shape(t):
    r = get("/.well-known/jwks.json")
    t.expect(r, 200)
    ct = r.header("content-type") or ""
    t.ok(ct.startswith("application/json") or ct.startswith("application/jwk-set+json"),
         "JWKS Content-Type %r" % ct)
    keys = (r.json or {}).get("keys") if isinstance(r.json, dict) else None
    t.require(isinstance(keys, list) and keys, "JWKS has no keys array: %r" % r)
    kids = []
    for k in keys:
        t.eq(k.get("kty"), "EC", "JWK kty")
        t.eq(k.get("crv"), "P-256", "JWK crv")
        if "alg" in k:
            t.eq(k.get("alg"), "ES256", "JWK alg")
        if "use" in k:
            t.eq(k.get("use"), "sig", "JWK use")
        t.ok(isinstance(k.get("kid"), str) and k["kid"], "JWK kid %r" % k.get("kid"))
        t.ok("d" not in k, "JWK exposes the private part d!")
        for c in ("x", "y"):
            try:
                t.eq(len(b64u_dec(k.get(c, ""))), 32, "JWK %s length in bytes" % c)
            except Exception as e:
                t.fail("JWK %s is not base64url: %r (%s)" % (c, k.get(c), e))
        kids.append(k.get("kid"))
    t.eq(len(set(kids)), len(kids), "JWK kids are unique")
    hdr, _, _ = jwt_parts(fx.customer.token)
    t.isin(hdr.get("kid"), kids, "the access token's kid is in the JWKS")


@test
def unknown_route_404(t):
    for path in (API + "/nope", API + "/products/abc", API + "/products/0",
                 API + "/products/-1", API + "/products/99999999999999999999",
                 API + "/products/1/extra", API + "/users/me/addresses/x"):
        tok = fx.customer.token if path.startswith(API + "/users") else None
        r = get(path, token=tok)
        t.expect(r, 404, what="GET " + path)
    r = get("/nope-" + uniq("p"))
    t.expect(r, 404, what="GET /nope (outside the API)")
    r = get("/api/v2/products")
    t.expect(r, 404, what="GET /api/v2/products")


@test
def wrong_method_405(t):
    cases = [("DELETE", API + "/auth/login", None, "POST"),
             ("GET", API + "/auth/register", None, "POST"),
             ("PUT", API + "/categories", fx.admin.token, "GET"),
             ("PATCH", API + "/products", fx.seller.token, "GET"),
             ("POST", API + "/users/me", fx.customer.token, "GET"),
             ("GET", API + "/inventory/1/adjust", fx.seller.token, "POST")]
    for method, path, tok, allowed in cases:
        r = request(method, path, token=tok)
        if t.expect(r, 405, what="%s %s" % (method, path)):
            allow = r.header("allow") or ""
            t.ok(allowed in allow, "%s %s: Allow %r lacks %s" % (method, path, allow, allowed))


def _register_body(size):
    """A syntactically valid JSON register body of exactly size bytes."""
    base = {"email": email("big"), "password": "0123456789abc", "name": ""}
    n0 = len(json.dumps(base).encode())
    base["name"] = "x" * (size - n0)
    b = json.dumps(base).encode()
    assert len(b) == size, (len(b), size)
    return b


@test
def body_too_large_413(t):
    hdr = {"Content-Type": "application/json"}
    r = raw_request("POST", API + "/auth/register", _register_body(65537), hdr)
    check_response(r, check_envelope=True)
    t.expect(r, 413, what="POST /auth/register with 65537 bytes")
    r = raw_request("POST", API + "/products", b"{" + b" " * 200000 + b"}",
                    dict(hdr, Authorization="Bearer " + fx.seller.token))
    check_response(r, check_envelope=True)
    t.expect(r, 413, what="POST /products with 200 KB")
    # exactly 64 KiB is allowed through (refused by validation, not by size)
    r = raw_request("POST", API + "/auth/register", _register_body(65536), hdr)
    check_response(r)
    t.ok(r.status != 413 and r.status < 500,
         "POST /auth/register with exactly 65536 bytes: HTTP %d, want a 400 (name too long), not 413"
         % r.status)
    # chunked body without Content-Length
    body = b"{" + b" " * 70000 + b"}"
    chunk = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    head = (b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    raw = head % (API + "/auth/login").encode() + chunk
    ans = send_raw_http(raw)
    line = ans.split(b"\r\n", 1)[0]
    t.ok(b" 413 " in line, "chunked 70 KB POST /auth/login: status line %r, want 413" % line)


@test
def content_type_415(t):
    c = fx.customer
    body = json.dumps({"email": c.email, "password": c.password})
    for ct in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx",
               "multipart/form-data; boundary=x", None):
        r = request("POST", API + "/auth/login", body, ctype=ct)
        t.expect(r, 415, code="UNSUPPORTED_MEDIA_TYPE", what="POST /auth/login Content-Type %r" % ct)
    r = request("POST", API + "/auth/login", body, ctype="application/json; charset=utf-8")
    t.expect(r, 200, what="POST /auth/login Content-Type application/json; charset=utf-8")
    r = request("POST", API + "/auth/login", body, ctype="Application/JSON")
    t.expect(r, 200, what="POST /auth/login Content-Type Application/JSON")
    r = request("PUT", API + "/users/me", "name=x", ctype="application/x-www-form-urlencoded",
                token=c.token)
    t.expect(r, 415, what="PUT /users/me form-encoded")
    r = request("POST", API + "/products", "<xml/>", ctype="application/xml", token=fx.seller.token)
    t.expect(r, 415, what="POST /products application/xml")


@test
def request_id(t):
    c = fx.customer
    targets = [("GET", API + "/products?limit=1", None, None),
               ("GET", API + "/users/me", c.token, None),
               ("GET", API + "/users/me", None, None),            # 401 from the auth step
               ("GET", API + "/nope", None, None),                 # 404
               ("DELETE", API + "/auth/login", None, None),        # 405
               ("POST", API + "/auth/login", "{", "application/json"),  # 400
               ("GET", "/healthz", None, None),
               ("GET", "/.well-known/jwks.json", None, None)]
    good = ["e2e-" + uniq("rid"), "A.b_c-9", "x" * 64]
    bad = ["has space", "x" * 65, "a/b", "semi;colon", "\u00e9t\u00e9", "<script>", "a,b"]
    for method, path, tok, body in targets:
        for rid in good:
            h = {"X-Request-Id": rid}
            if tok:
                h["Authorization"] = "Bearer " + tok
            if body is not None:
                h["Content-Type"] = "application/json"
            r = raw_request(method, path, body, h)
            check_response(r)
            t.eq(r.header("x-request-id"), rid, "%s %s echoes a well-formed X-Request-Id" % (method, path))
        for rid in bad:
            h = {"X-Request-Id": rid.encode("utf-8").decode("latin-1")}
            r = raw_request(method, path, None, h)
            check_response(r)
            got = r.header("x-request-id") or ""
            t.ok(got != rid and RID_RE.match(got),
                 "%s %s: malformed X-Request-Id %r answered with %r, want a generated one"
                 % (method, path, rid, got))
    # without a client id, each response gets its own
    a = get(API + "/products?limit=1").header("x-request-id")
    b = get(API + "/products?limit=1").header("x-request-id")
    t.ok(a and b and a != b, "generated request ids differ: %r %r" % (a, b))
    # the rate-limit and 413 answers of nginx carry one too (checked where they occur)


@test
def envelope_on_success(t):
    r = get(API + "/products?limit=1")
    t.expect(r, 200)
    t.eq((r.json or {}).get("status"), "SUCCESS", "status of a success")
    t.ok(not envelope_problems(r), "envelope of GET /products: %s" % envelope_problems(r))


@test
def request_id_in_logs(t):
    """The client's request id reaches the access log and the app's log line."""
    logdir = os.environ.get("SHOP_LOG_DIR") or os.path.join(SHOP_VAR, "log")
    if not os.path.isdir(logdir):
        t.skip("no log directory %s here" % logdir)
    # (an anonymous catalog read with a query of its own: a cached answer
    # would reach no app, nginx/shop-cache.conf)
    cases = [("GET", API + "/products?limit=1&min_price=%d" % random.randrange(1, 10 ** 9), None,
              "catalog.log"),
             ("GET", API + "/users/me", fx.customer.token, "identity.log")]
    for method, path, tok, applog in cases:
        rid = "e2e-log-" + uniq("rid")
        h = {"X-Request-Id": rid}
        if tok:
            h["Authorization"] = "Bearer " + tok
        r = raw_request(method, path, None, h)
        check_response(r)
        t.eq(r.header("x-request-id"), rid, "echoed id")
        for name in ("nginx-access.log", applog):
            f = os.path.join(logdir, name)

            def logged(f=f):
                try:
                    with open(f, "rb") as fh:
                        fh.seek(max(0, os.path.getsize(f) - 4 * 1024 * 1024))
                        return rid.encode() in fh.read()
                except OSError:
                    return False
            t.ok(poll(logged, timeout=3), "request id %s of %s %s not in %s" % (rid, method, path, name))
