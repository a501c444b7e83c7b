# shop-shipping: shipments of paid orders, shipped and delivered by an admin (docs/runtime.md).
bin_PROGRAMS += fcgi-apps/shipping/shop-shipping
fcgi_apps_shipping_shop_shipping_SOURCES = \
	fcgi-apps/shipping/main.c \
	fcgi-apps/shipping/routes.c \
	fcgi-apps/shipping/handlers.c \
	fcgi-apps/shipping/shipping_sql.c \
	fcgi-apps/shipping/shipping.h
fcgi_apps_shipping_shop_shipping_LDADD = $(shop_ldadd)
