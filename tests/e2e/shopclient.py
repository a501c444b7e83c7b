"""HTTP client, envelope checks, fixtures and JWT helpers for the e2e suite.

Every response goes through check_response(), which records in the running
test: a missing or malformed X-Request-Id, any 5xx the test did not allow,
and any /api/v1 response that is not the envelope (status SUCCESS|ERROR,
code equal to the HTTP status, errors an array of {code, field?, detail?}).
"""

import base64
import glob
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse

import tap

BASE_URL = (os.environ.get("SHOP_E2E_BASE_URL") or os.environ.get("SHOP_BASE_URL")
            or "http://127.0.0.1:8080").rstrip("/")
SHOP_VAR = os.environ.get("SHOP_VAR", "")
API = "/api/v1"
RUN_ID = "%x%04x" % (int(time.time()), random.randrange(0x10000))
RID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")

_u = urllib.parse.urlsplit(BASE_URL)
HOST = _u.hostname or "127.0.0.1"
PORT = _u.port or 80
PREFIX = _u.path.rstrip("/")

_seq = 0
_seq_lock = threading.Lock()


def uniq(prefix="x"):
    """A name unique to this run: prefix-<run>-<n>."""
    global _seq
    with _seq_lock:
        _seq += 1
        return "%s-%s-%d" % (prefix, RUN_ID, _seq)


def email(tag="u"):
    return "e2e.%s@example.com" % uniq(tag).lower()


class Resp:
    def __init__(self, method, path, status, headers, raw):
        self.method = method
        self.path = path
        self.status = status
        self.headers = headers      # {lower-case name: value}
        self.raw = raw
        self.json = None
        self.json_error = None
        try:
            self.json = json.loads(raw.decode("utf-8")) if raw else None
        except (ValueError, UnicodeDecodeError) as e:
            self.json_error = str(e)

    def header(self, name):
        return self.headers.get(name.lower())

    @property
    def data(self):
        if isinstance(self.json, dict):
            return self.json.get("data")
        return None

    def err_codes(self):
        if isinstance(self.json, dict) and isinstance(self.json.get("errors"), list):
            return [e.get("code") for e in self.json["errors"] if isinstance(e, dict)]
        return []

    def err_fields(self):
        if isinstance(self.json, dict) and isinstance(self.json.get("errors"), list):
            return [e.get("field") for e in self.json["errors"] if isinstance(e, dict)]
        return []

    def path_short(self):
        return self.path if len(self.path) <= 120 else self.path[:120] + "..."

    def body_short(self, n=400):
        s = self.raw.decode("utf-8", "replace")
        return s if len(s) <= n else s[:n] + "...(%d bytes)" % len(self.raw)

    def __repr__(self):
        return "<%s %s -> %d %s>" % (self.method, self.path_short(), self.status, self.body_short(200))


def envelope_problems(resp):
    """Returns a list of ways resp's body is not the API envelope."""
    p = []
    ct = resp.header("content-type") or ""
    if not ct.startswith("application/json"):
        p.append("Content-Type %r is not application/json" % ct)
    j = resp.json
    if not isinstance(j, dict):
        p.append("body is not a JSON object (%s)" % (resp.json_error or type(j).__name__))
        return p
    want = "SUCCESS" if resp.status < 400 else "ERROR"
    if j.get("status") != want:
        p.append("status %r, want %r" % (j.get("status"), want))
    if j.get("code") != resp.status or isinstance(j.get("code"), bool):
        p.append("code %r differs from HTTP status %d" % (j.get("code"), resp.status))
    if not isinstance(j.get("message"), str):
        p.append("message missing or not a string")
    if resp.status >= 400:
        errs = j.get("errors")
        if not isinstance(errs, list):
            p.append("errors is not an array")
        else:
            for e in errs:
                if not isinstance(e, dict) or not isinstance(e.get("code"), str) \
                        or not CODE_RE.match(e["code"]):
                    p.append("error entry %r lacks an UPPER_SNAKE code" % (e,))
                    break
                for k in ("field", "detail"):
                    if k in e and e[k] is not None and not isinstance(e[k], str):
                        p.append("error entry %s %r is not a string" % (k, e[k]))
        if resp.status == 429 and not (resp.header("retry-after") or "").strip().isdigit():
            p.append("429 without a numeric Retry-After")
    return p


