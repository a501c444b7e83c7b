"""The shop's routes as the code declares them, and a deterministic corpus of
hostile requests for each (test_corpus, test_authz).

Routes come from fcgi-apps/*/routes.c (method, pattern, access, body and
query field tables; the parser of tests/docs/check_openapi.py) and from the
exact nginx locations outside /api/v1 (/healthz, /docs, ...). Whether a
route's handler requires an Idempotency-Key is read from its C source (the
handler calls shop_idem_start).

Every generated request is refused by construction, for a reason recorded in
it ("why"): nginx refuses the bytes, the auth subrequest refuses the token, the
request layer refuses the query, the body or its media type, the handler
refuses a missing or malformed Idempotency-Key, or the request names an
object that does not exist. None can legitimately change anything. Requests
are raw bytes sent on a socket of their own, so that what http.client would
refuse to send (NUL bytes, duplicated headers, bare CRs, odd methods and
versions) can be sent too.
"""

import collections
import glob
import json
import os
import random
import re
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("top_srcdir") or os.path.dirname(os.path.dirname(HERE))
ROOT = os.path.abspath(ROOT)

# An id the router accepts (2^53 - 1) that names no object of a test stack.
ABSENT_ID = 9007199254740991
ABSENT_IDS = (ABSENT_ID, 9007199254740990, 4503599627370496)


# ---------------------------------------------------------------- routes


class FieldSpec:
    def __init__(self, d, nested=None):
        self.name = d["name"]
        self.type = d["type"]               # STRING INT BOOL OBJECT OBJECT_ARRAY STRING_ARRAY
        self.flags = set(d.get("flags") or ())
        self.min = d.get("min") or 0
        self.max = d.get("max") or 0
        self.nested = nested                # [FieldSpec] of an OBJECT(_ARRAY)

    @property
    def required(self):
        return "REQUIRED" in self.flags

    @property
    def nullable(self):
        return "NULLABLE" in self.flags

    @property
    def multiline(self):
        return "MULTILINE" in self.flags

    def __repr__(self):
        return "<%s %s %s..%s %s>" % (self.name, self.type, self.min, self.max, sorted(self.flags))


class Route:
    """One route: method, pattern, access (PUBLIC USER SELLER ADMIN), body
    (None: takes none; "raw": handed over unparsed; [FieldSpec]: a table,
    possibly empty), query ([FieldSpec] or None), handler, idempotent, and
    where it is declared."""

    def __init__(self, method, pattern, access, body, query, where, handler=None,
                 idempotent=False, nginx_only=False):
        self.method, self.pattern, self.access = method, pattern, access
        self.body, self.query, self.where = body, query, where
        self.handler, self.idempotent, self.nginx_only = handler, idempotent, nginx_only

    @property
    def key(self):
        return "%s %s" % (self.method, self.pattern)

    @property
    def params(self):
        return re.findall(r"\{(\w+)\}", self.pattern)

    @property
    def api(self):
        return self.pattern.startswith("/api/v1/")

    def path(self, *ids):
        it = iter(ids)
        return re.sub(r"\{\w+\}", lambda m: str(next(it)), self.pattern)

    def __repr__(self):
        return "<Route %s %s>" % (self.key, self.access)


def _check_openapi():
    d = os.path.join(ROOT, "tests", "docs")
    if d not in sys.path:
        sys.path.insert(0, d)
    import check_openapi  # noqa: E402  (tests/docs: the routes.c and nginx parsers)
    return check_openapi


def _idempotent_handlers(root):
    """Handlers (h_*) whose body calls shop_idem_start."""
    out = set()
    for path in glob.glob(os.path.join(root, "fcgi-apps", "*", "*.c")):
        with open(path, encoding="utf-8", errors="replace") as f:
            src = f.read()
        funcs = list(re.finditer(r"^\w[\w \t\*]*?\b(h_\w+)\s*\(\s*struct\s+shop_req\s*\*\s*\w+\s*\)\s*\{",
                                 src, re.M))
        for i, m in enumerate(funcs):
            end = funcs[i + 1].start() if i + 1 < len(funcs) else len(src)
            if "shop_idem_start(" in src[m.end():end]:
                out.add(m.group(1))
    return out


_ROUTE_LINE = re.compile(r'\{\s*"(GET|POST|PUT|DELETE|PATCH|HEAD)"\s*,\s*"(/[^"]*)"\s*,\s*&?\s*(\w+)')


def _nested_tables(src):
    """{field name: nested table name} of the OBJECT(_ARRAY) fields of a routes.c text."""
    out = {}
    for m in re.finditer(r'\{[^{}]*?"(\w+)"[^{}]*?\.fields\s*=\s*(\w+)[^{}]*\}', src):
        out[m.group(1)] = m.group(2)
    return out


def load_routes(root=None):
    """(routes [Route], problems [str]). Problems name what could not be read."""
    root = os.path.abspath(root or ROOT)
    co = _check_openapi()
    problems = []
    inputs = {}
    need = ("code_routes", "nginx_routes", "nginx_route_set", "parse_field_tables", "strip_c_comments",
            "lib_constants", "included_constants")
    missing = [n for n in need if not callable(getattr(co, n, None))]
    if missing:
        return [], ["tests/docs/check_openapi.py no longer offers %s" % ", ".join(missing)]
    routes, dups, files = co.code_routes(root, inputs)
    if dups:
        problems.append("duplicate routes: %s" % dups)
    if not routes:
        problems.append("no route found in %s/fcgi-apps/*/routes.c" % root)
    idem = _idempotent_handlers(root)
    handlers, nested_specs = {}, {}
    lib = co.lib_constants(root)
    for path in sorted(glob.glob(os.path.join(root, "fcgi-apps", "*", "routes.c"))):
        with open(path, encoding="utf-8", errors="replace") as f:
            src = co.strip_c_comments(f.read())
        for m in _ROUTE_LINE.finditer(src):
            handlers[(m.group(1), m.group(2))] = m.group(3)
        consts = dict(lib)
        consts.update(co.included_constants(root, src))
        tables = co.parse_field_tables(src, consts)
        for fname, tname in _nested_tables(src).items():
            if tname in tables:
                nested_specs[(path, fname)] = [FieldSpec(x) for x in tables[tname]]
                nested_specs[fname] = nested_specs[(path, fname)]

    def fields(lst):
        if lst is None or lst == "raw":
            return lst
        if lst == "unknown":
            return "unknown"
        out = []
        for d in lst:
            out.append(FieldSpec(d, nested_specs.get(d["name"]) if d.get("nested") else None))
        return out

    out = []
    for (method, pattern), (where, acc) in sorted(routes.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        body, query = inputs.get((method, pattern), (None, None))
        h = handlers.get((method, pattern))
        r = Route(method, pattern, acc, fields(body), fields(query), where, h, h in idem)
        if acc not in ("PUBLIC", "USER", "SELLER", "ADMIN"):
            problems.append("%s: access %r not understood" % (r.key, acc))
        for what, lst in (("body", r.body), ("query", r.query)):
            if lst == "unknown":
                problems.append("%s: its %s table could not be read" % (r.key, what))
            elif isinstance(lst, list):
                for f in lst:
                    if f.type not in ("STRING", "INT", "BOOL", "OBJECT", "OBJECT_ARRAY", "STRING_ARRAY"):
                        problems.append("%s: %s field %s has type %s, unknown here"
                                        % (r.key, what, f.name, f.type))
                    if f.type in ("OBJECT", "OBJECT_ARRAY") and not f.nested:
                        problems.append("%s: nested fields of %s not found" % (r.key, f.name))
        out.append(r)
    exact, _prefixes, _regexes, _files = co.nginx_routes(root)
    have = {(r.method, r.pattern) for r in out}
    for (method, path), _ in sorted(co.nginx_route_set(exact).items()):
        if (method, path) in have:
            continue
        out.append(Route(method, path, "PUBLIC", None, None, "nginx", nginx_only=True))
    return out, problems


# ---------------------------------------------------------------- raw HTTP


class RawResp:
    def __init__(self, status, reason, headers, body, elapsed, error=None, version=b""):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body
        self.elapsed, self.error, self.version = elapsed, error, version

    def header(self, name):
        return self.headers.get(name.lower())


def _dechunk(b):
    out, i = [], 0
    while True:
        j = b.find(b"\r\n", i)
        if j < 0:
            return None
        try:
            n = int(b[i:j].split(b";")[0], 16)
        except ValueError:
            return None
        if n == 0:
            return b"".join(out)
        out.append(b[j + 2:j + 2 + n])
        i = j + 2 + n + 2


def parse_response(data, elapsed):
    if not data:
        return RawResp(None, "", {}, b"", elapsed, "no answer (connection closed)")
    while re.match(rb"^HTTP/\d\.\d 1\d\d", data):   # 100 Continue and the like
        data = data.partition(b"\r\n\r\n")[2]
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return RawResp(None, "", {}, data, elapsed, "incomplete answer %r" % data[:80])
    lines = head.split(b"\r\n")
    m = re.match(rb"^(HTTP/\d\.\d) (\d{3}) ?(.*)$", lines[0])
    if not m:
        return RawResp(None, "", {}, data, elapsed, "bad status line %r" % lines[0][:80])
    hd = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        k = k.decode("latin-1").strip().lower()
        v = v.decode("latin-1").strip()
        hd[k] = hd[k] + ", " + v if k in hd else v
    if "chunked" in hd.get("transfer-encoding", "").lower():
        b = _dechunk(body)
        if b is None:
            return RawResp(int(m.group(2)), m.group(3).decode("latin-1"), hd, body, elapsed,
                           "bad chunked body")
        body = b
    elif hd.get("content-length", "").isdigit():
        n = int(hd["content-length"])
        if len(body) < n:
            return RawResp(int(m.group(2)), m.group(3).decode("latin-1"), hd, body, elapsed,
                           "body shorter than Content-Length (%d < %d)" % (len(body), n))
        body = body[:n]
    return RawResp(int(m.group(2)), m.group(3).decode("latin-1"), hd, body, elapsed, version=m.group(1))


def _complete(data):
    """True when data holds a whole final answer with a Content-Length."""
    while re.match(rb"^HTTP/\d\.\d 1\d\d", data):
        data = data.partition(b"\r\n\r\n")[2]
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"\r\ncontent-length:[ \t]*(\d+)", head, re.I)
    return bool(m) and len(body) >= int(m.group(1))


