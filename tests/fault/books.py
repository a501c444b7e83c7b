"""The books of the shop after a fault, read from the databases as root, the
RabbitMQ management API and the SMTP sink, against what the clients were
told (load.Ledger):

  outbox     every row of every outbox sent
  consumed   every event handled by each consumer bound to it (docs/events.md):
             its processed_events row; payment.requested: the payment left
             PROCESSING; refund.requested: the payment is REFUNDED
  orders     every order a client was answered 201 for exists, and no order
             exists that no client was told of; no key answered 503 acted
  payments   none left PROCESSING; no order PAID (SHIPPED, DELIVERED) without
             the SUCCEEDED payment of its exact amount, no REFUNDED order
             without its REFUNDED payment; no SUCCEEDED payment kept for an
             order that is not paid (a late payment must be refunded)
  ledger     per order and product: one RESERVE; one SETTLE when it was paid;
             one RELEASE when cancelled or expired; one RESTOCK when refunded
             with restock; each with the line's quantity; each adjustment a
             client was answered 200 for once, none answered 503 or 4xx
  stock      on_hand = initial + adjustments - settled + restocked,
             reserved = what PENDING_PAYMENT orders hold, 0 <= reserved <=
             on_hand, and the ledger sums to both
  shipments  one per order that was paid, none for the others
  mail       one notification per event the notify worker handled, SENT, and
             one message with its Message-ID in the SMTP sink; a second copy
             (same Message-ID) is a duplicate, "explained" only when the
             notify worker was killed (docs/events.md), and never more than
             one per kill
  queues     nothing left in any queue, nothing dead-lettered

check() returns a Books: the problems (each "lost", "duplicate", or
"violation", with the id of what it concerns so that a scenario can claim
its own) and what is still pending (the quiet period waits for that)."""

import json
import os
import re
import urllib.parse

from flowlib import mgmt, sql, vhost

# Consumers with an inbox: (database, consumer name) and the event types of
# their queue's bindings, by the outbox that writes them (docs/events.md).
CONSUMERS = {
    "inventory": ("shop_catalog", "inventory",
                  {"shop_orders": ("order.paid", "order.cancelled", "order.expired", "order.refunded")}),
    "order-worker": ("shop_orders", "order-worker",
                     {"shop_payments": ("payment.succeeded", "payment.failed", "payment.refunded")}),
    "shipping-worker": ("shop_shipping", "shipping", {"shop_orders": ("order.paid",)}),
    "payments-worker": ("shop_payments", "payments-worker", {"shop_orders": ("order.payment_orphaned",)}),
    "notify-worker": ("shop_notify", "notify",
                      {"shop_identity": ("user.registered",),
                       "shop_orders": ("order.placed", "order.cancelled", "order.expired", "order.refunded"),
                       "shop_payments": ("payment.succeeded", "payment.failed"),
                       "shop_shipping": ("order.shipped", "order.delivered")}),
}
# Consumed by the payment simulator (no inbox): judged by the payment.
SIM_TYPES = ("payment.requested", "refund.requested")
OUTBOXES = ("shop_identity", "shop_orders", "shop_payments", "shop_shipping")

PAIDISH = ("PAID", "SHIPPED", "DELIVERED")
MID_RE = re.compile(r"^Message-ID:[ \t]*(<[^>\r\n]+>)", re.I | re.M)


def _ints(rows):
    return [[int(c) if c is not None and re.match(r"^-?\d+$", c) else c for c in r] for r in rows]


class Problem:
    __slots__ = ("kind", "what", "order", "event", "mail", "outbox")

    def __init__(self, kind, what, order=None, event=None, mail=None, outbox=None):
        self.kind = kind        # lost | duplicate | violation
        self.what = what
        self.order = order      # the order id it concerns
        self.event = event      # (schema, outbox id)
        self.mail = mail        # the sink's message number
        self.outbox = outbox

    def __repr__(self):
        return "%s: %s" % (self.kind, self.what)


