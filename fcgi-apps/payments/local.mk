# The payments app: payments of orders, their refunds and the provider's signed webhook (docs/runtime.md).
bin_PROGRAMS += fcgi-apps/payments/shop-payments
fcgi_apps_payments_shop_payments_SOURCES = \
	fcgi-apps/payments/main.c \
	fcgi-apps/payments/routes.c \
	fcgi-apps/payments/handlers.c \
	fcgi-apps/payments/refund.c \
	fcgi-apps/payments/refund_request.c \
	fcgi-apps/payments/webhook.c \
	fcgi-apps/payments/signature.c \
	fcgi-apps/payments/payments_sql.c \
	fcgi-apps/payments/payments.h \
	fcgi-apps/payments/signature.h
fcgi_apps_payments_shop_payments_LDADD = $(shop_ldadd)
