"""Helpers of the shipping, notification and refund tests (test_shipping,
test_notify, test_refunds, test_life): the messages the stack's SMTP sink
received, the notifications of GET /notifications, shipments and refunds
through the API.

The test harness runs a real SMTP listener (tests/harness/smtp_sink.py,
aiosmtpd) that the notify worker delivers to; it keeps each message in
$SHOP_SMTP_DIR (stack.env) as <n>.eml (the raw data) and <n>.json (the
envelope), the .json written last. A message is parsed with the email
package (policy.default) and cached by name (the sink never rewrites one)."""

import datetime
import email
import email.policy
import email.utils
import html
import json
import os
import re
import threading
import time

from shopclient import API, fx, get, post, qs, uniq, walk
from flowlib import (FOLLOWUP, GRACE, TS_RE, is_int, items_body, must_pay, must_place, stack_env, wait_for,
                     wait_order)

NOTIFICATION_KEYS = {"id", "kind", "channel", "subject", "status", "created_at", "sent_at"}
KINDS = {"WELCOME", "ORDER_PLACED", "PAYMENT_SUCCEEDED", "PAYMENT_FAILED", "ORDER_CANCELLED",
         "ORDER_EXPIRED", "ORDER_SHIPPED", "ORDER_DELIVERED", "ORDER_REFUNDED"}

# A mail is sent by the notify worker after the event went through the relay
# and the queue: the same 2 s as every other follow-up (a wait longer than
# that is noted), and a margin for a backlog left by earlier tests (the flash
# sale's 200 registrations) before a wait counts as a failure.
MAIL_WAIT = FOLLOWUP + GRACE + 2.5

# Decimal places of the currencies whose minor unit is not 1/100 (ISO 4217).
_EXPONENT = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "HUF": 2, "BHD": 3, "KWD": 3,
             "JOD": 3, "OMR": 3, "TND": 3}
_SYMBOL = {"EUR": "\u20ac", "USD": "$", "GBP": "\u00a3", "JPY": "\u00a5", "CHF": "CHF"}


# ---------------------------------------------------------------- the sink


def smtp_dir():
    return stack_env("SHOP_SMTP_DIR")


class Mail:
    """One received message. The raw data is read and parsed on first use
    (the sink may hold thousands of messages; most tests look at a few)."""

    def __init__(self, name, path, meta=None):
        self.name = name
        self.path = path
        self.meta = meta if isinstance(meta, dict) else {}
        self._raw = self._msg = self._rcpt = None

    @property
    def raw(self):
        if self._raw is None:
            with open(self.path, "rb") as f:
                self._raw = f.read()
        return self._raw

    @property
    def msg(self):
        if self._msg is None:
            self._msg = email.message_from_bytes(self.raw, policy=email.policy.default)
        return self._msg

    def header(self, name):
        v = self.msg.get(name)
        return None if v is None else str(v)

    @property
    def subject(self):
        return self.header("Subject")

    @property
    def message_id(self):
        return self.header("Message-ID")

    def recipients(self):
        """Lower-case addresses of the envelope (RCPT TO, from the sink's
        <n>.json); of the To header only when the sink recorded none."""
        if self._rcpt is None:
            out = set(self.rcpt_tos())
            if not out:
                for v in self.msg.get_all("To") or []:
                    for _, addr in email.utils.getaddresses([str(v)]):
                        if addr:
                            out.add(addr.lower())
            self._rcpt = frozenset(out)
        return self._rcpt

    def rcpt_tos(self):
        r = self.meta.get("rcpt_tos")
        return [a.lower() for a in r if isinstance(a, str)] if isinstance(r, list) else []

    def part(self, ctype):
        """The decoded text of the first part of content type ctype, or None."""
        for p in self.msg.walk():
            if p.get_content_type() == ctype and not p.is_multipart():
                try:
                    return p.get_content()
                except (LookupError, ValueError):
                    return p.get_payload(decode=True).decode("utf-8", "replace")
        return None

    @property
    def text(self):
        return self.part("text/plain")

    @property
    def html(self):
        return self.part("text/html")

    def html_text(self):
        """The HTML part with its tags removed and its entities resolved."""
        h = self.html
        if h is None:
            return None
        h = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", h)
        return html.unescape(re.sub(r"<[^>]*>", " ", h))

    def __repr__(self):
        return "<mail %s to %s: %r>" % (self.name, sorted(self.recipients()), self.subject)


