"""Rate limit of login/register/refresh (runs last: it spends the client's budget).

run.sh starts its stack with SHOP_AUTH_RATE=200 and SHOP_AUTH_BURST=100 (the
test profile's own default is 10000/10000, which no client here can exceed);
the limits in force are read from $SHOP_VAR/shop.env. The flood comes from
another loopback address (127.0.0.x), a client of its own whose budget the
other tests have not touched, so the burst can be checked exactly."""

import json
import os
import random
import threading
import time

import tap
from tap import test
from shopclient import API, HOST, SHOP_VAR, check_response, email, fx, poll, raw_request


def auth_limits():
    vals = {}
    try:
        with open(os.path.join(SHOP_VAR, "shop.env")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                vals[k] = v
    except OSError:
        pass
    for k in ("SHOP_AUTH_RATE", "SHOP_AUTH_BURST"):
        if k not in vals and k in os.environ:
            vals[k] = os.environ[k]
    try:
        return int(vals["SHOP_AUTH_RATE"]), int(vals["SHOP_AUTH_BURST"])
    except (KeyError, ValueError):
        return 10, 30      # API.md "Rate limits"


@test(last=True)
def login_rate_limited(t):
    rate, burst = auth_limits()
    if rate + burst > 2000:
        t.skip("this stack limits logins to %d r/s, burst %d: more than a client here can send "
               "(start it with SHOP_AUTH_RATE/SHOP_AUTH_BURST lower, as run.sh does)" % (rate, burst))
    n_max = max(200, 4 * (rate + burst))
    body = json.dumps({"email": "nobody-" + email("rl"), "password": "0123456789"})
    hdr = {"Content-Type": "application/json"}
    results = []
    lock = threading.Lock()
    stop = threading.Event()
    ctx = tap.current()
    src = "127.0.0.%d" % random.randrange(2, 255) if HOST == "127.0.0.1" else None

    def worker():
        tap.adopt(ctx)
        while not stop.is_set():
            with lock:
                if len(results) >= n_max:
                    return
                results.append(None)
                i = len(results) - 1
            r = raw_request("POST", API + "/auth/login", body, hdr, source=src)
            check_response(r)
            with lock:
                results[i] = r
            if r.status == 429 and i >= burst:
                stop.set()
    t0 = time.monotonic()
    ths = [threading.Thread(target=worker) for _ in range(8)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    secs = time.monotonic() - t0
    done = [r for r in results if r is not None]
    limited = [r for r in done if r.status == 429]
    others = sorted({r.status for r in done if r.status != 429})
    t.note("limit %d r/s, burst %d: %d logins from %s in %.2f s, %d answered 429, others %s"
           % (rate, burst, len(done), src or "127.0.0.1", secs, len(limited), others))
    t.ok(all(s == 401 for s in others), "unexpected statuses besides 429: %s" % others)
    t.require(limited, "no 429 after %d quick logins in %.1f s" % (len(done), secs))
    # the burst is honoured: about burst + rate x time logins got through
    # (nginx's two workers count in milliseconds, so allow 10%)
    accepted = len(done) - len(limited)
    t.ok(accepted >= 0.9 * burst or src is None,
         "only %d logins got through before the limit, with a burst of %d" % (accepted, burst))
    r = limited[0]
    t.expect(r, 429, "RATE_LIMITED", "a rate-limited login")
    ra = r.header("retry-after") or ""
    t.ok(ra.strip().isdigit() and int(ra) >= 1, "Retry-After %r is not a positive number of seconds" % ra)
    # other routes are not limited by the login zone
    for _ in range(20):
        g = raw_request("GET", API + "/products?limit=1", source=src)
        check_response(g)
        if g.status != 200:
            t.fail("GET /products while logins are limited: %r" % g)
            break
    # and the limit lifts again
    wait = min(int(ra) if ra.strip().isdigit() else 2, 10) + 5
    cust = fx.customer
    b = json.dumps({"email": cust.email, "password": cust.password})

    def back():
        r = raw_request("POST", API + "/auth/login", b, hdr, source=src)
        check_response(r)
        return r.status == 200
    t.ok(poll(back, timeout=wait, interval=0.2), "login still refused %d s after the 429" % wait)
