# The notification worker: one mail per customer event (notify.events), by
# spool file or SMTP, from the templates beside it.
bin_PROGRAMS += workers/notify/shop-notify-worker
workers_notify_shop_notify_worker_SOURCES = \
	workers/notify/main.c \
	workers/notify/handle.c \
	workers/notify/render.c \
	workers/notify/mime.c \
	workers/notify/deliver.c \
	workers/notify/notify_worker_sql.c \
	workers/notify/notify_worker.h
workers_notify_shop_notify_worker_CPPFLAGS = $(AM_CPPFLAGS) \
	-DNW_TEMPLATES_DIR='"$(abs_top_srcdir)/workers/notify/templates"'
workers_notify_shop_notify_worker_LDADD = $(shop_ldadd)
EXTRA_DIST += workers/notify/templates
