# The outbox relay: publishes every domain's outbox rows to shop.events.
bin_PROGRAMS += workers/outbox-relay/shop-outbox-relay
workers_outbox_relay_shop_outbox_relay_SOURCES = \
	workers/outbox-relay/main.c \
	workers/outbox-relay/relay.c \
	workers/outbox-relay/relay_sql.c \
	workers/outbox-relay/relay.h
workers_outbox_relay_shop_outbox_relay_LDADD = $(shop_ldadd)
