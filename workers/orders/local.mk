# The order worker: payments drive orders (orders.payments), unpaid orders expire.
bin_PROGRAMS += workers/orders/shop-order-worker
workers_orders_shop_order_worker_SOURCES = \
	workers/orders/main.c \
	workers/orders/handle.c \
	workers/orders/order_worker_sql.c \
	workers/orders/order_worker.h
workers_orders_shop_order_worker_LDADD = $(shop_ldadd)
