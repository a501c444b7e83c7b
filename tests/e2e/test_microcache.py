"""nginx's microcache of the catalog's public reads (nginx/shop-cache.conf,
nginx/locations/catalog.conf): anonymous GET and HEAD of products and
categories are cached (from a key's second request in a second on) for the
rest of the current second; a write shows
within 1 s (API.md); a request with a token, any other method and any error
answer never meet the cache; every answer has its own X-Request-Id."""

import os
import time

from tap import test
from shopclient import (API, RID_RE, SHOP_VAR, delete, fx, new_product, put, raw_request, request,
                        uniq)


def cache_on():
    """Whether the stack runs with the microcache, from its rendered nginx
    configuration (SHOP_MICROCACHE): True, False, or None when this stack's
    files are not here."""
    try:
        with open(os.path.join(SHOP_VAR, "nginx", "shop-cache.conf")) as f:
            text = f.read()
    except OSError:
        return None
    return "default shop_microcache;" in text


def need_cache(t):
    on = cache_on()
    if on is None:
        t.skip("the stack's nginx configuration is not in %s" % SHOP_VAR)
    if not on:
        t.skip("this stack runs without the microcache (SHOP_MICROCACHE=0)")


def anon(path, method="GET", rid=None):
    h = {"X-Request-Id": rid} if rid else {}
    return request(method, path, headers=h, check_envelope=method != "HEAD")


def status_of(r):
    return r.header("x-cache-status")


def hit_pair(t, path, method="GET"):
    """Anonymous requests of path in a row until one is a HIT (a key is
    stored from its second request within a second on, and a second may end
    in between): at most 5 rounds of three. Returns (the first answer of
    that round, the HIT)."""
    for _ in range(5):
        a = anon(path, method)
        seen = [status_of(a)]
        for _ in range(2):
            b = anon(path, method)
            seen.append(status_of(b))
            if seen[-1] == "HIT":
                return a, b
    t.fail("%s %s: no HIT in 5 rounds of 3 requests (last X-Cache-Status %r)"
           % (method, path, seen))
    return a, b


def price_of(r):
    try:
        return r.data["product"]["price_cents"]
    except (TypeError, KeyError):
        return None


@test
def anonymous_reads_are_cached(t):
    """A second anonymous GET (and HEAD) of a product, a list and the
    categories within the same second is a HIT with the same body; each
    answer has its own request id, a client's own one echoed on a HIT too."""
    need_cache(t)
    p = new_product()
    for path in (API + "/products/%d" % p["id"], API + "/products?limit=3&sort=price",
                 API + "/categories"):
        a, b = hit_pair(t, path)
        t.eq(a.status, 200, "GET %s" % path)
        t.eq(b.status, 200, "GET %s (HIT)" % path)
        t.eq(b.raw, a.raw, "GET %s: the HIT's body is the answer cached" % path)
        ra, rb = a.header("x-request-id"), b.header("x-request-id")
        t.ok(ra and rb and RID_RE.match(ra) and RID_RE.match(rb),
             "GET %s: request ids %r, %r" % (path, ra, rb))
        t.ok(ra != rb, "GET %s: the HIT repeats the MISS's request id %r" % (path, ra))
    # several hits: all different ids; the client's own id comes back
    path = API + "/products/%d" % p["id"]
    hit_pair(t, path)
    ids = set()
    for i in range(5):
        mine = "e2e-mc-" + uniq("rid")
        r = anon(path, rid=mine)
        t.eq(r.header("x-request-id"), mine, "a client's X-Request-Id on a cached answer")
        r = anon(path)
        if status_of(r) == "HIT":
            ids.add(r.header("x-request-id"))
    t.ok(len(ids) >= 2, "generated request ids on HITs are not unique: %r" % ids)
    # HEAD: headers of the cached answer, no body
    a, b = hit_pair(t, path, "HEAD")
    t.eq(b.status, 200, "HEAD (HIT)")
    t.eq(b.raw, b"", "HEAD answers without a body")


