"""Operating the shop: /metrics (Prometheus text format, parsed here and by
promtool, scraped by a real Prometheus), counters summed across a pool's
processes, loopback only; one request id followed from the HTTP request to
the email through every log; the RabbitMQ management API shows every queue
of the topology, consumed."""

import json
import math
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

from tap import test
from shopclient import (API, SHOP_VAR, check_response, conf_value, fx, get, in_parallel, poll,
                        raw_request, request, uniq)
from flowlib import (buyer, idem, items_body, mgmt, must_pay, must_place, order_of, place, product,
                     stack_env, vhost, wait_order)
from maillib import mail_of, require_sink

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# ---------------------------------------------------------------- the exposition format

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="')
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse_sample(line):
    """(name, ((label, value), ...), value text) of a sample line; ValueError
    when it is not one (label values may hold spaces, braces and escapes)."""
    m = NAME_RE.match(line)
    if not m:
        raise ValueError("no metric name")
    name, i, labels = m.group(0), m.end(), []
    if i < len(line) and line[i] == "{":
        i += 1
        while True:
            if line[i:i + 1] == "}":
                i += 1
                break
            m = LABEL_NAME_RE.match(line, i)
            if not m:
                raise ValueError("bad label at %d" % i)
            i, val = m.end(), []
            while True:
                c = line[i:i + 1]
                if c == "":
                    raise ValueError("unterminated label value")
                if c == '"':
                    i += 1
                    break
                if c == "\\":
                    e = line[i + 1:i + 2]
                    if e not in ("\\", '"', "n"):
                        raise ValueError("bad escape \\%s" % e)
                    val.append("\n" if e == "n" else e)
                    i += 2
                    continue
                if c == "\n":
                    raise ValueError("newline in a label value")
                val.append(c)
                i += 1
            labels.append((m.group(1), "".join(val)))
            if line[i:i + 1] == ",":
                i += 1
            elif line[i:i + 1] != "}":
                raise ValueError("expected , or } at %d" % i)
    rest = line[i:]
    if not rest.startswith(" "):
        raise ValueError("no value")
    parts = rest[1:].split(" ")
    if len(parts) not in (1, 2) or (len(parts) == 2 and not re.match(r"^-?\d+$", parts[1])):
        raise ValueError("bad value or timestamp %r" % rest)
    return name, tuple(labels), parts[0]


class Exposition:
    """A strict reading of the Prometheus text format 0.0.4: every family's
    HELP and TYPE once, before its samples; samples of one family together;
    label values escaped; no sample twice; histograms with cumulative
    buckets, a +Inf bucket equal to _count, and _sum."""

    def __init__(self, text):
        self.types, self.samples, self.problems = {}, {}, []
        seen_families, current = set(), None
        for n, line in enumerate(text.split("\n"), 1):
            if line == "":
                continue
            if line.startswith("#"):
                m = re.match(r"^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$", line)
                if not m:
                    continue  # a comment
                kind, fam, rest = m.groups()
                if kind == "TYPE":
                    if rest not in TYPES:
                        self.problems.append("line %d: unknown type %r" % (n, rest))
                    if fam in self.types:
                        self.problems.append("line %d: TYPE of %s twice" % (n, fam))
                    self.types[fam] = rest
                if fam in seen_families and fam != current:
                    self.problems.append("line %d: %s of %s after its samples" % (n, kind, fam))
                current = fam
                continue
            try:
                name, lab, value = parse_sample(line)
            except (ValueError, IndexError) as ex:
                self.problems.append("line %d: not a sample (%s): %r" % (n, ex, line))
                continue
            fam = self.family_of(name)
            if fam != current:
                if fam in seen_families:
                    self.problems.append("line %d: samples of %s are not together" % (n, fam))
                current = fam
            seen_families.add(fam)
            if fam not in self.types:
                self.problems.append("line %d: %s has no TYPE" % (n, name))
            try:
                v = float(value)
            except ValueError:
                self.problems.append("line %d: value %r" % (n, value))
                continue
            if len({k for k, _ in lab}) != len(lab):
                self.problems.append("line %d: a label twice" % n)
            key = (name, tuple(sorted(lab)))
            if key in self.samples:
                self.problems.append("line %d: sample %s%r twice" % (n, name, lab))
            self.samples[key] = v
        self._check_histograms()

    def family_of(self, name):
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[: -len(suffix)]
            if name.endswith(suffix) and self.types.get(base) == "histogram":
                return base
        return name

    def _check_histograms(self):
        for fam, typ in self.types.items():
            if typ != "histogram":
                continue
            series = {}
            for (name, lab), v in self.samples.items():
                if name != fam + "_bucket":
                    continue
                d = dict(lab)
                le = d.pop("le", None)
                series.setdefault(tuple(sorted(d.items())), []).append(
                    (math.inf if le == "+Inf" else float(le), v))
            for lab, buckets in series.items():
                buckets.sort()
                counts = [v for _, v in buckets]
                if counts != sorted(counts):
                    self.problems.append("%s%r: buckets not cumulative" % (fam, lab))
                if buckets[-1][0] != math.inf:
                    self.problems.append("%s%r: no +Inf bucket" % (fam, lab))
                cnt = self.samples.get((fam + "_count", lab))
                if cnt is None or cnt != buckets[-1][1]:
                    self.problems.append("%s%r: _count %r != +Inf bucket %r" % (fam, lab, cnt, buckets[-1][1]))
                if (fam + "_sum", lab) not in self.samples:
                    self.problems.append("%s%r: no _sum" % (fam, lab))

    def value(self, name, **labels):
        return self.samples.get((name, tuple(sorted(labels.items()))))

    def series(self, name):
        return [(dict(lab), v) for (n, lab), v in self.samples.items() if n == name]


