include $(srcdir)/fcgi-apps/identity/local.mk
include $(srcdir)/fcgi-apps/auth/local.mk
include $(srcdir)/fcgi-apps/catalog/local.mk