def send_raw(host, port, data, timeout=10.0, source=None):
    """Sends data on a new connection and reads the answer until the server
    closes it (every corpus request says Connection: close) or timeout
    passes (then .error says so: a hang)."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection((host, port), timeout=timeout,
                                     source_address=(source, 0) if source else None)
    except OSError as e:
        return RawResp(None, "", {}, b"", time.monotonic() - t0, "connect: %s" % e)
    chunks = []
    err = None
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the whole body was read (413): read the answer
        deadline = t0 + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                err = "no complete answer within %.0f s (hang)" % timeout
                break
            s.settimeout(left)
            try:
                b = s.recv(65536)
            except socket.timeout:
                err = "no complete answer within %.0f s (hang)" % timeout
                break
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
            if _complete(b"".join(chunks)):
                break   # nginx may linger before it closes (a 413 before the body)
    finally:
        s.close()
    r = parse_response(b"".join(chunks), time.monotonic() - t0)
    if err:
        r.error = err
    return r


# ---------------------------------------------------------------- values


SQL = ["' OR '1'='1", "' OR 1=1 --", "\"; DROP TABLE users; --", "1; DELETE FROM products",
       "a'); DELETE FROM orders; /*", "' UNION SELECT password_hash FROM shop_identity.users --",
       "1' AND SLEEP(5) --", "' OR ''='", "admin'--", "%' AND 1=0 UNION SELECT 1,2,3 -- ",
       "\\'; SELECT 1; --", "`id`", "1 OR 1=1", "'||(SELECT version())||'",
       "'; WAITFOR DELAY '0:0:5'--", "$where: '1 == 1'", "{\"$gt\": \"\"}", "*/ --", "0x27"]
HEADER_INJ = ["x\r\nSet-Cookie: corpus=1", "x\nX-Corpus-Injected: 1", "x\rX-Corpus-Injected: 1",
              "%0d%0aX-Corpus-Injected:%201", "x\r\n\r\n<html>", "\u2028X-Corpus-Injected: 1"]
TRAVERSAL = ["../../../../etc/passwd", "..\\..\\..\\windows\\win.ini", "/etc/passwd",
             "....//....//etc/passwd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "file:///etc/passwd",
             "../../var/shop.conf", "..%c0%af..%c0%afetc/passwd"]
MISC_STR = ["<script>alert(1)</script>", "${jndi:ldap://127.0.0.1:1/a}", "{{7*7}}", "%s%s%s%n",
            "\u202eevil", "\ufeffbom", "A" * 300, "\U0001F600" * 10, "null", "undefined", "NaN"]
# Bytes that are not UTF-8 (or UTF-8 the parser must refuse).
BAD_UTF8 = [b"\xff", b"\xfe\xff", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xed\xbf\xbf",
            b"\xe2\x82", b"\xf8\x88\x80\x80\x80", b"\xf4\x90\x80\x80", b"\x80", b"caf\xe9",
            b"\xc3\x28", b"\xa0\xa1", b"\xf0\x28\x8c\xbc", b"\xf0\x9f\x98"]
# Control characters no string field accepts, MULTILINE or not.
CONTROL = ["\u0001", "\u0008", "\u001b[31m", "\u007f", "\u0085", "\u009f", "\u2028", "\u2029", "\u000b",
           "\u000c"]
# Unknown body fields: mass assignment and odd names.
UNKNOWN_FIELDS = ["id", "user_id", "owner_id", "seller_id", "roles", "role", "status", "is_admin",
                  "admin", "created_at", "updated_at", "price", "price_cents_override", "total_cents",
                  "amount_cents", "password_hash", "disabled_at", "__proto__", "constructor", "$where",
                  "", " ", "x" * 300, "\u00e9", "NAME", "Email", "quantity ", " name", "items[0]",
                  "a.b", "\\u0000", "on_hand", "reserved", "provider_ref", "tracking", "deleted"]
# Numbers as JSON text that the shop's parser refuses.
BAD_NUMBERS = ["01", "1.", ".5", "+1", "0x10", "NaN", "Infinity", "-Infinity", "1e400", "-1e400",
               "1_000", "--1", "1e", "1e+", "0.", "-", "00", "1..2", "１"]
HUGE = ["99999999999999999999", "-99999999999999999999", "9223372036854775807",
        "-9223372036854775808", "9223372036854775808", "18446744073709551616",
        "1" + "0" * 400, "-" + "9" * 400]
# Content types the request layer must refuse for a JSON body.
BAD_CTYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
              "application/xml", "text/json", "application/jsonx", "application/json; charset=latin1",
              "application/json; charset=utf-16", "application/json;foo=bar", "json",
              "application/json, text/plain", "application/json-patch+json", "*/*", "application/",
              "application/json; charset=utf-8; x=1", "application/jso", "application/javascript",
              "text/html; charset=utf-8", "image/png", "application/json\u00a0"]
# Request ids a client may send: nginx uses its own for the malformed ones.
REQUEST_IDS = ["' OR 1=1 --", "a" * 65, "../../etc/passwd", "<script>", "id with blanks", "é",
               "x;y", "%00", "abc-DEF_1.2", "0"]
# Headers that must not change anything (forged identity, proxies, overrides).
DECOR_HEADERS = [("X-Forwarded-For", "10.0.0.1, 127.0.0.1"), ("X-Real-IP", "10.0.0.2"),
                 ("X-Original-URL", "/api/v1/admin/users"), ("X-Rewrite-URL", "/api/v1/admin/users"),
                 ("X-HTTP-Method-Override", "DELETE"), ("X-Method-Override", "PUT"),
                 ("X-Shop-User-Id", "1"), ("X-Shop-User-Roles", "ADMIN"), ("X-User-Id", "1"),
                 ("X-User-Roles", "ADMIN,SELLER"), ("Shop-User-Roles", "ADMIN"),
                 ("Forwarded", "for=10.0.0.3;proto=https"), ("Cookie", "session=' OR 1=1 --"),
                 ("User-Agent", "sqlmap/1.7 (' OR 1=1 --)"), ("Referer", "http://evil.example/../../"),
                 ("Accept", "*/*"), ("Accept-Encoding", "gzip, deflate, br"), ("Origin", "http://evil.example"),
                 ("X-Forwarded-Host", "evil.example"), ("X-Forwarded-Proto", "https"),
                 ("Proxy", "http://127.0.0.1:1"), ("TE", "trailers"), ("Expect", "100-continue"),
                 ("If-None-Match", "*"), ("Range", "bytes=0-1"), ("Accept-Language", "' OR 1=1")]


def valid_string(f):
    n = f.name.lower()
    table = {"email": "corpus.nobody@example.com", "password": "corpus-password-1", "sku": "CORPUS-SKU-1",
             "currency": "EUR", "country": "FR", "phone": "+33 1 23 45 67 89", "roles": "CUSTOMER",
             "role": "CUSTOMER", "sort": "price", "status": "PAID", "payment_method": "pm_card_ok",
             "refresh_token": "corpus-not-a-refresh-token", "postal_code": "75001", "cursor": None,
             "carrier": "DHL", "tracking_number": "JD0001", "reason": "corpus"}
    v = table.get(n)
    if v is None:
        v = "Corpus value"
    lo, hi = f.min or 0, f.max or 0
    if hi and len(v) > hi:
        v = v[:hi]
    if lo and len(v) < lo:
        v = v + "x" * (lo - len(v))
    return v


def valid_value(f, ids=None):
    """A value the field's validator accepts (formats guessed from the name).
    ids: {field name: id} for references (default: absent ids)."""
    ids = ids or {}
    if f.type == "STRING":
        return valid_string(f)
    if f.type == "INT":
        if f.name in ids:
            return ids[f.name]
        if f.name.endswith("_id") or f.name == "id":
            return ABSENT_ID if not f.max or f.max >= ABSENT_ID else f.max
        lo, hi = f.min, f.max
        if lo == 0 and hi == 0:
            return 1
        return max(lo, min(1, hi)) if hi else max(lo, 1)
    if f.type == "BOOL":
        return False
    if f.type == "STRING_ARRAY":
        return [valid_string(f)]
    if f.type == "OBJECT":
        return valid_body(f.nested or [], ids)
    if f.type == "OBJECT_ARRAY":
        return [valid_body(f.nested or [], ids)]
    return None


def valid_body(fields, ids=None):
    return {f.name: valid_value(f, ids) for f in fields if f.required or f.type != "OBJECT_ARRAY"}


def wrong_types(f):
    """Values of another JSON type than f accepts."""
    base = [123, -1, 0, 1.5, 1e3, True, False, "1", "", "true", [], {}, ["x"], {"a": 1}, [[]]]
    if not f.nullable:
        base.append(None)
    if f.type == "STRING":
        return [v for v in base if not isinstance(v, str)]
    if f.type == "INT":
        return [v for v in base if isinstance(v, (str, float, bool, list, dict)) or v is None]
    if f.type == "BOOL":
        return [v for v in base if not isinstance(v, bool)] + ["false", 0, 1]
    if f.type in ("STRING_ARRAY", "OBJECT_ARRAY"):
        return [v for v in base if not isinstance(v, list)] + ([[1], [None], [[]], [True]]
                                                                if f.type == "STRING_ARRAY" else
                                                                [[1], ["x"], [None], [[]]])
    if f.type == "OBJECT":
        return [v for v in base if not isinstance(v, dict)]
    return base


def out_of_range(f):
    """JSON texts of integers f refuses (bounds, int64 saturation)."""
    out = [h for h in HUGE]
    if f.min or f.max:
        out += [str(f.min - 1), str(f.min - 1000), str(f.max + 1) if f.max else None]
        if f.min > 0:
            out += ["0", "-1"]
    return [x for x in out if x is not None and not (f.min <= _int_or(x) <= (f.max or 2 ** 63))]


def _int_or(s):
    try:
        return int(s)
    except ValueError:
        return -2 ** 70


def bad_strings(f):
    """(JSON text of a string value, what) that f refuses: length, characters, bytes."""
    out = []
    hi = f.max or 0
    if hi:
        out.append((json.dumps("x" * (hi + 1)), "max+1 characters"))
        out.append((json.dumps("\u00e9" * (hi + 1), ensure_ascii=False), "max+1 two-byte characters"))
        out.append((json.dumps("\U0001F600" * (hi + 1), ensure_ascii=False), "max+1 emoji"))
        out.append((json.dumps("y" * min(hi * 10 + 7, 60000)), "10 x max characters"))
    if f.min and f.min > 0:
        out.append((json.dumps("x" * (f.min - 1)), "min-1 characters"))
    out.append((json.dumps("a\u0000b"), "escaped NUL"))
    out.append((json.dumps("\u0000"), "only NUL"))
    out.append(('"a' + "\x00" + 'b"', "raw NUL byte"))
    for c in CONTROL:
        out.append((json.dumps("ab" + c + "cd"), "control U+%04X" % ord(c[0])))
        out.append((json.dumps("ab" + c + "cd", ensure_ascii=False), "raw control U+%04X" % ord(c[0])))
    if not f.multiline:
        for c in ("\n", "\r", "\t", "\r\nSet-Cookie: corpus=1"):
            out.append((json.dumps("ab" + c + "cd"), "line break / header injection"))
    for b in BAD_UTF8:
        out.append((b'"ab' + b + b'cd"', "invalid UTF-8 %s" % b.hex()))
    return out


def nest(depth, kind="array", leaf="1"):
    if kind == "array":
        return "[" * depth + leaf + "]" * depth
    return '{"a":' * depth + leaf + "}" * depth


MALFORMED = [b"{", b"}", b"{\"a\":}", b"{\"a\" 1}", b"{\"a\":1,}", b"{,}", b"{'a': 1}", b"{a: 1}",
             b"[1, 2", b"{\"a\": 1}{\"b\": 2}", b"{\"a\": 1} x", b"{\"a\": tru}", b"{\"a\": nul}",
             b"{\"a\": \"\\x41\"}", b"{\"a\": \"\\u12\"}", b"{\"a\": \"\\ud800\\u0041\"}",
             b"{\"a\": \"unterminated}",
             b"{\"a\": 1 /* comment */}", b"// comment\n{}", b"\xef\xbb\xbf{}", b"\x00{}", b"{}\x00",
             b"{\"a\"\x00: 1}", b"\xff\xfe{\x00}\x00", b"nul", b"t", b"[", b"{{}}", b"{\"a\":[}", b"{\"a\":]}",
             b"\"\\", b"{\"\\uDFFF\": 1}", b"{\"a\": 1,\n\"a\": 1", b"{\"a\": -}", b"{\"a\": 1e}",
             b"{\"a\": \"\t\"}", b"{\"a\": \"line\nbreak\"}", b"<xml/>", b"a=1&b=2", b"{\"a\": undefined}"]
NON_OBJECT = [b"[]", b"[{}]", b"\"string\"", b"1", b"-1", b"0", b"null", b"true", b"false", b"[null]",
              b"1.5", b"\"{}\""]


# ---------------------------------------------------------------- requests


class Req:
    """One corpus request. why: the guaranteed refusal; expect: statuses
    allowed (None: any 4xx but 429)."""

    __slots__ = ("route", "cat", "why", "what", "method", "target", "headers", "body", "version",
                 "expect", "raw", "uses_real_id", "token_role")

    def __init__(self, route, cat, why, what, method, target, headers=(), body=None,
                 version="HTTP/1.1", expect=None, raw=None, uses_real_id=False, token_role=None):
        self.route, self.cat, self.why, self.what = route, cat, why, what
        self.method, self.target, self.headers, self.body = method, target, list(headers), body
        self.version, self.expect, self.raw = version, expect, raw
        self.uses_real_id, self.token_role = uses_real_id, token_role

    def to_bytes(self, host_header):
        if self.raw is not None:
            return self.raw.replace(b"@HOST@", host_header.encode())
        m = self.method if isinstance(self.method, bytes) else self.method.encode()
        t = self.target if isinstance(self.target, bytes) else self.target.encode("utf-8")
        v = self.version if isinstance(self.version, bytes) else self.version.encode()
        lines = [m + b" " + t + b" " + v]
        names = set()
        for k, val in self.headers:
            kb = k if isinstance(k, bytes) else k.encode("latin-1")
            vb = val if isinstance(val, bytes) else val.encode("utf-8")
            names.add(kb.lower())
            lines.append(kb + b": " + vb)
        if b"host" not in names:
            lines.insert(1, b"Host: " + host_header.encode())
        if b"connection" not in names:
            lines.append(b"Connection: close")
        body = self.body
        if body is not None and isinstance(body, str):
            body = body.encode("utf-8")
        if body is not None and b"content-length" not in names and b"transfer-encoding" not in names:
            lines.append(b"Content-Length: " + str(len(body)).encode())
        return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")

    def describe(self, n=160):
        b = self.body if self.body is not None else b""
        if isinstance(b, str):
            b = b.encode("utf-8")
        t = self.target if isinstance(self.target, str) else self.target.decode("latin-1")
        hs = [k for k, _ in self.headers if (k if isinstance(k, str) else k.decode("latin-1")).lower()
              not in ("authorization",)]
        return "%s %s [%s: %s] headers %s body %r" % (
            self.method if isinstance(self.method, str) else self.method.decode("latin-1"),
            t[:n], self.cat, self.what, hs[:6], b[:n])


def normalize_path(p):
    """The path as nginx routes it: percent-decoded, slashes merged, "." and
    ".." resolved. None when nginx would refuse it (encoded slash/NUL, ..
    above the root)."""
    p = p.split("?", 1)[0]
    if re.search(r"%(2[fF]|5[cC]|00)", p):
        return None
    try:
        dec = re.sub(r"%([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), p)
    except ValueError:
        return None
    out = []
    for seg in dec.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if not out:
                return None
            out.pop()
            continue
        out.append(seg)
    return "/" + "/".join(out) + ("/" if dec.endswith("/") and out else "")


class Fixtures:
    """What the generator knows of the stack: tokens by role and the real
    object ids of the corpus user (path parameters that exist)."""

    def __init__(self, tokens, real_ids, customer_email=None, bad_tokens=None, cursors=None, now=1795000000):
        self.tokens = tokens          # {"CUSTOMER": tok, "SELLER": tok, "ADMIN": tok}
        self.real_ids = real_ids      # {segment before the parameter: id}
        self.customer_email = customer_email
        self.bad_tokens = bad_tokens or []    # (header value, what)
        self.cursors = cursors or {}  # {route key: a real cursor of that list}
        self.now = now                # the stack's clock, for signature timestamps


ROLE_FOR = {"USER": "CUSTOMER", "SELLER": "SELLER", "ADMIN": "ADMIN", "PUBLIC": None}


def _segment_before(pattern, param):
    segs = pattern.split("/")
    for i, s in enumerate(segs):
        if s == "{%s}" % param and i > 0:
            return segs[i - 1]
    return None


def real_path(route, fx):
    """(path with real ids, True) when the fixtures know every parameter's
    object, else (path with absent ids, False)."""
    ids, real = [], True
    for p in route.params:
        seg = _segment_before(route.pattern, p)
        v = fx.real_ids.get(seg)
        if v is None:
            real = False
            v = ABSENT_ID
        ids.append(v)
    return route.path(*ids), real and bool(route.params)


def absent_path(route, k=0):
    return route.path(*[ABSENT_IDS[(k + i) % len(ABSENT_IDS)] for i in range(len(route.params))])


BAD_IDS = ["0", "-1", "01", "00", "1.0", "1e3", "+1", " 1", "1 ", "0x1", "abc", "%31%00", "9007199254740992",
           "99999999999999999", "18446744073709551616", "-9223372036854775808", "1'", "1' OR '1'='1",
           "1;DROP TABLE users", "1--", "1%27", "1%20OR%201=1", "%00", "1%00", "1%2F2", "1%2f..%2f2",
           "%2e%2e", "..%2F..%2Fadmin", "1%5C..%5C2", "%252e%252e", "%C0%AE%C0%AE", "%EF%BC%91",
           "\u0661", "\uff11", "1\u200b", "{id}", "null", "undefined", "NaN", "true", "[]", "1,2",
           "1%0d%0aX-Corpus-Injected:%201", "1%0aSet-Cookie:%20a=b", "<script>", "*", "1*",
           "$(id)", "`id`", "1|id", "1&x=1", "a" * 300, "1" * 17, "9" * 16 + "0"]


def _q(s):
    """Percent-encodes the characters a request line cannot carry raw."""
    out = []
    for ch in s:
        o = ord(ch)
        if o < 0x21 or o > 0x7e or ch in "#":
            out.append("".join("%%%02X" % b for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "".join(out)


def _qv(s):
    """Percent-encodes a query value completely (but keeps %XX it already has)."""
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c.isalnum() or c in "-._~":
            out.append(c)
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def query_breakers(route, fx, rnd):
    """(query string, what, expected status or None) that the route's query
    validation refuses: unknown names, bad values of declared ones, broken
    cursors, malformed pairs."""
    declared = {f.name: f for f in (route.query or [])}
    out = []
    unknown = ["corpus", "id", "user_id", "owner", "admin", "debug", "include_archived", "seller_id",
               "__proto__", "limit%5B%5D", "sort%5B%5D", "%27%20OR%201%3D1--", "a%FFb", "%00", "x" * 90,
               "access_token", "callback", "fields", "offset", "page", "q%00", "%E2%80%A8"]
    for n in unknown:
        if n not in declared:
            out.append(("%s=1" % n, "unknown parameter %s" % n[:20], 400))
    for v in SQL[:8] + TRAVERSAL[:3] + HEADER_INJ[:3] + MISC_STR[:4]:
        out.append(("corpus=%s" % _qv(v), "unknown parameter with %r" % v[:20], 400))
    for raw in ("&", "&&", "=", "=1", "a", "a=1&&b=2", "a=1&", "%=1", "limit=%", "limit=%zz", "limit=%0",
                "a=%GG", "%ZZ=1", "a=1%", "+=1", "a=b=c&&"):
        out.append((raw, "malformed query %r" % raw, 400))
    for f in route.query or []:
        vals = []
        if f.type == "INT":
            vals = ["", "1.5", "1.0", "1e3", "+1", "01", "-0", "0x10", "abc", "1%00", "NaN", "Infinity",
                    "%FF", "1%20OR%201=1", "1;DROP%20TABLE%20products", "%E2%80%A8", "１"]
            vals += [_qv(x) for x in HUGE[:6]]
            if f.min or f.max:
                vals.append(str(f.min - 1))
                if f.max:
                    vals.append(str(f.max + 1))
        elif f.type == "STRING":
            vals = ["%00", "a%00b", "%01", "%1B", "%7F", "%C2%85", "%E2%80%A8", "%FF", "%C0%AF", "%ED%A0%80",
                    "a%0D%0ASet-Cookie:%20x=1"]
            if f.min and f.min > 0:
                vals.append("")
            if f.max:
                vals.append("x" * (f.max + 1))
            if f.name == "sort":
                vals += ["bogus", "PRICE", "price%20", "-newest", "price,newest", "%27%20OR%201=1--"]
            if f.name == "status":
                vals += ["bogus", "paid", "PAID%00", "PAID'--"]
            if f.name == "role":
                vals += ["ROOT", "admin", "ADMIN,SELLER", "ADMIN'--"]
            if f.name == "email":
                vals += ["not-an-email", "%27%20OR%201=1--", "a@", "@b", "a%20b@example.com"]
            if f.name == "cursor":
                vals += broken_cursors(route, fx)
        for v in vals:
            out.append(("%s=%s" % (f.name, v), "%s=%s" % (f.name, v[:30]), 400))
        good = _good_query_value(f)
        out.append(("%s=%s&%s=%s" % (f.name, good, f.name, good), "%s repeated" % f.name, 400))
    return out


def _good_query_value(f):
    if f.type == "INT":
        return str(max(f.min, 1))
    return {"sort": "price", "status": "PAID", "role": "CUSTOMER", "email": "corpus%40example.com",
            "q": "lamp", "cursor": None}.get(f.name) or "x"


def _b64u(b):
    import base64
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def broken_cursors(route, fx):
    """Cursors the shop must refuse: malformed, another version, a sort no
    list has, ids out of range, non-canonical base64url, too long."""
    texts = ["v2|newest|1|1", "v1|corpus_nosort|1|1", "v1|newest|1|0", "v1|newest|1|-1", "v1|newest|01|1",
             "v1|newest|1|9007199254740992", "v1|newest|1|1|5", "v1|newest|1", "v1||1|1", "v1|newest||1",
             "v1|newest|99999999999999999999|1", "v1|newest|+1|1", "v1|newest| 1|1", "v1|newest|1|1\x00",
             "v1|newest|1|1'--", "v1|' OR 1=1 --|1|1", "|||", "", "v1|newest|1|1\n", "V1|newest|1|1"]
    out = [_b64u(t.encode()) for t in texts if _b64u(t.encode())]
    out += ["!!!!", "%27%20OR%201=1--", "djF8bmV3ZXN0fDF8MQ==", "djF8bmV3ZXN0fDF8MQ%3D%3D", "djF+bmV3ZXN0",
            "djF8bmV3ZXN0fDF8M", "a", "x" * 127, "x" * 128, "%00", "djF8%00", "..%2F..%2F", "null"]
    real = fx.cursors.get(route.key)
    if real:
        out += [real + "A" * ((1 - len(real)) % 4 or 4), real + "!", real + "%00", real + "=",
                real[::-1] if real[::-1] != real else real + "~~"]
        other = fx.cursors.get("other:" + route.key)
        if other:
            out.append(other)  # made for another sort of the same list
    return out


def body_breakers(route, fx, rnd, base):
    """(body bytes, content type, what, expected status) that the request
    layer refuses for a body route; base: a valid body (dict)."""
    fields = route.body
    ct = "application/json"
    out = []
    for b in MALFORMED:
        out.append((b, ct, "malformed JSON %r" % b[:20], 400))
    for b in NON_OBJECT:
        out.append((b, ct, "top level %s" % b.decode()[:10], 400))
    for d in (17, 18, 64, 1000, 10000, 30000):
        out.append((nest(d).encode(), ct, "arrays nested %d deep" % d, (400, 413)))
    for d in (17, 100, 3000):
        out.append((nest(d, "object").encode(), ct, "objects nested %d deep" % d, (400, 413)))
    out.append((b"", ct, "empty body declared as JSON", 400))
    out.append((b" \r\n\t", ct, "blank body declared as JSON", 400))
    for i, name in enumerate(UNKNOWN_FIELDS):
        if any(f.name == name for f in fields):
            continue
        body = dict(base)
        body[name] = rnd.choice([1, "x", True, None, ["ADMIN"], {"id": 1}])
        out.append((json.dumps(body).encode(), ct, "unknown field %r" % name[:20], 400))
    for f in fields:
        if f.required:
            body = {k: v for k, v in base.items() if k != f.name}
            out.append((json.dumps(body).encode(), ct, "%s missing" % f.name, 400))
        for v in wrong_types(f):
            body = dict(base)
            body[f.name] = v
            out.append((json.dumps(body).encode(), ct, "%s=%s" % (f.name, json.dumps(v)[:20]), 400))
        if f.type == "INT":
            for raw in out_of_range(f):
                out.append((_with_raw(base, f.name, raw), ct, "%s=%s" % (f.name, raw[:24]), 400))
            for raw in BAD_NUMBERS:
                out.append((_with_raw(base, f.name, raw), ct, "%s=%s (not a JSON number)" % (f.name, raw), 400))
        if f.type == "STRING":
            for raw, what in bad_strings(f):
                out.append((_with_raw(base, f.name, raw), ct, "%s %s" % (f.name, what), (400, 413)))
            out.append((_with_raw(base, f.name, "99999999999999999999"), ct, "%s a huge number" % f.name, 400))
        if f.type == "STRING_ARRAY":
            for v in ([], ["x"] * ((f.max or 3) + 1), ["ROOT"], ["CUSTOMER\u0000"], ["a\nb"], [""]):
                body = dict(base)
                body[f.name] = v
                out.append((json.dumps(body).encode(), ct, "%s=%s" % (f.name, json.dumps(v)[:24]), 400))
        if f.type in ("OBJECT_ARRAY", "OBJECT") and f.nested:
            sub = valid_body(f.nested)
            variants = [[], [sub] * ((f.max or 100) + 1), [dict(sub, corpus_unknown=1)], [1], ["x"], [[sub]],
                        [dict(sub, **{n.name: -1}) for n in f.nested if n.type == "INT"][:1] or [{"x": 1}],
                        [{k: v for k, v in sub.items() if k != n.name} for n in f.nested if n.required][:1]
                        or [{"x": 1}],
                        [dict(sub, **{n.name: "1"}) for n in f.nested if n.type == "INT"][:1] or [{"x": 1}],
                        [dict(sub, **{n.name: 0}) for n in f.nested if n.type == "INT"][:1] or [{"x": 1}],
                        [dict(sub, **{n.name: 10 ** 20}) for n in f.nested if n.type == "INT"][:1] or [{"x": 1}]]
            if f.type == "OBJECT":
                variants = [x[0] if isinstance(x, list) and x and isinstance(x[0], dict) else x
                            for x in variants[2:]]
            for v in variants:
                body = dict(base)
                body[f.name] = v
                out.append((json.dumps(body).encode(), ct, "%s=%s" % (f.name, json.dumps(v)[:30]), (400, 413)))
        # duplicate keys: json-c would keep the last; the shop refuses both
        text = json.dumps({k: v for k, v in base.items() if k != f.name})
        v = json.dumps(base.get(f.name, valid_value(f)))
        dup = text[:-1] + (", " if text != "{}" else "") + '"%s": %s, "%s": %s}' % (f.name, v, f.name, v)
        out.append((dup.encode(), ct, "%s twice" % f.name, 400))
        # a bad value in the key itself
        body = json.dumps(base)[:-1]
        sep = ", " if body != "{" else ""
        for kb in (b"\xff", b"\x00", b"\\u0000"):
            out.append((body.encode() + sep.encode() + b'"' + f.name.encode() + kb + b'": 1}', ct,
                        "%s with %r in its key" % (f.name, kb), 400))
    if not fields:
        for name in UNKNOWN_FIELDS[:12]:
            out.append((json.dumps({name: 1}).encode(), ct, "a field where none is taken: %r" % name, 400))
    return out


def _with_raw(base, name, raw):
    """base as JSON text with field name's value replaced by the JSON text raw (bytes ok)."""
    body = dict(base)
    body[name] = "@@CORPUS@@"
    text = json.dumps(body).encode()
    rb = raw if isinstance(raw, bytes) else raw.encode("utf-8")
    return text.replace(b'"@@CORPUS@@"', rb)


