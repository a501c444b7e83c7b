"""Notifications: one notification and one email per event, delivered by the
notify worker to the stack's SMTP sink (multipart/alternative, text and
HTML), what each kind of message says, GET /notifications (own only, newest
first), and a redelivered event that must not mail twice.

The products are made with shopclient.new_product (see test_shipping)."""

import json
import re

from tap import test
from shopclient import API, email, fx, get, new_product, new_user, post, qs, uniq, walk
from flowlib import (FOLLOWUP, GRACE, SqlError, TS_RE, buyer, cancel, holds, items_body, must_pay, must_place,
                     outbox_events, publish_event, sql, wait_for, wait_order, wait_payment)
from maillib import (all_notifications, check_mail, check_money, check_notification, deliver, has_number,
                     in_both, mail_of, mails, mails_to, notes_of, notifications, paid_order, require_sink,
                     settle_mails, ship, wait_mails)


def _one_per_event(t, u, want_kinds, what):
    """u's notifications are want_kinds (one each, every one SENT), and the
    sink holds exactly one message per notification: as many messages as
    notifications, distinct Message-IDs, one message per subject."""
    items, prob = all_notifications(u)
    t.ok(prob is None, "%s: walking /notifications: %s" % (what, prob))
    kinds = sorted(n.get("kind") for n in items)
    t.eq(kinds, sorted(want_kinds), "%s: notification kinds" % what)
    t.eq([n.get("kind") for n in items if n.get("status") != "SENT"], [], "%s: notifications not SENT" % what)
    ms = settle_mails(u)
    t.eq(len(ms), len(items), "%s: messages to %s (%r) for %d notifications" % (what, u.email, ms, len(items)))
    mids = [m.message_id for m in ms]
    t.eq(len(set(mids)), len(mids), "%s: Message-IDs %r are not distinct" % (what, mids))
    for n in items:
        same = [m for m in ms if m.subject == n.get("subject")]
        t.eq(len(same), 1, "%s: messages with the subject of notification %s %r" % (
            what, n.get("kind"), n.get("subject")))
    return items, ms


@test
def welcome(t):
    require_sink(t)
    name = "Ada Welcome " + uniq("n")[-6:]
    u = new_user("welcome", name=name)
    ms = wait_mails(t, u.email, 1, "WELCOME mail")
    t.require(ms, "no WELCOME mail")
    m = ms[0]
    check_mail(t, m, "WELCOME mail", to=u.email)
    n, m2 = mail_of(t, u, "WELCOME", "WELCOME")
    if m2 is not None:
        t.eq(m2.name, m.name, "the WELCOME notification's subject names the mail")
    in_both(t, m, name, "WELCOME mail names the user")
    _one_per_event(t, u, ["WELCOME"], "after registering")
    # the To header is the user's address only: nobody else got it
    others = [x for x in ms if x.recipients() != {u.email.lower()}]
    t.eq(others, [], "WELCOME mail recipients")


@test
def order_placed(t):
    require_sink(t)
    u = buyer("placed")
    a = new_product(initial_stock=10, price_cents=1250, name="Blue Kettle " + uniq("k")[-6:])
    b = new_product(initial_stock=10, price_cents=399, name="Green Mug " + uniq("m")[-6:])
    o = must_place(t, u, items_body((a["id"], 2), (b["id"], 1)))
    t.eq(o.get("total_cents"), 2899, "total of the order")
    _, m = mail_of(t, u, "ORDER_PLACED", "ORDER_PLACED")
    if m is None:
        return
    for label, s in (("text", m.text), ("HTML", m.html_text())):
        t.ok(has_number(s, o["id"]), "ORDER_PLACED %s part does not name order %d:\n%s" % (label, o["id"], s))
    for p in (a, b):
        in_both(t, m, p["name"], "ORDER_PLACED names the line %s" % p["name"])
    check_money(t, m, 2899, "EUR", "ORDER_PLACED total")
    check_money(t, m, 2500, "EUR", "ORDER_PLACED line total of 2 x 12.50")
    if not has_number(m.subject, o["id"]):
        t.note("the ORDER_PLACED subject %r does not name the order" % m.subject)
    _one_per_event(t, u, ["WELCOME", "ORDER_PLACED"], "after ordering")
    t.expect(cancel(u, o["id"]), 200, what="cancel")


