"""A customer's life through the whole stack, checked through the API, the
SMTP sink and the stock figures: register, welcome mail, order, pay, ship,
deliver; order, pay, refund. And the notify worker killed (SIGKILL) in the
middle of a burst of registrations, restarted by `./shop up`: every welcome
mail sent, once (run last).

The products are made with shopclient.new_product (see test_shipping)."""

import os
import subprocess
import sys
import time

from tap import test
from shopclient import API, SHOP_VAR, User, get, in_parallel, login_user, new_product, new_user, post, uniq
from flowlib import (FOLLOWUP, GRACE, SqlError, cancel, sql, items_body, must_pay, must_place, order_status, stack_env,
                     stock_is, wait_for, wait_order, wait_stock)
from maillib import (check_money, smtp_dir, deliver, has_number, in_both, mail_of, mails, mails_to, notes_of,
                     paid_order, refund, require_sink, settle_mails, ship, wait_shipment)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _kinds_and_mails(t, u, kinds, what):
    """u's notifications are exactly kinds (newest first), all SENT, and the
    sink holds one message each (distinct Message-IDs)."""
    ns = notes_of(u)
    t.eq([n.get("kind") for n in ns], kinds, "%s: notifications, newest first" % what)
    t.eq([n.get("kind") for n in ns if n.get("status") != "SENT"], [], "%s: notifications not SENT" % what)
    ms = settle_mails(u)
    t.eq(len(ms), len(kinds), "%s: messages to %s: %r" % (what, u.email, ms))
    t.eq(len({m.message_id for m in ms}), len(ms), "%s: distinct Message-IDs" % what)
    t.eq(sorted(m.subject or "" for m in ms), sorted(n.get("subject") or "" for n in ns),
         "%s: the messages' subjects are the notifications'" % what)


@test
def ship_deliver(t):
    require_sink(t)
    name = "Life Shopper " + uniq("n")[-5:]
    u = new_user("life", name=name)
    _, m = mail_of(t, u, "WELCOME", "welcome")
    if m is not None:
        in_both(t, m, name, "the welcome mail names the user")
    a = new_product(initial_stock=8, price_cents=1525, name="Life Lamp " + uniq("l")[-5:])
    o = must_place(t, u, items_body((a["id"], 3)))
    stock_is(t, a["id"], {"on_hand": 8, "reserved": 3, "available": 5}, "reserved by the order")
    _, m = mail_of(t, u, "ORDER_PLACED", "order placed")
    if m is not None:
        t.ok(has_number(m.text, o["id"]), "ORDER_PLACED does not name order %d" % o["id"])
        in_both(t, m, a["name"], "ORDER_PLACED names the product")
        check_money(t, m, 4575, "EUR", "ORDER_PLACED total")
    t.expect(get(API + "/shipments/%d" % o["id"], token=u.token), 404, what="no shipment before payment")
    must_pay(t, u, o["id"], "pm_card_ok")
    wait_order(t, u, o["id"], "PAID", "order PAID")
    wait_stock(t, a["id"], {"on_hand": 5, "reserved": 0, "available": 5}, "settled: on_hand 8 - 3")
    mail_of(t, u, "PAYMENT_SUCCEEDED", "payment succeeded")
    wait_shipment(t, u, o["id"], "PENDING", "shipment PENDING")
    trk = "LIFE" + uniq("t").replace("-", "").upper()[-10:]
    t.expect(ship(o["id"], "GLS", trk), 200, what="ship")
    t.eq(order_status(u, o["id"]), "SHIPPED", "order SHIPPED when the answer is sent")
    _, m = mail_of(t, u, "ORDER_SHIPPED", "shipped")
    if m is not None:
        in_both(t, m, trk, "ORDER_SHIPPED tracking number")
    t.expect(deliver(o["id"]), 200, what="deliver")
    t.eq(order_status(u, o["id"]), "DELIVERED", "order DELIVERED when the answer is sent")
    mail_of(t, u, "ORDER_DELIVERED", "delivered")
    stock_is(t, a["id"], {"on_hand": 5, "reserved": 0, "available": 5}, "after delivery")
    _kinds_and_mails(t, u, ["ORDER_DELIVERED", "ORDER_SHIPPED", "PAYMENT_SUCCEEDED", "ORDER_PLACED", "WELCOME"],
                     "the shipped life")


@test
def refund_life(t):
    require_sink(t)
    u = new_user("life-r")
    mail_of(t, u, "WELCOME", "welcome")
    a = new_product(initial_stock=4, price_cents=990)
    o, p = paid_order(t, u, [(a["id"], 4)])
    wait_stock(t, a["id"], {"on_hand": 0, "reserved": 0, "available": 0}, "sold out after settlement")
    t.expect(refund(p["id"]), 202, what="refund")
    wait_order(t, u, o["id"], "REFUNDED", "order REFUNDED")
    wait_stock(t, a["id"], {"on_hand": 4, "reserved": 0, "available": 4}, "stock restored")
    _, m = mail_of(t, u, "ORDER_REFUNDED", "refunded")
    if m is not None:
        check_money(t, m, 3960, "EUR", "ORDER_REFUNDED amount")
    # the stock can be bought again
    o2 = must_place(t, u, items_body((a["id"], 4)))
    stock_is(t, a["id"], {"on_hand": 4, "reserved": 4, "available": 0}, "the restocked units ordered again")
    t.expect(cancel(u, o2["id"]), 200, what="cancel")
    mail_of(t, u, "ORDER_CANCELLED", "cancelled")
    _kinds_and_mails(t, u, ["ORDER_CANCELLED", "ORDER_PLACED", "ORDER_REFUNDED", "PAYMENT_SUCCEEDED",
                            "ORDER_PLACED", "WELCOME"], "the refunded life")


