include $(srcdir)/fcgi-apps/identity/local.mk
include $(srcdir)/fcgi-apps/auth/local.mk
include $(srcdir)/fcgi-apps/catalog/local.mk
include $(srcdir)/fcgi-apps/cart/local.mk
include $(srcdir)/fcgi-apps/orders/local.mk
include $(srcdir)/fcgi-apps/payments/local.mk
include $(srcdir)/fcgi-apps/shipping/local.mk
include $(srcdir)/fcgi-apps/notify/local.mk
