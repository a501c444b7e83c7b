"""nginx's auth cache (nginx/shop-cache.conf): the auth app's yes for a token
and a route's shape is kept for the rest of the second; refusals never are,
users and route shapes never share an answer, and a token is never let
through after it expired."""

import re
import time

from tap import test
from shopclient import API, claims_for, fx, get, raw_request, sign_es256, token_forger

ME = API + "/users/me"
AUTH_LINE = re.compile(r'^shop_http_requests_total\{app="auth",route="GET /_auth",status="(\d+)"\} (\d+)$')


def auth_answers():
    """The auth pool's answers to auth subrequests so far, by status."""
    r = raw_request("GET", "/metrics")
    if r.status != 200:
        raise AssertionError("GET /metrics: %d" % r.status)
    out = {}
    for line in r.raw.decode("utf-8", "replace").splitlines():
        m = AUTH_LINE.match(line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0) + int(m.group(2))
    return out


def delta(before, after, status):
    return after.get(status, 0) - before.get(status, 0)


def user_id(r):
    return ((r.data or {}).get("user") or {}).get("id")


@test
def auth_cache_keeps_a_yes(t):
    """40 requests with one token in a row: every one answered for its own
    user, and the auth pool asked about once a second, not 40 times."""
    u = fx.customer
    get(ME, token=u.token)
    before, t0 = auth_answers(), time.time()
    for i in range(40):
        r = get(ME, token=u.token)
        if not t.expect(r, 200, what="GET /users/me #%d" % i):
            return
        t.eq(user_id(r), u.id, "the user of answer #%d" % i)
    seconds = int(time.time()) - int(t0) + 1
    asked = delta(before, auth_answers(), "200")
    t.ok(asked <= seconds, "auth pool asked %d times for 40 requests over %d distinct second(s)"
         % (asked, seconds))


@test
def auth_cache_keeps_users_and_shapes_apart(t):
    """Answers kept for one token never serve another, nor another kind of
    route: a customer, a seller and an admin in turn on the same paths."""
    cust, seller, admin = fx.customer, fx.seller, fx.admin
    for i in range(5):
        for u in (cust, seller, admin):
            r = get(ME, token=u.token)
            t.expect(r, 200, what="GET /users/me as %s #%d" % (u.email, i))
            t.eq(user_id(r), u.id, "the user GET /users/me names, #%d" % i)
        t.expect(get(API + "/admin/users", token=admin.token), 200, what="admin GET /admin/users #%d" % i)
        t.expect(get(API + "/admin/users", token=cust.token), 403, "FORBIDDEN",
                 "customer GET /admin/users right after the admin's, #%d" % i)
        t.expect(get(API + "/admin/users", token=seller.token), 403, "FORBIDDEN",
                 "seller GET /admin/users right after the admin's, #%d" % i)


@test
def auth_cache_never_keeps_a_refusal(t):
    """Every refusal is the auth app's own: 10 customer requests on an admin
    route are 10 refusals the auth pool gave."""
    cust = fx.customer
    before = auth_answers()
    for i in range(10):
        t.expect(get(API + "/admin/users", token=cust.token), 403, "FORBIDDEN", "customer GET /admin/users #%d" % i)
    t.eq(delta(before, auth_answers(), "403"), 10, "refusals the auth pool gave for 10 requests")


@test
def auth_cache_never_outlives_a_token(t):
    """A token that expires in 2-3 s: accepted while valid (also many times in
    its last second), refused as expired at once after its exp."""
    u = fx.customer
    key, H = token_forger(t, u)
    # start right after a second begins, so that the timing below is clear
    while time.time() % 1 > 0.2:
        time.sleep(0.05)
    exp = int(time.time()) + 2
    tok = sign_es256(key, H, claims_for(u, exp=exp))
    n = 0
    while time.time() < exp - 0.05:
        r = get(ME, token=tok)
        t.expect(r, 200, what="the token %.2f s before its exp" % (exp - time.time()))
        n += 1
    t.ok(n >= 2, "%d requests while the token was valid" % n)
    while time.time() < exp + 0.02:
        time.sleep(0.01)
    for i in range(5):
        t.expect(get(ME, token=tok), 401, "TOKEN_EXPIRED", "the token after its exp, #%d" % i)