@test
def other_currency(t):
    """Totals in each currency's own format: dollars for USD, no decimals
    for JPY, thousands grouped."""
    require_sink(t)
    for cur, price, q, total, wrong in (("USD", 1999, 3, 5997, ("\u20ac", "EUR")),
                                         ("JPY", 1500, 1, 1500, ("15.00", "1,500.00", "\u20ac")),
                                         ("EUR", 123456, 1, 123456, ("$",))):
        u = buyer("cur")
        a = new_product(initial_stock=5, price_cents=price, currency=cur)
        o = must_place(t, u, items_body((a["id"], q)))
        _, m = mail_of(t, u, "ORDER_PLACED", "ORDER_PLACED (%s)" % cur)
        if m is not None:
            check_money(t, m, total, cur, "ORDER_PLACED total in %s" % cur)
            for label, s in (("text", m.text), ("HTML", m.html_text())):
                bad = [w for w in wrong if w in (s or "")]
                t.eq(bad, [], "the %s order's %s part shows %r:\n%s" % (cur, label, bad, s))
        t.expect(cancel(u, o["id"]), 200, what="cancel")


@test
def hostile_names(t):
    """Names from users and sellers go into the mail escaped: no markup in
    the HTML part, no header injection, non-ASCII kept (RFC 2047 in the
    Subject)."""
    require_sink(t)
    name = "Zo\u00eb <b>\u00dcn\u00efc\u00f8d\u00e9</b> & \u65e5\u672c " + uniq("h")[-5:]
    u = new_user("hostile", name=name)
    _, m = mail_of(t, u, "WELCOME", "WELCOME to a name with markup")
    if m is not None:
        t.ok(name in (m.text or ""), "the text part does not name %r:\n%s" % (name, m.text))
        t.ok(name in (m.html_text() or ""), "the HTML part does not show %r:\n%s" % (name, m.html))
        t.ok("<b>\u00dc" not in (m.html or ""), "the name's markup is in the HTML part unescaped:\n%s" % m.html)
        t.ok(name in (m.subject or ""), "the Subject %r does not name %r" % (m.subject, name))
        head = re.split(rb"\r?\n\r?\n", m.raw, 1)[0]
        t.ok(all(c < 128 for c in head) or "SMTPUTF8" in json.dumps(m.meta.get("mail_options") or []),
             "raw 8-bit bytes in the headers without SMTPUTF8")
    # a name with CR LF: refused at registration, or kept out of the headers
    evil = "Eve\r\nBcc: evil-%s@example.com" % uniq("x").lower()
    r = post(API + "/auth/register", {"email": email("crlf"), "password": "pw-" + uniq("s") + "-Long",
                                      "name": evil})
    t.expect(r, (201, 400), what="register a name with CR LF")
    if r.status == 201:
        addr = ((r.data or {}).get("user") or {}).get("email")
        ms = wait_mails(t, addr, 1, "WELCOME to a name with CR LF")
        for mm in ms:
            t.eq(mm.msg.get_all("Bcc"), None, "a Bcc header injected through the name")
            t.eq(mm.rcpt_tos() or [addr.lower()], [addr.lower()], "envelope recipients")
        t.eq([mm for mm in mails() if any(x.startswith("evil-") for x in mm.recipients())], [],
             "messages to the injected address")
    # a product name with markup in ORDER_PLACED
    pname = "<img src=x onerror=alert(1)> Mug & \"Co\" " + uniq("p")[-5:]
    a = new_product(initial_stock=3, price_cents=100, name=pname)
    o = must_place(t, u, items_body((a["id"], 1)))
    _, m = mail_of(t, u, "ORDER_PLACED", "ORDER_PLACED of a product with markup")
    if m is not None:
        t.ok(pname in (m.text or ""), "the text part does not name %r" % pname)
        t.ok(pname in (m.html_text() or ""), "the HTML part does not show %r" % pname)
        t.ok("<img" not in (m.html or ""), "the product's markup is in the HTML part unescaped")
    t.expect(cancel(u, o["id"]), 200, what="cancel")


