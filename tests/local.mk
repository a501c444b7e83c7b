# Unit tests (cmocka, TAP) and the end-to-end suite against a real stack.
include $(srcdir)/tests/unit/core.mk
include $(srcdir)/tests/unit/fcgi.mk
include $(srcdir)/tests/unit/domains.mk
include $(srcdir)/tests/unit/amqp.mk
include $(srcdir)/tests/unit/notify.mk
include $(srcdir)/tests/e2e/local.mk
include $(srcdir)/tests/docs/local.mk
include $(srcdir)/tests/fuzz/local.mk
include $(srcdir)/tests/fault/local.mk
include $(srcdir)/tests/valgrind/local.mk
