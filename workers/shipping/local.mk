# The shipping worker: a PENDING shipment for every paid order (shipping.orders).
bin_PROGRAMS += workers/shipping/shop-shipping-worker
workers_shipping_shop_shipping_worker_SOURCES = \
	workers/shipping/main.c \
	workers/shipping/handle.c \
	workers/shipping/shipping_worker_sql.c \
	workers/shipping/shipping_worker.h
workers_shipping_shop_shipping_worker_LDADD = $(shop_ldadd)