def oversized(base_text):
    pad = b" " * 70000
    return [(base_text + pad, "64 KiB + trailing blanks"),
             (b'{"x": "' + b"a" * 65530 + b'"}', "65 KiB string"),
             (b"[" * 40000 + b"]" * 40000, "80 KB of brackets"),
             (b'{"a":1}' + b" " * (1 << 20), "1 MiB")]


def protocol_cases(route, target, auth_headers):
    """Requests nginx itself must refuse, whatever the route: (raw bytes with
    @HOST@, what, expected statuses)."""
    m = route.method.encode()
    t = target.encode()
    ah = b"".join(k.encode() + b": " + v.encode() + b"\r\n" for k, v in auth_headers)
    h = b"Host: @HOST@\r\n" + ah
    cl = b"Content-Type: application/json\r\n"
    end = b"Connection: close\r\n\r\n"

    def rq(line, headers=h, body=b""):
        return line + b"\r\n" + headers + end + body

    line = m + b" " + t + b" HTTP/1.1"
    many = b"".join(b"X-C%d: %s\r\n" % (i, b"b" * 100) for i in range(400))
    return [
        (rq(line, h + cl + b"Content-Length: 2\r\nContent-Length: 3\r\n", b"{}x"), "Content-Length twice", (400,)),
        (rq(line, h + cl + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
         "Content-Length with Transfer-Encoding", (400,)),
        (rq(line, h + cl + b"Transfer-Encoding: chunked\r\n", b"zz\r\n{}\r\n0\r\n\r\n"), "a bad chunk size",
         (400,)),
        (rq(line, h + cl + b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"),
         "Transfer-Encoding gzip, chunked", (400,)),
        (rq(line, h + cl + b"Content-Length: -1\r\n"), "negative Content-Length", (400,)),
        (rq(line, h + cl + b"Content-Length: 99999999999999999999\r\n"), "huge Content-Length", (400, 413)),
        (rq(line, h + cl + b"Content-Length: 1e3\r\n"), "Content-Length 1e3", (400,)),
        (rq(line, h + cl + b"Content-Length: 70000\r\n", b"{}"), "Content-Length over 64 KiB (body not sent)",
         (413,)),
        (rq(line, h + b"X-Corpus: a\x00b\r\n"), "NUL in a header value", (400,)),
        (rq(line, h + b"X-Corpus: a\rX-Corpus-Injected: 1\r\n"), "bare CR in a header value", (400,)),
        (rq(line, h + b"X-Corpus: a\r\n folded\r\n"), "obsolete line folding", (400,)),
        (rq(line, b"Host: @HOST@\r\nHost: evil.example\r\n" + ah), "Host twice", (400,)),
        (rq(line, ah), "HTTP/1.1 without Host", (400,)),
        (rq(line, b"Host: a b\r\n" + ah), "Host with a blank", (400,)),
        (rq(line, b"Host: ../../etc\r\n" + ah), "Host with ..", (400,)),
        (rq(line, h + b"Authorization: Bearer x\r\nAuthorization: Bearer y\r\n"), "Authorization twice", (400,)),
        (rq(line, h + b"X-Corpus: " + b"a" * 20000 + b"\r\n"), "a 20 KB header", (400, 431)),
        (rq(line, h + many), "400 headers of 100 bytes", (400, 431)),
        (rq(m + b" " + t + b" HTTP/9.9"), "HTTP/9.9", (400,)),
        (rq(m + b" " + t + b" HTTP/2.0"), "HTTP/2.0 in an HTTP/1 request line", (400,)),
        (rq(m + b" " + t + b" HTTP/1.1 x"), "junk after the version", (400,)),
        (rq(m + b" " + t + b" FTP/1.1"), "protocol FTP", (400,)),
        (rq(m.lower() + b" " + t + b" HTTP/1.1"), "method in lower case", (400,)),
        (rq(b"G\x00T " + t + b" HTTP/1.1"), "NUL in the method", (400,)),
        (rq(m + b"\x01 " + t + b" HTTP/1.1"), "control byte in the method", (400,)),
        (rq(m + b" " + t + b"\x00 HTTP/1.1"), "NUL in the target", (400,)),
        (rq(m + b" " + t + b"%00 HTTP/1.1"), "%00 in the path", (400,)),
        (rq(m + b" " + t + b"/%2e%2e%2f HTTP/1.1"), "encoded slash in the path", (400,)),
        (rq(m + b" " + t + b"%5c..%5c HTTP/1.1"), "encoded backslash in the path", (400,)),
        (rq(m + b" " + t + b" x HTTP/1.1"), "a blank in the target", (400,)),
        (rq(m + b" /../../../../etc/passwd HTTP/1.1"), ".. above the root", (400,)),
        (rq(m + b" " + t + b"\xff HTTP/1.1"), "byte 0xff in the path", (400, 404)),
        (rq(m + b" " + t + b"?a=\x00 HTTP/1.1"), "NUL in the query", (400,)),
        (rq(m + b" " + t + b"/" + b"a" * 9000 + b" HTTP/1.1"), "a 9 KB path", (414, 400)),
        (m + b"\r\n\r\n", "a method alone", (400,)),
    ]


# ---------------------------------------------------------------- the corpus


WEBHOOK_EVENT = {"id": "evt_corpus_1", "type": "payment.succeeded", "created": 1700000000,
                 "data": {"payment_id": ABSENT_ID, "provider_ref": "sim_corpus", "amount_cents": 1,
                          "currency": "EUR"}}
SIGNATURES = ["", "t=1,v1=00", "v1=" + "0" * 64, "t=%d" % 1700000000, "t=abc,v1=" + "0" * 64,
              "t=99999999999999999999,v1=" + "0" * 64, "t=-1,v1=" + "0" * 64, "garbage",
              "t=1700000000,v1=" + "g" * 64, ",".join(["v1=" + "0" * 64] * 50), "t=1700000000,v1=",
              "t=1700000000,v0=" + "0" * 64, "t=1700000000;v1=" + "0" * 64, "t=1700000000,v1=" + "0" * 63,
              "t=1700000000,v1=" + "A" * 64, "x" * 3000, "t=1700000000,v1=' OR 1=1 --",
              "t=1700000000,,v1=" + "0" * 64, "t= 1700000000,v1=" + "0" * 64]
IDEM_BAD = [None, "", "a" * 256, "\u043a\u043b\u044e\u0447".encode("utf-8"), b"a\x01b", b"a\x7fb", b"a\xffb",
            b"\x1b[31m", "a" * 10000]
BAD_METHODS = ["PATCH", "OPTIONS", "TRACE", "PROPFIND", "FOO", "M-SEARCH", "GET", "POST", "PUT", "DELETE"]
PATH_SUFFIXES = ["/", "//", "/.", "/..", "/./", "%20", ";x=1", "/x/..", "/%2e", "/%2e%2e", "%3B", "/*", "~",
                 ".json", "/index", "/\u00e9", "/..;/", "%09"]


class Gen:
    """Builds one route's corpus. Deterministic for a given seed, route and
    fixtures."""

    def __init__(self, route, fx, all_routes, seed, unique):
        self.r, self.fx, self.seed = route, fx, seed
        self.rnd = random.Random("%s|%s" % (seed, route.key))
        self.unique = unique            # a function giving a fresh token for keys and names
        self.role = ROLE_FOR.get(route.access)
        tok = fx.tokens.get(self.role) if self.role else None
        self.auth = [("Authorization", "Bearer " + tok)] if tok else []
        self.rpath, self.real = real_path(route, fx)
        self.apath = absent_path(route)
        self.served = {r.method for r in all_routes if r.pattern == route.pattern}
        self.out = []
        self.seen = set()

    # -- helpers
    def base(self):
        if isinstance(self.r.body, list):
            b = valid_body(self.r.body)
            for f in self.r.body:     # mention the optional fields too
                if f.name not in b and f.type != "OBJECT_ARRAY":
                    b[f.name] = valid_value(f)
            return b
        return None

    def idem(self):
        return [("Idempotency-Key", "corpus-%s" % self.unique())] if self.r.idempotent else []

    def decor(self, k=None, have=()):
        """k harmless headers (none of the names in have: nginx refuses a
        second Host, If-None-Match and the like, which would hide what the
        request is about)."""
        k = self.rnd.choice((0, 0, 1, 1, 2, 3)) if k is None else k
        have = {h[0].lower() if isinstance(h[0], str) else h[0].decode().lower() for h in have}
        hs = [h for h in self.rnd.sample(DECOR_HEADERS, k) if h[0].lower() not in have]
        if self.rnd.random() < 0.3 and "x-request-id" not in have:
            hs.append(("X-Request-Id", self.rnd.choice(REQUEST_IDS)))
        return hs

    def add(self, cat, why, what, method=None, target=None, headers=(), body=None, expect=None,
            raw=None, real=None, version="HTTP/1.1"):
        rq = Req(self.r, cat, why, what, method or self.r.method, target or self.rpath, headers, body,
                 version=version, expect=expect, raw=raw,
                 uses_real_id=self.real if real is None else real)
        if rq.uses_real_id and why in ("semantic", "idem"):
            raise AssertionError("%s: a %s request on a real object: %s" % (self.r.key, why, rq.describe()))
        key = rq.to_bytes("h")
        if key in self.seen:
            return None
        self.seen.add(key)
        self.out.append(rq)
        return rq

    def json_hdrs(self, ct="application/json"):
        return [("Content-Type", ct)] if ct is not None else []

    # -- categories
    def bodies(self):
        r = self.r
        if r.nginx_only:
            return
        if isinstance(r.body, list):
            base = self.base()
            for body, ct, what, exp in body_breakers(r, self.fx, self.rnd, base):
                target = self.rpath if self.rnd.random() < 0.7 else self.apath
                self.add("body", "body", what, target=target, real=target == self.rpath and self.real,
                         headers=self.auth + self.json_hdrs(ct) + self.idem() + self.decor(),
                         body=body, expect=exp if isinstance(exp, tuple) else (exp,))
        elif r.body is None:
            corpus = MALFORMED + NON_OBJECT + [nest(d).encode() for d in (17, 100, 5000)] + \
                [b"{}", b'{"a": 1}', b"\x00", b" ",
                 json.dumps({"id": 1, "user_id": 1, "roles": ["ADMIN"]}).encode()]
            for b in corpus:
                if not b:
                    continue
                self.add("body", "body", "a body where none is taken: %r" % b[:20],
                         headers=self.auth + self.json_hdrs() + self.decor(), body=b, expect=(400,))
        elif r.body == "raw":
            self.webhook()

    def webhook(self):
        ev = json.dumps(WEBHOOK_EVENT)
        for sig in SIGNATURES + [None]:
            hs = self.json_hdrs() + ([("Shop-Signature", sig)] if sig is not None else [])
            self.add("signature", "signature", "Shop-Signature %r" % (sig or "absent")[:30],
                     headers=hs + self.decor(), body=ev, expect=(400,))
        for b in MALFORMED + NON_OBJECT:
            if b:
                self.add("body", "signature", "unsigned malformed %r" % b[:20],
                         headers=self.json_hdrs() + [("Shop-Signature", "t=1700000000,v1=" + "0" * 64)],
                         body=b, expect=(400,))
        for field, vals in (("type", ["payment.refunded", "", None, 1, "' OR 1=1 --"]),
                            ("id", ["", None, "x" * 300, 1, "evt_' OR 1=1 --", "evt_\u0000"]),
                            ("created", [-1, 0, 10 ** 20, "now", None]),
                            ("data", [None, [], "x", {"payment_id": -1}, {"payment_id": "1 OR 1=1"}])):
            for v in vals:
                e = dict(WEBHOOK_EVENT)
                e[field] = v
                self.add("signature", "signature", "unsigned event with %s=%r" % (field, v),
                         headers=self.json_hdrs() + [("Shop-Signature", "t=%d,v1=%s" % (self.fx.now, "f" * 64))],
                         body=json.dumps(e), expect=(400,))

    def ctypes(self):
        r = self.r
        if r.nginx_only:
            return
        base = self.base()
        body = json.dumps(base if base is not None else {"x": 1})
        exp = (415,) if r.body is not None else (400,)
        for ct in BAD_CTYPES:
            self.add("ctype", "ctype", "Content-Type %r" % ct, headers=self.auth + self.idem()
                     + self.json_hdrs(ct) + self.decor(), body=body, expect=exp)
        self.add("ctype", "ctype", "no Content-Type", headers=self.auth + self.idem() + self.decor(),
                 body=body, expect=exp)
        self.add("ctype", "ctype", "Content-Type twice, text/plain first",
                 headers=self.auth + self.idem() + [("Content-Type", "text/plain"),
                                                    ("Content-Type", "application/json")],
                 body=body, expect=exp)
        self.add("ctype", "ctype", "Content-Type with NUL", headers=self.auth + self.idem()
                 + [("Content-Type", b"application/json\x00")], body=body, expect=(400,))

    def sizes(self):
        base = self.base()
        text = json.dumps(base if base is not None else {}).encode()
        for b, what in oversized(text):
            self.add("size", "size", what, headers=self.auth + self.json_hdrs() + self.idem(), body=b,
                     expect=(413,))
        big = b'{"x": "' + b"a" * 70000 + b'"}'
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(big[i:i + 8192]), big[i:i + 8192])
                           for i in range(0, len(big), 8192)) + b"0\r\n\r\n"
        if self.r.nginx_only:
            return  # nginx discards a GET's chunked body unread (static files): nothing to refuse
        self.add("size", "size", "70 KB chunked", headers=self.auth + self.json_hdrs() + self.idem()
                 + [("Transfer-Encoding", "chunked")], body=chunked, expect=(413,))

    def queries(self):
        r = self.r
        if r.nginx_only:
            return
        base = self.base()
        body = json.dumps(base) if base is not None else None
        hdrs = self.auth + (self.json_hdrs() if body is not None else []) + self.idem()
        for qs, what, exp in query_breakers(r, self.fx, self.rnd):
            self.add("query", "query", what, target=self.rpath + "?" + qs, headers=hdrs + self.decor(),
                     body=body, expect=(exp,) if exp in (400,) else None)
        # hostile strings in the declared string parameters, beside a bad limit
        strs = [f for f in (r.query or []) if f.type == "STRING" and f.name not in ("cursor", "sort")]
        if any(f.name == "limit" for f in (r.query or [])):
            for f in strs:
                for v in SQL + HEADER_INJ + TRAVERSAL + MISC_STR:
                    self.add("query", "query", "%s=%r with limit=0" % (f.name, v[:20]),
                             target="%s?%s=%s&limit=0" % (self.rpath, f.name, _qv(v)), headers=hdrs + self.decor(),
                             body=body, expect=(400,))

    def paths(self):
        r = self.r
        if r.nginx_only:
            for what, tgt in (("traversal to the config", r.pattern + "/../var/shop.conf"),
                              ("traversal to a key", r.pattern + "/../../var/keys/"),
                              ("encoded traversal", r.pattern + "/%2e%2e/%2e%2e/var/webhook-secret"),
                              ("encoded slash traversal", r.pattern + "%2f..%2f..%2fvar%2fshop.conf"),
                              ("backup file", r.pattern + "~"), ("backup file", r.pattern + ".bak"),
                              ("upper case", r.pattern.upper()),
                              ("path parameter", r.pattern + ";x=1"), ("dot file", r.pattern + "/.git/config"),
                              ("NUL", r.pattern + "%00.yaml"), ("the repository", r.pattern + "/../../shop"),
                              ("the secrets", "/var/secrets/db-root"), ("the checkout", "/shop"),
                              ("the schema", "/schema/grants.sql"),
                              ("a unicode dot", r.pattern + "/%c0%ae%c0%ae/x")):
                if normalize_path(tgt) == r.pattern:
                    continue
                for m in ("GET", "POST"):
                    self.add("path", "route", "%s %s" % (m, what), method=m, target=tgt,
                             headers=self.decor(), body=None if m == "GET" else b"{}")
            return
        body, hdrs = self._breaker_body()
        if r.params:
            for i, p in enumerate(r.params):
                for bad in BAD_IDS:
                    ids = []
                    for j, q in enumerate(r.params):
                        seg = _segment_before(r.pattern, q)
                        ids.append(_q(bad) if j == i else self.fx.real_ids.get(seg, ABSENT_ID))
                    tgt = r.path(*ids)
                    norm = normalize_path(tgt)
                    if norm is not None and not norm.startswith("/api/v1/") and r.api:
                        continue
                    self.add("path", "path", "%s=%r" % (p, bad[:24]), target=tgt + "?corpus=1",
                             headers=hdrs + self.decor(), body=body, real=False)
        for suf in PATH_SUFFIXES:
            tgt = self.rpath + _q(suf)
            norm = normalize_path(tgt)
            if norm is not None and r.api and not norm.startswith("/api/v1/"):
                continue
            self.add("path", "path", "path + %r" % suf, target=tgt + "?corpus=1", headers=hdrs + self.decor(),
                     body=body)
        for what, tgt in (("upper case", self.rpath.upper()), ("double slashes", self.rpath.replace("/", "//")),
                          ("no version", self.rpath.replace("/api/v1/", "/api/")),
                          ("version 2", self.rpath.replace("/api/v1/", "/api/v2/")),
                          ("version 0", self.rpath.replace("/api/v1/", "/api/v0/")),
                          ("encoded letters", self.rpath.replace("a", "%61")),
                          ("traversal back in", "/api/v1/x/.." + self.rpath[len("/api/v1"):])):
            if not r.api and what not in ("upper case", "double slashes", "encoded letters"):
                continue
            self.add("path", "path", what, target=tgt + "?corpus=1", headers=hdrs + self.decor(), body=body)

    def _breaker_body(self):
        """A body and headers for requests whose refusal is elsewhere (the
        path or the query): an invalid body where the route takes one."""
        r = self.r
        if isinstance(r.body, list):
            return json.dumps(dict(self.base() or {}, corpus_unknown=1)), self.auth + self.json_hdrs()
        if r.body == "raw":
            return json.dumps(WEBHOOK_EVENT), self.json_hdrs()
        return None, list(self.auth)

    def semantic(self):
        """Layer-valid requests that name objects that do not exist (or, on
        idempotent routes, lack a valid key): refused by the handler."""
        r = self.r
        if r.nginx_only or r.body == "raw":
            return
        base = self.base() if isinstance(r.body, list) else None
        if r.idempotent:
            for k in IDEM_BAD:
                hs = self.auth + (self.json_hdrs() if base is not None else [])
                if k is not None:
                    hs = hs + [("Idempotency-Key", k)]
                self.add("idem", "idem", "Idempotency-Key %r" % (k if k is None else k[:12]), target=self.apath,
                         headers=hs + self.decor(), body=json.dumps(base) if base is not None else None,
                         expect=(400,), real=False)
            hs = self.auth + (self.json_hdrs() if base is not None else []) + \
                [("Idempotency-Key", ""), ("Idempotency-Key", "a" * 256)]
            self.add("idem", "idem", "Idempotency-Key twice, both invalid", target=self.apath, headers=hs,
                     body=json.dumps(base) if base is not None else None, expect=(400,), real=False)
            for f in (r.body or []):
                if f.type == "STRING":
                    for v in SQL + MISC_STR:
                        b = dict(base)
                        b[f.name] = v
                        self.add("idem", "idem", "no key, %s=%r" % (f.name, v[:20]), target=self.apath,
                                 headers=self.auth + self.json_hdrs(), body=json.dumps(b), expect=(400,),
                                 real=False)
            return
        refs = [f for f in (r.body if isinstance(r.body, list) else [])
                if f.type == "INT" and f.name.endswith("_id")]
        if not r.params and not refs and r.key not in ("POST /api/v1/auth/register", "POST /api/v1/auth/login",
                                                        "POST /api/v1/auth/refresh"):
            return
        if r.key == "POST /api/v1/auth/logout":
            return
        for k in range(3):
            variants = [base] if base is not None else [None]
            if base is not None:
                for f in r.body:
                    if f.type == "STRING":
                        for v in (SQL + HEADER_INJ[:2] + MISC_STR)[k::3]:
                            b = dict(base)
                            b[f.name] = v
                            variants.append(b)
            for b in variants:
                if r.key == "POST /api/v1/auth/register":
                    if b is None or self.fx.customer_email is None:
                        continue
                    b = dict(b, email=self.fx.customer_email)
                if r.key == "POST /api/v1/auth/login":
                    b = dict(b, email=self.fx.customer_email or b["email"])
                    if b.get("password") == base.get("password"):
                        b["password"] = "corpus-wrong-password-%d" % k
                hs = self.auth + (self.json_hdrs() if b is not None else [])
                self.add("semantic", "semantic", "absent object" + (", %s" % _diff(base, b) if b else ""),
                         target=absent_path(r, k), headers=hs + self.decor(),
                         body=json.dumps(b) if b is not None else None, real=False)

    def auth_failures(self):
        r = self.r
        if r.nginx_only or r.access == "PUBLIC":
            return
        body, hdrs = self._breaker_body()
        hdrs = [h for h in hdrs if h[0] != "Authorization"]
        for val, what in [(None, "no token")] + list(self.fx.bad_tokens):
            hs = hdrs + ([("Authorization", val)] if val is not None else [])
            self.add("auth", "auth", what, headers=hs + self.decor(), body=body, expect=(401,))
        lower = {"SELLER": ["CUSTOMER"], "ADMIN": ["CUSTOMER", "SELLER"]}.get(r.access, [])
        for role in lower:
            tok = self.fx.tokens.get(role)
            if tok:
                self.add("auth", "auth", "a %s token" % role, headers=hdrs + [("Authorization", "Bearer " + tok)],
                         body=body, expect=(403,))
                if body is None:
                    self.add("auth", "auth", "a %s token, bad query" % role, target=self.rpath + "?corpus=1",
                             headers=hdrs + [("Authorization", "Bearer " + tok)], expect=(403,))

    def methods(self):
        r = self.r
        body, hdrs = self._breaker_body()
        for m in BAD_METHODS:
            if m in self.served:
                continue
            if m == "GET" and r.nginx_only:
                continue
            # the auth subrequest may refuse first (a write to /categories needs ADMIN)
            exp = None if m in ("FOO", "PROPFIND", "M-SEARCH") else (405,) if r.nginx_only else (401, 403, 405)
            for b in ([body] if not r.nginx_only else [None, b"{}", b'{"status":"down"}']):
                self.add("method", "route", "method %s" % m, method=m, headers=hdrs + self.decor(), body=b,
                         expect=exp)

    def protocol(self):
        tgt = self.rpath + ("" if self.r.nginx_only else "?corpus=1")
        for raw, what, exp in protocol_cases(self.r, tgt, self.auth):
            self.add("nginx", "nginx", what, raw=raw, expect=exp)

    def fill(self, n):
        """Decorated variants of what is there (other headers, request ids)
        until the route has n requests."""
        pool = [q for q in self.out if q.raw is None]
        tries = 0
        while len(self.out) < n and pool and tries < 50 * n:
            tries += 1
            q = self.rnd.choice(pool)
            hs = [h for h in q.headers if h[0] != "Idempotency-Key"]
            if any(h[0] == "Idempotency-Key" for h in q.headers) and q.why != "idem":
                hs += self.idem()
            elif q.why == "idem":
                hs = list(q.headers)
            hs += self.decor(self.rnd.choice((1, 2, 3)), have=hs)
            self.add(q.cat, q.why, q.what + " (+headers)", method=q.method, target=q.target, headers=hs,
                     body=q.body, expect=q.expect, real=q.uses_real_id)

    def trim(self, cap):
        """At most cap requests: taken round-robin across the categories,
        so that each keeps its share."""
        if len(self.out) <= cap:
            return
        by = collections.OrderedDict()
        for q in self.out:
            by.setdefault(q.cat, []).append(q)
        for v in by.values():
            self.rnd.shuffle(v)
        keep = []
        while len(keep) < cap:
            for v in by.values():
                if v and len(keep) < cap:
                    keep.append(v.pop())
        self.out = keep

    def build(self, n, cap=None):
        if self.r.body == "unknown" or self.r.query == "unknown":
            raise ValueError("%s: field tables not understood" % self.r.key)
        self.bodies()
        self.ctypes()
        self.sizes()
        self.queries()
        self.paths()
        self.semantic()
        self.auth_failures()
        self.methods()
        self.protocol()
        self.fill(n)
        if cap:
            self.trim(cap)
        return self.out


def _diff(a, b):
    if not isinstance(a, dict) or not isinstance(b, dict):
        return ""
    ks = [k for k in b if a.get(k) != b.get(k)]
    return ", ".join("%s=%r" % (k, b[k] if not isinstance(b[k], str) else b[k][:20]) for k in ks)


def generate(routes, fx, seed, per_route=300, unique=None, cap=None):
    """{route key: [Req]} for every route, at least per_route each (at most
    cap, when given)."""
    n = [0]

    def uniq():
        n[0] += 1
        return "%s-%d" % (seed, n[0])
    out = {}
    for r in routes:
        out[r.key] = Gen(r, fx, routes, seed, unique or uniq).build(per_route, cap)
    return out
