# End-to-end suite: tests/e2e/run.sh starts a real stack through
# tests/harness/stack.sh and runs the Python (standard library only) suite
# against it; TAP, one line per test function. See the top of run.sh for
# filters (tests/e2e/run.sh identity) and SHOP_E2E_BASE_URL.
TESTS += tests/e2e/run.sh
# Every file of tests/e2e (the suite imports each test_*.py it finds).
EXTRA_DIST += tests/e2e
