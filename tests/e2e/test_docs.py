"""The API documentation as nginx serves it: /docs (Swagger UI), the files it
loads from /docs/ui/, and /docs/openapi.yaml. Everything the page needs comes
from this origin (the page works offline); the raw document is the file of
the repository. When a Chromium is installed, the page is also rendered
headless with every other host unreachable, and must show every operation."""

import gzip
import html.parser
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
import urllib.parse

from tap import test
from shopclient import BASE_URL, HOST, PORT, SHOP_VAR, raw_request, check_response

ROOT = os.environ.get("top_srcdir") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "docs", "openapi.yaml")

TYPES = {".js": "application/javascript", ".css": "text/css", ".png": "image/png",
         ".map": "application/json", ".yaml": "application/yaml", ".html": "text/html"}
# Files of the swagger-ui-dist package that the page must never get: its own
# page and initializer (which load a document of another host), its metadata.
NOT_SERVED = ["index.html", "swagger-initializer.js", "package.json", "README.md", "LICENSE",
              "swagger-ui.js", "swagger-ui-standalone-preset.js", "oauth2-redirect.html",
              "absolute-path.js", "index.js", "", "../package.json", "%2e%2e/package.json",
              "swagger-ui-bundle.js/", "swagger-ui-bundle.jsx", "swagger-ui.css.map.gz"]


def fetch(path, headers=None, method="GET"):
    """A checked request outside the API (X-Request-Id, no 5xx; envelope for errors)."""
    r = raw_request(method, path, headers=headers)
    check_response(r, check_envelope=r.status >= 400)
    return r


def ctype(r):
    return (r.header("content-type") or "").split(";")[0].strip().lower()


class _Refs(html.parser.HTMLParser):
    """The URLs a page loads (script src, link href, img src, ...) and the
    text of its inline scripts and styles."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls = []
        self.inline = []
        self._in = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href", "data", "poster", "action"):
            if a.get(k):
                self.urls.append((tag, k, a[k].strip()))
        if tag in ("script", "style") and not a.get("src"):
            self._in = tag
            self.inline.append("")

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in:
            self.inline[-1] += data


def other_hosts(text):
    """Absolute or protocol-relative URLs in text that name another host than the stack's."""
    out = []
    for m in re.finditer(r"""(?:\b[a-z][a-z0-9+.-]*:)?//[A-Za-z0-9\[][^\s"'`<>)]*""", text, re.I):
        u = urllib.parse.urlsplit(m.group(0) if ":" in m.group(0).split("//")[0] else "http:" + m.group(0))
        if (u.hostname, u.port or 80) != (HOST, PORT):
            out.append(m.group(0))
    return out


def stack_build():
    """The build directory the stack runs from (var/run/build), or None."""
    try:
        with open(os.path.join(SHOP_VAR, "run", "build")) as f:
            return f.read().strip() or None
    except OSError:
        return None


def ensure_assets(t):
    """The page's files come from BUILD/docs-assets, which `./shop up` fills
    when it builds; a stack started from a prebuilt tree (make check) may not
    have them yet: install them the way ./shop does (docs/assets.sh)."""
    if raw_request("HEAD", "/docs/ui/swagger-ui-bundle.js").status == 200:
        return
    build = stack_build()
    t.require(build, "GET /docs/ui/swagger-ui-bundle.js is not 200 and the stack names no build directory "
              "(%s/run/build): run docs/assets.sh BUILD" % SHOP_VAR)
    p = subprocess.run([os.path.join(ROOT, "docs", "assets.sh"), build], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=600)
    t.require(p.returncode == 0, "docs/assets.sh %s failed: %s" % (build, p.stdout.decode(errors="replace")[-2000:]))
    t.note("the stack had no docs-assets: installed them (%s)" % p.stdout.decode(errors="replace").strip())


