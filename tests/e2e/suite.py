#!/usr/bin/env python3
"""The end-to-end suite: runs every test module against the stack at
SHOP_E2E_BASE_URL (or SHOP_BASE_URL) and prints TAP. Arguments (and the
comma/blank-separated SHOP_E2E_FILTER) select tests by substring of their
name; --list prints the names. Exit status: 0 when nothing failed."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True

import tap  # noqa: E402
import test_platform  # noqa: E402,F401
import test_identity  # noqa: E402,F401
import test_tokens  # noqa: E402,F401
import test_catalog  # noqa: E402,F401
import test_inventory  # noqa: E402,F401
import test_hostile  # noqa: E402,F401
import test_pagination  # noqa: E402,F401
import test_storage  # noqa: E402,F401
import test_cart  # noqa: E402,F401
import test_orders  # noqa: E402,F401
import test_payments  # noqa: E402,F401
import test_flow  # noqa: E402,F401
import test_shipping  # noqa: E402,F401
import test_notify  # noqa: E402,F401
import test_refunds  # noqa: E402,F401
import test_life  # noqa: E402,F401
import test_ratelimit  # noqa: E402,F401
import test_integration  # noqa: E402,F401
import test_rotation  # noqa: E402,F401


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
