#!/usr/bin/env python3
"""How long a product change takes to show in anonymous reads through the
microcache, measured while the catalog is under load (bench/run.sh runs it
beside the microcache's wrk run).

    visible.py WORKDIR PRODUCT_ID [--changes 5] [--poll-ms 20] [--limit 3]

Reads SHOP_BASE_URL; WORKDIR holds seller.token (bench/prepare.py; the demo
seller owns the demo products). For each change: an anonymous GET of the
product (so that its answer is cached), then PUT /products/{id} with a new
price as the seller, then anonymous GETs every --poll-ms until --limit
seconds after the PUT was answered. A change counts from the PUT's answer;
"stale" is the latest send time of a GET that still showed the old price,
"visible" the answer of the first GET that showed the new one. Prints:
    BENCH changes=N visible_max_ms=X stale_max_ms=Y gets=N never=N
(never: changes that did not show within --limit seconds)."""

import argparse
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prepare import API, Client, die  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workdir")
    ap.add_argument("product", type=int)
    ap.add_argument("--changes", type=int, default=5)
    ap.add_argument("--poll-ms", type=float, default=20)
    ap.add_argument("--limit", type=float, default=3)
    a = ap.parse_args()

    base = os.environ.get("SHOP_BASE_URL") or die("SHOP_BASE_URL is not set")
    with open(os.path.join(a.workdir, "seller.token")) as f:
        seller = f.read().strip()
    path = API + "/products/%d" % a.product
    anon, writer = Client(base), Client(base)

    def price():
        st, d = anon.call("GET", path)
        if st != 200:
            die("GET %s: %s %s" % (path, st, d))
        return d["data"]["product"]["price_cents"]

    visible, stale, gets, never = [], [], 0, 0
    for i in range(a.changes):
        old = price()
        new = old + 1 if old < 10 ** 9 else 1
        st, d = writer.call("PUT", path, {"price_cents": new}, token=seller)
        if st != 200:
            die("PUT %s: %s %s" % (path, st, d))
        done = time.monotonic()
        last_stale, first_new = None, None
        while True:
            t = time.monotonic()
            if t - done > a.limit:
                break
            p = price()
            gets += 1
            if p == new:
                if first_new is None:
                    first_new = time.monotonic() - done
            else:
                last_stale = t - done
            if first_new is not None and t - done > 1.2:
                break
            time.sleep(a.poll_ms / 1000.0)
        if first_new is None:
            never += 1
        else:
            visible.append(first_new * 1000)
        stale.append((last_stale or 0.0) * 1000)
    print("BENCH changes=%d visible_max_ms=%.0f stale_max_ms=%.0f gets=%d never=%d"
          % (a.changes, max(visible) if visible else 0.0, max(stale) if stale else 0.0, gets, never))


if __name__ == "__main__":
    main()
