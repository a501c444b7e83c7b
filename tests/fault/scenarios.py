"""The fault scenarios. Each runs real load (load.Load: customers placing
and paying orders, a seller adjusting stock, probes through every pool)
against the stack, injects its fault, restarts what it killed the way the
harness does (`./shop up` starts whatever is missing), waits for the shop to
go quiet and checks the books (books.check).

  rabbitmq    RabbitMQ SIGKILLed mid-load, down a while, started again:
              nothing lost (the outboxes catch up), no request fails, the
              workers reconnect by themselves (same pids)
  workers     the workers SIGKILLed mid-load in waves (the first one stalled
              by SIGSTOP for a moment before, so that the broker has handed
              them messages and a handler may be frozen anywhere, even
              between its commit and its ack); ./shop up starts them again:
              redelivered (counted), applied once, no request fails
  pools       pool workers SIGKILLed under load (all of three pools, then one
              of each): only requests in flight fail, the master's
              replacement serves within 1 s; every pool worker SIGTERMed
              (the master replaces them) during a burst of reads: no request
              fails; a pool master SIGTERMed (a graceful stop) during a
              burst: no request that reached it fails (nginx's access log
              tells which did), and ./shop up brings it back
  mariadb     MariaDB stopped (SIGTERM) under load, down a while, started by
              ./shop up: requests meanwhile get 503 in the envelope and have no
              effect, nothing half-written, apps and workers reconnect by
              themselves (same pids; time to the first 2xx per pool)
  webhooks    payment webhooks delivered twice (also concurrently), out of
              order (a refund before its charge, failed and succeeded
              racing), late (after the order expired: refunded by itself;
              replayed after that; a stale signature): the right outcome
"""

import json
import os
import random
import threading
import time
import traceback

import books
import stackctl as sc
from flowlib import signature, sql
from load import API, Customer, Ledger, Load, Recorder, call, now, register, when
from shopclient import fx, new_product, uniq

RESPAWN_BOUND = 1.0       # s: a pool worker's replacement serves (the work item)
NOTICE = 0.02            # s: nginx sees the connections of a killed pool worker close
RECONNECT_BOUND = 3.0     # s: after MariaDB answers again, every pool answers 2xx
QUIET_DEADLINE = 60.0     # s: the shop settles after the load (payment retries back off up to 30 s)


class Opts:
    def __init__(self, orders=120, rounds=1, short=True, customers=8, rabbit_down=2.0, db_down=3.0,
                 webhook_k=8, only=None, rate=15.0, lead=2.0):
        self.orders = orders
        self.rate = rate            # orders a second
        self.lead = lead            # seconds of load before a fault
        self.rounds = rounds
        self.short = short
        self.customers = customers
        self.rabbit_down = rabbit_down
        self.db_down = db_down
        self.webhook_k = webhook_k
        self.only = only


class Result:
    def __init__(self, name):
        self.name = name
        self.requests = 0
        self.orders = 0
        self.failures = []      # what failed: requests and checks
        self.allowed = {}       # label -> count of 5xx the scenario's fault explains
        self.lost = 0
        self.dups = 0
        self.explained = 0
        self.problems = []      # the books' new problems (strings)
        self.notes = []
        self.secs = 0.0

    def fail(self, msg):
        self.failures.append(msg)

    def note(self, msg):
        self.notes.append(msg)

    @property
    def held(self):
        return not self.failures and not self.problems