_cache = {}
_cache_lock = threading.Lock()


def mails():
    """Every complete message in the sink, in arrival order. The sink writes
    <n>.eml (the raw data) and then <n>.json ({mail_from, rcpt_tos, ...}),
    each atomically: a message is complete once its .json exists."""
    d = smtp_dir()
    if not d:
        return []
    try:
        names = os.listdir(d)
    except OSError:
        return []
    out = []
    for n in names:
        if n.startswith(".") or not n.endswith(".json"):
            continue
        stem = n[:-5]
        with _cache_lock:
            m = _cache.get(stem)
        if m is None:
            try:
                with open(os.path.join(d, n), "rb") as f:
                    meta = json.loads(f.read().decode("utf-8"))
            except (OSError, ValueError):
                continue
            m = Mail(stem, os.path.join(d, stem + ".eml"), meta)
            with _cache_lock:
                _cache[stem] = m
        out.append(m)
    out.sort(key=lambda m: (len(m.name), m.name))
    return out


def mails_to(addr, pred=None):
    """The messages to addr (that satisfy pred)."""
    a = addr.lower()
    return [m for m in mails() if a in m.recipients() and (pred is None or pred(m))]


def require_sink(t):
    """Skips the test when the stack has no SMTP sink."""
    d = smtp_dir()
    if not d or not os.path.isdir(d):
        t.skip("the stack has no SMTP sink (SHOP_SMTP_DIR %r)" % (d,))
    return d


def wait_mails(t, addr, n, what, pred=None, timeout=MAIL_WAIT):
    """Polls until at least n messages to addr (satisfying pred) are in the
    sink; records a failure otherwise. Returns the messages found."""
    got, secs = wait_for(lambda: len(mails_to(addr, pred)) >= n, timeout, interval=0.05)
    ms = mails_to(addr, pred)
    if got and secs > FOLLOWUP:
        t.note("%s: the message came after %.2f s (budget %.1f s)" % (what, secs, FOLLOWUP))
    if not got:
        t.fail("%s: %d message(s) to %s after %.1f s, want %d; to that address: %r" % (
            what, len(ms), addr, secs, n, mails_to(addr)))
    return ms


def subject_is(subject):
    return lambda m: subject is not None and m.subject == subject


# ---------------------------------------------------------------- checks


def check_mail(t, m, what, to=None):
    """The form every message must have: multipart/alternative with a
    text/plain and a text/html part, and From, To, Subject, Message-ID, Date."""
    msg = m.msg
    t.eq(msg.get_content_type(), "multipart/alternative", "%s: Content-Type" % what)
    kinds = [p.get_content_type() for p in msg.iter_parts()] if msg.is_multipart() else []
    t.ok("text/plain" in kinds and "text/html" in kinds,
         "%s: parts %r, want text/plain and text/html" % (what, kinds))
    for h in ("From", "To", "Subject", "Message-ID", "Date"):
        vals = msg.get_all(h) or []
        t.eq(len(vals), 1, "%s: %s headers" % (what, h))
    mid = m.message_id or ""
    t.ok(re.match(r"^<[^<>@\s]+@[^<>@\s]+>$", mid.strip()), "%s: Message-ID %r" % (what, mid))
    try:
        dt = email.utils.parsedate_to_datetime(m.header("Date") or "")
        if dt is not None and dt.tzinfo is None:     # "-0000": UTC, local zone unknown
            dt = dt.replace(tzinfo=datetime.timezone.utc)
        t.ok(dt is not None, "%s: Date %r" % (what, m.header("Date")))
        if dt is not None:
            skew = abs(dt.timestamp() - time.time())
            t.ok(skew < 300, "%s: Date %r is %.0f s away from now" % (what, m.header("Date"), skew))
    except (TypeError, ValueError):
        t.fail("%s: Date %r is not RFC 5322" % (what, m.header("Date")))
    frm = email.utils.getaddresses([m.header("From") or ""])
    t.ok(frm and "@" in frm[0][1], "%s: From %r" % (what, m.header("From")))
    if to is not None:
        tos = [a.lower() for _, a in email.utils.getaddresses(msg.get_all("To") or [])]
        t.eq(tos, [to.lower()], "%s: To" % what)
        if m.rcpt_tos():
            t.eq(m.rcpt_tos(), [to.lower()], "%s: envelope recipients (RCPT TO)" % what)
    t.ok(m.text and m.text.strip(), "%s: empty text/plain part" % what)
    t.ok(m.html and m.html.strip(), "%s: empty text/html part" % what)


