"""The order flow across the domains: expiry by the orders worker, a flash
sale, redelivered events, and the books of every product the flow tests
touched (run last)."""

import json
import threading
import time

import tap
from tap import test
from shopclient import in_parallel
from flowlib import (FOLLOWUP, GRACE, TOUCHED, SqlError, admin_orders, buyer, cancel, holds, items_body,
                     ledger, mgmt, must_pay, must_place, order_of, order_status, outbox_events, pay,
                     payment_status, place,
                     product, publish_event, sql, sql_int, stock, stock_is, vhost, wait_for, wait_order,
                     wait_stock, note_slow)


def _sql_or_skip(t, query):
    try:
        return sql(query)
    except SqlError as e:
        t.skip("SQL as root is not available: %s" % e)


@test
def expiry(t):
    u = buyer()
    a = product(stock=6)
    o = must_place(t, u, items_body((a["id"], 4)))
    keep = must_place(t, u, items_body((a["id"], 1)))
    stock_is(t, a["id"], {"on_hand": 6, "reserved": 5}, "before the expiry")
    rows = _sql_or_skip(t, "UPDATE shop_orders.orders SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND"
                           " WHERE id = %d AND status = 'PENDING_PAYMENT'; SELECT ROW_COUNT()" % o["id"])
    t.require(rows == [["1"]], "setting expires_at into the past changed %r rows" % rows)
    t0 = time.monotonic()
    wait_order(t, u, o["id"], "EXPIRED", "order EXPIRED after expires_at passed")
    left = FOLLOWUP + GRACE - (time.monotonic() - t0)
    wait_stock(t, a["id"], {"on_hand": 6, "reserved": 1}, "reservation released after the expiry",
               timeout=max(left, 0.2))
    note_slow(t, time.monotonic() - t0, "expiry and release")
    t.eq(order_status(u, keep["id"]), "PENDING_PAYMENT", "an order not yet due stays PENDING_PAYMENT")
    t.expect(pay(u, o["id"]), 409, what="pay an EXPIRED order")
    t.expect(cancel(u, o["id"]), 409, "ILLEGAL_TRANSITION", "cancel an EXPIRED order")
    stock_is(t, a["id"], {"on_hand": 6, "reserved": 1}, "after the refusals")
    t.expect(cancel(u, keep["id"]), 200, what="cancel the other order")
    wait_stock(t, a["id"], {"on_hand": 6, "reserved": 0}, "the other order released")


@test
def late_payment(t):
    """A payment that succeeds after its order was cancelled or expired
    settles nothing (docs/events.md): the orders stay CANCELLED / EXPIRED and
    their released stock stays released."""
    u = buyer()
    a, b, s = product(stock=5), product(stock=5), product(stock=3)
    oc = must_place(t, u, items_body((a["id"], 2)))
    oe = must_place(t, u, items_body((b["id"], 3)))
    pc = must_pay(t, u, oc["id"], "pm_card_slow", "slow payment of the order to cancel")
    pe = must_pay(t, u, oe["id"], "pm_card_slow", "slow payment of the order to expire")
    r = cancel(u, oc["id"])
    t.expect(r, (200, 409), what="cancel an order whose payment is PROCESSING")
    cancelled = r.status == 200
    rows = _sql_or_skip(t, "UPDATE shop_orders.orders SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND"
                           " WHERE id = %d AND status = 'PENDING_PAYMENT'; SELECT ROW_COUNT()" % oe["id"])
    t.require(rows == [["1"]], "setting expires_at into the past changed %r rows" % rows)
    wait_order(t, u, oe["id"], "EXPIRED", "order with a PROCESSING payment EXPIRED")
    wait_stock(t, b["id"], {"on_hand": 5, "reserved": 0}, "released after the expiry")
    if cancelled:
        wait_stock(t, a["id"], {"on_hand": 5, "reserved": 0}, "released after the cancel")
    # the provider answers ~2 s after each payment
    for p in (pc, pe):
        st, secs = wait_for(lambda: payment_status(u, p["id"]) != "PROCESSING", 2.0 + FOLLOWUP + GRACE)
        t.ok(st, "payment %d still PROCESSING after %.1f s" % (p["id"], secs))
    # a sentinel behind them in orders.payments and inventory.settlement
    os_ = must_place(t, u, items_body((s["id"], 1)))
    must_pay(t, u, os_["id"], "pm_card_ok", "the sentinel payment")
    wait_order(t, u, os_["id"], "PAID", "sentinel order PAID")
    wait_stock(t, s["id"], {"on_hand": 2, "reserved": 0}, "sentinel settled")
    t.eq(order_status(u, oe["id"]), "EXPIRED", "a late payment does not revive an EXPIRED order")
    if cancelled:
        t.eq(order_status(u, oc["id"]), "CANCELLED", "a late payment does not revive a CANCELLED order")
        want_a = (5, 0)
    else:
        wait_order(t, u, oc["id"], "PAID", "the order that could not be cancelled is PAID")
        want_a = (3, 0)

    def unchanged():
        sa, sb = stock(a["id"]) or {}, stock(b["id"]) or {}
        return (sa.get("on_hand"), sa.get("reserved")) == want_a and \
            (sb.get("on_hand"), sb.get("reserved")) == (5, 0)
    t.ok(holds(unchanged, 0.3), "a late payment moved stock: A %r (want on_hand, reserved %r), B %r"
         % (stock(a["id"]), want_a, stock(b["id"])))


