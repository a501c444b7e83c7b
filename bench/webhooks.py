#!/usr/bin/env python3
"""The background path: from the payment provider's webhook to the order
PAID, its stock settled and the customer's mail sent (bench/run.sh).

    webhooks.py WORKDIR [--rate 500] [--count 2500] [--senders 16] [--timeout 30]
                [--probe bench/probe.py --stack STACKDIR]

Reads SHOP_BASE_URL, SHOP_DB_DEFAULTS_FILE (root over the socket) and
SHOP_WEBHOOK_SECRET_FILE (the harness's stack.env); WORKDIR holds
customer.token and products.txt (bench/prepare.py).

1. Untimed: places --count orders as the demo customer (one line each) and
   pays each with pm_card_slow, whose outcome the stack's provider simulator
   holds back for [payment-sim] slow_ms (bench/run.sh starts the stack with
   the longest, 10 min), so that the only webhooks are this script's. Then
   waits until the mails of those orders (ORDER_PLACED) have all been sent,
   so that the mail queue is empty when the clock starts.
2. Timed: sends every payment's signed payment.succeeded webhook, exactly as
   the provider would, at --rate per second on a fixed schedule (open loop:
   a late answer does not delay the next send), from --senders connections.
3. Then reads, as the database root, when each order became PAID
   (orders.updated_at), when the inventory worker settled it (its inbox
   row for the order.paid event) and when its PAYMENT_SUCCEEDED mail went
   out (notifications.sent_at, the SMTP server's answer): all DATETIME(3) in
   UTC on the same machine's clock as the send times.

Prints, per step of the path, the time it took (STEP lines: from the
webhook's send to its answer's commit, the relay publishing the event, the
order worker making the order PAID, ... to the SMTP server's acceptance),
then one line:
    BENCH requests=N seconds=S rps=R p50_ms=X p99_ms=Y max_ms=Z done=N
    non200=N paid_p50_ms paid_p99_ms settled_p50_ms settled_p99_ms
    emailed_p50_ms emailed_p99_ms late_ms=L drain_s=D
where the latencies run from the webhook's send to the last of the three
(p50/p99/max) or to each one; done counts the orders that reached all three
within --timeout; late_ms is the worst lag of a send behind its schedule;
drain_s the wait for the mail queue in step 1. With --probe, the lines of
`probe.py report` over the timed part follow, each prefixed "PROBE "."""

import argparse
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prepare import API, Client, die, parallel, pct  # noqa: E402


