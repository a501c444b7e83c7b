"""Real load for the fault scenarios: customers (threads) that place orders
and pay them, a seller who adjusts stock, and probes that read through every
pool, each request recorded with its times and answer.

A customer retries as a careful client does: after an answer whose outcome
is unknown (no answer, 502, 504) with the same Idempotency-Key and the same
bytes, so that the shop acts once; after a 503, whose contract is "the
request had no effect", with a new key, so that a 503 that did act shows up
as an order or payment nobody was told about (books.py counts those)."""

import http.client
import json
import random
import threading
import time

from shopclient import API, RUN_ID, envelope_problems, raw_request, uniq

TIMEOUT = 30          # seconds a request may take before it counts as unanswered
RETRY_FOR = 120       # seconds a customer keeps retrying one operation


def now():
    return time.monotonic()


T_REF = now()     # times in reports are seconds since the run began
WALL_REF = time.time()


def when(t):
    """A monotonic time as "+S.SSS s (HH:MM:SS.mmm UTC)", as the logs show it."""
    w = WALL_REF + (t - T_REF)
    return "+%.3f s (%s.%03d UTC)" % (t - T_REF, time.strftime("%H:%M:%S", time.gmtime(w)), int(w * 1000) % 1000)


# The pool behind each kind of request (nginx/locations/*.conf).
APP_OF = {"order.place": "orders", "order.get": "orders", "order.list": "orders", "order.cancel": "orders",
          "pay": "payments", "pay.repay": "payments", "pay.get": "payments",
          "webhook": "payments", "adjust": "catalog", "stock.get": "catalog",
          "me": "identity", "login": "identity", "register": "identity", "cart": "cart",
          "ship.get": "shipping", "notes": "notify"}


class Req:
    __slots__ = ("kind", "app", "t0", "t1", "status", "problem", "codes", "rid")

    def __init__(self, kind, t0, t1, status, problem, codes, rid=None):
        self.rid = rid              # the X-Request-Id it was sent with (nginx's access log has it)
        self.kind = kind            # "+retry": sent again after an answer that did not tell the outcome
        self.app = APP_OF.get(kind.split("+")[0], "?")
        self.t0 = t0
        self.t1 = t1
        self.status = status        # None: no answer
        self.problem = problem      # None, or why the answer is not the envelope / no answer
        self.codes = codes          # error codes of an ERROR envelope

    def ok(self):
        return self.status is not None and 200 <= self.status < 300 and not self.problem

    def __repr__(self):
        return "<%s %s sent %s, %d ms, HTTP %s%s, X-Request-Id %s>" % (
            self.kind, self.app, when(self.t0), (self.t1 - self.t0) * 1000, self.status,
            " " + self.problem if self.problem else "", self.rid)


