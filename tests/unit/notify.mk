# unit tests of the notification worker: templates, money, HTML escaping
# (render.c) and the MIME message (mime.c), parsed back by the test.
notify_unit_tests = tests/unit/test_notify_render tests/unit/test_notify_mime
check_PROGRAMS += $(notify_unit_tests)
TESTS += $(notify_unit_tests)

tests_unit_test_notify_render_SOURCES = tests/unit/test_notify_render.c \
	workers/notify/render.c workers/notify/notify_worker.h
tests_unit_test_notify_render_CPPFLAGS = $(AM_CPPFLAGS) \
	-DNW_TEMPLATES_DIR='"$(abs_top_srcdir)/workers/notify/templates"'
tests_unit_test_notify_render_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_notify_render_LDADD = $(shop_ldadd) $(CMOCKA_LIBS)

tests_unit_test_notify_mime_SOURCES = tests/unit/test_notify_mime.c \
	workers/notify/mime.c workers/notify/render.c workers/notify/notify_worker.h
tests_unit_test_notify_mime_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_notify_mime_LDADD = $(shop_ldadd) $(CMOCKA_LIBS)
