# The catalog app: products, categories, inventory (docs/runtime.md).
bin_PROGRAMS += fcgi-apps/catalog/shop-catalog
fcgi_apps_catalog_shop_catalog_SOURCES = \
	fcgi-apps/catalog/main.c \
	fcgi-apps/catalog/routes.c \
	fcgi-apps/catalog/handlers.c \
	fcgi-apps/catalog/search.c \
	fcgi-apps/catalog/catalog_sql.c \
	fcgi-apps/catalog/catalog.h
fcgi_apps_catalog_shop_catalog_LDADD = $(shop_ldadd)