def in_both(t, m, needle, what):
    """needle appears in the text part and in the HTML part (tags removed)."""
    txt, htm = m.text or "", m.html_text() or ""
    t.ok(needle in txt, "%s: %r not in the text part:\n%s" % (what, needle, txt[:1500]))
    t.ok(needle in htm, "%s: %r not in the HTML part:\n%s" % (what, needle, (m.html or "")[:1500]))
    return needle in txt and needle in htm


def money_forms(cents, currency):
    """Ways of writing an amount in its currency: 12.34 EUR as
    "€12.34", "12,34 €", "EUR 12.34", "12.34 EUR" (and with thousands
    separators)."""
    exp = _EXPONENT.get(currency, 2)
    whole, frac = divmod(abs(cents), 10 ** exp) if exp else (abs(cents), 0)
    sign = "-" if cents < 0 else ""
    nums = set()
    for dec, thou in ((".", ","), (",", "."), (".", ""), (",", ""), (",", "\u00a0"), (".", "\u00a0"),
                      (",", " "), (".", " ")):
        w = "{:,}".format(whole).replace(",", thou) if thou else str(whole)
        nums.add(sign + (w + dec + str(frac).zfill(exp) if exp else w))
    sym = _SYMBOL.get(currency)
    forms = set()
    for n in nums:
        for c in filter(None, (currency, sym)):
            forms.update((c + n, c + " " + n, c + "\u00a0" + n, n + " " + c, n + "\u00a0" + c, n + c))
    return forms


def has_money(s, cents, currency):
    """The form of cents/currency found in s, or None."""
    s = s or ""
    for f in sorted(money_forms(cents, currency), key=len, reverse=True):
        if f in s:
            return f
    return None


def check_money(t, m, cents, currency, what):
    """The amount appears in the currency's format in both parts."""
    for label, s in (("text", m.text), ("HTML", m.html_text())):
        f = has_money(s, cents, currency)
        t.ok(f, "%s: %s part does not show %d minor units of %s as money (e.g. %r):\n%s" % (
            what, label, cents, currency, sorted(money_forms(cents, currency))[0], (s or "")[:1500]))


def has_number(s, n):
    """n appears in s as a whole number (not inside a longer one)."""
    return re.search(r"(?<![0-9])%d(?![0-9])" % n, s or "") is not None


# ---------------------------------------------------------------- the API


def notifications(u, **params):
    """GET /notifications as u: (Resp, items or None)."""
    r = get(API + "/notifications" + qs(**params), token=u.token)
    items = r.data.get("items") if r.status == 200 and isinstance(r.data, dict) else None
    return r, items if isinstance(items, list) else None


def all_notifications(u):
    items, _, prob = walk(API + "/notifications", {"limit": 100}, token=u.token)
    return items, prob


def notes_of(u, kind=None, status=None):
    """u's notifications (of kind, with status); [] when they cannot be read."""
    _, items = notifications(u, limit=100)
    return [n for n in items or [] if isinstance(n, dict) and (kind is None or n.get("kind") == kind)
            and (status is None or n.get("status") == status)]


def wait_note(t, u, kind, what, n=1, status="SENT", timeout=MAIL_WAIT):
    """Polls GET /notifications until u has n notifications of kind with
    status; records a failure otherwise. Returns those of kind."""
    got, secs = wait_for(lambda: len(notes_of(u, kind, status)) >= n, timeout, interval=0.1)
    ns = notes_of(u, kind)
    if got and secs > FOLLOWUP:
        t.note("%s: %s %s after %.2f s (budget %.1f s)" % (what, kind, status, secs, FOLLOWUP))
    if not got:
        t.fail("%s: %d %s notification(s) %s after %.1f s, want %d; %s ones: %r" % (
            what, len(notes_of(u, kind, status)), kind, status, secs, n, kind, ns))
    return ns


