"""The hostile corpus: at least 300 requests to every route the code declares
(fcgi-apps/*/routes.c, and nginx's own exact locations), generated
deterministically by corpusgen.py from each route's access, path parameters
and body and query field tables: malformed and deeply nested JSON, wrong
types, huge numbers, negative and zero quantities, overlong strings, invalid
UTF-8, NUL bytes, SQL and header injection strings, missing and duplicated
headers, wrong content types, oversized bodies, path traversal in ids, broken
cursors, bad tokens, odd methods and bytes nginx must refuse.

Each request is refused by construction. Each answer must be a 4xx with a
request id, in the envelope (every route of the apps; nginx's own locations
outside /api/v1 need not), within 10 s; never a 5xx, a hang or a crash. And
nothing may change: every row of every table of every shop_* schema is the
same before and after (no table is exempt: none changes on refused requests),
/healthz answers, no pool process died or was respawned."""

import collections
import glob
import os
import re
import threading
import time

import corpusgen
import shopclient
from tap import test
from shopclient import (API, HOST, PORT, RID_RE, SHOP_VAR, envelope_problems, fx, get,
                        jwk_to_pem, jwt_parts, jwt_unsigned, new_product, new_user, post,
                        private_key_for, sign_es256, sign_hs256, uniq, unwrap)
from flowlib import SqlError, sql

PER_ROUTE = 300
MAX_PER_ROUTE = 450
SEED = "corpus-2026"
THREADS = 6
TIMEOUT = 10.0


# ---------------------------------------------------------------- the stack's state


def _tables():
    rows = sql("SELECT table_schema, table_name FROM information_schema.tables"
               " WHERE table_schema LIKE 'shop\\_%' AND table_type = 'BASE TABLE'"
               " ORDER BY table_schema, table_name")
    return ["`%s`.`%s`" % (s, t) for s, t in rows]


def checksums(tables):
    return {r[0]: r[1] for r in sql("CHECKSUM TABLE " + ", ".join(tables))} if tables else {}


def dump(tables):
    """{table: Counter of its rows as tab-joined text}."""
    out = {t: collections.Counter() for t in tables}
    if not tables:
        return out
    q = "; ".join("SELECT '%s', x.* FROM %s x" % (t.replace("`", ""), t) for t in tables)
    for row in sql(q):
        out["`%s`.`%s`" % tuple(row[0].split(".", 1))]["\t".join("NULL" if c is None else c for c in row[1:])] += 1
    return out


def settle(tables, max_secs=20.0, quiet=0.6):
    """Waits until no checksum changes for `quiet` seconds (background work of
    earlier requests done). Returns (checksums, seconds waited, stable)."""
    t0 = time.monotonic()
    last = checksums(tables)
    since = time.monotonic()
    while True:
        time.sleep(0.2)
        cur = checksums(tables)
        now = time.monotonic()
        if cur != last:
            last, since = cur, now
        elif now - since >= quiet:
            return cur, now - t0, True
        if now - t0 > max_secs:
            return cur, now - t0, False


def diff_dumps(a, b, n=3):
    out = []
    for t in sorted(set(a) | set(b)):
        ra, rb = a.get(t, collections.Counter()), b.get(t, collections.Counter())
        if ra == rb:
            continue
        gone = list((ra - rb).elements())
        new = list((rb - ra).elements())
        out.append("%s: %d rows gone, %d new; gone %s; new %s" % (
            t, len(gone), len(new), [g[:200] for g in gone[:n]], [x[:200] for x in new[:n]]))
    return out


def pools():
    """The pools of this stack: run/<app>.sock with a run/<app>.pid."""
    run = os.path.join(SHOP_VAR, "run")
    return sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(run, "*.sock"))
                  if os.path.exists(p[:-5] + ".pid") and not os.path.basename(p).startswith("mysqld"))


def _children(pid):
    kids = []
    for st in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(st) as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rfind(")") + 2:].split()
        if len(fields) > 1 and fields[1] == str(pid):
            kids.append(int(st.split("/")[2]))
    return sorted(kids)


