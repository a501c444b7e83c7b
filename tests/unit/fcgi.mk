# unit tests: fcgi (pool, request layer, app main, db layer, FastCGI client)
check_PROGRAMS += tests/unit/test_pool tests/unit/test_db
TESTS += tests/unit/test_pool

# test_pool runs a real pool of the echo app (it includes echo_app.c).
tests_unit_test_pool_SOURCES = tests/unit/test_pool.c
tests_unit_test_pool_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_pool_LDADD = $(shop_ldadd) $(CMOCKA_LIBS)
EXTRA_DIST += tests/unit/echo_app.c

# test_db needs a MariaDB: the end-to-end suite runs it against its stack's
# server (tests/e2e/test_integration.py); by hand it needs SHOP_TEST_DB_SOCKET.
tests_unit_test_db_SOURCES = tests/unit/test_db.c
tests_unit_test_db_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_db_LDADD = $(shop_ldadd) $(CMOCKA_LIBS)

# The echo app as a program, for load tests by hand (nginx + wrk).
check_PROGRAMS += tests/unit/echo_app
tests_unit_echo_app_SOURCES = tests/unit/echo_app.c
tests_unit_echo_app_LDADD = $(shop_ldadd)
