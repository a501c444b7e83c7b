# libFuzzer targets for every parser of outside input (tests/fuzz/README.md).
# Built in a --enable-fuzzing build (clang) by make check and make fuzz:
#   make fuzz                  every target for FUZZ_SECONDS (default 60) each
#   make fuzz-smoke            every target for 5 s each (CI)
#   make fuzz FUZZ_TARGETS="json jwt" FUZZ_SECONDS=300

EXTRA_DIST += tests/fuzz/README.md tests/fuzz/run.sh tests/fuzz/ci.sh tests/fuzz/mkseeds.py \
	tests/fuzz/fuzz.h tests/fuzz/corpus tests/fuzz/dict tests/fuzz/keys

if FUZZING
fuzz_programs = tests/fuzz/fuzz_json tests/fuzz/fuzz_query tests/fuzz/fuzz_router \
	tests/fuzz/fuzz_cursor tests/fuzz/fuzz_webhook_sig tests/fuzz/fuzz_jwt \
	tests/fuzz/fuzz_auth tests/fuzz/fuzz_request tests/fuzz/fuzz_search
check_PROGRAMS += $(fuzz_programs)

# The apps' code the targets reach (route tables with their field formats,
# the webhook signature, the auth decision, the search expression), every
# file but main.c: a new app source file belongs here too.
noinst_LIBRARIES += tests/fuzz/libfuzzapps.a
tests_fuzz_libfuzzapps_a_SOURCES = \
	fcgi-apps/identity/routes.c fcgi-apps/identity/handlers.c fcgi-apps/identity/identity_sql.c \
	fcgi-apps/catalog/routes.c fcgi-apps/catalog/handlers.c fcgi-apps/catalog/search.c \
	fcgi-apps/catalog/catalog_sql.c \
	fcgi-apps/cart/routes.c fcgi-apps/cart/handlers.c fcgi-apps/cart/cart_sql.c \
	fcgi-apps/orders/routes.c fcgi-apps/orders/handlers.c fcgi-apps/orders/place.c \
	fcgi-apps/orders/orders_sql.c \
	fcgi-apps/payments/routes.c fcgi-apps/payments/handlers.c fcgi-apps/payments/refund.c \
	fcgi-apps/payments/refund_request.c fcgi-apps/payments/webhook.c \
	fcgi-apps/payments/signature.c fcgi-apps/payments/payments_sql.c \
	fcgi-apps/shipping/routes.c fcgi-apps/shipping/handlers.c fcgi-apps/shipping/shipping_sql.c \
	fcgi-apps/notify/routes.c fcgi-apps/notify/handlers.c fcgi-apps/notify/notify_sql.c \
	fcgi-apps/auth/rules.c fcgi-apps/auth/cache.c fcgi-apps/auth/check.c \
	fcgi-apps/auth/auth_sql.c

fuzz_cppflags = $(AM_CPPFLAGS) -DFUZZ_KEYS_DIR='"$(abs_top_srcdir)/tests/fuzz/keys"'
fuzz_ldflags = $(AM_LDFLAGS) $(SHOP_FUZZ_LDFLAGS)
fuzz_ldadd = tests/fuzz/libfuzzapps.a $(shop_ldadd)

tests_fuzz_fuzz_json_SOURCES = tests/fuzz/fuzz_json.c tests/fuzz/fuzz_common.c
tests_fuzz_fuzz_json_CPPFLAGS = $(fuzz_cppflags)
tests_fuzz_fuzz_json_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_json_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_query_SOURCES = tests/fuzz/fuzz_query.c tests/fuzz/fuzz_common.c
tests_fuzz_fuzz_query_CPPFLAGS = $(fuzz_cppflags)
tests_fuzz_fuzz_query_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_query_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_router_SOURCES = tests/fuzz/fuzz_router.c tests/fuzz/fuzz_common.c
tests_fuzz_fuzz_router_CPPFLAGS = $(fuzz_cppflags)
tests_fuzz_fuzz_router_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_router_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_cursor_SOURCES = tests/fuzz/fuzz_cursor.c tests/fuzz/fuzz_common.c
tests_fuzz_fuzz_cursor_CPPFLAGS = $(fuzz_cppflags)
tests_fuzz_fuzz_cursor_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_cursor_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_webhook_sig_SOURCES = tests/fuzz/fuzz_webhook_sig.c tests/fuzz/fuzz_common.c
tests_fuzz_fuzz_webhook_sig_CPPFLAGS = $(fuzz_cppflags)
tests_fuzz_fuzz_webhook_sig_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_webhook_sig_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_jwt_SOURCES = tests/fuzz/fuzz_jwt.c tests/fuzz/fuzz_common.c
tests_fuzz_fuzz_jwt_CPPFLAGS = $(fuzz_cppflags)
tests_fuzz_fuzz_jwt_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_jwt_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_auth_SOURCES = tests/fuzz/fuzz_auth.c tests/fuzz/fuzz_common.c
tests_fuzz_fuzz_auth_CPPFLAGS = $(fuzz_cppflags)
tests_fuzz_fuzz_auth_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_auth_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_request_SOURCES = tests/fuzz/fuzz_request.c tests/fuzz/fuzz_common.c
tests_fuzz_fuzz_request_CPPFLAGS = $(fuzz_cppflags)
tests_fuzz_fuzz_request_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_request_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_search_SOURCES = tests/fuzz/fuzz_search.c tests/fuzz/fuzz_common.c
tests_fuzz_fuzz_search_CPPFLAGS = $(fuzz_cppflags)
tests_fuzz_fuzz_search_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_search_LDADD = $(fuzz_ldadd)

fuzz: $(fuzz_programs)
	@FUZZ_SECONDS='$(FUZZ_SECONDS)' $(SHELL) $(top_srcdir)/tests/fuzz/run.sh \
	    $(top_srcdir)/tests/fuzz tests/fuzz $(FUZZ_TARGETS)

fuzz-smoke: $(fuzz_programs)
	@FUZZ_SECONDS=5 $(SHELL) $(top_srcdir)/tests/fuzz/run.sh \
	    $(top_srcdir)/tests/fuzz tests/fuzz $(FUZZ_TARGETS)
else
fuzz fuzz-smoke:
	@echo "make $@ needs a fuzzing build (clang, libFuzzer), in a directory of its own:"
	@echo "  mkdir -p build-fuzz && cd build-fuzz && CC=clang $(abs_top_srcdir)/configure --enable-fuzzing && make $@"
	@exit 1
endif
.PHONY: fuzz fuzz-smoke
