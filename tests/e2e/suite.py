#!/usr/bin/env python3
"""The end-to-end suite: runs every test module against the stack at
SHOP_E2E_BASE_URL (or SHOP_BASE_URL) and prints TAP. Arguments (and the
comma/blank-separated SHOP_E2E_FILTER) select tests by substring of their
name; --list prints the names. Exit status: 0 when nothing failed."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True

import importlib  # noqa: E402
import tap  # noqa: E402

# The modules in running order: these first, then every other test_*.py of
# this directory (sorted), then the ones that must run last (the rate limit
# test exhausts the limiter, rotation changes the signing key).
FIRST = ["test_platform", "test_identity", "test_tokens", "test_catalog",
         "test_inventory", "test_hostile", "test_pagination", "test_storage",
         "test_cart", "test_orders", "test_payments", "test_flow",
         "test_shipping", "test_notify", "test_refunds", "test_life"]
LAST = ["test_ratelimit", "test_integration", "test_rotation"]


def _modules():
    here = os.path.dirname(os.path.abspath(__file__))
    found = sorted(f[:-3] for f in os.listdir(here)
                   if f.startswith("test_") and f.endswith(".py"))
    middle = [m for m in found if m not in FIRST and m not in LAST]
    return FIRST + middle + LAST


for _name in _modules():
    importlib.import_module(_name)


def main(argv):
    if "--list" in argv:
        print("\n".join(tap.names()))
        return 0
    filters = [a for a in argv if not a.startswith("-")]
    env = os.environ.get("SHOP_E2E_FILTER", "")
    filters += [f for f in env.replace(",", " ").split() if f]
    failed = tap.run(filters)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