@test
def flash_sale(t):
    """50 units, 200 buyers at once: 50 orders, 150 OUT_OF_STOCK, and the
    stock never oversold while it happens."""
    units, n = 50, 200
    a = product(stock=units, price_cents=100)
    buyers = in_parallel(lambda i: buyer("flash"), n)
    t.require(all(b is not None and b.token for b in buyers), "registering %d buyers failed" % n)
    ctx = tap.current()
    stop = threading.Event()
    samples = []
    bad = []

    def sampler():
        tap.adopt(ctx)
        while not stop.is_set():
            s = stock(a["id"])
            if not isinstance(s, dict):
                bad.append("unreadable stock")
                continue
            on_hand, reserved, avail = s.get("on_hand"), s.get("reserved"), s.get("available")
            samples.append(s)
            sold = units - on_hand
            if reserved + sold > units or avail < 0 or avail != on_hand - reserved or reserved < 0:
                bad.append(s)
    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    try:
        t0 = time.monotonic()
        rs = in_parallel(lambda i: place(buyers[i], items_body((a["id"], 1))), n)
        race = time.monotonic() - t0
        st = [r.status if r is not None else None for r in rs]
        won = [i for i, r in enumerate(rs) if r is not None and r.status == 201]
        t.eq(len(won), units, "orders placed (statuses %s)" % sorted(set(st), key=str))
        t.eq(st.count(409), n - units, "answers 409")
        t.eq([s for s in st if s is None or s >= 500], [], "5xx or failed requests")
        t.ok(all("OUT_OF_STOCK" in r.err_codes() for r in rs if r is not None and r.status == 409),
             "every 409 is OUT_OF_STOCK")
        t.note("%d concurrent orders in %.2f s" % (n, race))
        stock_is(t, a["id"], {"on_hand": units, "reserved": units, "available": 0}, "after the race")
        # some winners pay, some cancel, while the sampler watches
        pay_ix, cancel_ix = won[:5], won[5:10]
        pays = in_parallel(lambda i: pay(buyers[pay_ix[i]], order_of(rs[pay_ix[i]])["id"]), len(pay_ix))
        t.eq([r.status for r in pays if r is not None], [202] * len(pay_ix), "the winners' payments")
        cans = in_parallel(lambda i: cancel(buyers[cancel_ix[i]], order_of(rs[cancel_ix[i]])["id"]),
                           len(cancel_ix))
        t.eq([r.status for r in cans if r is not None], [200] * len(cancel_ix), "the winners' cancels")
        wait_stock(t, a["id"], {"on_hand": units - 5, "reserved": units - 10}, "5 settled and 5 released")
        # the released units can be bought again, but no more
        again = in_parallel(lambda i: place(buyers[i], items_body((a["id"], 1))), 8)
        ok = [r for r in again if r is not None and r.status == 201]
        t.eq(len(ok), 5, "orders of the 5 released units by 8 buyers")
        stock_is(t, a["id"], {"on_hand": units - 5, "reserved": units - 5, "available": 0}, "sold out again")
    finally:
        stop.set()
        th.join(timeout=10)
    t.ok(len(samples) >= 5, "the sampler read the stock only %d times" % len(samples))
    if samples:
        t.note("sampler: %d reads, reserved up to %d, on_hand down to %d" % (
            len(samples), max(s.get("reserved", 0) for s in samples),
            min(s.get("on_hand", units) for s in samples)))
    t.eq(bad[:5], [], "stock samples that oversell or go negative (of %d samples)" % len(samples))