def check_notification(t, n, what, kind=None, status=None):
    if not t.ok(isinstance(n, dict), "%s: notification is not an object: %r" % (what, n)):
        return
    missing = NOTIFICATION_KEYS - set(n)
    t.ok(not missing, "%s: notification lacks %s" % (what, sorted(missing)))
    extra = sorted(set(n) - NOTIFICATION_KEYS)
    if extra and "notification has fields beyond API.md: %s" % extra not in t.notes:
        t.note("notification has fields beyond API.md: %s" % extra)
    t.ok(is_int(n.get("id")) and n["id"] > 0, "%s: id %r" % (what, n.get("id")))
    t.isin(n.get("kind"), KINDS, "%s: kind" % what)
    if kind is not None:
        t.eq(n.get("kind"), kind, "%s: kind" % what)
    if status is not None:
        t.eq(n.get("status"), status, "%s: status" % what)
    t.eq(n.get("channel"), "email", "%s: channel" % what)
    t.ok(isinstance(n.get("subject"), str) and n["subject"].strip(), "%s: subject %r" % (what, n.get("subject")))
    t.ok(isinstance(n.get("created_at"), str) and TS_RE.match(n["created_at"]),
         "%s: created_at %r" % (what, n.get("created_at")))
    sa = n.get("sent_at")
    if n.get("status") == "SENT":
        t.ok(isinstance(sa, str) and TS_RE.match(sa), "%s: sent_at %r of a SENT notification" % (what, sa))
    else:
        t.ok(sa is None or (isinstance(sa, str) and TS_RE.match(sa)), "%s: sent_at %r" % (what, sa))


def mail_of(t, u, kind, what, timeout=MAIL_WAIT):
    """Waits for u's notification of kind to be SENT and for its message (the
    one to u whose Subject is the notification's subject) to be in the sink.
    Checks there is exactly one of each; returns (notification, Mail) (either
    may be None after a failure)."""
    ns = wait_note(t, u, kind, what, timeout=timeout)
    if not ns:
        return None, None
    t.eq(len(ns), 1, "%s: %s notifications" % (what, kind))
    n = ns[0]
    check_notification(t, n, what, kind=kind, status="SENT")
    ms = wait_mails(t, u.email, 1, what, pred=subject_is(n.get("subject")), timeout=timeout)
    if not ms:
        return n, None
    t.eq(len(ms), 1, "%s: messages to %s with subject %r" % (what, u.email, n.get("subject")))
    check_mail(t, ms[0], what, to=u.email)
    return n, ms[0]


def settle_mails(u, quiet=0.3, timeout=MAIL_WAIT):
    """Waits until no new message to u arrived for `quiet` seconds (a check
    that a duplicate does not come must give it the time); returns them."""
    last = [len(mails_to(u.email)), time.monotonic()]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.05)
        n = len(mails_to(u.email))
        if n != last[0]:
            last[:] = [n, time.monotonic()]
        elif time.monotonic() - last[1] >= quiet:
            break
    return mails_to(u.email)


# ---------------------------------------------------------------- shipping and refunds

SHIPMENT_KEYS = {"order_id", "status", "carrier", "tracking_number", "events"}


def shipment(u, oid, **kw):
    return get(API + "/shipments/%d" % oid, token=u.token, **kw)


def shipment_of(r):
    """The shipment of an answer: data.shipment, or data itself."""
    if r is None or r.status not in (200, 201) or not isinstance(r.data, dict):
        return None
    d = r.data
    return d["shipment"] if isinstance(d.get("shipment"), dict) else d


def shipment_status(u, oid):
    s = shipment_of(shipment(u, oid))
    return s.get("status") if isinstance(s, dict) else None


