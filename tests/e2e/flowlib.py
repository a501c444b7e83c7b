"""Helpers of the order-flow tests (test_cart, test_orders, test_payments,
test_flow): buyers and products, the cart, orders and payments through the
API, stock as the seller sees it, SQL as the database root, signed webhooks,
publishing through the RabbitMQ management API, and polling with deadlines.

Every product a flow test creates is recorded in TOUCHED with its initial
stock and the adjustments made through the API, so that flow.conservation
can check the books at the end."""

import base64
import hashlib
import hmac
import json
import os
import re
import shlex
import subprocess
import threading
import time
import urllib.error
import urllib.request

from shopclient import (API, SHOP_VAR, conf_value, delete, fx, get, new_product, new_user, post, put,
                        request, uniq, unwrap, walk)

# The contract: background follow-ups show in the API within 2 s. Polls get a
# little more (the poll interval and the request itself), and every measured
# time above FOLLOWUP is noted.
FOLLOWUP = 2.0
GRACE = 0.5

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
ORDER_KEYS = {"id", "user_id", "status", "items", "total_cents", "currency", "shipping_address",
              "created_at", "updated_at", "expires_at"}
ORDER_ITEM_KEYS = {"product_id", "sku", "name", "quantity", "unit_price_cents", "line_total_cents"}
PAYMENT_KEYS = {"id", "order_id", "amount_cents", "currency", "status", "provider", "provider_ref",
                "created_at"}
CART_KEYS = {"items", "total_cents", "currency"}
CART_ITEM_KEYS = {"product_id", "name", "quantity", "unit_price_cents", "line_total_cents"}


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


# ---------------------------------------------------------------- stack env

_env_cache = None
_env_lock = threading.Lock()


def stack_env(name, default=None):
    """A setting of the stack under test: the environment (run.sh exports
    DIR/stack.env), else $SHOP_VAR/stack.env, else default."""
    global _env_cache
    v = os.environ.get(name)
    if v:
        return v
    with _env_lock:
        if _env_cache is None:
            _env_cache = {}
            try:
                with open(os.path.join(SHOP_VAR, "stack.env")) as f:
                    for line in f:
                        parts = shlex.split(line)
                        if len(parts) == 2 and parts[0] == "export" and "=" in parts[1]:
                            k, _, val = parts[1].partition("=")
                            _env_cache[k] = val
            except OSError:
                pass
    return _env_cache.get(name, default)


def db_defaults_file():
    return stack_env("SHOP_DB_DEFAULTS_FILE", os.path.join(SHOP_VAR, "secrets", "root.cnf"))


def webhook_secret_file():
    return stack_env("SHOP_WEBHOOK_SECRET_FILE", os.path.join(SHOP_VAR, "webhook-secret"))


# ---------------------------------------------------------------- SQL as root


class SqlError(Exception):
    pass


def sql(query):
    """Runs query as the database root (mariadb --defaults-file=...); returns
    the rows of its last result as lists of strings (None for NULL). Callers
    put only integers and literals of their own into query; text whose bytes
    matter is selected as HEX(). Raises SqlError."""
    f = db_defaults_file()
    if not f or not os.access(f, os.R_OK):
        raise SqlError("no readable SHOP_DB_DEFAULTS_FILE (%r)" % f)
    p = subprocess.run(["mariadb", "--defaults-file=" + f, "--batch", "--skip-column-names",
                        "--default-character-set=utf8mb4", "-e", query],
                       capture_output=True, timeout=30)
    if p.returncode != 0:
        raise SqlError("%s: %s" % (query, p.stderr.decode("utf-8", "replace").strip()))
    rows = []
    for line in p.stdout.decode("utf-8", "replace").split("\n"):
        if line == "":
            continue
        rows.append([None if c == "NULL" else c for c in line.split("\t")])
    return rows


def sql_one(query):
    rows = sql(query)
    return rows[0][0] if rows and rows[0] else None


def sql_int(query, default=None):
    v = sql_one(query)
    return int(v) if v is not None else default


def table_exists(schema, table):
    return sql_int("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '%s'"
                   " AND table_name = '%s'" % (schema, table), 0) > 0


# ---------------------------------------------------------------- polling


