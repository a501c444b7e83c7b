# The inventory worker: settles and releases stock reservations, restocks refunds (inventory.settlement).
bin_PROGRAMS += workers/inventory/shop-inventory
workers_inventory_shop_inventory_SOURCES = \
	workers/inventory/main.c \
	workers/inventory/settle.c \
	workers/inventory/inventory_sql.c \
	workers/inventory/inventory.h
workers_inventory_shop_inventory_LDADD = $(shop_ldadd)