def _published(t, schema, event_type, aggregate_id):
    """The one outbox row of an aggregate's event, once the relay sent it."""
    def get():
        try:
            ev = outbox_events(schema, event_type, aggregate_id)
        except SqlError as e:
            t.skip("SQL as root is not available: %s" % e)
        return ev if ev and all(e["sent"] for e in ev) else None
    evs, secs = wait_for(get)
    t.require(evs, "%s of %s %d: no sent outbox row within %.1f s" % (event_type, schema, aggregate_id, secs))
    t.eq(len(evs), 1, "%s rows for %d" % (event_type, aggregate_id))
    return evs[0]


def _publish_twice(t, ev, event_type):
    for i in range(2):
        try:
            st, ans = publish_event(event_type, ev["event_id"], ev["payload"], ev["request_id"],
                                    ev["occurred_at"])
        except Exception as e:   # noqa: BLE001 - the management API is part of the stack under test
            t.require(False, "publishing through the management API: %r" % e)
        t.eq(st, 200, "publish %s #%d: %r" % (event_type, i + 1, ans))
        t.eq((ans or {}).get("routed") if isinstance(ans, dict) else ans, True,
             "publish %s #%d routed" % (event_type, i + 1))


@test
def redelivery(t):
    """The order.paid and order.cancelled events the relay sent are published
    again, twice each: stock and ledger change once."""
    u = buyer()
    a, c, s = product(stock=5), product(stock=4), product(stock=2)
    o = must_place(t, u, items_body((a["id"], 2)))
    must_pay(t, u, o["id"], "pm_card_ok")
    wait_order(t, u, o["id"], "PAID", "order PAID")
    wait_stock(t, a["id"], {"on_hand": 3, "reserved": 0}, "settled")
    oc = must_place(t, u, items_body((c["id"], 3)))
    t.expect(cancel(u, oc["id"]), 200, what="cancel")
    wait_stock(t, c["id"], {"on_hand": 4, "reserved": 0}, "released")
    paid = _published(t, "shop_orders", "order.paid", o["id"])
    cancelled = _published(t, "shop_orders", "order.cancelled", oc["id"])
    try:
        pl = json.loads(paid["payload"])
        t.eq(pl.get("order_id"), o["id"], "order.paid payload order_id")
    except ValueError:
        t.fail("order.paid payload is not JSON: %r" % paid["payload"])
    before_a, before_c = ledger(a["id"]), ledger(c["id"])
    _publish_twice(t, paid, "order.paid")
    _publish_twice(t, cancelled, "order.cancelled")
    # a sentinel behind them on the same queue: once its release shows, the
    # duplicates ahead of it have been consumed
    os_ = must_place(t, u, items_body((s["id"], 1)))
    t.expect(cancel(u, os_["id"]), 200, what="cancel the sentinel order")
    wait_stock(t, s["id"], {"on_hand": 2, "reserved": 0}, "sentinel released")
    same = holds(lambda: ((stock(a["id"]) or {}).get("on_hand"), (stock(a["id"]) or {}).get("reserved"),
                          (stock(c["id"]) or {}).get("reserved")) == (3, 0, 0), 0.5)
    t.ok(same, "the redelivered events changed stock: A %r, C %r" % (stock(a["id"]), stock(c["id"])))
    t.eq(ledger(a["id"]), before_a, "ledger of A after order.paid twice more")
    t.eq(ledger(c["id"]), before_c, "ledger of C after order.cancelled twice more")
    t.eq([r[0] for r in ledger(a["id"])].count("SETTLE"), 1, "SETTLE rows of A: %r" % ledger(a["id"]))
    t.eq([r[0] for r in ledger(c["id"])].count("RELEASE"), 1, "RELEASE rows of C: %r" % ledger(c["id"]))
    # duplicates are acknowledged, not dead-lettered
    try:
        st, msgs = mgmt("POST", "/api/queues/%s/inventory.settlement.dlq/get" % vhost(),
                        {"count": 100, "ackmode": "ack_requeue_true", "encoding": "auto"})
        if st == 200 and isinstance(msgs, list):
            ids = {m.get("properties", {}).get("message_id") for m in msgs}
            t.ok(paid["event_id"] not in ids and cancelled["event_id"] not in ids,
                 "a redelivered event went to inventory.settlement.dlq")
        else:
            t.note("reading inventory.settlement.dlq: HTTP %s %r" % (st, msgs))
    except Exception as e:   # noqa: BLE001
        t.note("reading inventory.settlement.dlq: %r" % e)


