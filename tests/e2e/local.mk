# End-to-end suite: tests/e2e/run.sh starts a real stack through
# tests/harness/stack.sh and runs the Python (standard library only) suite
# against it; TAP, one line per test function. See the top of run.sh for
# filters (tests/e2e/run.sh identity) and SHOP_E2E_BASE_URL.
TESTS += tests/e2e/run.sh
EXTRA_DIST += tests/e2e/run.sh tests/e2e/suite.py tests/e2e/tap.py tests/e2e/shopclient.py \
	tests/e2e/test_platform.py tests/e2e/test_identity.py tests/e2e/test_tokens.py \
	tests/e2e/test_catalog.py tests/e2e/test_inventory.py tests/e2e/test_hostile.py \
	tests/e2e/test_pagination.py tests/e2e/test_storage.py tests/e2e/test_ratelimit.py \
	tests/e2e/test_integration.py tests/e2e/flowlib.py tests/e2e/test_cart.py \
	tests/e2e/test_orders.py tests/e2e/test_payments.py tests/e2e/test_flow.py \
	tests/e2e/test_rotation.py
EXTRA_DIST += tests/e2e/maillib.py tests/e2e/test_shipping.py tests/e2e/test_notify.py \
	tests/e2e/test_refunds.py tests/e2e/test_life.py