def pool_pids():
    """{app: (master pid, [worker pids])}."""
    out = {}
    for app in pools():
        try:
            with open(os.path.join(SHOP_VAR, "run", app + ".pid")) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            continue
        out[app] = (pid, _children(pid))
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


LOG_BAD = re.compile(r"respawn|worker \d+ (?:exited|killed|died|terminated)|signal \d+|core dumped|"
                     r"exited on signal|answered nothing|AddressSanitizer|runtime error")


def log_offsets():
    out = {}
    for p in glob.glob(os.path.join(SHOP_VAR, "log", "*.log")):
        try:
            out[p] = os.path.getsize(p)
        except OSError:
            pass
    return out


def new_log_lines(offsets):
    """{log file: [lines written since offsets]} of the pools' logs and nginx's error log."""
    out = {}
    names = set(pools()) | {"nginx-error"}
    for p in glob.glob(os.path.join(SHOP_VAR, "log", "*.log")):
        if os.path.basename(p)[:-4] not in names:
            continue
        try:
            with open(p, "rb") as f:
                f.seek(offsets.get(p, 0))
                out[p] = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            pass
    return out


def secrets():
    """Secret values no answer may contain."""
    out = [b"PRIVATE KEY-----"]
    for rel in ("webhook-secret", "secrets/db-root", "secrets/amqp"):
        try:
            with open(os.path.join(SHOP_VAR, rel), "rb") as f:
                v = f.read().strip()
            if len(v) >= 12:
                out.append(v)
        except OSError:
            pass
    return out


# ---------------------------------------------------------------- fixtures


def bad_tokens(u):
    """(Authorization value, what) that the auth app must refuse (401)."""
    tok = u.token
    h, p, s = tok.split(".")
    hdr, claims, _ = jwt_parts(tok)
    kid = hdr.get("kid")
    out = [("Bearer garbage", "garbage token"), ("Bearer " + tok + "x", "one character appended"),
           ("Bearer " + tok[:-6], "signature cut"), ("Bearer " + h + "." + p + ".", "empty signature"),
           ("Basic YWRtaW46YWRtaW4=", "Basic scheme"), ("Bearer", "Bearer alone"),
           ("Bearer " + "A" * 7000, "7000 characters"), ("Bearer " + tok + " " + tok, "two tokens"),
           ("Bearer " + jwt_unsigned({"alg": "none", "typ": "JWT", "kid": kid}, claims) + ".", "alg none")]
    c2 = dict(claims, roles=["CUSTOMER", "SELLER", "ADMIN"])
    out.append(("Bearer %s.%s.%s" % (h, jwt_unsigned({}, c2).split(".")[1], s), "payload tampered to ADMIN"))
    jwks = get("/.well-known/jwks.json").json or {}
    for k in jwks.get("keys", []):
        if k.get("kid") == kid:
            out.append(("Bearer " + sign_hs256(jwk_to_pem(k), {"alg": "HS256", "typ": "JWT", "kid": kid}, c2),
                        "HS256 signed with the public key"))
    key = private_key_for(kid)
    if key:
        now = int(time.time())
        base = dict(claims, iat=now, exp=now + 600, jti=uniq("jti"))
        H = {"alg": "ES256", "typ": "JWT", "kid": kid}
        for over, what in (({"exp": now - 60, "iat": now - 1000}, "expired"), ({"nbf": now + 600}, "nbf ahead"),
                           ({"aud": "other"}, "wrong aud"), ({"iss": "evil"}, "wrong iss")):
            out.append(("Bearer " + sign_es256(key, H, dict(base, **over)), what))
        out.append(("Bearer " + sign_es256(key, dict(H, kid="corpus-unknown"), base), "unknown kid"))
    return out