class Ctx:
    """What the scenarios share: the customers, the products, what the
    clients were told, the SMTP sink, and the problems already reported."""

    def __init__(self, opts):
        self.opts = opts
        self.ledger = Ledger()
        self.customers = []
        self.products = {}      # product id -> initial stock
        self.plenty = []
        self.scarce = []
        self.mailbox = books.Mailbox(os.environ.get("SHOP_SMTP_DIR", ""))
        self.kill_marks = []    # the sink's last message number at each notify worker kill
        self.reported = set()
        self.seller = self.admin = None
        self.probe_order = self.probe_payment = None

    def user_ids(self):
        return {c.id for c in self.customers}

    def notify_kills(self):
        return len(self.kill_marks)

    def mail_explained(self, num, first):
        """Why message num, a second copy of message first, may exist: the
        notify worker was killed after the first copy reached the sink and
        before this one (docs/events.md: the one mail in flight at a kill may
        go again). The sink's last message is read just before the kill, so
        a first copy one or two messages later may still be the one in flight."""
        for mark in sorted(self.kill_marks, reverse=True):
            if first <= mark + 2 and num > mark:
                return "the notify worker was SIGKILLed when the sink's last message was %d" % mark
        return None

    def setup(self):
        """The seller and the admin logged in, the products (10 with plenty
        of stock, 2 with little), the customers, and the paid order the
        probes read. Returns the books before any fault."""
        rec = Recorder()
        d = fx.demo_logins()
        self.seller = Customer(d["seller"]["email"], d["seller"]["password"])
        self.admin = Customer(d["admin"]["email"], d["admin"]["password"])
        for u in (self.seller, self.admin):
            if not u.login(rec):
                raise RuntimeError("cannot log in %s" % u.email)
        for stock, lst in [(1000000, self.plenty)] * 10 + [(40, self.scarce)] * 2:
            p = new_product(owner=fx.seller, initial_stock=stock, price_cents=random.randint(150, 9900),
                            name="Fault item " + uniq("p")[-6:])
            self.products[p["id"]] = stock
            lst.append(p["id"])
        out = [None] * self.opts.customers

        def reg(i):
            out[i] = register(rec, "c%d" % i)
        ths = [threading.Thread(target=reg, args=(i,)) for i in range(self.opts.customers)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        if any(c is None for c in out):
            raise RuntimeError("registering the customers failed")
        self.customers = out
        # the order the probes read (its payment and, once paid, its shipment)
        ld = Load(self, "setup", 0)
        oid = ld._place(self.customers[0], random.Random(1))
        pid = ld._pay(self.customers[0], oid, "pm_card_ok", "pay") if oid else None
        if not isinstance(pid, int):
            raise RuntimeError("the probe order could not be placed and paid: %r" % rec.all()[-3:])
        self.probe_order, self.probe_payment = oid, pid
        deadline = now() + 30
        while now() < deadline:
            r = call(rec, "order.get", "GET", API + "/orders/%d" % oid, token=self.customers[0].token)
            if r is not None and r.status == 200 and (r.data or {}).get("order", {}).get("status") == "PAID":
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("the probe order %d did not become PAID" % oid)
        b = quiet(self, 30)[0]
        for p in b.problems:
            self.reported.add(p.what)
        return b


def quiet(ctx, deadline=QUIET_DEADLINE, final=False):
    """Checks the books until nothing is pending but what an earlier
    scenario already reported (or the deadline passes). Returns (books,
    seconds, settled); books.waiting: what was still pending."""
    t0 = now()
    while True:
        b = books.check(ctx, final=final)
        b.waiting = [p for p in b.pending if p not in ctx.reported]
        if not b.waiting:
            return b, now() - t0, True
        if now() - t0 >= deadline:
            return b, now() - t0, False
        time.sleep(0.5 if not final else 1.0)


# ---------------------------------------------------------------- judging requests

def expected_4xx(r):
    """The 4xx answers the load expects (anything else is a failure)."""
    c = r.codes
    if r.kind == "order.cancel+retry" and r.status == 409 and "ILLEGAL_TRANSITION" in c:
        return True          # the first attempt, whose answer was lost, cancelled it
    if r.status == 409 and r.kind.split("+")[0] in ("order.place", "pay", "pay.repay") \
            and "IDEMPOTENCY_CONFLICT" in c:
        return True
    if r.kind.split("+")[0] == "order.place" and r.status == 409 and "OUT_OF_STOCK" in c:
        return True
    if r.status == 401 and "TOKEN_EXPIRED" in c:
        return True
    if r.kind.split("+")[0] == "register" and r.status == 409:
        return True          # a retry after an unknown outcome (register does not go through _op)
    if r.kind == "webhook.stale" and r.status == 400 and "INVALID_SIGNATURE" in c:
        return True
    return False


# A whole pool's graceful stop: its drain lasts 8 s at most (lib/pool.c).
STOP_RACE = 9.0


def judge(res, reqs, allow=lambda r: None):
    """Counts reqs into res: every answer that is not the envelope, every
    unanswered request and 5xx that allow() does not explain (it returns a
    label for those it does), every unexpected 4xx, is a failure."""
    res.requests += len(reqs)
    bad = []
    for r in reqs:
        if r.ok():
            continue
        if r.status is not None and r.problem:
            bad.append("%r: %s" % (r, r.problem))
            continue
        if r.status is None or r.status >= 500:
            lab = allow(r)
            if lab:
                res.allowed[lab] = res.allowed.get(lab, 0) + 1
            else:
                bad.append("%r %s" % (r, r.codes))
            continue
        if r.status >= 300 and not expected_4xx(r):
            bad.append("unexpected answer %r %s" % (r, r.codes))
    for m in bad[:25]:
        res.fail(m)
    if len(bad) > 25:
        res.fail("... and %d more failed requests" % (len(bad) - 25))
    res.failed_requests = len(bad)
    return bad


def by_status(reqs, t_from, t_to):
    out = {}
    for r in reqs:
        if r.t1 >= t_from and r.t0 <= t_to:
            k = str(r.status) if r.status is not None else "none"
            out[k] = out.get(k, 0) + 1
    return out


def first_2xx(reqs, app, t_from):
    """Seconds from t_from to the end of the first 2xx answer of app's pool
    to a request sent at or after t_from (auth: any protected request)."""
    ts = [r.t1 for r in reqs if r.t0 >= t_from and r.ok()
          and (r.app == app or (app == "auth" and r.kind not in ("login", "register", "webhook")))]
    return min(ts) - t_from if ts else None


# ---------------------------------------------------------------- the scenarios

class Scenario:
    name = "?"
    title = "?"

    def __init__(self, ctx, round_no=1):
        self.ctx = ctx
        self.round = round_no
        self.label = self.name if ctx.opts.rounds == 1 else "%s#%d" % (self.name, round_no)

    def run(self):
        res = Result(self.label)
        ctx = self.ctx
        t0 = now()
        nanom = len(ctx.ledger.anomalies)
        reqs = []
        try:
            reqs = self.body(res) or []
        except Exception:   # noqa: BLE001 - reported as the scenario's failure
            res.fail("the scenario failed: " + traceback.format_exc().rstrip())
        b, secs, settled = quiet(ctx)
        res.note("quiet %.1f s after the load" % secs)
        if not settled:
            res.fail("not quiet after %.0f s: %s" % (secs, "; ".join(b.waiting[:8])))
        try:
            self.after(res, b, reqs)
        except Exception:   # noqa: BLE001
            res.fail("checking the outcome failed: " + traceback.format_exc().rstrip())
        for p in b.problems:
            if p.what in ctx.reported:
                continue
            ctx.reported.add(p.what)
            res.problems.append("%s: %s" % (p.kind, p.what))
            if p.kind == "lost":
                res.lost += 1
            elif p.kind == "duplicate":
                res.dups += 1
        for p in b.explained:
            if p.what not in ctx.reported:
                ctx.reported.add(p.what)
                res.explained += 1
                res.notes.append("duplicate explained: " + p.what)
        for a in ctx.ledger.anomalies[nanom:]:
            res.fail("a client saw: " + a)
        res.secs = now() - t0
        return res

    def body(self, res):
        raise NotImplementedError

    def after(self, res, b, reqs):
        pass

    def orders(self):
        return self.ctx.opts.orders

    def load(self, orders=None, **kw):
        return Load(self.ctx, self.label, self.orders() if orders is None else orders, rate=self.ctx.opts.rate,
                    **kw).start()


class RabbitKill(Scenario):
    name = "rabbitmq"
    title = "RabbitMQ SIGKILL mid-load, restarted"

    def body(self, res):
        ld = self.load()
        time.sleep(self.ctx.opts.lead)
        before = sc.stack_pids()
        pid = sc.pid_of("rabbitmq")
        if pid is None:
            raise RuntimeError("RabbitMQ of the stack does not run")
        waiting = int(sql("SELECT COUNT(*) FROM shop_payments.payments WHERE status = 'PROCESSING'")[0][0])
        t_kill = now()
        sc.signal_pid(pid, sc.SIGKILL)
        if not sc.wait_gone(pid, 10):
            res.fail("RabbitMQ (pid %d) still lives 10 s after SIGKILL" % pid)
        time.sleep(self.ctx.opts.rabbit_down)
        backlog = sum(int(sql("SELECT COUNT(*) FROM %s.outbox WHERE sent_at IS NULL" % s)[0][0])
                      for s in books.OUTBOXES)
        rc, out, secs = sc.shop("up")
        t_up = now()
        if rc != 0:
            res.fail("./shop up failed (%d): %s" % (rc, out[-1500:]))
        res.note("RabbitMQ SIGKILLed at %s with %d payments awaiting the provider (pm_card_slow ones wait in"
                 " payments.requests.retry); down %.1f s (%d events waiting in the outboxes), ./shop up %.1f s"
                 % (when(t_kill), waiting, t_up - t_kill, backlog, secs))
        if backlog == 0:
            res.fail("no event waited in an outbox during the outage: the load was too light to show the catch-up")
        after = sc.stack_pids()
        moved = {k: (before.get(k), after.get(k)) for k in set(before) | set(after) if before.get(k) != after.get(k)}
        if moved:
            res.fail("./shop up restarted or lost %r (pools and workers must reconnect by themselves)" % moved)
        time.sleep(self.ctx.opts.lead)
        ld.finish()
        res.orders = ld.placed
        return ld.rec.all()

    def after(self, res, b, reqs):
        judge(res, reqs)


class WorkerKill(Scenario):
    name = "workers"
    title = "workers SIGKILLed while handling messages"

    def waves(self):
        """[(workers, stall)]: stall > 0 stops them (SIGSTOP) that long
        first, so that the broker has delivered them messages (up to the
        prefetch) and a handler may be frozen anywhere, even between its
        commit and its ack, when the SIGKILL comes."""
        if self.ctx.opts.short:
            return [(["inventory", "order-worker", "shipping-worker", "notify-worker"], 0.4),
                    (["outbox-relay", "payment-sim", "payments-worker"], 0.0)]
        rng = random.Random(self.round)
        return [(rng.sample(sc.WORKERS, rng.randint(2, 5)), rng.choice((0.0, 0.4))) for _ in range(5)] + \
            [(list(sc.WORKERS), 0.4)]

    def body(self, res):
        try:
            self.redeliver0 = books.redeliveries()
        except Exception as e:   # noqa: BLE001
            self.redeliver0 = None
            res.note("reading the redelivery counts: %r" % e)
        ld = self.load()
        for names, stall in self.waves():
            time.sleep(self.ctx.opts.lead)
            pids = {w: sc.pid_of(w) for w in names}
            missing = [w for w, p in pids.items() if p is None]
            if missing:
                res.fail("workers not running before the kill: %r" % missing)
            before = sc.stack_pids()
            if stall:
                for w, p in pids.items():
                    if p:
                        sc.signal_pid(p, sc.SIGSTOP)
                time.sleep(stall)
            if "notify-worker" in names:
                self.ctx.kill_marks.append(self.ctx.mailbox.last())
            for w, p in pids.items():
                if p:
                    sc.signal_pid(p, sc.SIGKILL)
            for w, p in pids.items():
                if p and not sc.wait_gone(p, 5):
                    res.fail("%s (pid %d) still lives 5 s after SIGKILL" % (w, p))
            rc, out, secs = sc.shop("up")
            if rc != 0:
                res.fail("./shop up failed (%d): %s" % (rc, out[-1500:]))
            after = sc.stack_pids()
            for w in names:
                if after.get(w) is None or after.get(w) == pids.get(w):
                    res.fail("%s after ./shop up: pid %r (was %r)" % (w, after.get(w), pids.get(w)))
            others = {k: (before.get(k), after.get(k)) for k in set(before) | set(after)
                      if k not in names and before.get(k) != after.get(k)}
            if others:
                res.fail("./shop up also restarted %r" % others)
            res.note("%sSIGKILL %s at %d orders; ./shop up %.1f s" % (
                "SIGSTOP %.1f s, then " % stall if stall else "", ",".join(names), ld.placed, secs))
        time.sleep(self.ctx.opts.lead)
        ld.finish()
        res.orders = ld.placed
        return ld.rec.all()

    def after(self, res, b, reqs):
        judge(res, reqs)
        if self.redeliver0 is None:
            return
        # evidence that messages were in hand at the kills (the figures lag 5-10 s)
        deadline = now() + 12
        delta = {}
        while now() < deadline:
            cur = books.redeliveries()
            delta = {q: v - self.redeliver0.get(q, 0) for q, v in cur.items() if v - self.redeliver0.get(q, 0) > 0}
            if delta:
                break
            time.sleep(1)
        if delta:
            res.note("redelivered after the kills (messages in hand): %s" % ", ".join(
                "%s %d" % kv for kv in sorted(delta.items())))
        else:
            res.fail("no redelivery counted within 12 s: no message was in hand at the kills, the scenario"
                     " proved nothing")


class PoolKill(Scenario):
    name = "pools"
    title = "pool workers SIGKILLed and SIGTERMed, a pool stopped, under load"

    def _watch(self, master, killed, procs, out, key):
        """Records when master has procs live children none of which was killed."""
        deadline = now() + 10
        while now() < deadline:
            kids = [k for k in sc.children(master) if k not in killed]
            if len(kids) >= procs:
                out[key] = now()
                return
            time.sleep(0.002)

    def _kill_children(self, res, pools, which, sig):
        """Signals the children of each pool (all, or one). Returns (time
        of the signal, time the last of them was gone, {pool: seconds until
        its master had its full count of workers again})."""
        targets = {}
        for p in pools:
            m = sc.pid_of(p)
            if m is None:
                res.fail("pool %s does not run" % p)
                continue
            kids = sc.children(m)
            if not kids:
                res.fail("pool %s (master %d) has no workers" % (p, m))
                continue
            targets[p] = (m, kids if which == "all" else kids[:1], len(kids))
        seen = {}
        ths = []
        t = now()
        for p, (m, ks, n) in targets.items():
            for k in ks:
                sc.signal_pid(k, sig)
        for p, (m, ks, n) in targets.items():
            th = threading.Thread(target=self._watch, args=(m, set(ks), n, seen, p))
            th.start()
            ths.append(th)
        for p, (m, ks, n) in targets.items():
            for k in ks:
                sc.wait_gone(k, 15)
        t_dead = now()
        for th in ths:
            th.join()
        return t, t_dead, {p: (seen[p] - t if p in seen else None) for p in targets}

    def _burst(self, ld, secs=0.5, threads=24):
        """Starts threads that read order lists (through auth and the
        orders pool) as fast as they can for secs: requests in hand and in
        the socket's backlog when a signal comes. Returns a joiner."""
        end = now() + secs
        cs = self.ctx.customers

        def run(i):
            c = cs[i % len(cs)]
            while now() < end:
                call(ld.rec, "order.list", "GET", API + "/orders?limit=100", token=c.token)
        ths = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
        for th in ths:
            th.start()

        def join():
            for th in ths:
                th.join()
        return join

    def body(self, res):
        ld = self.load(probe_every=0.02)
        self.kills = []     # (time, pools)
        self.back = {}      # (kill index, pool) → s from the kill to the pool's first 2xx
        self.terms = []
        self.stops = []     # (sigterm time, back time, pool)
        time.sleep(self.ctx.opts.lead)
        rounds = 1 if self.ctx.opts.short else 3
        for _ in range(rounds):
            # every worker of three pools: nothing serves them until the master's replacements
            t, dead, resp = self._kill_children(res, ["orders", "payments", "auth"], "all", sc.SIGKILL)
            self.kills.append((t, dead, ["orders", "payments", "auth"], resp))
            time.sleep(1.5)    # the replacements are past the pool's "died young" back-off
            t, dead, resp = self._kill_children(res, sc.POOLS, "one", sc.SIGKILL)
            self.kills.append((t, dead, list(sc.POOLS), resp))
            time.sleep(1.5)
            join = self._burst(ld)
            time.sleep(0.2)
            t, _, resp = self._kill_children(res, sc.POOLS, "all", sc.SIGTERM)
            self.terms.append((t, resp))
            join()
            time.sleep(1.5)
            # a graceful stop of a whole pool (its master), then ./shop up starts it again
            m = sc.pid_of("orders")
            join = self._burst(ld)
            time.sleep(0.2)
            t = now()
            sc.signal_pid(m, sc.SIGTERM)
            if not sc.wait_gone(m, 25):
                res.fail("the orders pool master %d did not stop within 25 s of SIGTERM" % m)
            t_gone = now()
            join()
            rc, out, secs = sc.shop("up")
            if rc != 0:
                res.fail("./shop up failed (%d): %s" % (rc, out[-1500:]))
            self.stops.append((t, now(), "orders", t_gone - t))
            time.sleep(1.5)
        ld.finish()
        res.orders = ld.placed
        return ld.rec.all()

    def allow(self, r):
        for i, (t, dead, pools, _) in enumerate(self.kills):
            # between kill() and the end of the process, and the few ms nginx
            # takes to see its connections close, a request may still reach it
            if r.t0 <= dead + NOTICE and r.t1 >= t:
                return "in flight at a SIGKILL"
            # nginx drops a kept connection to a killed worker when its event
            # loop sees it close, which a busy nginx (the sanitizer build) may
            # see later than NOTICE: a request sent on one fails at once with
            # 502 and reaches nobody (the books check that it did nothing).
            # Only until the pool has answered again.
            back = self.back.get((i, r.app))
            if r.status == 502 and back is not None and t <= r.t0 and r.t1 <= t + back:
                return "502 on a kept connection to a killed worker, before the pool answered again"
        for t, back, pool, _ in self.stops:
            if r.app == pool and r.status == 502 and (t <= r.t0 <= back or (
                    t - 1.0 <= r.t0 and r.t1 >= t and not self.reached.get(r.rid))):
                return "502 while the %s pool was stopped (sent after its SIGTERM or reached it after)" % pool
            # A whole pool stopping under load closes its kept connections
            # at the end of its drain (lib/pool.c) while nginx may be
            # sending on one: such a request fails. Counted apart (the
            # notes give the number); a worker process's graceful stop must
            # fail none (judged above, the pool lives on).
            if r.app == pool and r.status == 502 and t <= r.t1 and r.t0 <= t + STOP_RACE:
                return "502 on a connection the stopping %s pool closed" % pool
        return None

    def after(self, res, b, reqs):
        # Whether nginx handed a request to the stopped pool: its access log
        # names every upstream attempt; a 502 with one attempt that took no
        # time is a connect() to a socket that was gone, one with a second
        # attempt (or time spent) was on a connection of the pool.
        want = {r.rid for r in reqs if r.status == 502 and r.rid}
        self.reached = {}
        for rid, addrs, times in access_log(want):
            self.reached[rid] = len(addrs) > 1 or any(x not in ("0.000", "-", "") for x in times)
        self.back = {(i, p): first_2xx(reqs, p, t)
                     for i, (t, _, pools, _) in enumerate(self.kills) for p in pools}
        judge(res, reqs, self.allow)
        for t, dead, pools, resp in self.kills:
            kind = "all workers of " + ",".join(pools) if len(pools) < len(sc.POOLS) else "one worker of every pool"
            firsts = {p: first_2xx(reqs, p, t) for p in pools}
            slow = {p: v for p, v in resp.items() if v is None or v > RESPAWN_BOUND}
            if slow:
                res.fail("SIGKILL %s: the master had not replaced them within %.1f s: %r" % (kind, RESPAWN_BOUND, slow))
            late = {p: v for p, v in firsts.items() if v is None or v > RESPAWN_BOUND}
            if late:
                res.fail("SIGKILL %s: first 2xx of a request sent after the kill later than %.1f s: %r"
                         % (kind, RESPAWN_BOUND, late))
            res.note("SIGKILL %s at %s (gone %d ms later): respawned in %s ms; first 2xx after %s ms; in flight"
                     " %d" % (kind, when(t), (dead - t) * 1000, _ms(resp), _ms(firsts),
                              sum(1 for r in reqs if r.t0 <= dead + NOTICE and r.t1 >= t)))
        for t, resp in self.terms:
            inflight = [r for r in reqs if r.t0 <= t <= r.t1]
            bad = [r for r in reqs if r.t1 >= t and r.t0 <= t + 1.2 and not r.ok() and (
                r.status is None or r.status >= 500)]
            res.note("SIGTERM every pool worker at %s: respawned in %s ms; %d requests in flight, %d failed from"
                     " then to 1.2 s later" % (when(t), _ms(resp), len(inflight), len(bad)))
            if not inflight:
                res.fail("SIGTERM every pool worker: no request was in flight, the check proves nothing")
        for t, back, pool, stop_secs in self.stops:
            inflight = [r for r in reqs if r.t0 < t <= r.t1 and r.app == pool]
            dropped = [r for r in inflight if not r.ok()]
            had = [r for r in dropped if self.reached.get(r.rid)]
            refused = [r for r in reqs if t <= r.t0 <= back and r.app == pool and not r.ok()]
            res.note("SIGTERM the %s pool master at %s: %d requests in flight (sent before it), stopped in %.2f s;"
                     " %d of them failed: %d on a connection of the pool, %d reached it after it stopped; %d requests"
                     " sent later refused (502) until ./shop up started it again %.1f s later" % (
                         pool, when(t), len(inflight), stop_secs, len(dropped), len(had), len(dropped) - len(had),
                         len(refused), back - t))
            if not inflight:
                res.fail("SIGTERM the %s pool master: no request was in flight, the check proves nothing" % pool)


def access_log(rids):
    """(request id, [upstream addresses], [upstream response times]) of the
    nginx access log lines whose request_id is in rids."""
    out = []
    path = os.path.join(os.environ.get("SHOP_LOG_DIR") or os.path.join(sc.VAR, "log"), "nginx-access.log")
    try:
        with open(path, "rb") as f:
            for line in f:
                if b'"fault-' not in line:
                    continue
                try:
                    e = json.loads(line.decode("utf-8", "replace"))
                except ValueError:
                    continue
                if e.get("request_id") in rids:
                    out.append((e["request_id"], [x.strip() for x in str(e.get("upstream_addr") or "").split(",")],
                                [x.strip() for x in str(e.get("upstream_response_time") or "").split(",")]))
    except OSError:
        pass
    return out


def _ms(d):
    return "{" + ", ".join("%s: %s" % (k, "-" if v is None else "%d" % (v * 1000))
                           for k, v in sorted(d.items())) + "}"


class MariadbStop(Scenario):
    name = "mariadb"
    title = "MariaDB stopped and restarted under load"

    def body(self, res):
        ld = self.load(probe_every=0.02)
        time.sleep(self.ctx.opts.lead)
        before = sc.stack_pids()
        pid = sc.pid_of("mariadb")
        if pid is None:
            raise RuntimeError("MariaDB of the stack does not run")
        sockpath = os.environ.get("SHOP_DB_SOCKET") or os.path.join(sc.VAR, "run", "mysqld.sock")
        self.t_stop = now()
        sc.signal_pid(pid, sc.SIGTERM)
        if not sc.wait_gone(pid, 60):
            res.fail("MariaDB (pid %d) did not stop within 60 s of SIGTERM" % pid)
        self.t_down = now()
        time.sleep(self.ctx.opts.db_down)
        ready = {}

        def poll():
            while not ready.get("stop"):
                if sc.socket_answers(sockpath):
                    ready["t"] = now()
                    return
                time.sleep(0.01)
        th = threading.Thread(target=poll)
        th.start()
        rc, out, secs = sc.shop("up")
        ready["stop"] = True
        th.join()
        if rc != 0:
            res.fail("./shop up failed (%d): %s" % (rc, out[-1500:]))
        self.t_ready = ready.get("t") or now()
        after = sc.stack_pids()
        moved = {k: (before.get(k), after.get(k)) for k in set(before) | set(after) if before.get(k) != after.get(k)}
        if moved:
            res.fail("./shop up restarted or lost %r (pools and workers must reconnect by themselves)" % moved)
        res.note("MariaDB stopped in %.1f s, down %.1f s, answering %.2f s after ./shop up began (%.1f s in all)"
                 % (self.t_down - self.t_stop, self.t_ready - self.t_down, self.t_ready - self.t_down
                    - self.ctx.opts.db_down, secs))
        time.sleep(self.ctx.opts.lead)
        ld.finish()
        res.orders = ld.placed
        return ld.rec.all()

    def allow(self, r):
        if r.status == 503 and r.t1 >= self.t_stop and r.t0 <= self.t_ready + RECONNECT_BOUND:
            return "503 while MariaDB was down"
        return None

    def after(self, res, b, reqs):
        judge(res, reqs, self.allow)
        res.note("answers while MariaDB was down (by status): %r" % by_status(reqs, self.t_stop, self.t_ready))
        n503 = res.allowed.get("503 while MariaDB was down", 0)
        if n503 == 0:
            res.fail("no request was answered 503 during the outage: the load did not reach the database")
        firsts = {p: first_2xx(reqs, p, self.t_ready) for p in
                  ("auth", "orders", "payments", "catalog", "identity", "cart", "shipping", "notify")}
        late = {p: v for p, v in firsts.items() if v is None or v > RECONNECT_BOUND}
        if late:
            res.fail("pools without a 2xx within %.1f s of MariaDB answering again: %r" % (RECONNECT_BOUND, late))
        res.note("first 2xx after MariaDB answered again, ms: %s" % _ms(firsts))
        # the workers: the first event each handled after the restart
        utc = time.time() - (now() - self.t_ready)
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(utc))
        got = {}
        for name, (db, consumer, _) in books.CONSUMERS.items():
            v = sql("SELECT TIMESTAMPDIFF(MICROSECOND, '%s', MIN(processed_at)) FROM %s.processed_events"
                    " WHERE consumer = '%s' AND processed_at >= '%s'" % (since, db, consumer, since))
            if v and v[0][0] not in (None, "NULL"):
                got[name] = int(v[0][0]) / 1e6
        res.note("first event handled after MariaDB answered again, s: {%s}" % ", ".join(
            "%s: %.2f" % kv for kv in sorted(got.items())))