class Books:
    def __init__(self):
        self.problems = []
        self.pending = []       # what a quiet period may still settle
        self.explained = []     # duplicates that docs/events.md allows (notify worker killed)
        self.figures = {}

    def add(self, kind, what, pending=False, **kw):
        """A problem; pending: one that a quiet period may still settle."""
        self.problems.append(Problem(kind, what, **kw))
        if pending:
            self.pending.append(what)

    def later(self, kind, what, **kw):
        """A problem that a quiet period may still settle (the shop is at work)."""
        self.add(kind, what, pending=True, **kw)


class Mailbox:
    """The SMTP sink's messages: {number: Message-ID}, read incrementally."""

    def __init__(self, d):
        self.dir = d
        self.mids = {}

    def scan(self):
        try:
            names = os.listdir(self.dir)
        except OSError:
            return self.mids
        for n in names:
            if not n.endswith(".json") or n.startswith("."):
                continue
            try:
                num = int(n[:-5])
            except ValueError:
                continue
            if num in self.mids:
                continue
            try:
                with open(os.path.join(self.dir, n), "rb") as f:
                    data = json.loads(f.read().decode("utf-8")).get("data") or ""
            except (OSError, ValueError):
                continue
            head = data.split("\r\n\r\n", 1)[0].split("\n\n", 1)[0]
            m = MID_RE.search(head)
            self.mids[num] = m.group(1) if m else None
        return self.mids

    def last(self):
        self.scan()
        return max(self.mids) if self.mids else 0


def _outbox_rows():
    """{schema: [(id, event_id, event_type, unsent, payload or None, aggregate id)]}."""
    out = {}
    for s in OUTBOXES:
        rows = sql("SELECT id, event_id, event_type, sent_at IS NULL,"
                   " IF(event_type = 'order.refunded', HEX(payload), NULL), aggregate_id FROM %s.outbox" % s)
        out[s] = [(int(i), e, t, u == "1", bytes.fromhex(p).decode() if p else None, int(a))
                  for i, e, t, u, p, a in rows]
    return out


# The events each state owes (docs/events.md): one of each, no more.
ORDER_EVENTS = {"PENDING_PAYMENT": ("order.placed",), "PAID": ("order.placed", "order.paid"),
                "SHIPPED": ("order.placed", "order.paid", "order.shipped"),
                "DELIVERED": ("order.placed", "order.paid", "order.shipped", "order.delivered"),
                "CANCELLED": ("order.placed", "order.cancelled"), "EXPIRED": ("order.placed", "order.expired"),
                "REFUNDED": ("order.placed", "order.paid", "order.refunded")}
PAYMENT_EVENTS = {"PROCESSING": ("payment.requested",), "FAILED": ("payment.requested", "payment.failed"),
                  "SUCCEEDED": ("payment.requested", "payment.succeeded"),
                  "REFUNDED": ("payment.requested", "payment.succeeded", "refund.requested", "payment.refunded")}


