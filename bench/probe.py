#!/usr/bin/env python3
"""Where the time goes during one benchmark scenario (bench/checkout.sh).

    probe.py snap STACKDIR OUT.json
        CPU time so far of every process of the stack (those whose command
        line names STACKDIR, and their children: nginx's workers, the pools'
        processes) and of wrk, the machine's total CPU time (/proc/stat), and
        the sizes of the logs.
    probe.py brief BEFORE.json AFTER.json [CLIENT_CPU_SECONDS]
        One line: the CPU time of the stack, of the load client and of the
        rest of the machine (other tenants) over the window, in % of one core;
        then "PATH_SECONDS s": the CPU seconds of the request path (nginx, the
        pools, MariaDB, the peers: the stack less its background workers,
        RabbitMQ and the SMTP sink).
    probe.py report STACKDIR BEFORE.json AFTER.json CLIENT_CPU_SECONDS [REQUESTS]
        One line per source, for the window between the two snapshots:
          cpu: each component's share of ONE core (100% = a core busy for the
               whole window), the stack's total, the load client's (wrk or
               paid.py: CLIENT_CPU_SECONDS, measured by the caller) and
               "others" = the rest of the machine's busy time (other tenants
               of a shared machine)
          nginx: request_time and upstream_response_time, p50/p99, of the
               REQUESTS in the access log: "[METHOD ]PATH" (method POST
               unless given; a PATH ending in "/" matches every path under
               it, else exactly that path without its query; default
               "POST /api/v1/orders")
          mariadb: statements, commits, rollbacks, deadlocks and InnoDB
               row-lock waits (count, total time) in the window (SHOW
               GLOBAL STATUS; also what the workers did meanwhile)
          orders app: duration_ms p50/p99/mean of POST /api/v1/orders
               (orders.log), and the handler threads busy on average
          payments app: the same for POST /api/v1/payments
          catalog app: the same for GET /api/v1/products/{id} and
               GET /api/v1/products (catalog.log)
          identity app: the same for GET /api/v1/users/me (identity.log)
          auth: the same for the auth subrequests (auth.log)
        request_time - upstream_response_time is nginx plus the auth
        subrequest; upstream - app duration is the wait for a pool thread and
        the FastCGI transfer; the app's duration is its own work (database
        round trips and row-lock waits included)."""

import calendar
import json
import os
import subprocess
import sys
import time

LOGS = ("nginx-access.log", "orders.log", "auth.log", "payments.log", "catalog.log",
        "identity.log")
STATUS = ("Questions", "Com_commit", "Com_rollback", "Innodb_row_lock_waits",
          "Innodb_row_lock_time", "Innodb_deadlocks")

GROUPS = (  # comm prefix -> component
    ("mariadbd", "mariadb"), ("nginx", "nginx"), ("shop-orders", "orders"),
    ("shop-auth", "auth"), ("shop-payments", "payments"), ("shop-catalog", "catalog"),
    ("shop-identity", "identity"), ("shop-cart", "cart"), ("beam.smp", "rabbitmq"),
    ("shop-outbox-rel", "relay"), ("shop-order-work", "order-worker"),
    ("shop-inventory", "inventory"), ("shop-payment-si", "payment-sim"),
    ("shop-shipping-w", "shipping-worker"), ("shop-notify-wor", "notify-worker"),
    ("shop-payments-w", "payments-worker"), ("shop-shipping", "shipping"),
    ("shop-notify", "notify"), ("shop-bench-hell", "hello"), ("php-fpm", "php-fpm"),
)
# By command line: the harness's SMTP sink; the benchmark's own Python clients
# (their CPU time is the load client's, measured by the caller) are left out.
CMD_GROUPS = (("smtp_sink.py", "smtp-sink"),)
CLIENTS = ("bench/paid.py", "bench/webhooks.py", "bench/visible.py", "bench/prepare.py")


def proc_stat(pid):
    with open("/proc/%s/stat" % pid) as f:
        s = f.read()
    comm = s[s.index("(") + 1:s.rindex(")")]
    rest = s[s.rindex(")") + 2:].split()
    # fields after comm: state(0) ppid(1) ... utime(11) stime(12)
    return comm, int(rest[1]), int(rest[11]) + int(rest[12])