def wait_shipment(t, u, oid, status, what, timeout=FOLLOWUP + GRACE):
    """Polls GET /shipments/{order_id} as u until status; returns the
    shipment (None after a failure)."""
    last = []

    def check():
        r = shipment(u, oid)
        last[:] = [r]
        s = shipment_of(r)
        return s if isinstance(s, dict) and s.get("status") == status else None
    s, secs = wait_for(check, timeout)
    if not s:
        t.fail("%s: GET /shipments/%d is %r after %.1f s, want status %s" % (what, oid, last[0] if last else None,
                                                                          secs, status))
        return None
    if secs > FOLLOWUP:
        t.note("%s took %.2f s (budget %.1f s)" % (what, secs, FOLLOWUP))
    return s


def check_shipment(t, s, what, oid=None, status=None, carrier=None, tracking=None):
    """The shipment of API.md: {order_id, status, carrier, tracking_number,
    events:[{status, at}]}, events in time order ending in the status."""
    if not t.ok(isinstance(s, dict), "%s: shipment is not an object: %r" % (what, s)):
        return
    missing = SHIPMENT_KEYS - set(s)
    t.ok(not missing, "%s: shipment lacks %s" % (what, sorted(missing)))
    extra = sorted(set(s) - SHIPMENT_KEYS)
    if extra and "shipment has fields beyond API.md: %s" % extra not in t.notes:
        t.note("shipment has fields beyond API.md: %s" % extra)
    if oid is not None:
        t.eq(s.get("order_id"), oid, "%s: order_id" % what)
    if status is not None:
        t.eq(s.get("status"), status, "%s: status" % what)
    t.eq(s.get("carrier"), carrier, "%s: carrier" % what)
    t.eq(s.get("tracking_number"), tracking, "%s: tracking_number" % what)
    ev = s.get("events")
    if not t.ok(isinstance(ev, list), "%s: events %r" % (what, ev)):
        return
    ok_items = all(isinstance(e, dict) and set(e) >= {"status", "at"} and isinstance(e.get("at"), str)
                   and TS_RE.match(e["at"]) for e in ev)
    t.ok(ok_items, "%s: events are not [{status, at}] with RFC 3339 times: %r" % (what, ev))
    if not ok_items:
        return
    sts = [e["status"] for e in ev]
    want = {"PENDING": ["PENDING"], "SHIPPED": ["PENDING", "SHIPPED"],
            "DELIVERED": ["PENDING", "SHIPPED", "DELIVERED"]}.get(s.get("status"))
    if want is not None:
        # PENDING may or may not be recorded as an event; the rest must be
        t.ok(sts in (want, want[1:]), "%s: event statuses %r, want %r" % (what, sts, want))
    ats = [e["at"] for e in ev]
    t.eq(ats, sorted(ats), "%s: events in time order" % what)


def ship(oid, carrier="DHL", tracking=None, body=None, token=None, **kw):
    """POST /admin/shipments/{order_id}/ship (as the admin unless token)."""
    if body is None:
        body = {"carrier": carrier, "tracking_number": tracking or uniq("TRK").upper()}
    return post(API + "/admin/shipments/%d/ship" % oid, body, token=token or fx.admin.token, **kw)


def deliver(oid, body=None, token=None, **kw):
    return post(API + "/admin/shipments/%d/deliver" % oid, body, token=token or fx.admin.token, **kw)


def refund(pid, body=None, key=None, token=None, **kw):
    """POST /payments/{id}/refund as the admin (unless token) with an
    Idempotency-Key (a fresh one unless key; key=False sends none)."""
    h = {}
    if key is None:
        key = uniq("refund")
    if key is not False:
        h["Idempotency-Key"] = key
    return post(API + "/payments/%d/refund" % pid, {} if body is None else body,
                token=token or fx.admin.token, headers=h, **kw)


def paid_order(t, u, lines, what="a paid order"):
    """Places an order of lines ((product id, quantity) pairs) as u, pays it
    with pm_card_ok and waits for PAID. Returns (order, payment)."""
    o = must_place(t, u, items_body(*lines), what="%s: placing" % what)
    p = must_pay(t, u, o["id"], "pm_card_ok", what="%s: paying" % what)
    t.require(wait_order(t, u, o["id"], "PAID", "%s: order PAID" % what) is not None,
              "%s: the order did not become PAID" % what)
    return o, p