def fixtures(t):
    """The corpus user's objects (each route's path parameters that exist),
    tokens by role, and a real cursor of each list."""
    c = new_user("corpus")
    seller, admin = fx.seller, fx.admin
    p = new_product(initial_stock=20)
    r = post(API + "/users/me/addresses", {"line1": "1 Corpus Street", "city": "Lyon", "postal_code": "69001",
                                          "country": "FR"}, token=c.token)
    t.require(r.status == 201, "creating the corpus address failed: %r" % r)
    addr = unwrap(r.data, "address")["id"]
    r = post(API + "/cart/items", {"product_id": p["id"], "quantity": 1}, token=c.token)
    t.require(r.status in (200, 201), "filling the corpus cart failed: %r" % r)
    r = post(API + "/orders", {"address_id": addr, "items": [{"product_id": p["id"], "quantity": 1}]},
             token=c.token, headers={"Idempotency-Key": uniq("corpus-order")})
    t.require(r.status == 201, "placing the corpus order failed: %r" % r)
    oid = unwrap(r.data, "order")["id"]
    real = {"products": p["id"], "inventory": p["id"], "items": p["id"], "addresses": addr, "users": c.id,
            "orders": oid, "shipments": oid}
    cursors = {}
    for key, path, tok in (("GET /api/v1/products", API + "/products?limit=1", None),
                           ("other:GET /api/v1/products", API + "/products?limit=1&sort=price", None),
                           ("GET /api/v1/admin/users", API + "/admin/users?limit=1", admin.token),
                           ("GET /api/v1/admin/orders", API + "/admin/orders?limit=1", admin.token),
                           ("GET /api/v1/notifications", API + "/notifications?limit=1", c.token),
                           ("GET /api/v1/orders", API + "/orders?limit=1", c.token)):
        r = get(path, token=tok)
        cur = (r.data or {}).get("next_cursor") if isinstance(r.data, dict) else None
        if isinstance(cur, str) and cur:
            cursors[key] = cur
    tokens = {"CUSTOMER": c.token, "SELLER": seller.token, "ADMIN": admin.token}
    return corpusgen.Fixtures(tokens, real, c.email, bad_tokens(c), cursors, int(time.time())), c


# ---------------------------------------------------------------- checking one answer


def problems_of(req, resp, secret_values):
    p = []
    if resp.error:
        p.append(resp.error)
    if resp.status is None:
        return p or ["no HTTP answer"]
    if resp.status >= 500:
        p.append("server error %d" % resp.status)
    elif resp.status < 400:
        p.append("not refused: %d" % resp.status)
    elif resp.status == 429:
        p.append("still rate limited after retries")
    elif req.expect and resp.status not in req.expect:
        p.append("status %d, want %s" % (resp.status, "/".join(map(str, req.expect))))
    rid = resp.header("x-request-id")
    if rid is None:
        p.append("no X-Request-Id")
    elif not RID_RE.match(rid):
        p.append("malformed X-Request-Id %r" % rid)
    # The envelope on every refusal of an app's route (nginx's own refusals
    # included: API.md). nginx's own locations (/healthz, /docs) are outside
    # /api/v1, where API.md does not ask for it.
    if resp.status >= 400 and not req.route.nginx_only:
        r = shopclient.Resp(req.method if isinstance(req.method, str) else "?", API + "/", resp.status,
                            resp.headers, resp.body)
        env = envelope_problems(r)
        if env:
            p.append("not the envelope: %s" % "; ".join(env))
    for name in resp.headers:
        if name == "set-cookie" or name.startswith("x-corpus"):
            p.append("header %r in the answer (injected?)" % name)
    for s in secret_values:
        if s in resp.body:
            p.append("the answer holds a secret (%r...)" % s[:6])
    return p


def run_corpus(reqs, secret_values):
    """Sends every request (THREADS at a time); returns [(req, resp, problems)]."""
    host = "%s:%d" % (HOST, PORT)
    out = [None] * len(reqs)
    idx = [0]
    lock = threading.Lock()
    retried = [0]

    def worker(_i):
        while True:
            with lock:
                i = idx[0]
                idx[0] += 1
            if i >= len(reqs):
                return
            q = reqs[i]
            data = q.to_bytes(host)
            for attempt in range(6):
                resp = corpusgen.send_raw(HOST, PORT, data, TIMEOUT)
                if resp.status != 429:
                    break
                with lock:
                    retried[0] += 1
                time.sleep(0.3 * (attempt + 1))
            out[i] = (q, resp, problems_of(q, resp, secret_values))
    shopclient.in_parallel(worker, THREADS)
    return out, retried[0]


