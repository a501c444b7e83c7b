"""What the database holds, read as root through $SHOP_DB_DEFAULTS_FILE:
password hashes, refresh token hashes, the stock ledger. Skipped when the
stack's database is not reachable from here."""

import hashlib
import os
import subprocess

from tap import test
from shopclient import API, SHOP_VAR, b64u_dec, fx, new_product, new_user, post


def sql(t, query, *args):
    """Runs query as root (args are quoted as SQL string literals) and returns
    the rows as lists of strings; skips the test when no database is at hand."""
    defaults = os.environ.get("SHOP_DB_DEFAULTS_FILE") or os.path.join(SHOP_VAR, "secrets", "root.cnf")
    if not os.access(defaults, os.R_OK):
        t.skip("no database credentials here (%s)" % defaults)

    def lit(v):
        if isinstance(v, int):
            return str(v)
        return "'" + str(v).replace("\\", "\\\\").replace("'", "''") + "'"
    q = query % tuple(lit(a) for a in args)
    try:
        out = subprocess.run(["mariadb", "--defaults-file=" + defaults, "--batch", "--skip-column-names",
                              "--raw", "-e", q], capture_output=True, timeout=30)
    except FileNotFoundError:
        t.skip("no mariadb client")
    t.require(out.returncode == 0, "SQL %r failed: %s" % (q, out.stderr.decode(errors="replace").strip()))
    return [line.split("\t") for line in out.stdout.decode().splitlines()]


@test(last=True)
def secrets_are_hashed(t):
    u = new_user("store")
    rows = sql(t, "SELECT password_hash FROM shop_identity.users WHERE id = %s", u.id)
    t.require(len(rows) == 1, "user %s not in shop_identity.users" % u.id)
    h = rows[0][0]
    t.ok(h.startswith("$argon2id$"), "password_hash is not an argon2id string: %r" % h[:20])
    t.ok(u.password not in h, "the password is stored in clear")
    rows = sql(t, "SELECT HEX(token_hash) FROM shop_identity.refresh_tokens WHERE user_id = %s", u.id)
    t.require(rows, "no refresh token row for user %s" % u.id)
    stored = {r[0].lower() for r in rows}
    rt = u.refresh
    raw = b64u_dec(rt) if len(rt) % 4 != 1 else b""
    t.ok(raw.hex() not in stored and rt.encode()[:32].hex() not in stored,
         "a refresh token is stored as itself, not as a hash")
    t.ok(hashlib.sha256(rt.encode()).hexdigest() in stored or hashlib.sha256(raw).hexdigest() in stored,
         "no stored token_hash is the SHA-256 of the refresh token (stored: %s)" % sorted(stored)[:3])


@test(last=True)
def ledger_matches_stock(t):
    """DESIGN.md: on_hand is the sum of the ledger, for every product (demo
    data and everything the suite did, concurrent adjustments included)."""
    p = new_product(initial_stock=4)
    post(API + "/inventory/%d/adjust" % p["id"], {"delta": 3, "reason": "ledger check"},
         token=fx.seller.token)
    rows = sql(t, "SELECT delta_on_hand, kind, reason FROM shop_catalog.stock_ledger "
                  "WHERE product_id = %s ORDER BY id", p["id"])
    t.eq([(r[0], r[1]) for r in rows], [("4", "INITIAL"), ("3", "ADJUST")], "ledger rows of a new product")
    rows = sql(t, "SELECT s.product_id, s.on_hand, s.reserved, COALESCE(SUM(l.delta_on_hand), 0), "
                  "COALESCE(SUM(l.delta_reserved), 0) FROM shop_catalog.stock s "
                  "LEFT JOIN shop_catalog.stock_ledger l ON l.product_id = s.product_id "
                  "GROUP BY s.product_id, s.on_hand, s.reserved "
                  "HAVING s.on_hand <> COALESCE(SUM(l.delta_on_hand), 0) "
                  "OR s.reserved <> COALESCE(SUM(l.delta_reserved), 0) LIMIT 10")
    t.eq(rows, [], "products whose stock differs from their ledger (id, on_hand, reserved, sums)")
    rows = sql(t, "SELECT COUNT(*) FROM shop_catalog.products p LEFT JOIN shop_catalog.stock s "
                  "ON s.product_id = p.id WHERE s.product_id IS NULL")
    t.eq(rows, [["0"]], "products without a stock row")
    rows = sql(t, "SELECT COUNT(*) FROM shop_catalog.stock WHERE reserved < 0 OR on_hand < reserved")
    t.eq(rows, [["0"]], "stock rows with reserved < 0 or on_hand < reserved")