def wait_for(fn, timeout=FOLLOWUP + GRACE, interval=0.05):
    """Calls fn() until it returns a true value or the deadline passes.
    Returns (last value, seconds taken)."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        v = fn()
        now = time.monotonic()
        if v or now >= deadline:
            return v, now - t0
        time.sleep(min(interval, max(0.0, deadline - now)))


def holds(fn, secs, interval=0.1):
    """Checks that fn() stays true for secs (a check that nothing happens
    must give it the time to happen); returns False as soon as it does not."""
    deadline = time.monotonic() + secs
    while True:
        if not fn():
            return False
        now = time.monotonic()
        if now >= deadline:
            return True
        time.sleep(min(interval, deadline - now))


def note_slow(t, secs, what, budget=FOLLOWUP):
    """Notes a wait that took longer than budget (the contract's 2 s, or
    more where the test waits for pm_card_slow too)."""
    if secs > budget:
        t.note("%s took %.2f s (budget %.1f s)" % (what, secs, budget))


# ---------------------------------------------------------------- the books

TOUCHED = {}          # product id -> {"initial": n, "adjust": n}
_touched_lock = threading.Lock()


def product(stock=10, price_cents=1000, currency="EUR", **fields):
    """A new product of the demo seller with `stock` units (recorded in TOUCHED)."""
    p = new_product(initial_stock=stock, price_cents=price_cents, currency=currency, **fields)
    with _touched_lock:
        TOUCHED[p["id"]] = {"initial": stock or 0, "adjust": 0}
    return p


def adjust(pid, delta, reason="e2e flow"):
    r = post(API + "/inventory/%d/adjust" % pid, {"delta": delta, "reason": reason},
             token=fx.seller.token)
    if r.status == 200:
        with _touched_lock:
            if pid in TOUCHED:
                TOUCHED[pid]["adjust"] += delta
    return r


def stock(pid):
    """{product_id, on_hand, reserved, available} as the owner sees it, or None."""
    r = get(API + "/inventory/%d" % pid, token=fx.seller.token)
    if r.status != 200:
        return None
    return unwrap(r.data, "stock")


def stock_is(t, pid, want, what):
    """Checks on_hand/reserved (the keys of want) now."""
    s = stock(pid)
    if not t.ok(isinstance(s, dict), "%s: cannot read the stock of %d" % (what, pid)):
        return None
    got = {k: s.get(k) for k in want}
    t.eq(got, want, "%s: stock of product %d" % (what, pid))
    return s


def wait_stock(t, pid, want, what, timeout=FOLLOWUP + GRACE):
    """Polls until the stock of pid has the values of want; records a failure
    otherwise. Returns the seconds it took (or None)."""
    last = {}

    def check():
        s = stock(pid)
        if isinstance(s, dict):
            last.clear()
            last.update(s)
            return all(s.get(k) == v for k, v in want.items())
        return False
    ok, secs = wait_for(check, timeout)
    if not ok:
        t.fail("%s: stock of product %d is %r after %.1f s, want %r" % (
            what, pid, {k: last.get(k) for k in want}, secs, want))
        return None
    note_slow(t, secs, what, max(FOLLOWUP, timeout - GRACE))
    return secs


# ---------------------------------------------------------------- users


def buyer(tag="buyer"):
    """A fresh customer, logged in."""
    return new_user(tag)


def idem():
    return uniq("idem")


# ---------------------------------------------------------------- cart


def cart(u):
    return get(API + "/cart", token=u.token)


def cart_data(u):
    r = cart(u)
    return unwrap(r.data, "cart") if r.status == 200 else None


def cart_lines(u):
    """{product_id: quantity} of u's cart (None when it cannot be read)."""
    d = cart_data(u)
    if not isinstance(d, dict) or not isinstance(d.get("items"), list):
        return None
    return {i.get("product_id"): i.get("quantity") for i in d["items"] if isinstance(i, dict)}


def cart_add(u, pid, quantity, **kw):
    b = {"product_id": pid, "quantity": quantity}
    b.update(kw)
    return post(API + "/cart/items", b, token=u.token)


def cart_set(u, pid, quantity):
    return put(API + "/cart/items/%d" % pid, {"quantity": quantity}, token=u.token)


def cart_del(u, pid):
    return delete(API + "/cart/items/%d" % pid, token=u.token)


def cart_empty(u):
    return delete(API + "/cart", token=u.token)


def _superset(t, obj, keys, what):
    """obj has every key of API.md (a failure otherwise); more keys are noted."""
    missing = keys - set(obj)
    t.ok(not missing, "%s lacks %s" % (what, sorted(missing)))
    extra = set(obj) - keys
    kind = what.rsplit(": ", 1)[-1]
    msg = "%s has fields beyond API.md: %s" % (kind, sorted(extra))
    if extra and msg not in t.notes:
        t.note(msg)


