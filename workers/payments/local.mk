# The payments worker: refunds of payments that came too late for their order (payments.orders).
bin_PROGRAMS += workers/payments/shop-payments-worker
workers_payments_shop_payments_worker_SOURCES = \
	workers/payments/main.c \
	fcgi-apps/payments/refund_request.c \
	fcgi-apps/payments/payments_sql.c \
	fcgi-apps/payments/payments.h \
	fcgi-apps/payments/signature.h
workers_payments_shop_payments_worker_LDADD = $(shop_ldadd)
