"""A small TAP runner for the end-to-end suite (standard library only).

Each test is a function taking a context `t`; it is registered with @test and
produces exactly one TAP line. Inside a test, t.ok / t.eq / t.expect record
failures and carry on (so one run shows every broken check); an exception
ends the test (failed, with its traceback as diagnostics); t.skip() ends it as
skipped. Tests marked background=True start first in their own thread (they
poll for slow effects) and are reported last, after the foreground tests.

Selection: names are "<module>.<function>" ("identity.register_ok"); a test
runs when any filter is a substring of its name (no filter: all run).
"""

import sys
import threading
import time
import traceback

_tests = []
_local = threading.local()
_out_lock = threading.Lock()


class Skip(Exception):
    pass


class Abort(Exception):
    """Raised by t.require(): ends the test, already recorded as failed."""


def test(fn=None, *, background=False, last=False):
    def reg(f):
        mod = f.__module__.rsplit(".", 1)[-1]
        if mod.startswith("test_"):
            mod = mod[5:]
        _tests.append({"name": "%s.%s" % (mod, f.__name__), "fn": f,
                       "background": background, "last": last})
        return f
    return reg(fn) if fn is not None else reg


def current():
    """The context of the test running in this thread (or None)."""
    return getattr(_local, "ctx", None)


def _short(v, n=300):
    s = repr(v)
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


class Ctx:
    def __init__(self, name):
        self.name = name
        self.failures = []
        self.notes = []
        self.lock = threading.Lock()
        self.allow_5xx = False

    # -- recording
    def fail(self, msg):
        with self.lock:
            self.failures.append(msg)
        return False

    def note(self, msg):
        with self.lock:
            self.notes.append(msg)

    def ok(self, cond, msg):
        if not cond:
            return self.fail(msg)
        return True

    def eq(self, got, want, msg):
        if got != want:
            return self.fail("%s: got %s, want %s" % (msg, _short(got), _short(want)))
        return True

    def isin(self, item, coll, msg):
        if item not in coll:
            return self.fail("%s: %s not in %s" % (msg, _short(item), _short(coll)))
        return True

    def require(self, cond, msg):
        if not cond:
            self.fail(msg)
            raise Abort()
        return True

    def skip(self, reason):
        raise Skip(reason)

    def expect(self, resp, status, code=None, what=None):
        """Checks resp's status (an int or a tuple of ints) and, when code is
        given, that one entry of the error envelope carries it. Returns True
        when both hold."""
        what = what or "%s %s" % (resp.method, resp.path_short())
        statuses = status if isinstance(status, (tuple, list, set)) else (status,)
        good = True
        if resp.status not in statuses:
            good = self.fail("%s: HTTP %s, want %s; body %s" % (
                what, resp.status, "/".join(map(str, statuses)), resp.body_short()))
        elif code is not None:
            codes = code if isinstance(code, (tuple, list, set)) else (code,)
            got = resp.err_codes()
            if not any(c in got for c in codes):
                good = self.fail("%s: error codes %s, want %s; body %s" % (
                    what, got, "/".join(codes), resp.body_short()))
        return good


def _emit(line):
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _diag(text):
    for ln in str(text).splitlines() or [""]:
        _emit("# " + ln)


def _run_one(entry):
    ctx = Ctx(entry["name"])
    _local.ctx = ctx
    t0 = time.monotonic()
    skipped = None
    try:
        entry["fn"](ctx)
    except Skip as e:
        skipped = str(e)
    except Abort:
        pass
    except Exception:
        ctx.fail("exception:\n" + traceback.format_exc().rstrip())
    finally:
        _local.ctx = None
        if getattr(ctx, "retried_429", 0):
            ctx.note("%d requests answered 429 (rate limit) and were retried" % ctx.retried_429)
    entry["ctx"] = ctx
    entry["skipped"] = skipped
    entry["secs"] = time.monotonic() - t0


def _report(num, entry):
    ctx = entry["ctx"]
    name = entry["name"]
    if entry["skipped"] is not None and not ctx.failures:
        _emit("ok %d - %s # SKIP %s" % (num, name, entry["skipped"]))
        return True
    if ctx.failures:
        _emit("not ok %d - %s" % (num, name))
        for f in ctx.failures[:40]:
            _diag(f)
        if len(ctx.failures) > 40:
            _diag("... %d more failures" % (len(ctx.failures) - 40))
        for n in ctx.notes:
            _diag("note: " + n)
        return False
    _emit("ok %d - %s" % (num, name))
    if entry["secs"] >= 1.0:
        _diag("took %.1f s" % entry["secs"])
    for n in ctx.notes:
        _diag("note: " + n)
    return True


def run(filters=()):
    """Runs the selected tests, prints TAP, returns the number of failures."""
    filters = [f for f in filters if f]
    sel = [e for e in _tests if not filters or any(f in e["name"] for f in filters)]
    fg = [e for e in sel if not e["background"] and not e["last"]]
    fg += [e for e in sel if not e["background"] and e["last"]]
    bg = [e for e in sel if e["background"]]
    _emit("1..%d" % len(sel))
    if not sel:
        _diag("no test matches %s" % filters)
        return 0
    failed = 0
    t0 = time.monotonic()
    threads = []
    for e in bg:
        th = threading.Thread(target=_run_one, args=(e,), daemon=True)
        th.start()
        threads.append(th)
    num = 0
    for e in fg:
        _run_one(e)
        num += 1
        failed += not _report(num, e)
    for th, e in zip(threads, bg):
        th.join()
        num += 1
        failed += not _report(num, e)
    _diag("%d tests, %d failed, in %.1f s" % (len(sel), failed, time.monotonic() - t0))
    return failed


def names():
    return [e["name"] for e in _tests]


def adopt(ctx):
    """Makes ctx the current test of this (helper) thread, so that its
    requests are checked and its failures recorded in that test."""
    _local.ctx = ctx