class Recorder:
    """Every request of a scenario, in completion order."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reqs = []

    def add(self, r):
        with self.lock:
            self.reqs.append(r)

    def all(self):
        with self.lock:
            return list(self.reqs)


_rid = [0]
_rid_lock = threading.Lock()


def call(rec, kind, method, path, body=None, token=None, headers=None):
    """One request on a fresh connection, recorded, with an X-Request-Id of
    its own (nginx keeps it in the access log). Returns the Resp or None."""
    with _rid_lock:
        _rid[0] += 1
        rid = "fault-%s-%d" % (RUN_ID, _rid[0])
    hdrs = {"X-Request-Id": rid}
    if body is not None:
        hdrs["Content-Type"] = "application/json"
    if token:
        hdrs["Authorization"] = "Bearer " + token
    hdrs.update(headers or {})
    t0 = now()
    resp, problem = None, None
    try:
        resp = raw_request(method, path, body, hdrs, timeout=TIMEOUT)
    except (OSError, http.client.HTTPException) as e:
        problem = "no answer: %s" % (e.__class__.__name__ + (": %s" % e if str(e) else ""))
    t1 = now()
    codes = []
    if resp is not None:
        if path.startswith(API + "/"):
            p = envelope_problems(resp)
            if p:
                problem = "not the envelope: " + "; ".join(p)
        if not resp.header("x-request-id"):
            problem = (problem + "; " if problem else "") + "no X-Request-Id"
        codes = resp.err_codes()
    rec.add(Req(kind, t0, t1, resp.status if resp is not None else None, problem, codes, rid))
    return resp


def unknown_outcome(resp):
    """No answer, or an answer that does not say whether the request acted."""
    return resp is None or resp.status in (500, 502, 504) or (
        resp.status >= 500 and resp.status != 503)


class Customer:
    def __init__(self, email, password, uid=None):
        self.email = email
        self.password = password
        self.id = uid
        self.token = None
        self.lock = threading.Lock()

    def login(self, rec):
        deadline = now() + RETRY_FOR
        while now() < deadline:
            r = call(rec, "login", "POST", API + "/auth/login",
                     {"email": self.email, "password": self.password})
            if r is not None and r.status == 200 and isinstance(r.data, dict):
                self.token = r.data.get("access_token")
                self.id = (r.data.get("user") or {}).get("id", self.id)
                return True
            time.sleep(0.1)
        return False


def register(rec, tag):
    """A new customer, registered and logged in (retried through faults)."""
    email = "fault.%s@example.com" % uniq(tag).lower()
    pw = "pw-" + uniq("s") + "-Long-enough"
    deadline = now() + RETRY_FOR
    while now() < deadline:
        r = call(rec, "register", "POST", API + "/auth/register",
                 {"email": email, "password": pw, "name": "Fault Shopper"})
        if r is not None and r.status in (201, 409):
            break
        time.sleep(0.1)
    c = Customer(email, pw)
    if not c.login(rec):
        raise RuntimeError("cannot log in %s" % email)
    return c


class Ledger:
    """What the clients were told, for the books: orders (id → user, lines),
    payments (id → order, method), stock adjustments (tag → outcome), and the
    keys answered 503 (the requests that must have had no effect)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.orders = {}            # order id -> {"user": id, "lines": [(pid, q)], "scenario": s}
        self.order_keys = {}        # idem key -> order id (201)
        self.keys_503 = []          # (kind, user id, idem key) answered 503 and never 2xx
        self.payments = {}          # payment id -> {"order": id, "method": m}
        self.adjust = {}            # tag -> {"pid", "delta", "outcome": "applied"|"none"|"unknown"}
        self.anomalies = []         # what a client saw that can only be a bug

    def add_order(self, oid, user, lines, key, scenario):
        with self.lock:
            self.orders[oid] = {"user": user, "lines": lines, "scenario": scenario}
            self.order_keys[key] = oid

    def anomaly(self, msg):
        with self.lock:
            self.anomalies.append(msg)