def scrape():
    r = raw_request("GET", "/metrics")
    return r, Exposition(r.raw.decode("utf-8", "replace")) if r.status == 200 else None


def route_count(e, app, route, status):
    return e.value("shop_http_requests_total", app=app, route=route, status=str(status)) or 0


# ---------------------------------------------------------------- tests


@test
def metrics_format(t):
    """GET /metrics: Prometheus text format, every family the operators need,
    checked by a strict parser here and by promtool (Debian's prometheus)."""
    get(API + "/products?limit=1")
    r, e = scrape()
    t.expect(r, 200)
    if e is None:
        return
    t.ok((r.header("content-type") or "").startswith("text/plain; version=0.0.4"),
         "Content-Type %r" % r.header("content-type"))
    t.eq(e.problems, [], "exposition format problems")
    want = {
        "shop_http_requests_total": "counter", "shop_http_request_duration_seconds": "histogram",
        "shop_pool_processes": "gauge", "shop_pool_threads": "gauge",
        "shop_db_errors_total": "counter", "shop_outbox_backlog": "gauge",
        "shop_outbox_oldest_age_seconds": "gauge", "shop_outbox_published_total": "counter",
        "shop_events_total": "counter", "shop_emails_sent_total": "counter",
        "nginx_up": "gauge", "nginx_connections": "gauge",
        "nginx_connections_accepted_total": "counter", "nginx_http_requests_total": "counter",
    }
    for fam, typ in want.items():
        t.eq(e.types.get(fam), typ, "TYPE of %s" % fam)
    t.eq(e.value("nginx_up"), 1.0, "nginx's stub_status read")
    t.ok((e.value("nginx_connections", state="active") or 0) >= 1, "nginx: at least this connection active")
    apps = ("auth", "identity", "catalog", "cart", "orders", "payments", "shipping", "notify")
    for app in apps:
        conf = e.value("shop_pool_processes", app=app, state="configured")
        run = e.value("shop_pool_processes", app=app, state="running")
        t.ok(conf and conf >= 1 and run == conf, "%s: processes running %r of %r" % (app, run, conf))
        busy = e.value("shop_pool_threads", app=app, state="busy")
        idle = e.value("shop_pool_threads", app=app, state="idle")
        t.ok(busy is not None and idle is not None and busy + idle >= run, "%s: threads busy %r idle %r" % (app, busy, idle))
    # the auth pool is serving this very scrape
    t.ok((e.value("shop_pool_threads", app="auth", state="busy") or 0) >= 1, "auth: the scrape's thread is busy")
    for q in ("inventory.settlement", "orders.payments", "payments.requests", "shipping.orders",
              "notify.events", "payments.orders"):
        t.ok(any(lab.get("queue") == q for lab, _ in e.series("shop_events_total")), "events of %s" % q)
    for schema in (conf_value_list("outbox-relay", "schemas") or []):
        t.ok(e.value("shop_outbox_backlog", schema=schema) is not None, "outbox backlog of %s" % schema)
    promtool = shutil.which("promtool")
    t.ok(promtool, "promtool (Debian package prometheus, installed by ./shop) is on PATH")
    if promtool:
        p = subprocess.run([promtool, "check", "metrics"], input=r.raw, capture_output=True, timeout=30)
        t.eq(p.returncode, 0, "promtool check metrics: %s" % (p.stdout + p.stderr).decode(errors="replace")[:2000])