@test
def declined_and_cancelled(t):
    require_sink(t)
    u = buyer("declined")
    a = new_product(initial_stock=5, price_cents=700)
    o = must_place(t, u, items_body((a["id"], 1)))
    p = must_pay(t, u, o["id"], "pm_card_declined")
    wait_payment(t, u, p["id"], "FAILED", "payment FAILED")
    _, m = mail_of(t, u, "PAYMENT_FAILED", "PAYMENT_FAILED")
    if m is not None:
        for label, s in (("text", m.text), ("HTML", m.html_text())):
            t.ok(has_number(s, o["id"]), "PAYMENT_FAILED %s part does not name order %d" % (label, o["id"]))
        check_money(t, m, 700, "EUR", "PAYMENT_FAILED amount")
    t.expect(cancel(u, o["id"]), 200, what="cancel")
    _, m = mail_of(t, u, "ORDER_CANCELLED", "ORDER_CANCELLED")
    if m is not None:
        for label, s in (("text", m.text), ("HTML", m.html_text())):
            t.ok(has_number(s, o["id"]), "ORDER_CANCELLED %s part does not name order %d" % (label, o["id"]))
    _one_per_event(t, u, ["WELCOME", "ORDER_PLACED", "PAYMENT_FAILED", "ORDER_CANCELLED"], "declined, cancelled")


@test
def shipped(t):
    require_sink(t)
    u = buyer("shipped")
    a = new_product(initial_stock=5, price_cents=2000)
    o, _ = paid_order(t, u, [(a["id"], 1)])
    mail_of(t, u, "PAYMENT_SUCCEEDED", "PAYMENT_SUCCEEDED")
    trk = "TRK" + uniq("s").replace("-", "").upper()[-12:]
    got, _ = wait_for(lambda: ship(o["id"], "DHL", trk).status == 200, FOLLOWUP + GRACE, interval=0.1)
    t.require(got, "shipping the paid order failed")
    _, m = mail_of(t, u, "ORDER_SHIPPED", "ORDER_SHIPPED")
    if m is not None:
        in_both(t, m, trk, "ORDER_SHIPPED tracking number")
        in_both(t, m, "DHL", "ORDER_SHIPPED carrier")
        for label, s in (("text", m.text), ("HTML", m.html_text())):
            t.ok(has_number(s, o["id"]), "ORDER_SHIPPED %s part does not name order %d" % (label, o["id"]))
    t.expect(deliver(o["id"]), 200, what="deliver")
    mail_of(t, u, "ORDER_DELIVERED", "ORDER_DELIVERED")
    items, _ = _one_per_event(t, u, ["WELCOME", "ORDER_PLACED", "PAYMENT_SUCCEEDED", "ORDER_SHIPPED",
                                     "ORDER_DELIVERED"], "paid, shipped, delivered")
    # newest first
    t.eq([n.get("kind") for n in items][:2], ["ORDER_DELIVERED", "ORDER_SHIPPED"], "newest first")
    cs = [n.get("created_at") for n in items]
    t.eq(cs, sorted(cs, reverse=True), "created_at newest first")
    ids = [n.get("id") for n in items]
    t.eq(len(set(ids)), len(ids), "notification ids distinct")


@test
def own_only(t):
    require_sink(t)
    u, v = buyer("own-u"), buyer("own-v")
    a = new_product(initial_stock=5)
    o = must_place(t, u, items_body((a["id"], 1)))
    mail_of(t, u, "ORDER_PLACED", "u's ORDER_PLACED")
    mail_of(t, v, "WELCOME", "v's WELCOME")
    iu, _ = all_notifications(u)
    iv, _ = all_notifications(v)
    t.eq(sorted(n.get("kind") for n in iv), ["WELCOME"], "v's notifications")
    t.eq({n.get("id") for n in iu} & {n.get("id") for n in iv}, set(), "notifications listed to both users")
    t.eq(mails_to(v.email, lambda m: u.email.lower() in m.recipients()), [], "a message to both users")
    r = get(API + "/notifications")
    t.expect(r, 401, what="GET /notifications anonymous")
    # the admin's own list is the admin's (no one else's)
    ra, ia = notifications(fx.admin, limit=100)
    if t.expect(ra, 200, what="GET /notifications as ADMIN"):
        t.eq({n.get("id") for n in ia or []} & {n.get("id") for n in iu}, set(),
             "u's notifications in the admin's own list")
    for q in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"cursor": "not-a-cursor"}):
        t.expect(get(API + "/notifications" + qs(**q), token=u.token), 400, "INVALID_QUERY",
                 "GET /notifications?%s" % q)
    # pages of one, newest first, no repeats
    items, pages, prob = walk(API + "/notifications", {"limit": 1}, token=u.token)
    t.ok(prob is None, "walking with limit=1: %s" % prob)
    t.eq([n.get("id") for n in items], [n.get("id") for n in iu], "pages of one")
    for n in iu:
        check_notification(t, n, "u's %s" % n.get("kind"), status="SENT")
    t.expect(cancel(u, o["id"]), 200, what="cancel")


