# unit tests of the messaging half: lib/amqp.c and the worker runner
# (lib/worker.c) against a real RabbitMQ (skipped without
# SHOP_TEST_AMQP_HOST/PORT), lib/outbox.c's event ids.
# test_amqp and test_worker need a broker: the end-to-end suite runs them
# against its stack's RabbitMQ (tests/e2e/test_integration.py).
check_PROGRAMS += tests/unit/test_amqp tests/unit/test_worker tests/unit/test_outbox
TESTS += tests/unit/test_outbox

tests_unit_test_amqp_SOURCES = tests/unit/test_amqp.c
tests_unit_test_amqp_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_amqp_LDADD = $(shop_ldadd) $(CMOCKA_LIBS)

tests_unit_test_worker_SOURCES = tests/unit/test_worker.c
tests_unit_test_worker_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_worker_LDADD = $(shop_ldadd) $(CMOCKA_LIBS)

tests_unit_test_outbox_SOURCES = tests/unit/test_outbox.c
tests_unit_test_outbox_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_outbox_LDADD = $(shop_ldadd) $(CMOCKA_LIBS)
