# unit tests of the domains: identity (JWT, passwords, the auth app's route rules), catalog search
identity_unit_tests = tests/unit/test_jwt tests/unit/test_password tests/unit/test_authrules
check_PROGRAMS += $(identity_unit_tests)
TESTS += $(identity_unit_tests)

tests_unit_test_jwt_SOURCES = tests/unit/test_jwt.c
tests_unit_test_jwt_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_jwt_LDADD = $(shop_ldadd) $(CMOCKA_LIBS)

tests_unit_test_password_SOURCES = tests/unit/test_password.c
tests_unit_test_password_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_password_LDADD = $(shop_ldadd) $(CMOCKA_LIBS)

tests_unit_test_authrules_SOURCES = tests/unit/test_authrules.c \
	fcgi-apps/auth/rules.c fcgi-apps/auth/cache.c fcgi-apps/auth/check.c \
	fcgi-apps/auth/auth_sql.c
tests_unit_test_authrules_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_authrules_LDADD = $(shop_ldadd) $(CMOCKA_LIBS)

# The catalog's search expression builder (user text → full-text query).
check_PROGRAMS += tests/unit/test_catalog_search
tests_unit_test_catalog_search_SOURCES = tests/unit/test_catalog_search.c \
	fcgi-apps/catalog/search.c fcgi-apps/catalog/catalog.h
tests_unit_test_catalog_search_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_catalog_search_LDADD = $(CMOCKA_LIBS)
TESTS += tests/unit/test_catalog_search

# The payments webhook signature: the Shop-Signature parser, verifier and signer.
check_PROGRAMS += tests/unit/test_webhook_sig
tests_unit_test_webhook_sig_SOURCES = tests/unit/test_webhook_sig.c \
	fcgi-apps/payments/signature.c fcgi-apps/payments/signature.h
tests_unit_test_webhook_sig_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_webhook_sig_LDADD = $(shop_ldadd) $(CMOCKA_LIBS)
TESTS += tests/unit/test_webhook_sig

# lib/idem.c (idempotency keys) against doubles of the request and db layers
# defined in the test itself (so lib/req.o and lib/db.o are not linked).
check_PROGRAMS += tests/unit/test_idem
tests_unit_test_idem_SOURCES = tests/unit/test_idem.c lib/idem.c
tests_unit_test_idem_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_idem_LDADD = $(shop_ldadd) $(CMOCKA_LIBS)
TESTS += tests/unit/test_idem