@test
def redelivered(t):
    """The user.registered event the relay sent is published again, twice:
    still one WELCOME notification and one message."""
    require_sink(t)
    u = new_user("redeliver")
    mail_of(t, u, "WELCOME", "WELCOME")
    try:
        evs, _ = wait_for(lambda: [e for e in outbox_events("shop_identity", "user.registered", u.id)
                                   if e["sent"]], FOLLOWUP + GRACE)
    except SqlError as e:
        t.skip("SQL as root is not available: %s" % e)
    t.require(evs and len(evs) == 1, "user.registered rows of user %d: %r" % (u.id, evs))
    ev = evs[0]
    try:
        pl = json.loads(ev["payload"])
        t.eq((pl.get("user_id"), pl.get("email")), (u.id, u.email), "user.registered payload")
    except ValueError:
        t.fail("user.registered payload is not JSON: %r" % ev["payload"])
    for i in range(2):
        st, ans = publish_event("user.registered", ev["event_id"], ev["payload"], ev["request_id"],
                                ev["occurred_at"])
        t.eq(st, 200, "publish #%d: %r" % (i + 1, ans))
        t.eq((ans or {}).get("routed") if isinstance(ans, dict) else ans, True, "publish #%d routed" % (i + 1))
    # a sentinel behind them on notify.events
    s = new_user("sentinel")
    mail_of(t, s, "WELCOME", "the sentinel's WELCOME")
    t.ok(holds(lambda: len(mails_to(u.email)) == 1 and len(notes_of(u)) == 1, 0.5),
         "after the event came twice more: %d messages, notifications %r" % (len(mails_to(u.email)), notes_of(u)))
    _one_per_event(t, u, ["WELCOME"], "after the redelivery")


@test
def paid_notification(t):
    """PAYMENT_SUCCEEDED names the order and the amount; the notification's
    timestamps are in order."""
    require_sink(t)
    u = buyer("paid")
    a = new_product(initial_stock=5, price_cents=1234)
    o, p = paid_order(t, u, [(a["id"], 2)])
    n, m = mail_of(t, u, "PAYMENT_SUCCEEDED", "PAYMENT_SUCCEEDED")
    if m is not None:
        for label, s in (("text", m.text), ("HTML", m.html_text())):
            t.ok(has_number(s, o["id"]), "PAYMENT_SUCCEEDED %s part does not name order %d" % (label, o["id"]))
        check_money(t, m, 2468, "EUR", "PAYMENT_SUCCEEDED amount")
    if n and isinstance(n.get("sent_at"), str) and TS_RE.match(n["sent_at"]):
        t.ok(n["sent_at"] >= n.get("created_at", ""), "sent_at %r before created_at %r" % (
            n["sent_at"], n.get("created_at")))
    wait_order(t, u, o["id"], "PAID", "PAID")


@test
def expired(t):
    """An order not paid in time: ORDER_EXPIRED names it."""
    require_sink(t)
    u = buyer("expired")
    a = new_product(initial_stock=5, price_cents=500)
    o = must_place(t, u, items_body((a["id"], 1)))
    try:
        rows = sql("UPDATE shop_orders.orders SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND"
                   " WHERE id = %d AND status = 'PENDING_PAYMENT'; SELECT ROW_COUNT()" % o["id"])
    except SqlError as e:
        t.skip("SQL as root is not available: %s" % e)
    t.require(rows == [["1"]], "setting expires_at into the past changed %r rows" % rows)
    wait_order(t, u, o["id"], "EXPIRED", "order EXPIRED")
    _, m = mail_of(t, u, "ORDER_EXPIRED", "ORDER_EXPIRED")
    if m is not None:
        for label, s in (("text", m.text), ("HTML", m.html_text())):
            t.ok(has_number(s, o["id"]), "ORDER_EXPIRED %s part does not name order %d" % (label, o["id"]))
    _one_per_event(t, u, ["WELCOME", "ORDER_PLACED", "ORDER_EXPIRED"], "expired")