def check_cart(t, d, what):
    """Shape and arithmetic of a cart (the data of GET /cart)."""
    if not t.ok(isinstance(d, dict), "%s: cart is not an object: %r" % (what, d)):
        return
    _superset(t, d, CART_KEYS, "%s: cart" % what)
    items = d.get("items")
    if not t.ok(isinstance(items, list), "%s: items is not an array" % what):
        return
    total = 0
    for i in items:
        if not t.ok(isinstance(i, dict), "%s: item %r" % (what, i)):
            continue
        _superset(t, i, CART_ITEM_KEYS, "%s: cart item" % what)
        q, u = i.get("quantity"), i.get("unit_price_cents")
        if is_int(q) and is_int(u):
            t.eq(i.get("line_total_cents"), q * u, "%s: line_total_cents of %s" % (what, i.get("product_id")))
            if i.get("available") is not False:   # a line the cart flags unavailable is not counted
                total += q * u
    t.eq(d.get("total_cents"), total, "%s: total_cents" % what)


# ---------------------------------------------------------------- orders


def place(u, body=None, key=None, headers=None, **kw):
    """POST /orders as u with an Idempotency-Key (a fresh one unless key is
    given; key=False sends none)."""
    h = {}
    if key is None:
        key = idem()
    if key is not False:
        h["Idempotency-Key"] = key
    h.update(headers or {})
    return post(API + "/orders", {} if body is None else body, token=u.token, headers=h, **kw)


def items_body(*lines, **extra):
    """{"items": [{product_id, quantity}, ...]} from (pid, q) pairs."""
    b = {"items": [{"product_id": pid, "quantity": q} for pid, q in lines]}
    b.update(extra)
    return b


def order_of(r):
    return unwrap(r.data, "order")


def get_order(u, oid):
    return get(API + "/orders/%d" % oid, token=u.token)


def order_status(u, oid):
    r = get_order(u, oid)
    o = order_of(r) if r.status == 200 else None
    return o.get("status") if isinstance(o, dict) else None


def cancel(u, oid):
    return post(API + "/orders/%d/cancel" % oid, None, token=u.token)


def must_place(t, u, body=None, what="placing an order"):
    """Places an order that must succeed; returns the order (Abort otherwise)."""
    r = place(u, body)
    t.require(r.status == 201 and isinstance(order_of(r), dict) and is_int(order_of(r).get("id")),
              "%s: %r" % (what, r))
    return order_of(r)


def wait_order(t, u, oid, status, what, timeout=FOLLOWUP + GRACE):
    """Polls GET /orders/{id} until status; returns the seconds (None: failed)."""
    last = []

    def check():
        s = order_status(u, oid)
        last[:] = [s]
        return s == status
    ok, secs = wait_for(check, timeout)
    if not ok:
        t.fail("%s: order %d is %r after %.1f s, want %s" % (what, oid, last[0] if last else None,
                                                            secs, status))
        return None
    note_slow(t, secs, what, max(FOLLOWUP, timeout - GRACE))
    return secs


def check_order(t, o, what, user=None, status=None):
    """The order shape of API.md, its arithmetic and its timestamps."""
    if not t.ok(isinstance(o, dict), "%s: order is not an object: %r" % (what, o)):
        return
    t.eq(set(o), ORDER_KEYS, "%s: order fields" % what)
    t.ok(is_int(o.get("id")) and o["id"] > 0, "%s: id %r" % (what, o.get("id")))
    if user is not None:
        t.eq(o.get("user_id"), user.id, "%s: user_id" % what)
    if status is not None:
        t.eq(o.get("status"), status, "%s: status" % what)
    t.ok(isinstance(o.get("currency"), str) and re.match(r"^[A-Z]{3}$", o["currency"] or ""),
         "%s: currency %r" % (what, o.get("currency")))
    for k in ("created_at", "updated_at"):
        t.ok(isinstance(o.get(k), str) and TS_RE.match(o[k]), "%s: %s %r" % (what, k, o.get(k)))
    ea = o.get("expires_at")
    if o.get("status") == "PENDING_PAYMENT" or ea is not None:
        t.ok(isinstance(ea, str) and TS_RE.match(ea), "%s: expires_at %r" % (what, ea))
    items = o.get("items")
    if not t.ok(isinstance(items, list) and items, "%s: items %r" % (what, items)):
        return
    total = 0
    for i in items:
        if not t.ok(isinstance(i, dict), "%s: item %r" % (what, i)):
            continue
        t.eq(set(i), ORDER_ITEM_KEYS, "%s: order item fields" % what)
        q, up = i.get("quantity"), i.get("unit_price_cents")
        t.ok(is_int(q) and q > 0, "%s: quantity %r" % (what, q))
        t.ok(is_int(up) and up >= 0, "%s: unit_price_cents %r" % (what, up))
        if is_int(q) and is_int(up):
            t.eq(i.get("line_total_cents"), q * up, "%s: line_total_cents" % what)
            total += q * up
    t.eq(o.get("total_cents"), total, "%s: total_cents = sum of lines" % what)


