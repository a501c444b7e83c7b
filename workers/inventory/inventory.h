/* The inventory worker (catalog domain): consumes inventory.settlement and
 * applies order.paid (settle: on_hand -= q, reserved -= q) and
 * order.cancelled / order.expired (release: reserved -= q) and
 * order.refunded with restock (restock: on_hand += q) to shop_catalog.stock,
 * with a ledger row per product, once per event. */
#ifndef SHOP_INVENTORY_H
#define SHOP_INVENTORY_H

#include "lib/worker.h"

enum inventory_stmt {
	INV_SQL_CLAIM,          /* consumer, event_id */
	INV_SQL_SETTLE,         /* q, q, product_id, q */
	INV_SQL_RELEASE,        /* q, product_id, q */
	INV_SQL_RESTOCK,        /* q, product_id */
	INV_SQL_LEDGER,         /* product_id, delta_on_hand, delta_reserved, kind, reason, ref */
	INV_SQL_COUNT
};

extern const char *const inventory_sql[INV_SQL_COUNT];

/* The consumer name in processed_events. */
#define INVENTORY_CONSUMER "inventory"

/* The handler of shop_worker (settle.c). */
int inventory_handle(struct shop_worker_ctx *w, const struct shop_event *ev);

#endif
