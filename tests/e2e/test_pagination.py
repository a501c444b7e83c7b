"""Keyset pagination while another thread inserts products."""

import random
import threading

import tap
from tap import test
from shopclient import API, fx, new_product, walk


class Inserter:
    """Creates products in a thread; between two pages the walker waits until
    at least one more product exists, so inserts always interleave with the walk."""

    def __init__(self, t, prices):
        self.t = t
        self.prices = prices
        self.count = 0
        self.ids = []
        self.cv = threading.Condition()
        self.stop = False
        self.th = threading.Thread(target=self.run, daemon=True)

    def run(self):
        tap.adopt(self.t)
        owner = fx.seller2
        try:
            while not self.stop and self.count < 400:
                p = new_product(owner=owner, price_cents=random.choice(self.prices),
                                name="E2E concurrent " + str(self.count), initial_stock=1)
                with self.cv:
                    self.ids.append(p["id"])
                    self.count += 1
                    self.cv.notify_all()
        except Exception as e:    # a failed create is already recorded
            self.t.fail("inserter stopped: %s" % e)
            with self.cv:
                self.stop = True
                self.cv.notify_all()

    def wait_one_more(self):
        with self.cv:
            n = self.count
            self.cv.wait_for(lambda: self.count > n or self.stop, timeout=5)

    def finish(self):
        self.stop = True
        self.th.join(timeout=30)


def concurrent_walk(t, sort, key, desc):
    before, _, prob = walk(API + "/products", {"sort": sort, "limit": 100})
    t.require(prob is None, "walking sort=%s before the inserts: %s" % (sort, prob))
    t.require(len(before) > 20, "too few products to page through: %d" % len(before))
    prices = [x["price_cents"] for x in before]
    # new products take prices from all over the range (and duplicates of existing prices)
    ins = Inserter(t, prices + [min(prices), max(prices), min(prices) + 1])
    fx.seller2  # make the second seller before the thread starts
    ins.th.start()
    try:
        seen, pages, prob = walk(API + "/products", {"sort": sort, "limit": 7},
                                 between=ins.wait_one_more)
    finally:
        ins.finish()
    t.ok(prob is None, "sort=%s walk with limit 7: %s" % (sort, prob))
    ids = [x.get("id") for x in seen]
    dups = sorted({i for i in ids if ids.count(i) > 1})
    t.ok(not dups, "sort=%s: %d ids appear twice across pages: %s" % (sort, len(dups), dups[:10]))
    missing = sorted({x["id"] for x in before} - set(ids))
    t.ok(not missing, "sort=%s: %d products that existed before the walk are missing: %s"
         % (sort, len(missing), missing[:10]))
    vals = [(x.get(key), x.get("id")) for x in seen]
    bad = [i for i in range(1, len(vals))
           if (vals[i][0] > vals[i - 1][0] if desc else vals[i][0] < vals[i - 1][0])]
    t.ok(not bad, "sort=%s: order broken at %s" % (sort, [vals[i - 1:i + 1] for i in bad[:3]]))
    t.ok(ins.count >= min(pages - 1, 5), "only %d inserts during %d pages" % (ins.count, pages))
    t.note("sort=%s: %d pages, %d products before, %d inserted during the walk"
           % (sort, pages, len(before), ins.count))


@test
def newest_under_inserts(t):
    concurrent_walk(t, "newest", "created_at", True)


@test
def price_under_inserts(t):
    concurrent_walk(t, "price", "price_cents", False)


@test
def minus_price_under_inserts(t):
    concurrent_walk(t, "-price", "price_cents", True)