class Load:
    """Customers placing orders at `rate` orders a second between them (and
    paying them), a seller adjusting stock every adjust_every seconds, and
    probes reading through every pool every probe_every seconds.
    start(); then finish() once the fault is over: the customers go on until
    `orders` orders were attempted, then finish what they do (payments,
    declined ones paid again), and the seller and the probes stop."""

    def __init__(self, ctx, scenario, orders, rate=15.0, probe_every=0.2, pay_mix=None, adjust_every=0.5,
                 scarce=True):
        self.ctx = ctx
        self.scenario = scenario
        self.rec = Recorder()
        self.quota = orders
        self.rate = rate
        self.taken = 0
        self.placed = 0
        self.refused = 0            # 409 OUT_OF_STOCK: nothing to pay
        self.lock = threading.Lock()
        self.closing = threading.Event()     # no more orders once the quota is reached
        self.stop_ev = threading.Event()     # the seller and the probes stop
        self.done_ev = threading.Event()     # every customer is done
        self.threads = []
        self.probe_every = probe_every
        self.adjust_every = adjust_every
        # cumulative thresholds over [0, 1): cancel, leave unpaid, declined then
        # paid again, slow, and the rest pm_card_ok
        self.mix = pay_mix or (0.06, 0.10, 0.20, 0.27)
        self.t_start = self.t_end = None
        self.gave_up = []
        self.workers_left = 0
        self.scarce = scarce        # orders may include the products with little stock

    # ------------------------------------------------------------ control

    def start(self):
        self.t_start = now()
        for i, c in enumerate(self.ctx.customers):
            th = threading.Thread(target=self._customer, args=(c, random.Random(hash((self.scenario, i)))),
                                  daemon=True)
            self.threads.append(th)
        self.workers_left = len(self.threads)
        if self.adjust_every:
            self.threads.append(threading.Thread(target=self._seller, daemon=True))
        if self.probe_every:
            for app in ("orders", "payments", "catalog", "identity", "cart", "shipping", "notify"):
                self.threads.append(threading.Thread(target=self._probe, args=(app,), daemon=True))
        for th in self.threads:
            th.start()
        return self

    def finish(self, timeout=600):
        """After the fault: lets the customers reach the quota, then waits
        for them to finish and stops the seller and the probes."""
        self.closing.set()
        self.done_ev.wait(timeout)
        self.stop_ev.set()
        for th in self.threads:
            th.join(timeout=TIMEOUT + 5)
        self.t_end = now()
        return self

    def _ticket(self):
        """The next order's turn (paced at self.rate), or False when done."""
        with self.lock:
            if self.closing.is_set() and self.taken >= self.quota:
                return False
            k = self.taken
            self.taken += 1
        due = self.t_start + k / self.rate
        while now() < due:
            if self.closing.is_set() and k >= self.quota:
                return False
            time.sleep(min(0.05, max(0.0, due - now())))
        return True

    # ------------------------------------------------------------ customers

    def _customer(self, c, rng):
        later = []          # (due, order id): declined payments to pay again
        try:
            while True:
                due = [x for x in later if x[0] <= now()]
                for x in due:
                    later.remove(x)
                    self._repay(c, x[1], x[2])
                if not self._ticket():
                    break
                oid = self._place(c, rng)
                if oid is None:
                    continue
                r = rng.random()
                if r < self.mix[0]:
                    self._op(c, "order.cancel", "POST", API + "/orders/%d/cancel" % oid, None, None, (200,))
                elif r < self.mix[1]:
                    pass
                elif r < self.mix[2]:
                    pid = self._pay(c, oid, "pm_card_declined", "pay")
                    if isinstance(pid, int):
                        later.append((now() + 1.0, oid, pid))
                elif r < self.mix[3]:
                    self._pay(c, oid, "pm_card_slow", "pay")
                else:
                    self._pay(c, oid, "pm_card_ok", "pay")
                if rng.random() < 0.15:
                    call(self.rec, "order.get", "GET", API + "/orders/%d" % oid, token=c.token)
            # the declined ones, paid again once their failure is known
            for due, oid, pid in sorted(later):
                time.sleep(max(0.0, due - now()))
                self._repay(c, oid, pid)
        except Exception as e:   # noqa: BLE001 - a client's crash is reported, not hidden
            self.ctx.ledger.anomaly("customer %s crashed: %r" % (c.email, e))
        finally:
            with self.lock:
                self.workers_left -= 1
                if self.workers_left == 0:
                    self.done_ev.set()

    def _lines(self, rng):
        plenty = rng.sample(self.ctx.plenty, rng.randint(1, 2))
        lines = [(p, rng.randint(1, 3)) for p in plenty]
        if self.scarce and self.ctx.scarce and rng.random() < 0.25:
            lines.append((rng.choice(self.ctx.scarce), 1))
        return lines

    def _op(self, c, kind, method, path, body, key, want, new_key_on_503=False, keyprefix="k"):
        """One operation, retried until a definitive answer. Returns the
        final Resp (None when it gave up)."""
        raw = json.dumps(body).encode() if body is not None else None
        deadline = now() + RETRY_FOR
        again = False       # the previous attempt's outcome is unknown
        while now() < deadline:
            h = {"Idempotency-Key": key} if key else None
            r = call(self.rec, kind + ("+retry" if again else ""), method, path, raw, token=c.token, headers=h)
            again = False
            if r is not None and r.status == 401:
                with c.lock:
                    c.login(self.rec)
                continue
            if r is not None and r.status in want:
                return r
            if r is not None and r.status == 503:
                if key and new_key_on_503:
                    with self.ctx.ledger.lock:
                        self.ctx.ledger.keys_503.append((kind, c.id, key))
                    key = uniq(keyprefix)
                time.sleep(0.05)
                continue
            if unknown_outcome(r) or r.status == 429:
                again = r is None or r.status != 429
                time.sleep(0.05)
                continue
            if r.status == 409 and "IDEMPOTENCY_CONFLICT" in r.err_codes():
                time.sleep(0.05)    # the first request with this key is still at work
                continue
            return r
        self.gave_up.append((kind, path, key))
        return None

    def _place(self, c, rng):
        lines = self._lines(rng)
        key = uniq("ord")
        body = {"items": [{"product_id": p, "quantity": q} for p, q in lines]}
        # the same bytes on every retry with this key
        r = self._op(c, "order.place", "POST", API + "/orders", body, key, (201, 409),
                     new_key_on_503=True, keyprefix="ord")
        if r is None:
            return None
        if r.status == 409:
            if "OUT_OF_STOCK" not in r.err_codes():
                self.ctx.ledger.anomaly("POST /orders 409 %s" % r.body_short())
            with self.lock:
                self.refused += 1
            return None
        o = (r.data or {}).get("order") if isinstance(r.data, dict) else None
        if not isinstance(o, dict) or not isinstance(o.get("id"), int):
            self.ctx.ledger.anomaly("POST /orders 201 without an order: %s" % r.body_short())
            return None
        self.ctx.ledger.add_order(o["id"], c.id, lines, key, self.scenario)
        with self.lock:
            self.placed += 1
        return o["id"]

    def _pay(self, c, oid, method, kind):
        key = uniq("pay")
        r = self._op(c, kind, "POST", API + "/payments", {"order_id": oid, "payment_method": method}, key,
                     (202, 409), new_key_on_503=True, keyprefix="pay")
        if r is None:
            return None
        if r.status == 409:
            if kind == "pay":
                self.ctx.ledger.anomaly("POST /payments for order %d, just placed: 409 %s"
                                        % (oid, r.body_short()))
            return r
        p = (r.data or {}).get("payment") if isinstance(r.data, dict) else None
        if not isinstance(p, dict) or not isinstance(p.get("id"), int):
            self.ctx.ledger.anomaly("POST /payments 202 without a payment: %s" % r.body_short())
            return None
        with self.ctx.ledger.lock:
            self.ctx.ledger.payments[p["id"]] = {"order": oid, "method": method}
        return p["id"]

    def _repay(self, c, oid, declined):
        """Pays an order again once its declined payment is FAILED (the
        provider's answer comes through RabbitMQ and the webhook, so after an
        outage it may take a while)."""
        deadline = now() + RETRY_FOR
        while now() < deadline:
            r = call(self.rec, "pay.get", "GET", API + "/payments/%d" % declined, token=c.token)
            if r is not None and r.status == 401:
                with c.lock:
                    c.login(self.rec)
                continue
            st = ((r.data or {}).get("payment") or {}).get("status") \
                if r is not None and r.status == 200 and isinstance(r.data, dict) else None
            if st == "FAILED":
                break
            if st not in (None, "PROCESSING"):
                self.ctx.ledger.anomaly("payment %d with pm_card_declined is %s" % (declined, st))
                return
            time.sleep(0.25)
        else:
            self.ctx.ledger.anomaly("payment %d with pm_card_declined not FAILED after %d s" % (declined, RETRY_FOR))
            return
        r = self._pay(c, oid, "pm_card_ok", "pay.repay")
        if not isinstance(r, int):
            self.ctx.ledger.anomaly("order %d: paying again after the declined payment %d: %r"
                                    % (oid, declined, r))

    # ------------------------------------------------------------ seller, probes

    def _seller(self):
        rng = random.Random(hash((self.scenario, "seller")))
        s = self.ctx.seller
        while not self.stop_ev.wait(self.adjust_every):
            pid = rng.choice(self.ctx.scarce + self.ctx.plenty[:2])
            tag = uniq("adj")
            delta = rng.choice((1, 2, 3))
            r = call(self.rec, "adjust", "POST", API + "/inventory/%d/adjust" % pid,
                     {"delta": delta, "reason": "fault " + tag}, token=s.token)
            if r is not None and r.status == 401:
                with s.lock:
                    s.login(self.rec)
            if r is not None and r.status == 200:
                out = "applied"
            elif r is not None and (r.status == 503 or 400 <= r.status < 500):
                out = "none"
            else:
                out = "unknown"
            with self.ctx.ledger.lock:
                self.ctx.ledger.adjust[tag] = {"pid": pid, "delta": delta, "outcome": out,
                                               "status": r.status if r is not None else None}

    def _probe(self, app):
        c = self.ctx.customers[0]
        s = self.ctx.seller
        while not self.stop_ev.is_set():
            t = c.token
            if app == "orders":
                oid = self.ctx.probe_order
                r = call(self.rec, "order.get", "GET", API + "/orders/%d" % oid, token=t)
            elif app == "payments":
                r = call(self.rec, "pay.get", "GET", API + "/payments/%d" % self.ctx.probe_payment, token=t)
            elif app == "catalog":
                t = s.token
                r = call(self.rec, "stock.get", "GET", API + "/inventory/%d" % self.ctx.plenty[0], token=t)
            elif app == "identity":
                r = call(self.rec, "me", "GET", API + "/users/me", token=t)
            elif app == "cart":
                r = call(self.rec, "cart", "GET", API + "/cart", token=t)
            elif app == "shipping":
                r = call(self.rec, "ship.get", "GET", API + "/shipments/%d" % self.ctx.probe_order, token=t)
            else:
                r = call(self.rec, "notes", "GET", API + "/notifications?limit=5", token=t)
            if r is not None and r.status == 401:
                who = s if app == "catalog" else c
                with who.lock:
                    if who.token == t:
                        who.login(self.rec)
            self.stop_ev.wait(self.probe_every)