@test(last=True)
def conservation(t):
    """For every product the flow tests created: on_hand = initial +
    adjustments - settled, reserved = the quantities of PENDING_PAYMENT
    orders, 0 <= reserved <= on_hand, and the ledger sums to the stock."""
    pids = sorted(TOUCHED)
    if not pids:
        t.skip("no flow test created a product in this run")
    _sql_or_skip(t, "SELECT 1")
    ids = ",".join(str(p) for p in pids)
    problems = []

    def books():
        problems.clear()
        paid, prob1 = admin_orders(status="PAID")
        pending, prob2 = admin_orders(status="PENDING_PAYMENT")
        if prob1 or prob2:
            problems.append("walking /admin/orders: %s %s" % (prob1, prob2))
            return False
        settled, held = {}, {}
        for orders, acc in ((paid, settled), (pending, held)):
            for o in orders:
                for i in o.get("items") or []:
                    if i.get("product_id") in TOUCHED:
                        acc[i["product_id"]] = acc.get(i["product_id"], 0) + i.get("quantity", 0)
        st = {int(p): (int(h), int(r)) for p, h, r in
              sql("SELECT product_id, on_hand, reserved FROM shop_catalog.stock"
                  " WHERE product_id IN (%s)" % ids)}
        led = {int(p): (int(h), int(r)) for p, h, r in
               sql("SELECT product_id, SUM(delta_on_hand), SUM(delta_reserved) FROM shop_catalog.stock_ledger"
                   " WHERE product_id IN (%s) GROUP BY product_id" % ids)}
        for p in pids:
            if p not in st:
                problems.append("product %d has no stock row" % p)
                continue
            on_hand, reserved = st[p]
            want = TOUCHED[p]["initial"] + TOUCHED[p]["adjust"] - settled.get(p, 0)
            if on_hand != want:
                problems.append("product %d: on_hand %d, want initial %d + adjustments %d - settled %d = %d"
                                % (p, on_hand, TOUCHED[p]["initial"], TOUCHED[p]["adjust"],
                                   settled.get(p, 0), want))
            if reserved != held.get(p, 0):
                problems.append("product %d: reserved %d, PENDING_PAYMENT orders hold %d"
                                % (p, reserved, held.get(p, 0)))
            if not 0 <= reserved <= on_hand:
                problems.append("product %d: reserved %d, on_hand %d" % (p, reserved, on_hand))
            if led.get(p) != (on_hand, reserved):
                problems.append("product %d: ledger sums %r, stock (on_hand, reserved) %r"
                                % (p, led.get(p), (on_hand, reserved)))
        return not problems
    ok, secs = wait_for(books, FOLLOWUP + GRACE, interval=0.2)
    for p in problems[:30]:
        t.fail(p)
    t.note("%d products checked in %.1f s" % (len(pids), secs))
    n = sql_int("SELECT COUNT(*) FROM shop_catalog.stock WHERE reserved < 0 OR on_hand < reserved")
    t.eq(n, 0, "stock rows anywhere with reserved < 0 or on_hand < reserved")