@test
def change_visible_within_one_second(t):
    """After a seller's PUT (and then DELETE, which archives) is answered,
    every anonymous GET sent more than 1 s later shows the change."""
    need_cache(t)
    p = new_product(price_cents=1111)
    path = API + "/products/%d" % p["id"]
    a, b = hit_pair(t, path)
    t.eq(price_of(b), 1111, "cached price")

    def watch(done, what):
        """Polls until 2 s after `done`; returns the latest send time (relative
        to done) of an answer that did not show the change yet."""
        last_stale = None
        while True:
            sent = time.monotonic()
            if sent - done > 2.0:
                return last_stale
            r = anon(path)
            if not what(r):
                last_stale = sent - done
            time.sleep(0.02)

    r = put(path, {"price_cents": 2222}, token=fx.seller.token)
    done = time.monotonic()
    t.require(t.expect(r, 200, what="PUT price"), "the seller could not change the price")
    stale = watch(done, lambda r: r.status == 200 and price_of(r) == 2222)
    t.ok(stale is None or stale <= 1.0,
         "an anonymous GET sent %.3f s after the price change still showed the old price"
         % (stale or 0))
    hit_pair(t, path)
    r = delete(path, token=fx.seller.token)
    done = time.monotonic()
    t.require(t.expect(r, 200, what="DELETE (archive)"), "the seller could not archive it")
    stale = watch(done, lambda r: r.status == 404)
    t.ok(stale is None or stale <= 1.0,
         "an anonymous GET sent %.3f s after archiving still found the product" % (stale or 0))


@test
def token_never_meets_the_cache(t):
    """With an Authorization header a read neither comes from nor fills the
    cache: a garbage token is refused even while the anonymous answer is
    cached, a valid token sees a change at once."""
    need_cache(t)
    p = new_product(price_cents=3333)
    path = API + "/products/%d" % p["id"]
    hit_pair(t, path)
    r = raw_request("GET", path, headers={"Authorization": "Bearer " + "x" * 40})
    t.eq(r.status, 401, "a garbage token on a cached product")
    t.eq(status_of(r), None, "X-Cache-Status with a garbage token")
    r = put(path, {"price_cents": 4444}, token=fx.seller.token)
    t.require(t.expect(r, 200, what="PUT price"), "the seller could not change the price")
    for _ in range(3):
        r = request("GET", path, token=fx.customer.token)
        t.eq(r.status, 200, "GET with a token")
        t.eq(price_of(r), 4444, "GET with a token right after the change")
        t.eq(status_of(r), None, "X-Cache-Status of a GET with a token")


@test
def other_methods_and_errors_never_cached(t):
    """POST is never answered from the cache (not even on a URI whose GET is
    cached), and error answers are never stored."""
    need_cache(t)
    path = API + "/products?limit=2"
    hit_pair(t, path)
    r = raw_request("POST", path, body={"sku": uniq("SKU")},
                    headers={"Content-Type": "application/json"})
    t.eq(r.status, 401, "anonymous POST /products while GET /products is cached")
    t.eq(status_of(r), None, "X-Cache-Status of a POST")
    cat = fx.leaf_category()
    ids = set()
    for i in range(2):
        body = {"sku": uniq("SKU"), "name": "Microcache " + uniq("n"), "description": "x",
                "price_cents": 100 + i, "currency": "EUR", "category_id": cat}
        r = request("POST", API + "/products", body, token=fx.seller.token)
        t.eq(r.status, 201, "POST /products %d" % i)
        try:
            ids.add(r.data["product"]["id"])
        except (TypeError, KeyError):
            t.fail("POST /products answered %r" % r)
    t.eq(len(ids), 2, "two POSTs made two products")
    for path, status in ((API + "/products/999999999", 404), (API + "/products?limit=0", 400),
                         (API + "/categories/0", None)):
        seen = []
        for _ in range(3):
            r = anon(path)
            seen.append((r.status, status_of(r)))
            if status is not None:
                t.eq(r.status, status, "GET %s" % path)
        t.ok(all(s != "HIT" for _, s in seen), "an error answer came from the cache: %s %r"
             % (path, seen))