def sql(query):
    """Runs query as the database root; returns rows of tab-separated fields."""
    defaults = os.environ.get("SHOP_DB_DEFAULTS_FILE") or die("SHOP_DB_DEFAULTS_FILE is not set")
    p = subprocess.run(["mariadb", "--defaults-file=" + defaults, "--batch", "--skip-column-names",
                        "-e", query], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        die("mariadb: %s" % p.stderr.strip())
    return [line.split("\t") for line in p.stdout.splitlines() if line]


def watermark(table):
    """The highest id of an outbox table now: rows after it are this run's."""
    return int(sql("SELECT COALESCE(MAX(id), 0) FROM %s" % table)[0][0])


def events(table, event_type, after, times=None):
    """{aggregate_id: event_id} of the outbox rows of one type after a
    watermark (a range of the primary key). times: a dict that receives
    {event_id: (occurred_at, sent_at or None)} in unix seconds."""
    rows = sql("SET time_zone = '+00:00'; SELECT aggregate_id, event_id, UNIX_TIMESTAMP(occurred_at),"
               " UNIX_TIMESTAMP(sent_at) FROM %s WHERE id > %d AND event_type = '%s'"
               % (table, after, event_type))
    if times is not None:
        for r in rows:
            times[r[1]] = (float(r[2]), None if r[3] == "NULL" else float(r[3]))
    return {int(r[0]): r[1] for r in rows}


def quoted(values):
    return ",".join("'%s'" % v for v in values) or "''"


def sent_mails(event_ids, created=None):
    """{event_id: sent_at (unix seconds)} of the notifications sent for these
    events (looked up by its unique key, with the ids as literals). created:
    a dict that receives {event_id: created_at}."""
    rows = sql("SET time_zone = '+00:00'; SELECT event_id, UNIX_TIMESTAMP(sent_at),"
               " UNIX_TIMESTAMP(created_at)"
               " FROM shop_notify.notifications WHERE event_id IN (%s) AND status = 'SENT'"
               % quoted(event_ids))
    if created is not None:
        for r in rows:
            created[r[0]] = float(r[2])
    return {r[0]: float(r[1]) for r in rows}


def secret():
    """The signing secret as the stack's programs use it: the whole file,
    one trailing newline stripped."""
    path = os.environ.get("SHOP_WEBHOOK_SECRET_FILE") or die("SHOP_WEBHOOK_SECRET_FILE is not set")
    with open(path, "rb") as f:
        s = f.read()
    if s.endswith(b"\r\n"):
        return s[:-2]
    return s[:-1] if s.endswith(b"\n") else s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workdir")
    ap.add_argument("--rate", type=float, default=500)
    ap.add_argument("--count", type=int, default=2500)
    ap.add_argument("--senders", type=int, default=16)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--probe", help="bench/probe.py: report where the time went")
    ap.add_argument("--stack", help="the stack's directory (for --probe)")
    a = ap.parse_args()

    base = os.environ.get("SHOP_BASE_URL") or die("SHOP_BASE_URL is not set")
    with open(os.path.join(a.workdir, "customer.token")) as f:
        token = f.read().strip()
    with open(os.path.join(a.workdir, "products.txt")) as f:
        products = [int(x) for x in f.read().split()]
    key = secret()
    run = "wh-%x%s" % (int(time.time()), os.urandom(2).hex())

    # 1. orders and payments (untimed)
    def place(c, i):
        st, d = c.call("POST", API + "/orders",
                       {"items": [{"product_id": products[i % len(products)], "quantity": 1}]},
                       token=token, headers={"Idempotency-Key": "%s-o%d" % (run, i)})
        if st != 201:
            raise RuntimeError("POST /orders: %s %s" % (st, d))
        return d["data"]["order"]["id"]

    def pay(c, i):
        st, d = c.call("POST", API + "/payments",
                       {"order_id": orders[i], "payment_method": "pm_card_slow"},
                       token=token, headers={"Idempotency-Key": "%s-p%d" % (run, i)})
        if st != 202:
            raise RuntimeError("POST /payments: %s %s" % (st, d))
        p = d["data"]["payment"]
        return p["id"], p["amount_cents"], p["currency"]

    # (every query here reads by primary or unique key: the measuring must
    # not load the database it measures)
    wm_orders = watermark("shop_orders.outbox")
    orders = parallel(a.count, 8, place, base)
    payments = parallel(a.count, 8, pay, base)
    ids = ",".join(str(o) for o in orders)
    placed = events("shop_orders.outbox", "order.placed", wm_orders)
    placed = [placed[o] for o in orders if o in placed]
    if len(placed) != len(orders):
        die("%d orders placed, %d order.placed events" % (len(orders), len(placed)))
    t0 = time.monotonic()
    while True:
        # every ORDER_PLACED mail of these orders sent: the notify worker's
        # queue is then empty of them
        left = len(placed) - len(sent_mails(placed))
        if left == 0:
            break
        if time.monotonic() - t0 > 300:
            die("the ORDER_PLACED mails of %d orders were not all sent within 300 s (%d left)"
                % (a.count, left))
        time.sleep(0.5)
    drain = time.monotonic() - t0
    wm_orders = watermark("shop_orders.outbox")
    wm_payments = watermark("shop_payments.outbox")

    # 2. the webhooks, on schedule
    snaps = [os.path.join(a.workdir, "webhooks-%s.json" % x) for x in "ab"]
    if a.probe:
        subprocess.run([sys.executable, a.probe, "snap", a.stack, snaps[0]], check=True)
    cpu0 = os.times()
    bodies = []
    for pid, amount, cur in payments:
        ev = {"id": "evt_%s_%d" % (run.replace("-", "_"), pid), "type": "payment.succeeded",
              "created": int(time.time()),
              "data": {"payment_id": pid, "provider_ref": "sim_bench_%d" % pid,
                       "amount_cents": amount, "currency": cur}}
        bodies.append(json.dumps(ev, separators=(",", ":")).encode())
    sent = [0.0] * len(bodies)
    status = [0] * len(bodies)
    late = [0.0]
    nxt = [0]
    lock = threading.Lock()
    errors = []
    start = time.time() + 0.2

    def sender():
        c = Client(base)
        while not errors:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= len(bodies):
                return
            due = start + i / a.rate
            d = due - time.time()
            if d > 0:
                time.sleep(d)
            body = bodies[i]
            t = int(time.time())
            mac = hmac.new(key, b"%d." % t + body, hashlib.sha256).hexdigest()
            now = time.time()
            with lock:
                late[0] = max(late[0], now - due)
            sent[i] = now
            try:
                st, _ = c.call_raw("POST", API + "/payments/webhook", body,
                                   {"Content-Type": "application/json",
                                    "Shop-Signature": "t=%d,v1=%s" % (t, mac)})
            except Exception as e:  # reported below
                errors.append(e)
                return
            status[i] = st

    ts = [threading.Thread(target=sender) for _ in range(a.senders)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        die("sending webhooks: %s" % errors[0])
    secs = max(sent) - min(sent)
    non200 = sum(1 for s in status if s != 200)

    # 3. when each order got there: polled cheaply until all are, or until
    # --timeout after the last send; the times are the stack's own
    order_of = {p[0]: orders[i] for i, p in enumerate(payments)}
    deadline = time.time() + a.timeout
    while True:
        paid_n = int(sql("SELECT COUNT(*) FROM shop_orders.orders WHERE id IN (%s)"
                         " AND status = 'PAID'" % ids)[0][0])
        paid_ev = events("shop_orders.outbox", "order.paid", wm_orders)
        ok_ev = events("shop_payments.outbox", "payment.succeeded", wm_payments)
        settled_at = {r[0]: float(r[1]) for r in sql(
            "SET time_zone = '+00:00'; SELECT event_id, UNIX_TIMESTAMP(processed_at)"
            " FROM shop_catalog.processed_events WHERE consumer = 'inventory'"
            " AND event_id IN (%s)" % quoted(paid_ev.values()))}
        mailed_at = sent_mails(ok_ev.values())
        if (paid_n == len(orders) and len(settled_at) == len(orders) and
                len(mailed_at) == len(orders)) or time.time() > deadline:
            break
        time.sleep(0.5)
    ev_times, mail_created = {}, {}
    paid_ev = events("shop_orders.outbox", "order.paid", wm_orders, ev_times)
    ok_ev = events("shop_payments.outbox", "payment.succeeded", wm_payments, ev_times)
    mailed_at = sent_mails(ok_ev.values(), mail_created)
    paid_at = {int(r[0]): float(r[1]) for r in sql(
        "SET time_zone = '+00:00'; SELECT id, UNIX_TIMESTAMP(updated_at) FROM shop_orders.orders"
        " WHERE id IN (%s) AND status = 'PAID'" % ids)}
    probe = ""
    if a.probe:
        cpu1 = os.times()
        subprocess.run([sys.executable, a.probe, "snap", a.stack, snaps[1]], check=True)
        own = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
        p = subprocess.run([sys.executable, a.probe, "report", a.stack, snaps[0], snaps[1], str(own),
                            "POST /api/v1/payments/webhook"], capture_output=True, text=True)
        probe = "".join("PROBE " + line + "\n" for line in (p.stdout + p.stderr).splitlines())
    lat, paid, settled, emailed = [], [], [], []
    for i, (pid, _, _) in enumerate(payments):
        t = sent[i]
        oid = order_of[pid]
        got = (paid_at.get(oid), settled_at.get(paid_ev.get(oid)), mailed_at.get(ok_ev.get(pid)))
        v = [None if x is None else (x - t) * 1000 for x in got]
        if v[0] is not None:
            paid.append(v[0])
        if v[1] is not None:
            settled.append(v[1])
        if v[2] is not None:
            emailed.append(v[2])
        if None not in v:
            lat.append(max(v))
    # Each step's share: (name, [ms per order]) from the stack's timestamps.
    steps = [("webhook answered (payment SUCCEEDED, payment.succeeded written)", []),
             ("relay published payment.succeeded", []),
             ("order worker: order PAID (order.paid written)", []),
             ("relay published order.paid", []),
             ("inventory worker settled", []),
             ("notify worker took payment.succeeded (notification row)", []),
             ("mail sent (SMTP accepted)", [])]
    for i, (pid, _, _) in enumerate(payments):
        oid = order_of[pid]
        ok = ev_times.get(ok_ev.get(pid))
        pe = ev_times.get(paid_ev.get(oid))
        st = settled_at.get(paid_ev.get(oid))
        mc = mail_created.get(ok_ev.get(pid))
        ms = mailed_at.get(ok_ev.get(pid))
        chain = [(0, sent[i], ok and ok[0]), (1, ok and ok[0], ok and ok[1]),
                 (2, ok and ok[1], paid_at.get(oid)), (3, pe and pe[0], pe and pe[1]),
                 (4, pe and pe[1], st), (5, ok and ok[1], mc), (6, mc, ms)]
        for k, x, y in chain:
            if x is not None and y is not None:
                steps[k][1].append((y - x) * 1000)
    for name, v in steps:
        print("STEP %s: p50 %.1f / p99 %.1f / max %.1f ms (%d orders)"
              % (name, pct(v, 50), pct(v, 99), max(v) if v else 0.0, len(v)))
    print("BENCH requests=%d seconds=%.2f rps=%.1f p50_ms=%.1f p99_ms=%.1f max_ms=%.1f done=%d "
          "non200=%d paid_p50_ms=%.1f paid_p99_ms=%.1f settled_p50_ms=%.1f settled_p99_ms=%.1f "
          "emailed_p50_ms=%.1f emailed_p99_ms=%.1f late_ms=%.1f drain_s=%.1f"
          % (len(bodies), secs, len(bodies) / secs if secs > 0 else 0.0, pct(lat, 50), pct(lat, 99),
             max(lat) if lat else 0.0, len(lat), non200, pct(paid, 50), pct(paid, 99),
             pct(settled, 50), pct(settled, 99), pct(emailed, 50), pct(emailed, 99),
             late[0] * 1000, drain))
    sys.stdout.write(probe)


if __name__ == "__main__":
    main()
