# shop-orders: orders, stock reservation, idempotent placement (docs/runtime.md).
bin_PROGRAMS += fcgi-apps/orders/shop-orders
fcgi_apps_orders_shop_orders_SOURCES = \
	fcgi-apps/orders/main.c \
	fcgi-apps/orders/routes.c \
	fcgi-apps/orders/place.c \
	fcgi-apps/orders/handlers.c \
	fcgi-apps/orders/orders_sql.c \
	fcgi-apps/orders/orders.h
fcgi_apps_orders_shop_orders_LDADD = $(shop_ldadd)