def check_response(resp, allow_5xx=False, check_envelope=None):
    t = tap.current()
    if t is None:
        return
    what = "%s %s -> %d" % (resp.method, resp.path_short(), resp.status)
    rid = resp.header("x-request-id")
    if rid is None:
        t.fail("%s: no X-Request-Id header" % what)
    elif not RID_RE.match(rid):
        t.fail("%s: malformed X-Request-Id %r" % (what, rid))
    if resp.status >= 500 and not (allow_5xx or t.allow_5xx):
        t.fail("%s: server error; body %s" % (what, resp.body_short()))
    if check_envelope is None:
        check_envelope = resp.path.startswith(API + "/")
    if check_envelope:
        probs = envelope_problems(resp)
        if probs:
            t.fail("%s: not the envelope: %s; body %s" % (what, "; ".join(probs), resp.body_short()))


def _encode_body(body):
    if body is None:
        return None
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def raw_request(method, path, body=None, headers=None, timeout=30, source=None):
    """One request on a fresh connection; path is under the base URL's path.
    body: dict/list (JSON), str or bytes (sent as is). source: the local
    address to connect from (another loopback address is another client to
    nginx's per-address limits). Returns Resp."""
    data = _encode_body(body)
    hdrs = dict(headers or {})
    hdrs.setdefault("Connection", "close")
    conn = http.client.HTTPConnection(HOST, PORT, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.putrequest(method, PREFIX + path, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        if data is not None and not any(k.lower() == "content-length" for k in hdrs):
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders()
        if data:
            try:
                conn.send(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer (413) before reading everything
        r = conn.getresponse()
        raw = r.read()
        hd = {}
        for k, v in r.getheaders():
            k = k.lower()
            hd[k] = hd[k] + ", " + v if k in hd else v
        return Resp(method, path, r.status, hd, raw)
    finally:
        conn.close()


def request(method, path, body=None, token=None, headers=None, ctype="application/json",
            allow_5xx=False, retry_429=True, check_envelope=None):
    """A checked API request. token: access token (Bearer). ctype None: no
    Content-Type header. A 429 is retried (honouring Retry-After, at most
    ~15 s) unless retry_429 is False."""
    hdrs = {}
    if body is not None and ctype is not None:
        hdrs["Content-Type"] = ctype
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    hdrs.update(headers or {})
    deadline = time.monotonic() + 15
    while True:
        resp = raw_request(method, path, body, hdrs)
        check_response(resp, allow_5xx, check_envelope)
        if resp.status != 429 or not retry_429 or time.monotonic() > deadline:
            return resp
        t = tap.current()
        if t is not None:
            with t.lock:
                t.retried_429 = getattr(t, "retried_429", 0) + 1
        ra = resp.header("retry-after") or "1"
        time.sleep(min(max(float(ra) if ra.isdigit() else 1.0, 0.2), 2.0))


def get(path, **kw):
    return request("GET", path, **kw)


def post(path, body=None, **kw):
    return request("POST", path, body, **kw)


def put(path, body=None, **kw):
    return request("PUT", path, body, **kw)


def delete(path, **kw):
    return request("DELETE", path, **kw)


def qs(**params):
    return "?" + urllib.parse.urlencode(params) if params else ""


def poll(fn, timeout=2.5, interval=0.1):
    """Calls fn() until it returns a true value or timeout passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# ---------------------------------------------------------------- users


class User:
    def __init__(self, email_, password, user=None, login=None):
        self.email = email_
        self.password = password
        self.user = user or {}
        self.login = login or {}

    @property
    def id(self):
        return self.user.get("id")

    @property
    def token(self):
        return self.login.get("access_token")

    @property
    def refresh(self):
        return self.login.get("refresh_token")


def login(email_, password, **kw):
    return post(API + "/auth/login", {"email": email_, "password": password}, **kw)


def login_user(u):
    """Logs u in again (fresh token pair). Raises Abort on failure."""
    r = login(u.email, u.password)
    t = tap.current()
    if r.status != 200 or not isinstance(r.data, dict):
        if t:
            t.require(False, "login %s failed: %r" % (u.email, r))
        raise RuntimeError("login %s failed: %r" % (u.email, r))
    u.login = r.data
    u.user = r.data.get("user") or u.user
    return u


def new_user(tag="u", name="E2E User", do_login=True):
    """Registers a fresh customer and (by default) logs it in."""
    em = email(tag)
    pw = "pw-" + uniq("secret") + "-Long"
    r = post(API + "/auth/register", {"email": em, "password": pw, "name": name})
    t = tap.current()
    if r.status != 201:
        if t:
            t.require(False, "register %s failed: %r" % (em, r))
        raise RuntimeError("register failed: %r" % r)
    u = User(em, pw, (r.data or {}).get("user"))
    if do_login:
        login_user(u)
    return u


def flatten_categories(r):
    """The categories of a GET /categories answer as a flat list of
    {id, name, parent_id} (data.items, data.categories, a bare list, or a
    nested tree with "children")."""
    d = r.data
    items = d
    if isinstance(d, dict):
        items = d.get("items") if isinstance(d.get("items"), list) else d.get("categories")
    if not isinstance(items, list):
        return None
    flat = []

    def add(nodes, parent):
        for c in nodes:
            if not isinstance(c, dict):
                continue
            c = dict(c)
            kids = c.pop("children", None) or []
            c.setdefault("parent_id", parent)
            flat.append(c)
            add(kids, c.get("id"))
    add(items, None)
    return flat


class _Fixtures:
    def __init__(self):
        self.lock = threading.RLock()
        self.cache = {}

    def _get(self, key, make):
        with self.lock:
            if key not in self.cache:
                self.cache[key] = make()
            return self.cache[key]

    def demo_logins(self):
        def make():
            path = os.environ.get("SHOP_E2E_DEMO_LOGINS") or os.path.join(SHOP_VAR, "demo-logins.json")
            with open(path) as f:
                return json.load(f)
        return self._get("demo", make)

    def demo(self, role):
        def make():
            d = self.demo_logins()[role]
            return login_user(User(d["email"], d["password"]))
        return self._get("demo-" + role, make)

    @property
    def admin(self):
        return self.demo("admin")

    @property
    def seller(self):
        return self.demo("seller")

    @property
    def customer(self):
        return self.demo("customer")

    @property
    def seller2(self):
        """A second seller: a fresh user promoted by the admin."""
        def make():
            u = new_user("seller2", do_login=False)
            r = put(API + "/admin/users/%d/roles" % u.id, {"roles": ["CUSTOMER", "SELLER"]},
                    token=self.admin.token)
            if r.status != 200:
                raise RuntimeError("promoting a seller failed: %r" % r)
            return login_user(u)
        return self._get("seller2", make)

    def categories(self):
        def make():
            r = get(API + "/categories")
            items = flatten_categories(r)
            if not items:
                raise RuntimeError("GET /categories gave no list: %r" % r)
            return items
        return self._get("categories", make)

    def leaf_category(self):
        cats = self.categories()
        parents = {c.get("parent_id") for c in cats}
        leaves = [c for c in cats if c["id"] not in parents]
        return (leaves or cats)[0]["id"]


fx = _Fixtures()


def new_product(owner=None, **fields):
    """Creates a product as owner (default: the demo seller); returns its data."""
    owner = owner or fx.seller
    body = {"sku": uniq("SKU"), "name": "E2E product " + uniq("n"),
            "description": "made by the e2e suite", "price_cents": 1234,
            "currency": "EUR", "category_id": fx.leaf_category(), "initial_stock": 10}
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not None}
    r = post(API + "/products", body, token=owner.token)
    t = tap.current()
    ok = r.status == 201 and isinstance(r.data, dict)
    p = None
    if ok:
        p = r.data.get("product", r.data)
    if not ok or not isinstance(p, dict) or "id" not in p:
        if t:
            t.require(False, "creating a product failed: %r" % r)
        raise RuntimeError("creating a product failed: %r" % r)
    return p


def unwrap(data, name):
    """data[name] when the envelope's data holds the object under its name."""
    if isinstance(data, dict) and isinstance(data.get(name), dict):
        return data[name]
    return data


def walk(path, params, token=None, max_pages=500, between=None):
    """Follows next_cursor through a list. Returns (items, pages, problem)."""
    items, pages = [], 0
    cursor = None
    while pages < max_pages:
        p = dict(params)
        if cursor is not None:
            p["cursor"] = cursor
        r = get(path + qs(**p), token=token)
        pages += 1
        if r.status != 200 or not isinstance(r.data, dict) or not isinstance(r.data.get("items"), list):
            return items, pages, "page %d: %r" % (pages, r)
        items.extend(r.data["items"])
        cursor = r.data.get("next_cursor")
        if between:
            between()
        if cursor is None:
            return items, pages, None
        if not isinstance(cursor, str) or not cursor:
            return items, pages, "next_cursor %r is not null or a non-empty string" % (cursor,)
    return items, pages, "more than %d pages" % max_pages


# ---------------------------------------------------------------- JWT


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def b64u_dec(s):
    s = s.encode("ascii") if isinstance(s, str) else s
    return base64.urlsafe_b64decode(s + b"=" * (-len(s) % 4))


def jwt_parts(token):
    h, p, s = token.split(".")
    return json.loads(b64u_dec(h)), json.loads(b64u_dec(p)), b64u_dec(s)


def jwt_unsigned(header, payload):
    return b64u(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        b64u(json.dumps(payload, separators=(",", ":")).encode())


def der_to_raw(der):
    """ECDSA-Sig-Value DER (SEQUENCE of two INTEGERs) to the JWS R||S form."""
    def read_len(b, i):
        n = b[i]
        i += 1
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(b[i:i + k], "big")
            i += k
        return n, i
    assert der[0] == 0x30
    _, i = read_len(der, 1)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n, i = read_len(der, i + 1)
        v = int.from_bytes(der[i:i + n], "big")
        i += n
        out += v.to_bytes(32, "big")
    return out


def sign_es256(keyfile, header, payload):
    """An ES256 JWT signed with the PEM private key in keyfile (via openssl)."""
    si = jwt_unsigned(header, payload)
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", keyfile],
                         input=si.encode(), capture_output=True, check=True).stdout
    return si + "." + b64u(der_to_raw(der))


def sign_hs256(secret, header, payload):
    si = jwt_unsigned(header, payload)
    if isinstance(secret, str):
        secret = secret.encode()
    return si + "." + b64u(hmac.new(secret, si.encode(), hashlib.sha256).digest())


def jwk_to_pem(jwk):
    """The SubjectPublicKeyInfo PEM of a P-256 JWK (as libjwt would take as a key)."""
    prefix = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")
    der = prefix + b"\x04" + b64u_dec(jwk["x"]) + b64u_dec(jwk["y"])
    b = base64.b64encode(der).decode()
    lines = [b[i:i + 64] for i in range(0, len(b), 64)]
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"


def conf_value(section, key, default=None):
    """A value of the stack's shop.conf ($SHOP_VAR/shop.conf), or default."""
    sec = None
    try:
        with open(os.path.join(SHOP_VAR, "shop.conf")) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line.startswith("[") and line.endswith("]"):
                    sec = line[1:-1].strip()
                elif "=" in line and sec == section:
                    k, _, v = line.partition("=")
                    if k.strip() == key:
                        return v.strip()
    except OSError:
        pass
    return default


def private_key_for(kid):
    """Path of the stack's private key for kid, or None when not readable here."""
    if not SHOP_VAR:
        return None
    p = os.path.join(SHOP_VAR, "keys", kid + ".key")
    return p if os.access(p, os.R_OK) else None


def token_forger(t, user):
    """(private key path, JWT header) to sign tokens as the stack does, for
    the kid of user's current token; skips test t when the key is not
    readable here."""
    hdr, _, _ = jwt_parts(user.token)
    key = private_key_for(hdr["kid"])
    if key is None:
        t.skip("the private key var/keys/%s.key is not readable here" % hdr["kid"])
    return key, {"alg": "ES256", "typ": "JWT", "kid": hdr["kid"]}


def claims_for(user, **over):
    """Access-token claims for user as the identity app signs them, with
    over's changes (None drops a claim)."""
    now = int(time.time())
    c = {"iss": "shop", "aud": "shop-api", "sub": str(user.id), "roles": ["CUSTOMER"],
         "iat": now, "exp": now + 600, "jti": uniq("jti")}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def public_key_files():
    if not SHOP_VAR:
        return []
    return sorted(glob.glob(os.path.join(SHOP_VAR, "keys", "*.pub")))


_tmpdir = None


def fresh_ec_key():
    """A new P-256 private key file (not the shop's)."""
    global _tmpdir
    if _tmpdir is None:
        _tmpdir = tempfile.mkdtemp(prefix="e2e-keys-")
    path = os.path.join(_tmpdir, "other.key")
    if not os.path.exists(path):
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-out", path], check=True, capture_output=True)
    return path


def send_raw_http(data, timeout=10):
    """Sends raw bytes to the server and returns (status, headers, body) of the answer."""
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


def in_parallel(fn, n):
    """Runs fn(i) for i in range(n) in n threads started together (a barrier
    releases them at once); returns the results in order. The threads record
    into the calling test."""
    ctx = tap.current()
    barrier = threading.Barrier(n)
    out = [None] * n

    def run(i):
        tap.adopt(ctx)
        try:
            barrier.wait(timeout=10)
        except threading.BrokenBarrierError:
            pass
        try:
            out[i] = fn(i)
        except Exception as e:   # recorded, not raised in a helper thread
            if ctx is not None:
                ctx.fail("parallel call %d raised %r" % (i, e))
    ths = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(timeout=60)
    return out
