#!/usr/bin/env python3
"""Runs the fault scenarios (scenarios.py) against the stack whose
stack.env is in the environment (tests/fault/run.sh and chaos.sh start one),
one after the other on that one stack, and prints the summary table:
scenario, requests, failures, refused as the fault explains, events lost,
duplicates, invariant held, time.

  chaos.py [--orders N] [--rounds R] [--short] [--tap] [--out FILE]
           [--customers N] [--only NAME,...]

--short: the make check form (fewer orders, short outages, one round).
--tap: TAP on stdout, one line per scenario and one for the final books,
the table as comments. Exit status 1 when any invariant failed."""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(os.path.dirname(HERE), "e2e"))
sys.dont_write_bytecode = True

import scenarios as S  # noqa: E402
from scenarios import Ctx, Opts, Result, quiet  # noqa: E402
from load import now  # noqa: E402


def table(results):
    head = ("scenario", "requests", "failures", "refused*", "events lost", "duplicates", "invariant held", "time")
    rows = []
    for r in results:
        dup = "%d" % r.dups + (" (+%d explained)" % r.explained if r.explained else "")
        rows.append((r.name, str(r.requests), str(len(r.failures)), str(sum(r.allowed.values())), str(r.lost),
                     dup, "yes" if r.held else "NO", "%.1f s" % r.secs))
    w = [max(len(h), *(len(x[i]) for x in rows)) if rows else len(h) for i, h in enumerate(head)]
    out = ["  ".join(h.ljust(w[i]) if i == 0 else h.rjust(w[i]) for i, h in enumerate(head))]
    for x in rows:
        out.append("  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(x)))
    out.append("* refused: 5xx the fault explains (in flight at a SIGKILL, 503 while MariaDB was down,"
               " 502 while a pool was stopped)")
    out.append("failures: requests that failed otherwise and checks that did not hold")
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--customers", type=int, default=8)
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--tap", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", default=None)
    a = ap.parse_args(argv)
    if a.short:
        opts = Opts(orders=a.orders or 120, rounds=a.rounds or 1, short=True, customers=a.customers,
                    rabbit_down=2.0, db_down=3.0, webhook_k=6)
    else:
        n = a.orders or 500
        opts = Opts(orders=n, rounds=a.rounds or 2, short=False, customers=a.customers,
                    rabbit_down=6.0, db_down=8.0, webhook_k=max(8, n // 25), rate=30.0, lead=3.0)
    only = set(a.only.replace(",", " ").split()) if a.only else None
    classes = [c for c in S.ALL if only is None or c.name in only]
    if not classes:
        print("no scenario named %s (known: %s)" % (a.only, " ".join(c.name for c in S.ALL)), file=sys.stderr)
        return 2

    def say(line):
        print(("# " if a.tap else "") + line, flush=True)

    plan = len(classes) * opts.rounds + 1
    if a.tap:
        print("1..%d" % (plan + 1), flush=True)
    t_all = now()
    say("fault scenarios against %s: %d orders per scenario, %d round(s), %d customers" % (
        os.environ.get("SHOP_BASE_URL"), opts.orders, opts.rounds, opts.customers))
    ctx = Ctx(opts)
    num = 0
    try:
        t0 = now()
        b0 = ctx.setup()
        num += 1
        bad0 = [p for p in b0.problems]
        if a.tap:
            print("%s %d - setup: %d customers, %d products, the books before any fault (%.1f s)" % (
                "not ok" if bad0 else "ok", num, len(ctx.customers), len(ctx.products), now() - t0), flush=True)
        for p in bad0[:20]:
            say("  before any fault: %r" % p)
    except Exception as e:   # noqa: BLE001
        if a.tap:
            print("Bail out! setting up the customers and products failed: %r" % e, flush=True)
        else:
            print("chaos: setting up failed: %r" % e, file=sys.stderr)
        return 1
    results = []
    for rnd in range(1, opts.rounds + 1):
        for cls in classes:
            sc = cls(ctx, rnd)
            say("--- %s: %s" % (sc.label, sc.title))
            r = sc.run()
            results.append(r)
            num += 1
            summary = "%s: %d orders, %d requests, %d failures, %d refused as the fault explains, %d lost, " \
                      "%d duplicates (+%d explained) (%.1f s)" % (
                          r.name, r.orders, r.requests, len(r.failures), sum(r.allowed.values()), r.lost,
                          r.dups, r.explained, r.secs)
            if a.tap:
                print("%s %d - %s" % ("ok" if r.held else "not ok", num, summary), flush=True)
            else:
                say(("ok: " if r.held else "FAILED: ") + summary)
            for f in r.failures[:30]:
                say("  failure: " + f.replace("\n", "\n#   " if a.tap else "\n    "))
            for p in r.problems[:30]:
                say("  books: " + p)
            if len(r.problems) > 30:
                say("  books: ... %d more" % (len(r.problems) - 30))
            for k, v in sorted(r.allowed.items()):
                say("  refused as the fault explains: %s: %d" % (k, v))
            for n in r.notes:
                say("  " + n)
    # the books once more, with the queues (the management API's figures lag)
    fin = Result("books (final)")
    t0 = now()
    b, secs, settled = quiet(ctx, 45, final=True)
    if not settled:
        fin.fail("not quiet after %.0f s: %s" % (secs, "; ".join(b.waiting[:8])))
    for p in b.problems:
        if p.what not in ctx.reported:
            ctx.reported.add(p.what)
            fin.problems.append("%s: %s" % (p.kind, p.what))
            fin.lost += p.kind == "lost"
            fin.dups += p.kind == "duplicate"
    fin.explained = len(b.explained)
    fin.secs = now() - t0
    f = b.figures
    fin.note("%d orders, %d payments, %d notifications, %d mails, %d shipments in the stack" % (
        f.get("orders", 0), f.get("payments", 0), f.get("notifications", 0), f.get("mails", 0), f.get("ships", 0)))
    if f.get("unchecked_event_types"):
        fin.note("event types without a known consumer here (not checked): %r" % f["unchecked_event_types"])
    results.append(fin)
    num += 1
    if a.tap:
        print("%s %d - books (final): outboxes, consumers, queues, orders, payments, stock, shipments, mail" % (
            "ok" if fin.held else "not ok", num), flush=True)
    for x in fin.failures + fin.problems:
        say("  " + x)
    for n in fin.notes:
        say("  " + n)
    lines = table(results)
    lines.append("total %.1f s" % (now() - t_all))
    say("")
    for ln in lines:
        say(ln)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write("fault scenarios, %s: %d orders per scenario, %d round(s)\n\n" % (
                time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), opts.orders, opts.rounds))
            fh.write("\n".join(lines) + "\n")
        say("summary written to %s" % a.out)
    return 0 if all(r.held for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