def _ordered(gen):
    """All requests, interleaved across routes (a seeded shuffle), so that no
    route's share of a rate limit is spent at once."""
    import random
    allq = [q for k in sorted(gen) for q in gen[k]]
    random.Random(SEED).shuffle(allq)
    return allq


# ---------------------------------------------------------------- tests


@test
def routes_from_code(t):
    """The route list is read from the code, and every route gets its
    corpus: a route added to a routes.c (or an nginx location) that the
    generator cannot serve fails here."""
    routes, problems = corpusgen.load_routes()
    for pr in problems:
        t.fail(pr)
    t.require(len(routes) >= 40, "only %d routes read from fcgi-apps/*/routes.c and nginx" % len(routes))
    fxs = corpusgen.Fixtures({"CUSTOMER": "c", "SELLER": "s", "ADMIN": "a"},
                             {"products": 1, "inventory": 1, "items": 1, "addresses": 2, "users": 3,
                              "orders": 4, "shipments": 4}, "x@example.com", [("Bearer x", "x")])
    try:
        gen = corpusgen.generate(routes, fxs, SEED, PER_ROUTE, cap=MAX_PER_ROUTE)
    except (AssertionError, ValueError) as e:
        t.require(False, "the corpus cannot be generated: %s" % e)
    for r in routes:
        reqs = gen.get(r.key) or []
        t.ok(len(reqs) >= PER_ROUTE, "%s (%s): %d requests, want >= %d" % (r.key, r.where, len(reqs), PER_ROUTE))
        cats = {q.cat for q in reqs}
        t.ok("nginx" in cats and "size" in cats and ("method" in cats or r.nginx_only),
             "%s: categories %s" % (r.key, sorted(cats)))
        if not r.nginx_only:
            t.ok({"body", "ctype", "query", "path"} <= cats, "%s: categories %s" % (r.key, sorted(cats)))
        if r.access in ("USER", "SELLER", "ADMIN"):
            t.ok("auth" in cats, "%s: no request with a bad token" % r.key)
        for q in reqs:
            if q.uses_real_id and q.why in ("semantic", "idem"):
                t.fail("%s: a handler-level request on a real object: %s" % (r.key, q.describe()))
    # the generator is deterministic
    again = corpusgen.generate(routes, fxs, SEED, PER_ROUTE, cap=MAX_PER_ROUTE)
    for r in routes:
        if [q.to_bytes("h") for q in again[r.key]] != [q.to_bytes("h") for q in gen[r.key]]:
            t.fail("%s: the same seed gave another corpus" % r.key)
    t.note("%d routes (%d from routes.c, %d nginx locations), %d requests"
           % (len(routes), sum(not r.nginx_only for r in routes), sum(r.nginx_only for r in routes),
              sum(len(v) for v in gen.values())))


