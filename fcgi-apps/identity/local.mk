# shop-identity: users, passwords, tokens, addresses
bin_PROGRAMS += fcgi-apps/identity/shop-identity
fcgi_apps_identity_shop_identity_SOURCES = \
	fcgi-apps/identity/main.c \
	fcgi-apps/identity/routes.c \
	fcgi-apps/identity/handlers.c \
	fcgi-apps/identity/identity_sql.c \
	fcgi-apps/identity/identity.h
fcgi_apps_identity_shop_identity_LDADD = $(shop_ldadd)
