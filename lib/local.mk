noinst_LIBRARIES += lib/libshop.a
lib_libshop_a_SOURCES = \
	lib/err.c lib/err.h \
	lib/mem.c lib/mem.h \
	lib/log.c lib/log.h \
	lib/conf.c lib/conf.h \
	lib/util.c lib/util.h \
	lib/json.c lib/json.h \
	lib/validate.c lib/validate.h \
	lib/router.c lib/router.h \
	lib/cursor.c lib/cursor.h \
	lib/auth.c lib/auth.h \
	lib/db.c lib/db.h \
	lib/req.c lib/req.h lib/serve.h \
	lib/app.c lib/app.h \
	lib/pool.c lib/pool.h \
	lib/jwt.c lib/jwt.h \
	lib/password.c lib/password.h \
	lib/idem.c lib/idem.h \
	lib/fcgic.c lib/fcgic.h \
	lib/amqp.c lib/amqp.h \
	lib/topology.c lib/topology.h \
	lib/outbox.c lib/outbox.h \
	lib/worker.c lib/worker.h \
	lib/metrics.c lib/metrics.h