def ts(s):
    """Seconds since the epoch of an RFC 3339 UTC string."""
    import calendar
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?Z$", s or "")
    if not m:
        return None
    v = calendar.timegm(tuple(int(x) for x in m.groups()[:6]))
    return v + (float(m.group(7)) if m.group(7) else 0.0)


def expiry_seconds():
    try:
        return int(conf_value("orders", "expiry_seconds", "900"))
    except ValueError:
        return 900


def admin_orders(**params):
    """Every order of GET /admin/orders with params (walking the cursor)."""
    items, _, prob = walk(API + "/admin/orders", dict(params, limit=100), token=fx.admin.token)
    return items, prob


# ---------------------------------------------------------------- payments


def pay(u, oid, method="pm_card_ok", key=None, **kw):
    h = {}
    if key is None:
        key = idem()
    if key is not False:
        h["Idempotency-Key"] = key
    return post(API + "/payments", {"order_id": oid, "payment_method": method}, token=u.token,
                headers=h, **kw)


def payment_of(r):
    return unwrap(r.data, "payment")


def get_payment(u, pid):
    return get(API + "/payments/%d" % pid, token=u.token)


def payment_status(u, pid):
    r = get_payment(u, pid)
    p = payment_of(r) if r.status == 200 else None
    return p.get("status") if isinstance(p, dict) else None


def must_pay(t, u, oid, method="pm_card_ok", what="paying"):
    r = pay(u, oid, method)
    t.require(r.status == 202 and isinstance(payment_of(r), dict) and is_int(payment_of(r).get("id")),
              "%s: %r" % (what, r))
    return payment_of(r)


def wait_payment(t, u, pid, status, what, timeout=FOLLOWUP + GRACE):
    last = []

    def check():
        s = payment_status(u, pid)
        last[:] = [s]
        return s == status
    ok, secs = wait_for(check, timeout)
    if not ok:
        t.fail("%s: payment %d is %r after %.1f s, want %s" % (what, pid, last[0] if last else None,
                                                              secs, status))
        return None
    note_slow(t, secs, what, max(FOLLOWUP, timeout - GRACE))
    return secs


def check_payment(t, p, what, order=None, status=None):
    if not t.ok(isinstance(p, dict), "%s: payment is not an object: %r" % (what, p)):
        return
    _superset(t, p, PAYMENT_KEYS, "%s: payment" % what)
    t.ok(is_int(p.get("id")) and p["id"] > 0, "%s: id %r" % (what, p.get("id")))
    if order is not None:
        t.eq(p.get("order_id"), order["id"], "%s: order_id" % what)
        t.eq(p.get("amount_cents"), order["total_cents"], "%s: amount_cents = the order's total" % what)
        t.eq(p.get("currency"), order["currency"], "%s: currency" % what)
    if status is not None:
        t.eq(p.get("status"), status, "%s: status" % what)
    t.ok(isinstance(p.get("provider"), str) and p["provider"], "%s: provider %r" % (what, p.get("provider")))
    t.ok(isinstance(p.get("created_at"), str) and TS_RE.match(p["created_at"]),
         "%s: created_at %r" % (what, p.get("created_at")))


# ---------------------------------------------------------------- webhooks


def webhook_secret():
    """The signing secret as the stack's programs use it: the whole file,
    one trailing "\n" or "\r\n" stripped."""
    with open(webhook_secret_file(), "rb") as f:
        s = f.read()
    if s.endswith(b"\r\n"):
        return s[:-2]
    return s[:-1] if s.endswith(b"\n") else s