def snap(stackdir, out):
    procs = {}
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            comm, ppid, ticks = proc_stat(p)
            with open("/proc/%s/cmdline" % p, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except (OSError, ValueError, IndexError):
            continue
        procs[p] = {"comm": comm, "ppid": ppid, "ticks": ticks, "mine": stackdir in cmd,
                    "cmd": cmd[:300]}
    # children of the stack's processes (nginx workers rename themselves)
    for p, v in procs.items():
        if not v["mine"] and str(v["ppid"]) in procs and procs[str(v["ppid"])]["mine"]:
            v["child"] = True
    mine = {p: v for p, v in procs.items() if v["mine"] or v.get("child")}
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    sizes = {}
    for name in LOGS:
        try:
            sizes[name] = os.path.getsize(os.path.join(stackdir, "log", name))
        except OSError:
            sizes[name] = 0
    status = {}
    try:
        p = subprocess.run(["mariadb", "--defaults-file=" + os.path.join(stackdir, "secrets", "root.cnf"),
                            "--batch", "--skip-column-names", "-e",
                            "SHOW GLOBAL STATUS WHERE Variable_name IN (%s)"
                            % ",".join("'%s'" % v for v in STATUS)],
                           capture_output=True, timeout=10, text=True)
        for line in p.stdout.splitlines():
            k, _, v = line.partition("\t")
            status[k] = int(v)
    except (OSError, ValueError, subprocess.SubprocessError):
        pass
    with open(out, "w") as f:
        json.dump({"time": time.monotonic(), "procs": mine, "cpu": cpu, "sizes": sizes,
                   "status": status, "hz": os.sysconf("SC_CLK_TCK")}, f)


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def fmt_ms(x):
    return "-" if x is None else ("%.1f" % x)


def window_lines(stackdir, name, a, b):
    path = os.path.join(stackdir, "log", name)
    try:
        with open(path, "rb") as f:
            f.seek(a["sizes"].get(name, 0))
            data = f.read(max(0, b["sizes"].get(name, 0) - a["sizes"].get(name, 0)))
    except OSError:
        return []
    out = []
    for line in data.split(b"\n"):
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def cpu_split(a, b, client_cpu):
    """CPU ticks of the window: ({component: ticks}, stack total, client,
    others, machine busy), and the window's length in seconds."""
    secs = max(1e-6, b["time"] - a["time"])
    hz = b["hz"]
    comp = {}
    for p, v in b["procs"].items():
        t0 = a["procs"].get(p, {}).get("ticks", 0) if a["procs"].get(p, {}).get("comm") == v["comm"] else 0
        d = v["ticks"] - t0
        cmd = v.get("cmd", "")
        if any(c in cmd for c in CLIENTS):
            continue
        name = "other"
        for pre, g in GROUPS:
            if v["comm"].startswith(pre):
                name = g
                break
        for pre, g in CMD_GROUPS:
            if pre in cmd:
                name = g
        comp[name] = comp.get(name, 0) + d
    ours = sum(comp.values())
    client = float(client_cpu or 0) * hz
    # /proc/stat: user nice system idle iowait irq softirq steal ...
    busy = lambda c: sum(c) - c[3] - c[4]
    machine = busy(b["cpu"]) - busy(a["cpu"])
    others = max(0, machine - ours - client)
    return comp, ours, client, others, machine, secs


def share_of(t, hz, secs):
    return "%d%%" % round(100.0 * t / hz / secs)


# The background: what runs whether requests come or not (polling,
# consumers), left out of a request's own CPU time.
BACKGROUND = ("relay", "order-worker", "inventory", "payment-sim", "payments-worker",
              "shipping-worker", "notify-worker", "rabbitmq", "smtp-sink")


def brief(before, after, client_cpu="0"):
    """Two lines: the stack's, the client's and the other tenants' CPU over
    the window, in % of one core; then "PATH_SECONDS s": the CPU seconds of
    everything that serves requests (the stack less its BACKGROUND)."""
    with open(before) as f:
        a = json.load(f)
    with open(after) as f:
        b = json.load(f)
    comp, ours, client, others, machine, secs = cpu_split(a, b, client_cpu)
    share = lambda t: share_of(t, b["hz"], secs)
    path = sum(v for k, v in comp.items() if k not in BACKGROUND)
    print("stack %s, client %s, others %s" % (share(ours), share(client), share(others)))
    print("PATH_SECONDS %.3f" % (path / float(b["hz"])))


def report(stackdir, before, after, client_cpu="0", requests="POST /api/v1/orders"):
    with open(before) as f:
        a = json.load(f)
    with open(after) as f:
        b = json.load(f)
    comp, ours, client, others, machine, secs = cpu_split(a, b, client_cpu)
    hz = b["hz"]
    share = lambda t: share_of(t, hz, secs)
    parts = ["%s %s" % (k, share(v)) for k, v in sorted(comp.items(), key=lambda kv: -kv[1]) if v > 0]
    print("cpu (%% of one core over %.1f s): %s; stack total %s; load client %s; "
          "others on the machine %s; machine busy %s of %d00%%"
          % (secs, ", ".join(parts), share(ours), share(client), share(others), share(machine),
             os.cpu_count()))

    method, _, prefix = requests.rpartition(" ")
    method = method or "POST"

    def wanted(x):
        path = str(x.get("uri", "")).split("?")[0]
        return x.get("method") == method and (path.startswith(prefix) if prefix.endswith("/")
                                              else path == prefix)
    acc = [x for x in window_lines(stackdir, "nginx-access.log", a, b) if wanted(x)]
    rt = [float(x["request_time"]) * 1000 for x in acc if x.get("request_time") not in (None, "")]
    ut = []
    for x in acc:
        u = str(x.get("upstream_response_time", ""))
        try:
            ut.append(sum(float(t) for t in u.replace(":", ",").split(",") if t.strip() not in ("", "-")) * 1000)
        except ValueError:
            pass
    print("nginx (%d %s %s): request_time p50 %s / p99 %s ms; upstream_response_time p50 %s / p99 %s ms"
          % (len(acc), method, prefix, fmt_ms(pct(rt, 50)), fmt_ms(pct(rt, 99)), fmt_ms(pct(ut, 50)),
             fmt_ms(pct(ut, 99))))
    sa, sb = a.get("status", {}), b.get("status", {})
    if sa and sb:
        d = {k: sb.get(k, 0) - sa.get(k, 0) for k in STATUS}
        n = max(1, len(acc))
        waits = d["Innodb_row_lock_waits"]
        print("mariadb: %d statements (%.1f per request), %d commits, %d rollbacks, %d deadlocks; "
              "row-lock waits %d, %d ms in all (%.1f ms each)"
              % (d["Questions"], d["Questions"] / n, d["Com_commit"], d["Com_rollback"],
                 d["Innodb_deadlocks"], waits, d["Innodb_row_lock_time"],
                 d["Innodb_row_lock_time"] / waits if waits else 0.0))
    for log, label, want in (("orders.log", "orders app", "POST /api/v1/orders"),
                             ("payments.log", "payments app", "POST /api/v1/payments"),
                             ("payments.log", "payments app", "POST /api/v1/payments/webhook"),
                             ("catalog.log", "catalog app", "GET /api/v1/products/{id}"),
                             ("catalog.log", "catalog app", "GET /api/v1/products"),
                             ("identity.log", "identity app", "GET /api/v1/users/me"),
                             ("auth.log", "auth subrequest", "AUTH")):
        rows = [x for x in window_lines(stackdir, log, a, b)
                if x.get("route") == want and "duration_ms" in x]
        d = [float(x["duration_ms"]) for x in rows]
        if not d:
            continue
        # Busy handler threads on average while these requests ran: the sum
        # of their durations over the span of their log lines (a pool of
        # P x T threads is saturated when this nears P x T).
        ends = [epoch(x.get("time")) for x in rows]
        ends = [e for e in ends if e is not None]
        busy = ""
        if len(ends) > 1:
            span = max(ends) - min(ends) + min(d) / 1000.0
            if span > 0:
                busy = "; busy threads %.1f on average over %.2f s" % (sum(d) / 1000.0 / span, span)
        print("%s (%d %s): duration_ms p50 %s / p99 %s / mean %s%s"
              % (label, len(d), want, fmt_ms(pct(d, 50)), fmt_ms(pct(d, 99)),
                 fmt_ms(sum(d) / len(d)), busy))


def epoch(t):
    """RFC 3339 UTC with milliseconds ("2026-01-02T03:04:05.678Z") → seconds."""
    try:
        base, _, frac = str(t).rstrip("Z").partition(".")
        return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))
    except (ValueError, TypeError):
        return None


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "snap":
        snap(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 4 and sys.argv[1] == "brief":
        brief(*sys.argv[2:5])
    elif len(sys.argv) >= 6 and sys.argv[1] == "report":
        report(*sys.argv[2:7])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
