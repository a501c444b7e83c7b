# shop-auth: nginx's auth_request target and /healthz
bin_PROGRAMS += fcgi-apps/auth/shop-auth
fcgi_apps_auth_shop_auth_SOURCES = \
	fcgi-apps/auth/main.c \
	fcgi-apps/auth/check.c \
	fcgi-apps/auth/rules.c fcgi-apps/auth/rules.h \
	fcgi-apps/auth/cache.c fcgi-apps/auth/cache.h \
	fcgi-apps/auth/auth_sql.c \
	fcgi-apps/auth/health.c \
	fcgi-apps/auth/metrics.c \
	fcgi-apps/auth/auth_app.h
fcgi_apps_auth_shop_auth_LDADD = $(shop_ldadd)

# The cost of one check, cache hit vs miss. Built by make check, never run
# by it:  make fcgi-apps/auth/bench-auth && fcgi-apps/auth/bench-auth
check_PROGRAMS += fcgi-apps/auth/bench-auth
fcgi_apps_auth_bench_auth_SOURCES = \
	fcgi-apps/auth/bench_auth.c \
	fcgi-apps/auth/check.c \
	fcgi-apps/auth/rules.c \
	fcgi-apps/auth/cache.c \
	fcgi-apps/auth/auth_sql.c
fcgi_apps_auth_bench_auth_LDADD = $(shop_ldadd)
