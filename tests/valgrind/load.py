#!/usr/bin/env python3
"""The load of tests/valgrind/run.sh: N rounds against a running stack, each
sending five requests to the orders pool and one event to the inventory
worker, then waiting until the worker has handled every event.

One round, as the demo customer, for one demo product:
  POST /orders {"items":[{product_id, quantity 1}]}  (new Idempotency-Key) -> 201
  GET  /orders/{id}                                                        -> 200
  GET  /orders?limit=5                                                     -> 200
  POST /orders {"items":[...], "price_cents": 1}  (an unknown field)       -> 400
  POST /orders/{id}/cancel                                                 -> 200
and every fifth round the first request again with its key (the stored
answer is replayed) -> 201. Each cancel releases the reservation through
order.cancelled -> inventory.settlement -> the inventory worker; the round
is over for the worker when the product's reserved count is back where it
started (read as the demo seller, who owns it).

    load.py BASE_URL DEMO_LOGINS_JSON N
Prints one line of figures; exits 1 on any unexpected answer (a 5xx above
all) or when the worker has not caught up within the timeout. Standard
library only."""

import http.client
import json
import sys
import time
import urllib.parse

API = "/api/v1"


class Client:
    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port or 80
        self.conn = None

    def call(self, method, path, body=None, token=None, headers=None):
        hdrs = {"Accept": "application/json"}
        if token:
            hdrs["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request(method, API + path, body=data, headers=hdrs)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        return r.status, doc


def main():
    base, logins_file, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(logins_file) as f:
        logins = json.load(f)
    c = Client(base)
    counts = {}
    bad = []

    def expect(what, status, doc, want):
        counts[status] = counts.get(status, 0) + 1
        if status != want:
            bad.append("%s: %d (wanted %d): %s" % (what, status, want, json.dumps(doc)[:300]))
        return doc if isinstance(doc, dict) else {}

    def login(role):
        s, d = c.call("POST", "/auth/login", {"email": logins[role]["email"],
                                              "password": logins[role]["password"]})
        if s != 200:
            sys.exit("login as %s: %d %s" % (role, s, d))
        return d["data"]["access_token"]

    customer, seller = login("customer"), login("seller")
    s, d = c.call("GET", "/products?limit=1&sort=newest")
    if s != 200 or not d["data"]["items"]:
        sys.exit("no product to order: %d %s" % (s, d))
    pid = d["data"]["items"][0]["id"]

    def reserved():
        s, d = c.call("GET", "/inventory/%d" % pid, token=seller)
        if s != 200 or "reserved" not in d["data"]:
            sys.exit("GET /inventory/%d as its seller: %d %s" % (pid, s, d))
        return d["data"]["reserved"]

    before = reserved()
    line = {"items": [{"product_id": pid, "quantity": 1}]}
    tag = "%x" % int(time.time() * 1000)
    t0 = time.monotonic()
    for i in range(n):
        key = {"Idempotency-Key": "vg-%s-%d" % (tag, i)}
        s, d = c.call("POST", "/orders", line, customer, key)
        order = expect("place", s, d, 201).get("data", {}).get("order", {})
        oid = order.get("id")
        if oid is None:
            continue
        s, d = c.call("GET", "/orders/%d" % oid, token=customer)
        expect("get", s, d, 200)
        s, d = c.call("GET", "/orders?limit=5", token=customer)
        expect("list", s, d, 200)
        s, d = c.call("POST", "/orders", dict(line, price_cents=1), customer,
                      {"Idempotency-Key": "vg-%s-%d-bad" % (tag, i)})
        expect("unknown field", s, d, 400)
        if i % 5 == 4:
            s, d = c.call("POST", "/orders", line, customer, key)
            expect("replay", s, d, 201)
        s, d = c.call("POST", "/orders/%d/cancel" % oid, token=customer)
        expect("cancel", s, d, 200)
    t_load = time.monotonic() - t0

    # The worker has caught up when every reservation is released.
    deadline = time.monotonic() + 300
    now = reserved()
    while now != before and time.monotonic() < deadline:
        time.sleep(0.5)
        now = reserved()
    t_all = time.monotonic() - t0
    print("load: %d rounds, %d requests (%s) in %.1f s; inventory worker caught up after %.1f s%s"
          % (n, sum(counts.values()), ", ".join("%d x %d" % (v, k) for k, v in sorted(counts.items())),
             t_load, t_all, "" if now == before else " NOT (reserved %d, was %d)" % (now, before)))
    for b in bad[:10]:
        print("  unexpected: " + b)
    sys.exit(1 if bad or now != before else 0)


if __name__ == "__main__":
    main()