def check(ctx, final=False):
    """The books now. ctx: the scenarios' context (ledger, products, mailbox,
    the notify kills). final: also the queues (the management API's figures
    lag 5-10 s, so only once everything else is quiet)."""
    b = Books()
    led = ctx.ledger
    ours = set(ctx.products)

    # ---- outbox and consumption
    boxes = _outbox_rows()
    for s, rows in boxes.items():
        for i, ev, typ, unsent, _, _ in rows:
            if unsent:
                b.later("lost", "%s.outbox id %d (%s %s) never sent" % (s, i, typ, ev), event=(s, i))
    done = {}
    for name, (db, consumer, _) in CONSUMERS.items():
        done[name] = {r[0] for r in sql("SELECT event_id FROM %s.processed_events WHERE consumer = '%s'"
                                        % (db, consumer))}
    known = set(SIM_TYPES)
    for name, (db, consumer, binds) in CONSUMERS.items():
        for s, types in binds.items():
            known.update(types)
            for i, ev, typ, unsent, _, _ in boxes[s]:
                if typ in types and not unsent and ev not in done[name]:
                    b.later("lost", "%s never handled %s %s (%s.outbox id %d)" % (name, typ, ev, s, i),
                          event=(s, i))
    unknown = sorted({r[2] for rows in boxes.values() for r in rows} - known)
    if unknown:
        b.figures["unchecked_event_types"] = unknown

    # ---- orders, payments
    orders = {r[0]: {"user": r[1], "status": r[2], "total": r[3], "cur": r[4], "payment": r[5], "lines": {}}
              for r in _ints(sql("SELECT id, user_id, status, total_cents, currency, payment_id"
                                 " FROM shop_orders.orders"))}
    for oid, pid, q in _ints(sql("SELECT order_id, product_id, quantity FROM shop_orders.order_items")):
        if oid in orders:
            orders[oid]["lines"][pid] = q
    pays = {r[0]: {"order": r[1], "amount": r[2], "cur": r[3], "status": r[4], "refund_asked": r[5] == 1}
            for r in _ints(sql("SELECT id, order_id, amount_cents, currency, status,"
                               " refund_requested_at IS NOT NULL FROM shop_payments.payments"))}
    restock = {}
    for i, ev, typ, unsent, payload, _ in boxes["shop_orders"]:
        if typ == "order.refunded" and payload:
            try:
                p = json.loads(payload)
                restock[int(p["order_id"])] = bool(p.get("restock"))
            except (ValueError, KeyError, TypeError):
                b.add("violation", "order.refunded %s: payload %r" % (ev, payload[:200]))
    users = ctx.user_ids()
    for oid, o in orders.items():
        if o["user"] in users and oid not in led.orders:
            b.add("violation", "order %d of customer %d exists, but no client was answered 201 for it"
                  % (oid, o["user"]), order=oid)
        if not o["lines"]:
            b.add("violation", "order %d has no lines (half-written)" % oid, order=oid)
    for oid, info in list(led.orders.items()):
        o = orders.get(oid)
        if o is None:
            b.add("lost", "order %d was answered 201 but is not in shop_orders.orders" % oid, order=oid)
        elif {p: q for p, q in info["lines"]} != o["lines"]:
            b.add("violation", "order %d: lines %r, the client ordered %r" % (oid, o["lines"], info["lines"]),
                  order=oid)
    keys = {}
    for db in ("shop_orders", "shop_payments"):
        for u, k, st in sql("SELECT user_id, idem_key, status FROM %s.idempotency_keys" % db):
            keys[(db, int(u), k)] = int(st)
    for kind, uid, key in led.keys_503:
        db = "shop_orders" if kind == "order.place" else "shop_payments"
        if (db, uid, key) in keys:
            b.add("violation", "%s with Idempotency-Key %s was answered 503 (\"no effect\") but its key was"
                  " stored with status %d: it acted" % (kind, key, keys[(db, uid, key)]))
    by_order = {}
    for pid, p in pays.items():
        by_order.setdefault(p["order"], []).append(pid)
        if p["status"] == "PROCESSING":
            b.later("lost", "payment %d of order %d still PROCESSING: the provider's answer was lost"
                  % (pid, p["order"]), order=p["order"])
        if p["status"] == "SUCCEEDED" and p["refund_asked"]:
            b.later("lost", "payment %d: refund asked, never confirmed" % pid, order=p["order"])
    for oid, o in orders.items():
        st = o["status"]
        if st in PAIDISH or st == "REFUNDED":
            p = pays.get(o["payment"])
            want = "REFUNDED" if st == "REFUNDED" else "SUCCEEDED"
            if p is None or p["order"] != oid or p["status"] != want or p["amount"] != o["total"] \
                    or p["cur"] != o["cur"]:
                b.add("violation", "order %d is %s with payment_id %r: %r (want a %s payment of %d %s)"
                      % (oid, st, o["payment"], p, want, o["total"], o["cur"]), order=oid)
        good = [pid for pid in by_order.get(oid, []) if pays[pid]["status"] in ("SUCCEEDED", "REFUNDED")]
        if st in PAIDISH and len(good) != 1:
            b.add("violation", "order %d is %s with %d succeeded payments %r" % (oid, st, len(good), good),
                  order=oid)
    for pid, p in pays.items():
        o = orders.get(p["order"])
        if p["status"] == "SUCCEEDED" and not p["refund_asked"] and (
                o is None or o["status"] not in PAIDISH or o["payment"] != pid):
            b.later("violation", "payment %d SUCCEEDED and kept, but order %d is %s (payment_id %r): a late"
                  " payment must be refunded" % (pid, p["order"], o and o["status"], o and o["payment"]),
                  order=p["order"])
        if p["status"] == "PROCESSING" and o is not None and o["status"] in PAIDISH:
            b.add("violation", "order %d %s while its payment %d is PROCESSING" % (p["order"], o["status"], pid),
                  order=p["order"])

    # ---- every change wrote its event, once (nothing half-written)
    evs = {}
    for s, rows in boxes.items():
        for i, ev, typ, unsent, _, agg in rows:
            evs.setdefault((typ, agg), []).append(i)
    orphan_order = {oid for (typ, oid) in evs if typ == "order.payment_orphaned"}
    for oid, o in orders.items():
        want = set(ORDER_EVENTS.get(o["status"], ()))
        for typ in ("order.placed", "order.paid", "order.cancelled", "order.expired", "order.refunded",
                    "order.shipped", "order.delivered"):
            n = len(evs.get((typ, oid), []))
            w = 1 if typ in want else 0
            if n > w:
                b.add("duplicate", "order %d (%s): %d %s events" % (oid, o["status"], n, typ), order=oid)
            elif n < w:
                b.later("lost", "order %d (%s) has no %s event (half-written)" % (oid, o["status"], typ), order=oid)
    for pid, p in pays.items():
        want = set(PAYMENT_EVENTS.get(p["status"], ()))
        if p["status"] == "SUCCEEDED" and p["refund_asked"]:
            want.add("refund.requested")
        for typ in ("payment.requested", "payment.succeeded", "payment.failed", "refund.requested",
                    "payment.refunded"):
            n = len(evs.get((typ, pid), []))
            w = 1 if typ in want else 0
            if n > w:
                b.add("duplicate", "payment %d (%s): %d %s events" % (pid, p["status"], n, typ), order=p["order"])
            elif n < w:
                b.later("lost", "payment %d (%s) has no %s event (half-written)" % (pid, p["status"], typ),
                        order=p["order"])
    for oid in orphan_order:
        if len(evs[("order.payment_orphaned", oid)]) > len([1 for pid, p in pays.items() if p["order"] == oid
                                                           and p["status"] in ("SUCCEEDED", "REFUNDED")]):
            b.add("duplicate", "order %d: %d order.payment_orphaned events for its late payments"
                  % (oid, len(evs[("order.payment_orphaned", oid)])), order=oid)

    # ---- ledger
    ids = ",".join(str(p) for p in sorted(ours)) or "0"
    rows = sql("SELECT product_id, kind, ref, delta_on_hand, delta_reserved, reason FROM shop_catalog.stock_ledger"
               " WHERE product_id IN (%s)" % ids)
    per = {}          # (ref, product) -> {kind: [(d_on_hand, d_reserved)]}
    adj_rows = {}     # tag -> [(pid, delta)]
    led_sum = {p: [0, 0] for p in ours}
    initial = {p: [] for p in ours}
    for pid, kind, ref, dh, dr, reason in rows:
        pid, dh, dr = int(pid), int(dh), int(dr)
        led_sum[pid][0] += dh
        led_sum[pid][1] += dr
        if kind == "INITIAL":
            initial[pid].append(dh)
        elif kind == "ADJUST":
            m = re.match(r"^fault (\S+)$", reason or "")
            adj_rows.setdefault(m.group(1) if m else "(other) " + str(reason), []).append((pid, dh))
        else:
            per.setdefault((ref, pid), {}).setdefault(kind, []).append((dh, dr))
    settled = {p: 0 for p in ours}
    restocked = {p: 0 for p in ours}
    held = {p: 0 for p in ours}
    for oid, o in orders.items():
        st = o["status"]
        for pid, q in o["lines"].items():
            if pid not in ours:
                continue
            e = per.pop(("order:%d" % oid, pid), {})
            r = per.pop(("refund:%d" % oid, pid), {})
            want = {"RESERVE": [(0, q)]}
            if st in PAIDISH or st == "REFUNDED":
                want["SETTLE"] = [(-q, -q)]
                settled[pid] += q
            if st in ("CANCELLED", "EXPIRED"):
                want["RELEASE"] = [(0, -q)]
            if st == "PENDING_PAYMENT":
                held[pid] += q
            rwant = {}
            if st == "REFUNDED" and restock.get(oid):
                rwant["RESTOCK"] = [(q, 0)]
                restocked[pid] += q
            for got, exp, ref in ((e, want, "order:%d" % oid), (r, rwant, "refund:%d" % oid)):
                for kind in set(got) | set(exp):
                    g, w = got.get(kind, []), exp.get(kind, [])
                    if len(g) > len(w):
                        b.add("duplicate", "ledger of product %d: %d %s rows for %s (order %s), want %d: %r"
                              % (pid, len(g), kind, ref, st, len(w), g), order=oid)
                    elif len(g) < len(w):
                        b.later("lost", "ledger of product %d: no %s for %s (order %s)" % (pid, kind, ref, st),
                              order=oid)
                    elif g != w:
                        b.add("violation", "ledger of product %d: %s for %s is %r, want %r" % (pid, kind, ref, g, w),
                              order=oid)
    for (ref, pid), kinds in per.items():
        b.add("violation", "ledger of product %d: rows %r for %s, which no order explains" % (pid, kinds, ref))
    adjusted = {p: 0 for p in ours}
    for tag, rs in adj_rows.items():
        for pid, dh in rs:
            adjusted[pid] += dh
        a = led.adjust.get(tag)
        if a is None:
            b.add("violation", "ADJUST rows %r (%s) that no client made" % (rs, tag))
        elif len(rs) > 1:
            b.add("duplicate", "adjustment %s applied %d times: %r" % (tag, len(rs), rs))
        elif a["outcome"] == "none":
            b.add("violation", "adjustment %s was answered %s (no effect) but is in the ledger: %r"
                  % (tag, a["status"], rs))
        elif rs[0] != (a["pid"], a["delta"]):
            b.add("violation", "adjustment %s: ledger %r, asked %r" % (tag, rs[0], (a["pid"], a["delta"])))
    for tag, a in list(led.adjust.items()):
        if a["outcome"] == "applied" and tag not in adj_rows:
            b.add("lost", "adjustment %s of product %d was answered 200 but is not in the ledger" % (tag, a["pid"]))

    # ---- stock
    for pid, oh, rs in _ints(sql("SELECT product_id, on_hand, reserved FROM shop_catalog.stock"
                                 " WHERE product_id IN (%s)" % ids)):
        init = ctx.products[pid]
        if initial[pid] != [init]:
            b.add("violation", "product %d: INITIAL rows %r, created with %d" % (pid, initial[pid], init))
        want = init + adjusted[pid] - settled[pid] + restocked[pid]
        if oh != want:
            b.later("violation", "product %d: on_hand %d, want initial %d + adjustments %d - settled %d"
                  " + restocked %d = %d" % (pid, oh, init, adjusted[pid], settled[pid], restocked[pid], want))
        if rs != held[pid]:
            b.later("violation", "product %d: reserved %d, PENDING_PAYMENT orders hold %d" % (pid, rs, held[pid]))
        if not 0 <= rs <= oh:
            b.add("violation", "product %d: reserved %d, on_hand %d" % (pid, rs, oh))
        if led_sum[pid] != [oh, rs]:
            b.add("violation", "product %d: the ledger sums to %r, the stock is %r" % (pid, led_sum[pid], [oh, rs]))
    n = int(sql("SELECT COUNT(*) FROM shop_catalog.stock WHERE reserved < 0 OR on_hand < reserved")[0][0])
    if n:
        b.add("violation", "%d stock rows anywhere with reserved < 0 or on_hand < reserved" % n)

    # ---- shipments
    ships = {r[0] for r in _ints(sql("SELECT order_id FROM shop_shipping.shipments"))}
    for oid, o in orders.items():
        was_paid = o["status"] in PAIDISH or o["status"] == "REFUNDED"
        if was_paid and oid not in ships:
            b.later("lost", "order %d is %s without a shipment" % (oid, o["status"]), order=oid)
        if not was_paid and oid in ships:
            b.add("violation", "order %d is %s but has a shipment" % (oid, o["status"]), order=oid)

    # ---- notifications and mail
    notes = {}
    for nid, ev, kind, st, mid in sql("SELECT id, event_id, kind, status, message_id FROM shop_notify.notifications"):
        notes[ev] = (int(nid), kind, st, mid)
        if st != "SENT":
            b.later("lost", "notification %s (%s, event %s) is %s" % (nid, kind, ev, st))
    for ev in done["notify-worker"]:
        if ev not in notes:
            b.add("lost", "the notify worker handled event %s but wrote no notification" % ev)
    mids = ctx.mailbox.scan()
    copies = {}
    for num, mid in mids.items():
        copies.setdefault(mid, []).append(num)
    sent = {v[3]: (ev, v[0], v[1]) for ev, v in notes.items() if v[2] == "SENT"}
    for mid, (ev, nid, kind) in sent.items():
        got = copies.get(mid, [])
        if not got:
            b.later("lost", "notification %d (%s) is SENT but the sink has no message %s" % (nid, kind, mid))
    for mid, nums in copies.items():
        if mid not in sent:
            b.add("violation", "messages %r carry Message-ID %r, which no SENT notification has" % (nums, mid),
                  mail=min(nums))
        elif len(nums) > 1:
            extra = sorted(nums)[1:]
            for num in extra:
                why = ctx.mail_explained(num, min(nums))
                what = "message %d: a second copy of notification %d (%s, Message-ID %s; first %d)" % (
                    num, sent[mid][1], sent[mid][2], mid, min(nums))
                if why:
                    b.explained.append(Problem("duplicate", what + ": " + why, mail=num))
                else:
                    b.add("duplicate", what, mail=num)
    if len(b.explained) > ctx.notify_kills():
        b.add("violation", "%d mails sent twice, more than the %d notify worker kills explain: %r"
              % (len(b.explained), ctx.notify_kills(), b.explained))

    # ---- dead letters (exact: the messages themselves), and at the end the queues
    for q, msgs in dead_letters().items():
        for m in msgs:
            props = m.get("properties") or {}
            hd = props.get("headers") or {}
            b.add("violation", "dead-lettered in %s: %s %s (%s)" % (
                q, hd.get("event_type"), props.get("message_id"), str(m.get("payload"))[:160]))
    if final:
        left = queue_depths()
        if left:
            b.later("lost", "messages left in queues: %r" % left)

    b.figures.update({"orders": len(orders), "payments": len(pays), "notifications": len(notes),
                      "mails": len(mids), "ships": len(ships)})
    return b


