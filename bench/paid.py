#!/usr/bin/env python3
"""Webhook -> PAID latency: how long after POST /payments an order reads PAID.

    paid.py WORKDIR [--orders 200] [--concurrency 8] [--poll-ms 10] [--timeout 10]

Reads SHOP_BASE_URL; WORKDIR holds customer.token and products.txt
(bench/prepare.py). First places --orders orders as the demo customer (one
line each, untimed), then, with --concurrency clients, for each order: POST
/payments {order_id, payment_method: "pm_card_ok"} (own Idempotency-Key; 202
expected), then GET /orders/{id} every --poll-ms until it reads PAID. The
time measured per order runs from just before the POST to the answer of the
GET that first shows PAID, on the client (time.monotonic): it includes the
outbox relay's poll (payment.requested), the simulator, the signed webhook,
the relay again (payment.succeeded) and the order worker, and overstates by
at most one poll interval plus one GET. Prints one line:
    BENCH requests=N seconds=S rps=R p50_ms=X p99_ms=Y max_ms=Z paid=N
    post_non202=N timeouts=N post_p50_ms=X post_p99_ms=Y polls=N"""

import argparse
import os
import secrets
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prepare import API, Client, die, parallel, pct  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workdir")
    ap.add_argument("--orders", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--poll-ms", type=float, default=10)
    ap.add_argument("--timeout", type=float, default=10)
    a = ap.parse_args()

    base = os.environ.get("SHOP_BASE_URL") or die("SHOP_BASE_URL is not set")
    with open(os.path.join(a.workdir, "customer.token")) as f:
        token = f.read().strip()
    with open(os.path.join(a.workdir, "products.txt")) as f:
        products = [int(x) for x in f.read().split()]
    run = "paid-%x%s" % (int(time.time()), secrets.token_hex(2))

    def place(c, i):
        st, d = c.call("POST", API + "/orders",
                       {"items": [{"product_id": products[i % len(products)], "quantity": 1}]},
                       token=token, headers={"Idempotency-Key": "%s-o%d" % (run, i)})
        if st != 201:
            raise RuntimeError("POST /orders: %s %s" % (st, d))
        return d["data"]["order"]["id"]

    orders = parallel(a.orders, a.concurrency, place, base)

    lock = threading.Lock()
    lat, post_lat = [], []
    counts = {"paid": 0, "non202": 0, "timeouts": 0, "polls": 0}

    def pay(c, i):
        oid = orders[i]
        t0 = time.monotonic()
        st, d = c.call("POST", API + "/payments", {"order_id": oid, "payment_method": "pm_card_ok"},
                       token=token, headers={"Idempotency-Key": "%s-p%d" % (run, i)})
        t1 = time.monotonic()
        if st != 202:
            with lock:
                counts["non202"] += 1
            return None
        polls = 0
        deadline = t0 + a.timeout
        while True:
            st, d = c.call("GET", API + "/orders/%d" % oid, token=token)
            polls += 1
            now = time.monotonic()
            if st == 200 and d["data"]["order"]["status"] == "PAID":
                with lock:
                    lat.append((now - t0) * 1000)
                    post_lat.append((t1 - t0) * 1000)
                    counts["paid"] += 1
                    counts["polls"] += polls
                return None
            if now >= deadline:
                with lock:
                    counts["timeouts"] += 1
                return None
            time.sleep(a.poll_ms / 1000.0)

    t0 = time.monotonic()
    parallel(len(orders), a.concurrency, pay, base)
    secs = time.monotonic() - t0
    print("BENCH requests=%d seconds=%.2f rps=%.1f p50_ms=%.1f p99_ms=%.1f max_ms=%.1f paid=%d "
          "post_non202=%d timeouts=%d post_p50_ms=%.1f post_p99_ms=%.1f polls=%d"
          % (len(orders), secs, len(orders) / secs, pct(lat, 50), pct(lat, 99),
             max(lat) if lat else 0.0, counts["paid"], counts["non202"], counts["timeouts"],
             pct(post_lat, 50), pct(post_lat, 99), counts["polls"]))


if __name__ == "__main__":
    main()