def ui_files():
    """The names the document lists for /docs/ui/{file}."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"\n  /docs/ui/\{file\}:\n(.*?)(?=\n  /|\n\S)", text, re.S)
    e = re.search(r"enum:\s*\[([^\]]*)\]", m.group(1) if m else "", re.S)
    return [x.strip().strip("'\"") for x in e.group(1).split(",")] if e else []


@test
def page(t):
    ensure_assets(t)
    r = fetch("/docs")
    t.require(t.expect(r, 200), "GET /docs")
    t.eq(ctype(r), "text/html", "GET /docs Content-Type")
    csp = r.header("content-security-policy") or ""
    for d in ("default-src 'self'", "connect-src 'self'"):
        t.isin(d, csp, "GET /docs Content-Security-Policy")
    page_text = r.raw.decode("utf-8")
    p = _Refs()
    p.feed(page_text)
    t.require(p.urls, "the page references no file: %s" % r.body_short())
    t.eq(other_hosts(page_text), [], "URLs of other hosts in /docs")
    texts = {"/docs": page_text}
    loaded = set()
    for tag, attr, u in p.urls:
        if u.startswith("data:") or u.startswith("#"):
            continue
        if not t.ok(u.startswith("/") and not u.startswith("//"),
                    "<%s %s=%r>: not a path of this origin (relative URLs would resolve against /)" % (tag, attr, u)):
            continue
        path = urllib.parse.urljoin("/docs", u)
        f = fetch(path)
        loaded.add(path.split("?")[0])
        if not t.expect(f, 200, what="GET %s (<%s %s>)" % (path, tag, attr)):
            continue
        want = TYPES.get(os.path.splitext(path.split("?")[0])[1])
        t.eq(ctype(f), want, "GET %s Content-Type" % path)
        t.ok(f.header("x-content-type-options") == "nosniff", "GET %s: X-Content-Type-Options nosniff" % path)
        if tag == "script" and not path.startswith("/docs/ui/swagger-ui"):
            texts[path] = f.raw.decode("utf-8", "replace")  # a local init script
    for name, text in texts.items():
        if name != "/docs":
            t.eq(other_hosts(text), [], "URLs of other hosts in the init script %s" % name)
    t.isin("/docs/ui/swagger-ui-bundle.js", loaded, "the page loads Swagger UI")
    t.isin("/docs/ui/swagger-ui.css", loaded, "the page loads Swagger UI's style sheet")
    init = "\n".join(p.inline + [v for k, v in texts.items() if k != "/docs"])
    t.ok(re.search(r"""\burl\s*:\s*["']/docs/openapi\.yaml["']""", init), "the page reads /docs/openapi.yaml")
    t.ok(re.search(r"\bvalidatorUrl\s*:\s*null\b", init), "the page has no online validator (validatorUrl: null)")


@test
def document(t):
    r = fetch("/docs/openapi.yaml")
    t.require(t.expect(r, 200), "GET /docs/openapi.yaml")
    t.eq(ctype(r), "application/yaml", "GET /docs/openapi.yaml Content-Type")
    with open(DOC, "rb") as f:
        want = f.read()
    t.ok(r.raw == want, "GET /docs/openapi.yaml is not the repository's docs/openapi.yaml (%d bytes, file %d)"
         % (len(r.raw), len(want)))
    t.ok(r.raw.startswith(b"#") and b"\nopenapi: 3.0.3\n" in r.raw, "the document is OpenAPI 3.0.3")
    z = fetch("/docs/openapi.yaml", headers={"Accept-Encoding": "gzip"})
    t.expect(z, 200, what="GET /docs/openapi.yaml, gzip")
    t.eq(z.header("content-encoding"), "gzip", "Content-Encoding with Accept-Encoding: gzip")
    if z.header("content-encoding") == "gzip":
        t.ok(gzip.decompress(z.raw) == want, "the gzipped document differs from the file")
    tag = r.header("etag")
    t.require(tag, "GET /docs/openapi.yaml has no ETag")
    c = fetch("/docs/openapi.yaml", headers={"If-None-Match": tag})
    t.expect(c, 304, what="GET /docs/openapi.yaml If-None-Match")
    t.eq(r.header("cache-control"), "no-cache", "GET /docs/openapi.yaml Cache-Control")


@test
def ui_files_only(t):
    ensure_assets(t)
    names = ui_files()
    t.require(names, "docs/openapi.yaml lists no enum for /docs/ui/{file}")
    for n in names:
        r = fetch("/docs/ui/" + n)
        if not t.expect(r, 200, what="GET /docs/ui/" + n):
            continue
        t.eq(ctype(r), TYPES.get(os.path.splitext(n)[1]), "GET /docs/ui/%s Content-Type" % n)
        t.ok(len(r.raw) > 100, "GET /docs/ui/%s: %d bytes" % (n, len(r.raw)))
        t.ok("max-age=" in (r.header("cache-control") or ""), "GET /docs/ui/%s Cache-Control %r"
             % (n, r.header("cache-control")))
    r = fetch("/docs/ui/swagger-ui-bundle.js", headers={"Accept-Encoding": "gzip"})
    t.eq(r.header("content-encoding"), "gzip", "GET /docs/ui/swagger-ui-bundle.js with Accept-Encoding: gzip")
    for n in NOT_SERVED:
        r = fetch("/docs/ui/" + n)
        t.expect(r, 404, "NOT_FOUND", what="GET /docs/ui/" + n)


@test
def methods_and_redirect(t):
    for path in ("/docs", "/docs/openapi.yaml", "/docs/ui/swagger-ui.css"):
        for m in ("PUT", "DELETE"):
            r = fetch(path, method=m)
            t.expect(r, 405, "METHOD_NOT_ALLOWED", what="%s %s" % (m, path))
    r = fetch("/docs/")
    t.expect(r, 301, what="GET /docs/")
    loc = r.header("location") or ""
    t.ok(urllib.parse.urlsplit(loc).path == "/docs", "GET /docs/ redirects to %r" % loc)
    r = fetch("/docs", method="HEAD")
    t.expect(r, 200, what="HEAD /docs")


def documented_families():
    """{family: type} of the table in the /metrics operation of the document."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"\n  /metrics:\n(.*?)(?=\n  /|\n\S)", text, re.S)
    return dict(re.findall(r"^\s*\| `([a-z_]+)` \| (counter|gauge|histogram|summary) \|", m.group(1) if m else "", re.M))


@test
def metrics_families_documented(t):
    """The families /metrics serves are the ones the document lists, with their types."""
    doc = documented_families()
    t.require(len(doc) > 10, "docs/openapi.yaml /metrics lists %d families" % len(doc))
    r = fetch("/metrics")
    t.require(t.expect(r, 200), "GET /metrics from loopback")
    t.ok((r.header("content-type") or "").startswith("text/plain; version=0.0.4"),
         "GET /metrics Content-Type %r" % r.header("content-type"))
    served = dict(re.findall(r"^# TYPE (\S+) (\S+)$", r.raw.decode("utf-8", "replace"), re.M))
    t.eq(sorted(set(served) - set(doc)), [], "families /metrics serves that docs/openapi.yaml does not list")
    t.eq(sorted(set(doc) - set(served)), [], "families docs/openapi.yaml lists that /metrics does not serve")
    t.eq({k: v for k, v in served.items() if k in doc and doc[k] != v}, {},
         "families whose type differs from the document")


@test
def other_methods_get_the_envelope(t):
    """Every documented GET outside the API answers another method with 405
    in the envelope (docs/openapi.yaml, "Statuses common to every operation")."""
    for path in ("/healthz", "/metrics", "/docs", "/docs/openapi.yaml"):
        r = fetch(path, method="POST")
        t.expect(r, 405, "METHOD_NOT_ALLOWED", what="POST " + path)


# ------------------------------------------------ the page in a real browser

def _browser():
    for b in ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome-stable",
              "google-chrome", "headless_shell"):
        p = shutil.which(b)
        if p:
            return p
    return None


BROWSER = _browser()


def _operations():
    """{(tag, operationId)} of the document, read from the raw text."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    ops = set()
    for block in re.split(r"\n    (?:get|post|put|delete|patch):\n", text.split("\ncomponents:\n")[0])[1:]:
        tag = re.search(r"^      tags: \[([^\],]+)", block, re.M)
        oid = re.search(r"^      operationId: (\S+)", block, re.M)
        if tag and oid:
            ops.add((tag.group(1).strip(), oid.group(1)))
    return ops


class _Cdp:
    """A Chromium driven over --remote-debugging-pipe (the DevTools protocol:
    JSON messages ending in NUL, read on fd 3, written on fd 4)."""

    def __init__(self, args, timeout=60):
        to_r, self._w = os.pipe()
        self._r, from_w = os.pipe()

        # bash (dash takes one-digit fds only) puts the two pipe ends on fds
        # 3 and 4, then runs the browser
        a, b = max(to_r, from_w) + 10, max(to_r, from_w) + 11
        sh = 'exec "$0" "$@" {a}<&{r} {b}>&{w} {r}<&- {w}>&- 3<&{a} 4>&{b} {a}<&- {b}>&-'.format(
            a=a, b=b, r=to_r, w=from_w)
        self.proc = subprocess.Popen(["bash", "-c", sh] + args + ["--remote-debugging-pipe"],
                                     pass_fds=(to_r, from_w), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(to_r)
        os.close(from_w)
        self.buf = b""
        self.n = 0
        self.deadline = time.monotonic() + timeout

    def call(self, method, params=None, sid=None):
        self.n += 1
        msg = {"id": self.n, "method": method, "params": params or {}}
        if sid:
            msg["sessionId"] = sid
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in self.buf:
                left = self.deadline - time.monotonic()
                if left <= 0 or not select.select([self._r], [], [], left)[0]:
                    raise TimeoutError("no answer to %s" % method)
                chunk = os.read(self._r, 1 << 16)
                if not chunk:
                    raise EOFError("the browser closed the pipe (%s)" % method)
                self.buf += chunk
            raw, self.buf = self.buf.split(b"\0", 1)
            m = json.loads(raw)
            if m.get("id") == self.n:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})

    def close(self):
        try:
            self.call("Browser.close")
        except (OSError, EOFError, TimeoutError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        err = self.proc.stderr.read().decode(errors="replace")
        os.close(self._w)
        os.close(self._r)
        return err


_CSP_WATCH = r"""
window.__refused = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__refused.push(e.blockedURI + " (" + e.violatedDirective + ")");
});
"""

# Runs in the page: waits until Swagger UI shows every operation, then opens
# GET /healthz, presses "Try it out" and "Execute", and reports the answer.
_IN_PAGE = r"""
(async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const until = async (f, ms) => {
    const t0 = Date.now();
    for (;;) { const v = f(); if (v || Date.now() - t0 > ms) return v; await sleep(50); }
  };
  const want = %d;
  const ops = () => document.querySelectorAll('[id^="operations-"]:not([id^="operations-tag-"])');
  await until(() => ops().length >= want, 20000);
  const out = {dom: document.documentElement.outerHTML, refused: window.__refused};
  // Swagger UI may render again: look the elements up each time
  const op = () => document.getElementById("operations-Operations-health");
  const find = (sel) => op() && op().querySelector(sel);
  if (!op()) { out.error = "no operation Operations-health"; return out; }
  find(".opblock-summary-control").click();
  const tryit = await until(() => find(".try-out__btn"), 5000);
  if (!tryit) { out.error = "no Try it out button"; return out; }
  tryit.click();
  const exec = await until(() => find(".btn.execute"), 5000);
  if (!exec) { out.error = "no Execute button"; return out; }
  exec.click();
  const status = await until(() => find(".live-responses-table tbody .response-col_status"), 10000);
  const url = find(".request-url pre") || find(".request-url");
  const body = find(".live-responses-table .response-col_description pre") || find(".live-responses-table .microlight");
  out.status = status ? status.textContent.trim() : null;
  out.url = url ? url.textContent.trim() : null;
  out.body = body ? body.textContent : null;
  return out;
})()
"""


def render_offline(t):
    """Chromium, with every other host unreachable (a dead proxy for anything
    but loopback, no name resolution), renders /docs: Swagger UI shows every
    operation of the document, "Try it out" on GET /healthz gets this stack's
    answer, the browser asked no other host for anything and the page tried
    nothing its Content-Security-Policy refuses."""
    ensure_assets(t)
    ops = _operations()
    t.require(len(ops) > 20, "read only %d operations from docs/openapi.yaml" % len(ops))
    with tempfile.TemporaryDirectory(prefix="docs-browser-") as tmp:
        netlog = os.path.join(tmp, "net.json")
        cdp = _Cdp([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-extensions", "--disable-background-networking", "--disable-sync",
                    "--disable-component-update", "--disable-default-apps", "--user-data-dir=" + tmp,
                    "--proxy-server=http://127.0.0.1:9",  # loopback is never proxied
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE %s" % HOST,
                    "--log-net-log=" + netlog, "about:blank"])
        res, err = {}, ""
        try:
            target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            sid = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            # what the page's Content-Security-Policy refuses never reaches the
            # network (nor the net log): record it in the page
            cdp.call("Page.enable", sid=sid)
            cdp.call("Page.addScriptToEvaluateOnNewDocument", {"source": _CSP_WATCH}, sid=sid)
            cdp.call("Page.navigate", {"url": BASE_URL + "/docs"}, sid=sid)
            # evaluate in the page's document, once it has replaced about:blank
            for _ in range(100):
                try:
                    r = cdp.call("Runtime.evaluate", {"expression": "location.href + ' ' + document.readyState",
                                                      "returnByValue": True}, sid=sid)
                    v = (r.get("result") or {}).get("value") or ""
                    if v.startswith(BASE_URL + "/docs ") and not v.endswith(" loading"):
                        break
                except RuntimeError:  # the context went away with the navigation
                    pass
                time.sleep(0.1)
            r = cdp.call("Runtime.evaluate", {"expression": _IN_PAGE % len(ops), "awaitPromise": True,
                                              "returnByValue": True}, sid=sid)
            res = (r.get("result") or {}).get("value") or {}
            if r.get("exceptionDetails"):
                t.fail("the in-page script failed: %s" % r["exceptionDetails"])
        except (OSError, EOFError, TimeoutError, RuntimeError, KeyError) as e:
            t.fail("driving %s: %s" % (os.path.basename(BROWSER), e))
        finally:
            err = cdp.close()
        urls = set()
        try:
            with open(netlog, encoding="utf-8", errors="replace") as f:
                urls = set(re.findall(r'"url":"([^"]+)"', f.read()))
        except OSError as e:
            t.fail("no net log from the browser: %s" % e)
    t.require(res.get("dom"), "no page from the browser; its stderr: %s" % err[-1500:])
    dom = res["dom"]
    t.ok(BASE_URL + "/docs/openapi.yaml" in urls, "the browser's net log does not show /docs/openapi.yaml loaded")
    asked = sorted(u for u in urls if not u.startswith(BASE_URL + "/") and not u.startswith("data:")
                   and u != "about:blank")
    t.eq(asked, [], "URLs of other hosts the page asked for")
    t.eq(res.get("refused"), [], "what the page tried to load and its Content-Security-Policy refused")
    t.ok("Failed to load API definition" not in dom, "Swagger UI could not load the document")
    t.ok(re.search(r'<h[12][^>]*class="title"[^>]*>\s*Shop API', dom), "the rendered page has no title 'Shop API'")
    missing = sorted("%s %s" % o for o in ops if 'id="operations-%s-%s"' % o not in dom)
    t.eq(missing, [], "operations Swagger UI did not render (of %d)" % len(ops))
    t.ok(not res.get("error"), "Try it out on GET /healthz: %s" % res.get("error"))
    t.eq(res.get("status"), "200", "Try it out on GET /healthz: the status it shows")
    t.eq(res.get("url"), BASE_URL + "/healthz", "Try it out on GET /healthz: the URL it called")
    t.ok('"ok"' in (res.get("body") or ""), "Try it out on GET /healthz: the body it shows %r" % res.get("body"))


if BROWSER:
    render_offline.__name__ = "render_offline"
    test(render_offline)