def conf_value_list(section, key):
    v = conf_value(section, key)
    return v.split() if v else None


@test
def metrics_sum_the_pool(t):
    """N requests spread over a pool's processes (many connections at once)
    count N: the counters live in memory the processes share. (With a token:
    anonymous reads of a product may be answered by nginx's microcache.)"""
    p = product(stock=1)
    pid = p["id"]
    route = "GET /api/v1/products/{id}"
    _, before = scrape()
    n = 240

    def one(i):
        r = request("GET", API + "/products/%d" % pid, token=fx.customer.token,
                    headers={"Connection": "close"})
        return r.status
    statuses = in_parallel(lambda i: [one(i) for _ in range(n // 12)], 12)
    got = sum(1 for batch in statuses for s in batch if s == 200)
    t.eq(got, n, "answers 200")
    _, after = scrape()
    delta = route_count(after, "catalog", route, 200) - route_count(before, "catalog", route, 200)
    t.eq(delta, n, "catalog %s 200 counted across the pool's processes" % route)
    h_before = before.value("shop_http_request_duration_seconds_count", app="catalog", route=route) or 0
    h_after = after.value("shop_http_request_duration_seconds_count", app="catalog", route=route) or 0
    t.eq(h_after - h_before, n, "latency histogram count")
    pids = catalog_workers()
    t.ok(len(pids) >= 2, "the catalog pool runs several processes (%r)" % pids)


def catalog_workers():
    pidfile = os.path.join(SHOP_VAR, "run", "catalog.pid")
    try:
        master = int(open(pidfile).read().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


@test
def metrics_loopback_only(t):
    """Only 127.0.0.1 and ::1 may read /metrics: another loopback address is
    another client to nginx, and gets 403 in the envelope."""
    r = raw_request("GET", "/metrics", source="127.0.0.2")
    check_response(r, check_envelope=True)
    t.eq(r.status, 403, "GET /metrics from 127.0.0.2")
    t.eq(((r.json or {}).get("errors") or [{}])[0].get("code"), "FORBIDDEN", "error code")
    t.ok(b"shop_" not in r.raw, "no figures in the refusal")
    r = raw_request("GET", "/metrics")
    t.eq(r.status, 200, "from 127.0.0.1")


@test
def metrics_follow_the_flow(t):
    """An order paid moves the counters: events consumed by each worker,
    outbox rows published, mails sent."""
    require_sink(t)
    _, before = scrape()
    u = buyer("ops")
    p = product(stock=5)
    o = must_place(t, u, items_body((p["id"], 1)))
    must_pay(t, u, o["id"])
    wait_order(t, u, o["id"], "PAID", "order paid")
    mail_of(t, u, "PAYMENT_SUCCEEDED", "the payment mail")

    def moved():
        _, e = scrape()
        ok = True
        for worker, q in (("order-worker", "orders.payments"), ("inventory", "inventory.settlement"),
                          ("shipping-worker", "shipping.orders"), ("notify-worker", "notify.events"),
                          ("payment-sim", "payments.requests")):
            a = before.value("shop_events_total", worker=worker, queue=q, outcome="consumed") or 0
            b = e.value("shop_events_total", worker=worker, queue=q, outcome="consumed") or 0
            ok = ok and b > a
        a = before.value("shop_outbox_published_total", schema="shop_orders") or 0
        b = e.value("shop_outbox_published_total", schema="shop_orders") or 0
        ok = ok and b > a
        ok = ok and (e.value("shop_emails_sent_total") or 0) > (before.value("shop_emails_sent_total") or 0)
        return ok
    t.ok(poll(moved, timeout=5), "events consumed by each worker, outbox published, mails sent")
    _, e = scrape()
    for lab, v in e.series("shop_outbox_oldest_age_seconds"):
        t.ok(0 <= v < 60, "outbox of %s: oldest unsent row %.3f s old" % (lab.get("schema"), v))


def log_lines(name, needle):
    path = os.path.join(stack_env("SHOP_LOG_DIR") or os.path.join(SHOP_VAR, "log"), name)
    out = []
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 8 * 1024 * 1024))
            for line in f.read().split(b"\n"):
                if needle.encode() in line:
                    out.append(line.decode("utf-8", "replace"))
    except OSError:
        pass
    return out


@test
def one_grep_follows_an_order(t):
    """The client's X-Request-Id of POST /orders and of POST /payments is in
    nginx's access log (with upstream timings), the pool's log line, the
    events' headers and every worker's line, down to the mails' SENT lines:
    one grep follows the order from the request to the email."""
    require_sink(t)
    u = buyer("trace")
    p = product(stock=5)
    rid_order = "trace-order-" + uniq("r")
    rid_pay = "trace-pay-" + uniq("r")
    r = place(u, items_body((p["id"], 1)), headers={"X-Request-Id": rid_order})
    t.require(r.status == 201, "order placed: %r" % r)
    oid = order_of(r)["id"]
    mail_of(t, u, "ORDER_PLACED", "the order mail")
    r = request("POST", API + "/payments", {"order_id": oid, "payment_method": "pm_card_ok"},
                token=u.token, headers={"Idempotency-Key": idem(), "X-Request-Id": rid_pay})
    t.require(r.status == 202, "payment started: %r" % r)
    wait_order(t, u, oid, "PAID", "order paid")
    mail_of(t, u, "PAYMENT_SUCCEEDED", "the payment mail")

    def found(name, rid, pred=lambda rec: True):
        def look():
            for line in log_lines(name, rid):
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if rec.get("request_id") == rid and pred(rec):
                    return rec
            return None
        return poll(look, timeout=5)

    acc = found("nginx-access.log", rid_order, lambda r: r.get("method") == "POST")
    t.ok(acc, "access log line of POST /orders with %s" % rid_order)
    if acc:
        t.ok(acc.get("upstream_response_time") not in (None, "", "-"), "upstream timing in %r" % acc)
        t.eq(acc.get("status"), 201, "status in the access log")
    rec = found("orders.log", rid_order, lambda r: r.get("msg") == "request")
    t.ok(rec, "orders pool's request line with %s" % rid_order)
    if rec:
        for k in ("time", "level", "app", "request_id", "user_id", "route", "status", "duration_ms"):
            t.ok(k in rec, "the request line has %s: %r" % (k, rec))
        t.eq(rec.get("route"), "POST /api/v1/orders", "route")
        t.eq(str(rec.get("user_id")), str(u.id), "user id")
    t.ok(found("notify-worker.log", rid_order, lambda r: "SENT" in (r.get("msg") or "")),
         "notify worker's SENT line of the order mail carries %s" % rid_order)

    t.ok(found("payments.log", rid_pay, lambda r: r.get("msg") == "request"), "payments pool: %s" % rid_pay)
    t.ok(found("payment-sim.log", rid_pay), "payment simulator: %s" % rid_pay)
    # the webhook the simulator sends carries the id: nginx logs it too
    t.ok(found("nginx-access.log", rid_pay, lambda r: "webhook" in (r.get("uri") or "")),
         "the webhook's access line carries %s" % rid_pay)
    for name in ("order-worker.log", "inventory.log", "shipping-worker.log"):
        t.ok(found(name, rid_pay, lambda r: "handled" in (r.get("msg") or "")), "%s handled an event of %s" % (name, rid_pay))
    t.ok(found("notify-worker.log", rid_pay, lambda r: "SENT" in (r.get("msg") or "")),
         "notify worker's SENT line of the payment mail carries %s" % rid_pay)


@test
def queues_consumed(t):
    """The management API (what an operator sees in the UI) shows every queue
    of the topology with at least one consumer, and its .retry and .dlq."""
    src = open(os.path.join(REPO, "lib", "topology.c")).read()
    queues = re.findall(r'^\s*\{ "([a-z.]+)", [a-z_]+_keys \}', src, re.M)
    t.ok(len(queues) >= 6, "queues of lib/topology.c: %r" % queues)

    def state():
        st, body = mgmt("GET", "/api/queues/%s?columns=name,consumers" % urllib.parse.quote(vhost(), safe=""))
        return {q["name"]: q.get("consumers") for q in body} if st == 200 and isinstance(body, list) else None

    last = {}

    def all_consumed():
        s = state()
        if s is None:
            return False
        last.clear()
        last.update(s)
        return all((s.get(q) or 0) >= 1 for q in queues)
    t.ok(poll(all_consumed, timeout=15, interval=0.5),
         "every queue has a consumer: %r" % {q: last.get(q) for q in queues})
    for q in queues:
        for side in (q + ".retry", q + ".dlq"):
            t.ok(side in last, "queue %s exists" % side)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@test
def prometheus_scrapes(t):
    """A real Prometheus (Debian's) scrapes /metrics with the configuration of
    docs/operations.md and can query the shop's series."""
    prom = shutil.which("prometheus")
    t.ok(prom, "prometheus (Debian package) is on PATH")
    if not prom:
        return
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="shop-prom-")
    target = "%s:%d" % (urllib.parse.urlsplit(os.environ.get("SHOP_E2E_BASE_URL") or stack_env("SHOP_BASE_URL")).hostname,
                        urllib.parse.urlsplit(os.environ.get("SHOP_E2E_BASE_URL") or stack_env("SHOP_BASE_URL")).port)
    with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n"
                "  - job_name: shop\n    metrics_path: /metrics\n"
                "    static_configs:\n      - targets: ['%s']\n" % target)
    log = open(os.path.join(tmp, "prometheus.log"), "wb")
    proc = subprocess.Popen([prom, "--config.file=" + os.path.join(tmp, "prometheus.yml"),
                             "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                             "--web.listen-address=127.0.0.1:%d" % port],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        def query(q):
            url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (port, urllib.parse.quote(q))
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    d = json.load(resp)
                return d.get("data", {}).get("result") or []
            except (OSError, ValueError):
                return []
        up = poll(lambda: [r for r in query('up{job="shop"}') if r.get("value", [0, "0"])[1] == "1"],
                  timeout=30, interval=0.5)
        t.ok(up, "Prometheus scraped the shop (up == 1)")
        res = poll(lambda: query('sum by (app) (shop_http_requests_total)'), timeout=10, interval=0.5)
        apps = {r["metric"].get("app") for r in res or []}
        t.ok({"auth", "catalog"} <= apps, "Prometheus has shop_http_requests_total of %r" % sorted(apps))
        res = query('histogram_quantile(0.99, sum by (le) (rate(shop_http_request_duration_seconds_bucket[1m])))')
        t.ok(isinstance(res, list), "a latency quantile query answers")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _secret_values():
    """Every generated secret of the stack: database and broker passwords, the
    webhook secret, the body lines of the JWT private keys."""
    out = {}
    sdir = os.path.join(SHOP_VAR, "secrets")
    for name in sorted(os.listdir(sdir)) if os.path.isdir(sdir) else []:
        # root.cnf repeats db-root; the demo logins are printed on purpose
        # by ./shop up (var/demo-logins.json), they are not the shop's secrets
        if name.endswith(".cnf") or name.startswith("demo-"):
            continue
        with open(os.path.join(sdir, name)) as f:
            out["secrets/" + name] = f.read().strip()
    ws = os.path.join(SHOP_VAR, "webhook-secret")
    if os.path.exists(ws):
        out["webhook-secret"] = open(ws).read().strip()
    kdir = os.path.join(SHOP_VAR, "keys")
    for name in sorted(os.listdir(kdir)) if os.path.isdir(kdir) else []:
        if name.endswith(".key"):
            lines = [ln for ln in open(os.path.join(kdir, name)).read().split("\n")
                     if ln and not ln.startswith("-----")]
            if lines:
                out["keys/" + name] = max(lines, key=len)
    return {k: v for k, v in out.items() if len(v) >= 12}


@test
def secrets_never_logged(t):
    """No generated secret appears in any log of the stack (apps, workers,
    nginx, MariaDB, RabbitMQ) nor in what ./shop printed while starting it."""
    secrets = _secret_values()
    t.ok(len(secrets) >= 5, "secrets found: %r" % sorted(secrets))
    logdir = stack_env("SHOP_LOG_DIR") or os.path.join(SHOP_VAR, "log")
    files = [os.path.join(logdir, f) for f in os.listdir(logdir)]
    files += [os.path.join(SHOP_VAR, f) for f in os.listdir(SHOP_VAR) if f.endswith(".log")]
    t.ok(len(files) >= 10, "log files: %d" % len(files))
    for path in files:
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            data = f.read()
        for name, value in secrets.items():
            t.ok(value.encode() not in data, "%s appears in %s" % (name, path))