@test
def hostile_corpus(t):
    """>= 300 hostile requests per route: every answer a 4xx envelope with a
    request id within 10 s; nothing changed in the database; no pool process
    died; /healthz still 200."""
    if not SHOP_VAR or not os.path.isdir(os.path.join(SHOP_VAR, "run")):
        t.skip("SHOP_VAR (%r) is not the stack's var directory" % SHOP_VAR)
    routes, problems = corpusgen.load_routes()
    t.require(not problems, "routes: %s" % problems)
    fxs, _cust = fixtures(t)
    gen = corpusgen.generate(routes, fxs, SEED, PER_ROUTE, cap=MAX_PER_ROUTE)
    reqs = _ordered(gen)
    try:
        tables = _tables()
    except SqlError as e:
        t.skip("SQL as root is not available: %s" % e)
    t.require(len(tables) >= 10, "only %d tables in the shop_* schemas" % len(tables))
    _, waited, stable = settle(tables)
    t.require(stable, "the database did not settle within %.0f s before the corpus" % waited)
    before = dump(tables)
    sums_before = checksums(tables)
    pids = pool_pids()
    t.require(pids, "no pool pid files in %s/run" % SHOP_VAR)
    offsets = log_offsets()
    secret_values = secrets()

    t0 = time.monotonic()
    results, retried = run_corpus(reqs, secret_values)
    secs = time.monotonic() - t0

    # Reported in this order, so that the 40 lines TAP shows start with the
    # worst: the database changed, a process died, then the answers.
    # 1. nothing changed
    sums_after, waited, _ = settle(tables, max_secs=5.0)
    after = dump(tables)
    changed = diff_dumps(before, after)
    for c in changed:
        t.fail("the database changed: %s" % c)
    if not changed and sums_after != sums_before:
        t.fail("table checksums changed: %s"
               % sorted(k for k in sums_after if sums_after[k] != sums_before.get(k)))

    # 2. the stack is alive, nothing crashed or respawned
    r = get("/healthz", check_envelope=False)
    t.eq(r.status, 200, "GET /healthz after the corpus")
    now = pool_pids()
    for app, (pid, kids) in sorted(pids.items()):
        npid, nkids = now.get(app, (None, []))
        t.ok(npid == pid and alive(pid), "pool %s: master pid %s, now %s (alive: %s)"
             % (app, pid, npid, alive(pid)))
        t.ok(nkids == kids, "pool %s: worker pids %s, now %s (a worker died and was respawned)"
             % (app, kids, nkids))
    errors = collections.Counter()
    for path, lines in sorted(new_log_lines(offsets).items()):
        name = os.path.basename(path)
        for ln in lines:
            if LOG_BAD.search(ln):
                t.fail("%s: %s" % (name, ln[:300]))
            elif '"level":"error"' in ln or "[crit]" in ln or "[alert]" in ln or "[emerg]" in ln:
                errors[name] += 1
                if errors[name] <= 2:
                    t.note("%s: %s" % (name, ln[:300]))
    if errors:
        t.note("error lines in the logs during the corpus: %s" % dict(errors))

    # 3. the answers, grouped by what was sent and what went wrong
    per_route = collections.Counter()
    statuses = collections.Counter()
    bad = collections.defaultdict(list)
    slowest = (0.0, None)
    for item in results:
        if item is None:
            t.fail("a request was never sent (a sender thread died)")
            continue
        q, resp, probs = item
        per_route[q.route.key] += 1
        statuses[resp.status] += 1
        if resp.elapsed > slowest[0]:
            slowest = (resp.elapsed, q)
        if probs:
            kind = "; ".join(re.sub(r"\d{3}", "NNN", x)[:50] for x in probs)
            bad[(q.cat, q.what.replace(" (+headers)", ""), kind)].append((q, resp, probs))
    for (cat, what, _), items in sorted(bad.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        q, resp, probs = items[0]
        keys = sorted({x[0].route.key for x in items})
        t.fail("[%s] %s: %s: %d answer(s) on %d route(s) (%s); e.g. %s -> %s %r" % (
            cat, what, "; ".join(probs), len(items), len(keys),
            ", ".join(keys[:4]) + (" ..." if len(keys) > 4 else ""), q.describe(90), resp.status,
            resp.body[:140]))
    for r in routes:
        t.ok(per_route[r.key] >= PER_ROUTE, "%s: %d requests answered, want >= %d"
             % (r.key, per_route[r.key], PER_ROUTE))

    counts = sorted(per_route.values())
    t.note("%d requests to %d routes in %.1f s (%.0f/s, %d threads); per route %d..%d; slowest answer"
           " %.2f s (%s); %d answers 429 retried; database settled %.1f s after"
           % (len(results), len(per_route), secs, len(results) / max(secs, 0.001), THREADS, counts[0],
              counts[-1], slowest[0], slowest[1].describe(60) if slowest[1] else "-", retried, waited))
    t.note("per route: " + ", ".join("%s %d" % (k, per_route[k]) for k in sorted(per_route)))
    t.note("statuses: %s" % dict(sorted(statuses.items(), key=lambda kv: -kv[1])))