def _queues():
    st, qs = mgmt("GET", "/api/queues/%s?columns=name,messages,messages_ready,messages_unacknowledged,"
                  "message_stats" % urllib.parse.quote(vhost(), safe=""))
    if st != 200 or not isinstance(qs, list):
        raise RuntimeError("GET /api/queues: HTTP %s %r" % (st, qs))
    return qs


def queue_depths():
    """{queue: messages} of every queue that is not empty (shop.unrouted
    included), by the management API's sampled figures."""
    return {q["name"]: q.get("messages") for q in _queues() if q.get("messages")}


def redeliveries():
    """{queue: redeliver count so far} (the management API's message stats)."""
    out = {}
    for q in _queues():
        ms = q.get("message_stats") or {}
        if ms.get("redeliver"):
            out[q["name"]] = ms["redeliver"]
    return out


def dead_letters():
    """{dlq: [message]} of every .dlq queue that holds messages, read with
    the management API's get (requeued: they stay for an operator)."""
    out = {}
    for q in _queues():
        name = q["name"]
        if not name.endswith(".dlq"):
            continue
        st, msgs = mgmt("POST", "/api/queues/%s/%s/get" % (urllib.parse.quote(vhost(), safe=""),
                                                           urllib.parse.quote(name, safe="")),
                        {"count": 200, "ackmode": "ack_requeue_true", "encoding": "auto"})
        if st == 200 and isinstance(msgs, list) and msgs:
            out[name] = msgs
    return out