class Webhooks(Scenario):
    name = "webhooks"
    title = "payment webhook twice, out of order, late"

    def _send(self, rec, kind, ev, t=None):
        body = json.dumps(ev, separators=(",", ":")).encode()
        return call(rec, kind, "POST", API + "/payments/webhook", body,
                    headers={"Shop-Signature": signature(body, t)})

    def _event(self, typ, pid, amount, cur, evid=None, ref=None):
        return {"id": evid or "evt_" + uniq("fw").replace("-", "_"), "type": typ, "created": int(time.time()),
                "data": {"payment_id": pid, "provider_ref": ref or "sim_" + uniq("r").replace("-", "_"),
                         "amount_cents": amount, "currency": cur}}

    def _order(self, ld, c, rng):
        oid = ld._place(c, rng)
        if oid is None:
            return None, None, None
        pid = ld._pay(c, oid, "pm_card_slow", "pay")
        if not isinstance(pid, int):
            return oid, None, None
        r = call(ld.rec, "pay.get", "GET", API + "/payments/%d" % pid, token=c.token)
        p = (r.data or {}).get("payment") if r is not None and r.status == 200 else None
        return oid, pid, p

    def _twice(self, ld, c, rng, out):
        oid, pid, p = self._order(ld, c, rng)
        if not p:
            return
        ev = self._event("payment.succeeded", pid, p["amount_cents"], p["currency"], "evt_%d_succeeded" % pid)
        other = self._event("payment.succeeded", pid, p["amount_cents"], p["currency"])
        got = [None, None, None]

        def send(i, e):
            got[i] = self._send(ld.rec, "webhook", e)
        ths = [threading.Thread(target=send, args=(0, ev)), threading.Thread(target=send, args=(1, ev)),
               threading.Thread(target=send, args=(2, other))]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        # the same event once more, and a stale signature (t 400 s ago): refused, nothing recorded
        got.append(self._send(ld.rec, "webhook", ev))
        stale = self._event("payment.succeeded", pid, p["amount_cents"], p["currency"])
        self._send(ld.rec, "webhook.stale", stale, t=int(time.time()) - 400)
        out.append(("twice", oid, pid, {"ids": [ev["id"], other["id"]], "stale": stale["id"],
                                        "answers": [r.status if r is not None else None for r in got]}))

    def _out_of_order(self, ld, c, rng, out, res):
        oid, pid, p = self._order(ld, c, rng)
        if not p:
            return
        amt, cur = p["amount_cents"], p["currency"]
        refund = self._event("refund.succeeded", pid, amt, cur)
        self._send(ld.rec, "webhook", refund)       # a refund before its charge
        fail = self._event("payment.failed", pid, amt, cur)
        ok = self._event("payment.succeeded", pid, amt, cur)
        evs = [fail, ok]
        rng.shuffle(evs)
        ths = [threading.Thread(target=self._send, args=(ld.rec, "webhook", e)) for e in evs]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        out.append(("ooo", oid, pid, {"refund": refund["id"], "failed": fail["id"], "succeeded": ok["id"]}))
        # declined first: the customer pays again (as the API allows) once the failure is known
        for _ in range(100):
            r = call(ld.rec, "pay.get", "GET", API + "/payments/%d" % pid, token=c.token)
            st = ((r.data or {}).get("payment") or {}).get("status") if r is not None and r.status == 200 else None
            if st == "FAILED":
                ld._repay(c, oid, pid)
                return
            if st == "SUCCEEDED":
                return
            time.sleep(0.1)
        res.fail("out of order: payment %d still %s 10 s after both outcomes were delivered" % (pid, st))

    def _late(self, ld, c, rng, out, res):
        oid, pid, p = self._order(ld, c, rng)
        if not p:
            return
        rows = sql("UPDATE shop_orders.orders SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND"
                   " WHERE id = %d AND status = 'PENDING_PAYMENT'; SELECT ROW_COUNT()" % oid)
        if rows != [["1"]]:
            res.fail("order %d: expiring it changed %r rows" % (oid, rows))
            return
        late = None
        for _ in range(100):
            r = call(ld.rec, "order.get", "GET", API + "/orders/%d" % oid, token=c.token)
            st = ((r.data or {}).get("order") or {}).get("status") if r is not None and r.status == 200 else None
            if st == "EXPIRED":
                r = call(ld.rec, "pay.get", "GET", API + "/payments/%d" % pid, token=c.token)
                pst = ((r.data or {}).get("payment") or {}).get("status") if r is not None else None
                late = pst == "PROCESSING"
                break
            if st != "PENDING_PAYMENT":
                break
            time.sleep(0.02)
        out.append(("late", oid, pid, {"late": late, "amount": p["amount_cents"], "currency": p["currency"]}))

    def body(self, res):
        k = self.ctx.opts.webhook_k
        bg = self.load(orders=self.orders() // 2)
        ld = Load(self.ctx, self.label, 0, probe_every=0, adjust_every=0, scarce=False)
        out = []
        jobs = [("twice", i) for i in range(k)] + [("ooo", i) for i in range(k)] + [("late", i) for i in range(k)]
        random.Random(self.round).shuffle(jobs)
        lock = threading.Lock()

        def worker(i):
            c = self.ctx.customers[i % len(self.ctx.customers)]
            rng = random.Random(1000 + i)
            while True:
                with lock:
                    if not jobs:
                        return
                    kind, _ = jobs.pop()
                if kind == "twice":
                    self._twice(ld, c, rng, out)
                elif kind == "ooo":
                    self._out_of_order(ld, c, rng, out, res)
                else:
                    self._late(ld, c, rng, out, res)
        ths = [threading.Thread(target=worker, args=(i,)) for i in range(len(self.ctx.customers))]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        self.out = out
        bg.finish()
        # once the late payments were refunded: their success again (a replay) and as a new event
        b, secs, settled = quiet(self.ctx)
        self.before_replay = self._state()
        for kind, oid, pid, info in out:
            if kind == "late":
                self._send(ld.rec, "webhook", self._event("payment.succeeded", pid, info["amount"], info["currency"],
                                                          "evt_%d_succeeded" % pid))
                self._send(ld.rec, "webhook", self._event("payment.succeeded", pid, info["amount"], info["currency"]))
        res.orders = bg.placed + len(out)
        return bg.rec.all() + ld.rec.all()

    def _state(self):
        ords = {int(i): s for i, s in sql("SELECT id, status FROM shop_orders.orders")}
        pays = {int(i): (s, int(o)) for i, s, o in sql("SELECT id, status, order_id FROM shop_payments.payments")}
        wh = {}
        for ev, typ, pid, result in sql("SELECT event_id, type, payment_id, result FROM shop_payments.webhook_events"):
            wh[ev] = (typ, int(pid) if pid is not None else None, result)
        return ords, pays, wh

    def after(self, res, b, reqs):
        judge(res, reqs)
        ords, pays, wh = self._state()
        counts = {"twice": 0, "ooo": 0, "late": 0}
        applied = {}
        for ev, (typ, pid, result) in wh.items():
            if result == "APPLIED":
                applied.setdefault((pid, typ), []).append(ev)
        for kind, oid, pid, info in self.out:
            counts[kind] += 1
            ost = ords.get(oid)
            pst = pays.get(pid, (None,))[0]
            if kind == "twice":
                ok = applied.get((pid, "payment.succeeded"), [])
                if len(ok) != 1:
                    res.fail("twice: payment %d: payment.succeeded applied %d times %r" % (pid, len(ok), ok))
                if pst != "SUCCEEDED" or ost != "PAID":
                    res.fail("twice: payment %d %s, order %d %s (want SUCCEEDED, PAID)" % (pid, pst, oid, ost))
                if [a for a in info["answers"] if a != 200]:
                    res.fail("twice: payment %d: the deliveries were answered %r (want 200 each)"
                             % (pid, info["answers"]))
                if info["stale"] in wh:
                    res.fail("twice: payment %d: the stale-signed event %s was recorded: %r"
                             % (pid, info["stale"], wh[info["stale"]]))
            elif kind == "ooo":
                rf = wh.get(info["refund"])
                if not rf or rf[2] == "APPLIED":
                    res.fail("out of order: the refund.succeeded before the charge of payment %d: %r" % (pid, rf))
                f, s = wh.get(info["failed"]), wh.get(info["succeeded"])
                res_f, res_s = f and f[2], s and s[2]
                if sorted([res_f, res_s]) != ["APPLIED", "NOT_PROCESSING"]:
                    res.fail("out of order: payment %d: failed %r, succeeded %r (want one APPLIED, the other"
                             " NOT_PROCESSING)" % (pid, res_f, res_s))
                want = "FAILED" if res_f == "APPLIED" else "SUCCEEDED"
                if pst != want:
                    res.fail("out of order: payment %d is %s, want %s (the event applied first)" % (pid, pst, want))
                if ost != "PAID":
                    res.fail("out of order: order %d is %s, want PAID (%s)" % (
                        oid, ost, "paid again after the failure" if want == "FAILED" else "by the success"))
            else:
                if info["late"] is not True:
                    res.fail("late: order %d expired %s its payment %d was answered (the test's own timing)"
                             % (oid, "after" if info["late"] is False else "never before", pid))
                    continue
                if ost != "EXPIRED" or pst != "REFUNDED":
                    res.fail("late: order %d %s, payment %d %s (want EXPIRED, REFUNDED)" % (oid, ost, pid, pst))
                for typ in ("payment.succeeded", "refund.succeeded"):
                    if len(applied.get((pid, typ), [])) != 1:
                        res.fail("late: payment %d: %s applied %r" % (pid, typ, applied.get((pid, typ))))
                o0 = self.before_replay[0].get(oid)
                p0 = self.before_replay[1].get(pid, (None,))[0]
                if (o0, p0) != (ost, pst):
                    res.fail("late: replaying the success after the refund changed order %d %s -> %s, payment"
                             " %d %s -> %s" % (oid, o0, ost, pid, p0, pst))
        res.note("webhook cases: twice %d, out of order %d, late %d" % (counts["twice"], counts["ooo"], counts["late"]))
        if min(counts.values()) == 0:
            res.fail("a webhook case never ran: %r" % counts)


ALL = [RabbitKill, WorkerKill, PoolKill, MariadbStop, Webhooks]
