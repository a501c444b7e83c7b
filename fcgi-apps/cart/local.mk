# shop-cart: the cart (docs/runtime.md).
bin_PROGRAMS += fcgi-apps/cart/shop-cart
fcgi_apps_cart_shop_cart_SOURCES = \
	fcgi-apps/cart/main.c \
	fcgi-apps/cart/routes.c \
	fcgi-apps/cart/handlers.c \
	fcgi-apps/cart/cart_sql.c \
	fcgi-apps/cart/cart.h
fcgi_apps_cart_shop_cart_LDADD = $(shop_ldadd)
