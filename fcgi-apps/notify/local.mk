# shop-notify: a user's notifications (GET /api/v1/notifications; docs/runtime.md).
bin_PROGRAMS += fcgi-apps/notify/shop-notify
fcgi_apps_notify_shop_notify_SOURCES = \
	fcgi-apps/notify/main.c \
	fcgi-apps/notify/routes.c \
	fcgi-apps/notify/handlers.c \
	fcgi-apps/notify/notify_sql.c \
	fcgi-apps/notify/notify.h
fcgi_apps_notify_shop_notify_LDADD = $(shop_ldadd)