def signature(body, t=None, secret=None):
    """The Shop-Signature header value for body (bytes) at unix time t."""
    t = int(time.time()) if t is None else int(t)
    secret = webhook_secret() if secret is None else secret
    mac = hmac.new(secret, b"%d." % t + body, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (t, mac)


def event_body(payment, type_="payment.succeeded", evid=None):
    """A provider event for payment (a dict as GET /payments/{id} shows it),
    as (event id, bytes). A payment the provider has not answered yet has no
    provider_ref: the event brings one, as the provider's would."""
    ev = {"id": evid or "evt_" + uniq("e2e").replace("-", "_"), "type": type_,
          "created": int(time.time()),
          "data": {"payment_id": payment["id"],
                   "provider_ref": payment.get("provider_ref") or "sim_e2e_" + uniq("ref").replace("-", "_"),
                   "amount_cents": payment["amount_cents"], "currency": payment["currency"]}}
    return ev["id"], json.dumps(ev, separators=(",", ":")).encode()


def send_webhook(body, sig=None, sign=True, **kw):
    """POSTs body (bytes) to the webhook; sig: the header value (default: a
    correct signature); sign=False sends no Shop-Signature header."""
    h = {}
    if sign:
        h["Shop-Signature"] = sig if sig is not None else signature(body)
    return request("POST", API + "/payments/webhook", body, headers=h, **kw)


# ---------------------------------------------------------------- RabbitMQ


def mgmt(method, path, body=None, timeout=10):
    """A request to the RabbitMQ management API as the stack's user. Returns
    (status, parsed JSON or raw text)."""
    url = stack_env("SHOP_MGMT_URL")
    if not url:
        port = stack_env("SHOP_MGMT_PORT")
        url = "http://127.0.0.1:%s" % port if port else None
    if not url:
        raise RuntimeError("no SHOP_MGMT_URL for the stack")
    user = stack_env("SHOP_AMQP_USER", "shop")
    pw = stack_env("SHOP_AMQP_PASSWORD")
    if pw is None:
        with open(os.path.join(SHOP_VAR, "secrets", "amqp")) as f:
            pw = f.read().strip()
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url.rstrip("/") + path, data=data, method=method)
    req.add_header("Authorization", "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode())
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as e:
        raw = e.read()
        status = e.code
    try:
        return status, json.loads(raw.decode("utf-8"))
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def vhost():
    return stack_env("SHOP_AMQP_VHOST", "shop")


def publish_event(event_type, event_id, payload, request_id, occurred_at):
    """Publishes one event to shop.events as the relay does (persistent JSON,
    message_id and the headers of docs/events.md). Returns (status, answer)."""
    import urllib.parse
    body = {
        "properties": {
            "delivery_mode": 2,
            "content_type": "application/json",
            "message_id": event_id,
            "headers": {"event_id": event_id, "event_type": event_type,
                        "request_id": request_id or "", "occurred_at": occurred_at},
        },
        "routing_key": event_type,
        "payload": payload,
        "payload_encoding": "string",
    }
    return mgmt("POST", "/api/exchanges/%s/shop.events/publish" % urllib.parse.quote(vhost(), safe=""),
                body)


def outbox_events(schema, event_type, aggregate_id):
    """The outbox rows of an aggregate: [{event_id, payload, request_id,
    occurred_at, sent}] in id order."""
    rows = sql("SELECT event_id, HEX(payload), request_id,"
               " DATE_FORMAT(occurred_at, '%%Y-%%m-%%dT%%H:%%i:%%s.%%fZ'), sent_at IS NOT NULL"
               " FROM %s.outbox WHERE event_type = '%s' AND aggregate_id = %d ORDER BY id"
               % (schema, event_type, aggregate_id))
    out = []
    for ev, hx, rid, occ, sent in rows:
        occ = re.sub(r"\.(\d{3})\d*Z$", r".\1Z", occ or "")
        out.append({"event_id": ev, "payload": bytes.fromhex(hx).decode("utf-8"), "request_id": rid,
                    "occurred_at": occ, "sent": sent == "1"})
    return out


def ledger(pid):
    """[(kind, delta_on_hand, delta_reserved, ref)] of a product, in id order."""
    return [(k, int(a), int(b), ref) for k, a, b, ref in
            sql("SELECT kind, delta_on_hand, delta_reserved, ref FROM shop_catalog.stock_ledger"
                " WHERE product_id = %d ORDER BY id" % pid)]
