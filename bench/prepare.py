#!/usr/bin/env python3
"""Prepares the checkout benchmark's data through the API of a running stack
(bench/checkout.sh calls it; everything goes through HTTP, as a client would).

    prepare.py OUTDIR [--products 200] [--buyers 1000] [--flash-stock 100] [--flash-products 2]

Reads SHOP_BASE_URL and SHOP_DEMO_LOGINS (the harness's stack.env). Writes
into OUTDIR, one value per line:
    customer.token   the demo customer's access token
    seller.token     the demo seller's access token
    products.txt     ids of the products created for the order load (the
                     demo seller's, stock 10^9 each, EUR)
    flash.products   ids of the flash-sale products, one per flash sale
                     (stock --flash-stock each)
    buyers.tokens    one access token per freshly registered buyer
Exits non-zero, saying why, when any step fails."""

import argparse
import http.client
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse

API = "/api/v1"


class Client:
    """One kept-alive HTTP connection (one per thread)."""

    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port or 80
        self.conn = None

    def call(self, method, path, body=None, token=None, headers=None):
        h = {}
        if body is not None:
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if token:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        return self.call_raw(method, path, body, h)

    def call_raw(self, method, path, body, headers):
        """body: bytes or None, sent as they are with headers. Returns
        (status, parsed JSON or None)."""
        h = {"Accept": "application/json"}
        h.update(headers)
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
        return r.status, data


def die(msg):
    print("prepare: " + msg, file=sys.stderr)
    sys.exit(1)


def login(c, email, password):
    st, d = c.call("POST", API + "/auth/login", {"email": email, "password": password})
    if st != 200:
        raise RuntimeError("login %s: %s %s" % (email, st, d))
    return d["data"]["access_token"]


def leaf_category(c):
    st, d = c.call("GET", API + "/categories")
    if st != 200:
        die("GET /categories: %s %s" % (st, d))
    cats = d["data"]["items"]
    parents = {x.get("parent_id") for x in cats}
    leaves = [x for x in cats if x["id"] not in parents]
    return (leaves or cats)[0]["id"]


def new_product(c, token, cat, tag, stock, price):
    body = {"sku": "BENCH-" + tag, "name": "Bench product " + tag,
            "description": "created by bench/prepare.py", "price_cents": price,
            "currency": "EUR", "category_id": cat, "initial_stock": stock}
    st, d = c.call("POST", API + "/products", body, token=token)
    if st != 201:
        raise RuntimeError("POST /products: %s %s" % (st, d))
    p = d["data"].get("product", d["data"])
    return p["id"]


def parallel(n, workers, fn, base):
    """Runs fn(client, i) for i in range(n) on `workers` threads; returns the
    results in order. Any exception stops everything."""
    out = [None] * n
    errors = []
    nxt = [0]
    lock = threading.Lock()

    def run():
        c = Client(base)
        while not errors:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= n:
                return
            try:
                out[i] = fn(c, i)
            except Exception as e:  # reported below
                errors.append(e)
                return

    ts = [threading.Thread(target=run) for _ in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        die(str(errors[0]))
    return out


def pct(values, p):
    """The p-th percentile of values (nearest rank), 0.0 when there are none."""
    if not values:
        return 0.0
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def write_lines(path, values):
    with open(path, "w") as f:
        for v in values:
            f.write("%s\n" % v)
    os.chmod(path, 0o600)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--products", type=int, default=200)
    ap.add_argument("--buyers", type=int, default=1000)
    ap.add_argument("--flash-stock", type=int, default=100)
    ap.add_argument("--flash-products", type=int, default=2)
    ap.add_argument("--workers", type=int, default=8)
    a = ap.parse_args()

    base = os.environ.get("SHOP_BASE_URL") or die("SHOP_BASE_URL is not set")
    with open(os.environ.get("SHOP_DEMO_LOGINS") or die("SHOP_DEMO_LOGINS is not set")) as f:
        demo = json.load(f)
    run = "%x%s" % (int(time.time()), secrets.token_hex(2))
    c = Client(base)
    t0 = time.monotonic()

    seller = login(c, demo["seller"]["email"], demo["seller"]["password"])
    customer = login(c, demo["customer"]["email"], demo["customer"]["password"])
    cat = leaf_category(c)
    write_lines(os.path.join(a.outdir, "seller.token"), [seller])
    write_lines(os.path.join(a.outdir, "customer.token"), [customer])

    ids = parallel(a.products, a.workers,
                   lambda cl, i: new_product(cl, seller, cat, "%s-%d" % (run, i), 10 ** 9,
                                             500 + i), base)
    write_lines(os.path.join(a.outdir, "products.txt"), ids)
    flash = [new_product(c, seller, cat, "%s-flash%d" % (run, i), a.flash_stock, 999)
             for i in range(a.flash_products)]
    write_lines(os.path.join(a.outdir, "flash.products"), flash)
    t1 = time.monotonic()

    def buyer(cl, i):
        em = "bench.%s.%d@example.com" % (run, i)
        pw = "bench-" + secrets.token_hex(8)
        st, d = cl.call("POST", API + "/auth/register", {"email": em, "password": pw,
                                                          "name": "Bench buyer %d" % i})
        if st != 201:
            raise RuntimeError("register %s: %s %s" % (em, st, d))
        return login(cl, em, pw)

    tokens = parallel(a.buyers, a.workers, buyer, base)
    write_lines(os.path.join(a.outdir, "buyers.tokens"), tokens)
    t2 = time.monotonic()
    print("prepare: %d products + flash products %s (stock %d each) in %.1f s; "
          "%d buyers registered and logged in in %.1f s"
          % (a.products, ",".join(map(str, flash)), a.flash_stock, t1 - t0, a.buyers, t2 - t1))


if __name__ == "__main__":
    main()