# ---------------------------------------------------------------- crash

def _pid_of(name):
    """The pid in $SHOP_VAR/run/<name>.pid when that process lives and is
    this stack's (its command line names $SHOP_VAR)."""
    try:
        with open(os.path.join(SHOP_VAR, "run", name + ".pid")) as f:
            pid = int(f.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except (OSError, ValueError):
        return None
    return pid if SHOP_VAR and SHOP_VAR.rstrip("/") + "/" in cmd else None


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _stack_pids():
    """{pid file: pid} of every live process of the stack (run/*.pid, nginx)."""
    out = {}
    run = os.path.join(SHOP_VAR, "run")
    files = [os.path.join(run, n) for n in sorted(os.listdir(run)) if n.endswith(".pid")] \
        if os.path.isdir(run) else []
    files.append(os.path.join(SHOP_VAR, "nginx", "nginx.pid"))
    for f in files:
        try:
            with open(f) as fh:
                pid = int(fh.read().strip())
        except (OSError, ValueError):
            continue
        if _alive(pid):
            out[os.path.relpath(f, SHOP_VAR)] = pid
    return out


def _shop_up(build):
    """`SHOP_VAR=$SHOP_VAR ./shop up` with the binaries of build as they are
    (the settings of the stack from its shop.env, none inherited)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("SHOP_HTTP_PORT", "SHOP_DB_PORT", "SHOP_AMQP_PORT", "SHOP_MGMT_PORT", "SHOP_DIST_PORT",
                        "SHOP_EPMD_PORT", "SHOP_PROFILE", "SHOP_BASE_URL", "SHOP_SMTP_PORT")}
    env["SHOP_VAR"] = SHOP_VAR
    if build:
        env["SHOP_BUILD"] = build
        env["SHOP_SKIP_BUILD"] = "1"
    root = stack_env("SHOP_ROOT", REPO)
    t0 = time.monotonic()
    p = subprocess.run([os.path.join(root, "shop"), "up"], env=env, capture_output=True, timeout=120)
    return p, time.monotonic() - t0


def _attempts(addr):
    """", notification (status, attempts) [...]" of addr (SQL as root), or ""."""
    try:
        rows = sql("SELECT n.status, n.attempts FROM shop_notify.notifications n JOIN shop_identity.users u"
                   " ON u.id = n.user_id WHERE u.email = '%s'" % addr.replace("'", ""))
        return ", notification (status, attempts) %s" % [tuple(r) for r in rows]
    except SqlError:
        return ""


_KILLER = r"""
import json, os, signal, sys, time
d, pid, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
want = {l.strip().lower() for l in sys.stdin if l.strip()}
seen = set(n for n in os.listdir(d) if n.endswith(".json"))
print("ready", flush=True)
deadline = time.monotonic() + limit
def ours(names):
    k = 0
    for n in names:
        try:
            with open(os.path.join(d, n)) as f:
                if want & {r.lower() for r in json.load(f).get("rcpt_tos") or []}:
                    k += 1
        except (OSError, ValueError):
            pass
    return k
while time.monotonic() < deadline:
    new = [n for n in os.listdir(d) if n.endswith(".json") and n not in seen]
    if new and ours(new):
        break
    time.sleep(0.001)
os.kill(pid, signal.SIGKILL)
print("killed %d" % ours([n for n in os.listdir(d) if n.endswith(".json") and n not in seen]), flush=True)
"""


@test(last=True)
def notify_crash(t):
    """30 users register at once; the notify worker is SIGKILLed as soon as
    the first of their welcome mails arrives (or after 10 s) and restarted
    with ./shop up: every WELCOME notification ends SENT, each user has their
    message, only the one mail in flight at the kill may arrive twice (as one
    notification), and ./shop up leaves the rest of the stack alone."""
    require_sink(t)
    n = 30
    pid = _pid_of("notify-worker")
    if pid is None:
        t.skip("no live notify worker of this stack in %s/run/notify-worker.pid" % SHOP_VAR)
    try:
        exe = os.readlink("/proc/%d/exe" % pid)
    except OSError:
        exe = None
    # <build>/workers/notify/shop-notify-worker
    build = os.path.dirname(os.path.dirname(os.path.dirname(exe))) if exe else None
    before = _stack_pids()
    emails = ["e2e.crash-%s-%d@example.com" % (uniq("c").lower(), i) for i in range(n)]
    emailset = set(emails)
    # The killer is a process of its own (this one's threads share a GIL
    # with the 30 requests): it polls the sink every millisecond and kills
    # the worker as soon as a message to one of the 30 arrived.
    killer = subprocess.Popen([sys.executable, "-c", _KILLER, smtp_dir(), str(pid), "10"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killer.stdin.write(("\n".join(emails) + "\n").encode())
    killer.stdin.close()
    t.require(killer.stdout.readline().strip() == b"ready", "the killer process did not start")
    pw = "pw-" + uniq("secret") + "-Long"

    def register(i):
        r = post(API + "/auth/register", {"email": emails[i], "password": pw, "name": "Crash %d" % i})
        return User(emails[i], pw, (r.data or {}).get("user")) if r.status == 201 else r
    users = in_parallel(register, n)
    killer.stdin = None     # closed above: communicate() must not flush it
    try:
        out, err = killer.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        killer.kill()
        out, err = killer.communicate()
    killed = {}
    for line in out.decode().split("\n"):
        if line.startswith("killed "):
            killed["mailed"] = int(line.split()[1])
    dead, _ = wait_for(lambda: not _alive(pid), 5.0, interval=0.02)
    mailed_down = sum(1 for m in mails() if emailset & m.recipients())
    # the restart, whatever happened above
    p, secs = _shop_up(build)
    t.require(p.returncode == 0, "./shop up failed (%d): %s" % (p.returncode, (p.stdout + p.stderr)
                                                                 .decode("utf-8", "replace")[-2000:]))
    t.note("./shop up took %.1f s" % secs)
    bad = [u for u in users if not hasattr(u, "email")]
    t.require(not bad, "registrations failed: %r" % bad[:3])
    t.require("mailed" in killed, "the killer process did not kill the notify worker: %r %r" % (out, err))
    t.require(dead, "the notify worker (pid %d) still lived after SIGKILL" % pid)
    t.note("killed the notify worker after at most %d of %d welcome mails (%d in the sink before the restart)"
           % (killed["mailed"], n, mailed_down))
    if mailed_down >= n:
        t.note("the kill came after the whole burst was mailed: the crash was not mid-burst")
    npid = _pid_of("notify-worker")
    t.ok(npid is not None and npid != pid, "notify worker after ./shop up: pid %r (was %d)" % (npid, pid))
    after = _stack_pids()
    changed = {k: (before.get(k), after.get(k)) for k in set(before) | set(after)
               if k != "run/notify-worker.pid" and before.get(k) != after.get(k)}
    t.eq(changed, {}, "processes of the stack that ./shop up started again or stopped (pid file: before, after)")
    t.expect(get("/healthz", check_envelope=False), 200, what="GET /healthz after ./shop up")
    # every welcome SENT, one message each
    for u in in_parallel(lambda i: login_user(users[i]), n):
        t.require(u is not None and u.token, "logging in a crash user failed")

    def all_sent():
        return all(len(notes_of(u, "WELCOME", "SENT")) == 1 for u in users)
    ok, secs = wait_for(all_sent, 10.0, interval=0.2)
    t.ok(ok, "WELCOME notifications not SENT %.1f s after the restart: %r" % (
        secs, [(u.email, notes_of(u)) for u in users if len(notes_of(u, "WELCOME", "SENT")) != 1][:5]))
    if ok and secs > FOLLOWUP + GRACE:
        t.note("all SENT %.1f s after the restart" % secs)
    for u in users:
        ns = notes_of(u)
        t.eq([x.get("kind") for x in ns], ["WELCOME"], "notifications of %s" % u.email)
    # a duplicate would come soon after the first: give it the time once
    settle_mails(users[-1], quiet=0.3, timeout=3.0)
    # What SMTP allows (workers/notify/handle.c): a mail whose outcome was
    # recorded is never sent again; the one mail in flight when the kill
    # fell between the server's acceptance and the commit of SENT may be
    # sent once more, as the same notification (same Message-ID), since no
    # client can know whether that server accepted it. This test kills the
    # worker right after a mail reaches the sink, aiming at that window.
    counts = {u.email: len(mails_to(u.email)) for u in users}
    t.eq({e: c for e, c in counts.items() if c < 1}, {}, "users without a message in the sink (address: count)")
    resent = {e: c for e, c in counts.items() if c > 1}
    for e in sorted(resent):
        ms = mails_to(e)
        t.note("%s: messages %s, Message-IDs %s%s" % (e, [m.name for m in ms], [m.message_id for m in ms],
                                                       _attempts(e)))
        t.eq(len({m.message_id for m in ms}), 1, "the copies to %s are one notification (one Message-ID)" % e)
    t.ok(sum(c - 1 for c in resent.values()) <= 1,
         "more than the one mail in flight at the kill was sent twice: %r" % resent)
    if resent:
        t.note("the kill fell in the unknowable window: one mail was sent again with its Message-ID")
    mids = {m.message_id for m in mails() if emailset & m.recipients()}
    t.eq(len(mids), n, "one distinct Message-ID per user's welcome notification")
