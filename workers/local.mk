# Background workers (docs/events.md): one directory per worker, each with
# its own local.mk, plus the outbox relay.
include $(srcdir)/workers/outbox-relay/local.mk
include $(srcdir)/workers/inventory/local.mk
include $(srcdir)/workers/orders/local.mk
include $(srcdir)/workers/payment-sim/local.mk
include $(srcdir)/workers/shipping/local.mk
include $(srcdir)/workers/notify/local.mk
include $(srcdir)/workers/payments/local.mk
